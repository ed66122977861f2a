"""HeatmapPoseDecode: a top-down model's heatmaps for one person -> a Pose in image coordinates (DARK + UDP)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..types import Detection, NormalizedRect, Pose
from .kernels import HEATMAP_SCALES, decode_heatmaps

METHODS = ("dark", "argmax")


@dataclass
class HeatmapPoseDecodeOptions:
    # "dark": Gaussian smoothing + Taylor (Newton) refinement of the maximum; "argmax": the integer cell.
    method: str = "dark"
    # Odd size of DARK's Gaussian smoothing kernel (PaddleDetection: 3 for heatmaps trained with sigma 1; 1 = none).
    dark_kernel: int = 3
    # Heatmap -> model input scale: "stride" (input / heatmap size, as PP-TinyPose's targets were made) or "udp"
    # ((input - 1) / (heatmap - 1)). The input -> image step is always UDP's.
    heatmap_scale: str = "stride"
    # The pose model's input size (the crop was warped to it).
    input_width: int = 96
    input_height: int = 128
    topology: str = "coco17"

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.dark_kernel < 1 or self.dark_kernel % 2 == 0:
            raise ValueError(f"dark_kernel must be odd and positive, got {self.dark_kernel}")
        if self.heatmap_scale not in HEATMAP_SCALES:
            raise ValueError(f"heatmap_scale must be one of {HEATMAP_SCALES}, got {self.heatmap_scale!r}")
        if self.input_width < 2 or self.input_height < 2:
            raise ValueError("input size must be at least 2 x 2")


@calculator("HeatmapPoseDecodeCalculator")
class HeatmapPoseDecodeCalculator(Calculator):
    """TENSORS (first: heatmaps [1, K, H, W]) + NORM_RECT (the crop they were made from) (+ DETECTION) -> POSE.

    Landmarks are K x 5 (x, y normalised to the image, z = 0, visibility = presence = the keypoint's heatmap
    maximum clipped to [0, 1]). The pose score is the detection's score when DETECTION is connected, else the mean
    keypoint score; ``extras["box"]`` is the detection box (normalised xmin, ymin, width, height).
    """

    TENSORS = Input[list]("TENSORS")
    NORM_RECT = Input[NormalizedRect]("NORM_RECT")
    DETECTION = Input[Detection]("DETECTION", optional=True)
    POSE = Output[Pose]("POSE")
    Options = HeatmapPoseDecodeOptions

    def open(self, ctx):
        opts = self.options  # load the decoding kernel now, not in the first frame
        decode_heatmaps(np.zeros((1, 17, 4, 4), np.float32), (0.5, 0.5, 1.0, 1.0),
                        (opts.input_width, opts.input_height), method=opts.method, kernel_size=opts.dark_kernel, heatmap_scale=opts.heatmap_scale)

    def process(self, ctx):
        tensors = ctx[self.TENSORS]
        rect: NormalizedRect | None = ctx[self.NORM_RECT]
        if tensors is None or rect is None:
            return  # no crop for this person (an empty box): no pose
        opts = self.options
        heatmaps = tensors if isinstance(tensors, np.ndarray) else tensors[0]
        landmarks = decode_heatmaps(heatmaps, (rect.x_center, rect.y_center, rect.width, rect.height),
                                    (opts.input_width, opts.input_height), method=opts.method,
                                    kernel_size=opts.dark_kernel, heatmap_scale=opts.heatmap_scale)
        detection: Detection | None = ctx[self.DETECTION]
        if detection is not None:
            score = float(detection.score)
            extras = {"box": np.asarray(detection.box, dtype=np.float32)}
        else:
            score = float(landmarks[:, 3].mean())
            extras = {}
        ctx.send(self.POSE, Pose(landmarks, opts.topology, score=score, roi=rect, extras=extras))
