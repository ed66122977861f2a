"""PoseNetDecoder: PoseNet's raw outputs (heatmaps, short offsets, mid-range displacements) -> list[Pose]."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..inference.base import ModelMismatchError
from ..inference.specs import OutputCheck
from ..types import ImageFrame, Pose
from .kernels import NUM_KEYPOINTS, decode_single_pose, dequantize
from .multi_pose import decode_multi_pose

# heatmaps, short offsets, mid-range displacements: channels per cell
_CHANNELS = (NUM_KEYPOINTS, 2 * NUM_KEYPOINTS, 64)
_NAMES = ("heatmaps", "short offsets", "mid-range displacements")


class PoseNetMode(enum.Enum):
    SINGLE = "single"
    MULTI = "multi"


@dataclass
class PoseNetDecoderOptions:
    mode: PoseNetMode = PoseNetMode.MULTI
    # The model, to read the outputs' quantisation and check their shapes at open() (the MODEL side packet
    # overrides it). Without a model, quant_scales / quant_zero_points are used (empty: outputs are float).
    model: str = ""
    quant_scales: list[float] = field(default_factory=list)
    quant_zero_points: list[int] = field(default_factory=list)
    output_stride: int = 16
    # Multi-pose: at most this many poses; keypoint (root) and pose score threshold; NMS radius in input pixels;
    # short-offset refinement steps after each displacement.
    max_poses: int = 10
    score_threshold: float = 0.5
    nms_radius: float = 20.0
    refine_steps: int = 5
    # Single-pose: no pose when the mean keypoint score is below this.
    min_pose_score: float = 0.2

    def __post_init__(self):
        if self.quant_scales or self.quant_zero_points:
            if len(self.quant_scales) != 3 or len(self.quant_zero_points) != 3:
                raise ValueError("quant_scales and quant_zero_points need 3 values each (heatmaps, short offsets, "
                                 "mid-range displacements)")
        if self.output_stride < 1:
            raise ValueError("output_stride must be positive")
        if self.max_poses < 1:
            raise ValueError("max_poses must be at least 1")
        if not 0.0 < self.score_threshold < 1.0:
            raise ValueError("score_threshold must be in (0, 1)")
        if self.nms_radius < 0 or self.refine_steps < 0:
            raise ValueError("nms_radius and refine_steps must not be negative")


def check_shapes(node: str, shapes: list[tuple[int, ...]], what: str) -> None:
    """Raise ModelMismatchError unless `shapes` are PoseNet's three [1, H, W, C] outputs (C = 17, 34, 64)."""
    ok = len(shapes) == 3 and all(len(s) == 4 and s[0] == 1 and s[3] == c for s, c in zip(shapes, _CHANNELS))
    ok = ok and len({(s[1], s[2]) for s in shapes}) == 1
    if not ok:
        expected = ", ".join(f"[1, H, W, {c}] ({n})" for c, n in zip(_CHANNELS, _NAMES))
        actual = ", ".join(str(list(s)) for s in shapes) or "none"
        raise ModelMismatchError(f"node '{node}' (PoseNetDecoderCalculator): {what} do not fit a PoseNet decoder: "
                                 f"expected 3 tensors {expected} on the same grid, actual: {actual}")


@calculator("PoseNetDecoderCalculator")
class PoseNetDecoderCalculator(Calculator):
    """PoseNet heatmaps, offsets and displacements -> POSES (list[Pose], coco17), single- or multi-pose.

    TENSORS (heatmaps, short offsets, displacements; quantised or float) + MATRIX (model input -> image, from
    ImageToTensorCalculator) -> POSES (best first; [] when none).

    Quantised outputs are dequantised with each tensor's scale / zero point, read from the model file at open()
    (model option or MODEL side packet) or given as options. mode SINGLE: one pose from per-keypoint argmax; MULTI:
    local-maximum roots and greedy decoding along the skeleton with the mid-range displacements (multi_pose.py).

    Placement: ImageToTensorCalculator's warp is corner-aligned (tensor pixel p samples image pixel index
    M(p / tensor width)), so a keypoint at input pixel p maps to the image point M(p / W) plus half an image pixel
    (normalised landmarks put pixel i's centre at i + 0.5). IMAGE gives that image size. Without IMAGE the keypoint
    is placed at the input pixel's centre, M((p + 0.5) / W): off by 0.5 x (image px per input px - 1) pixels
    (0.18 px on a 640x480 frame, 1.6 px on a 2000-px one).
    """

    TENSORS = Input[list]("TENSORS")
    MATRIX = Input[np.ndarray]("MATRIX")
    IMAGE = Input[ImageFrame]("IMAGE", optional=True)
    POSES = Output[list]("POSES")
    MODEL = InputSidePacket[str]("MODEL", optional=True)
    Options = PoseNetDecoderOptions

    def open(self, ctx):
        opts = self.options
        self._quant = list(zip(opts.quant_scales, opts.quant_zero_points)) or [(0.0, 0)] * 3
        self._outputs = OutputCheck(lambda shapes, what: check_shapes(self.name, shapes, what))
        specs = self._outputs.open(ctx.side(self.MODEL) or opts.model)
        if specs is not None:
            self._quant = [(t.quant_scale, t.quant_zero_point) for t in specs.outputs]

    def process(self, ctx):
        tensors = ctx[self.TENSORS]
        if self._outputs.first_tensors(tensors):
            for t, (scale, _), name in zip(tensors, self._quant, _NAMES):
                if np.issubdtype(np.asarray(t).dtype, np.integer) and scale == 0.0:
                    raise ValueError(f"node '{self.name}': the {name} tensor is {np.asarray(t).dtype} (quantised) "
                                     "but no quantisation is known: set the model option or MODEL side packet, or "
                                     "quant_scales and quant_zero_points")
        opts = self.options
        used = 2 if opts.mode is PoseNetMode.SINGLE else 3  # single pose never reads the displacements
        maps = [dequantize(np.asarray(t)[0], scale, zero) for t, (scale, zero) in zip(tensors[:used], self._quant)]
        heatmaps, offsets = maps[0], maps[1]
        stride = opts.output_stride
        grid_h, grid_w = heatmaps.shape[0], heatmaps.shape[1]
        input_h = (grid_h - 1) * stride + 1
        input_w = (grid_w - 1) * stride + 1
        if opts.mode is PoseNetMode.SINGLE:
            keypoints = decode_single_pose(heatmaps, offsets, stride)[None]
            scores = keypoints[:, :, 2].mean(axis=1)
            keep = scores >= opts.min_pose_score
            keypoints, scores = keypoints[keep], scores[keep]
        else:
            keypoints, scores = decode_multi_pose(heatmaps, offsets, maps[2], stride, opts.max_poses,
                                                  opts.score_threshold, opts.nms_radius, 1, opts.refine_steps)
        matrix = np.asarray(ctx[self.MATRIX], dtype=np.float64)
        frame: ImageFrame | None = ctx[self.IMAGE]
        if frame is not None:  # sample point of the input pixel, then the centre of that image pixel
            tensor_shift, image_shift = 0.0, (0.5 / frame.width, 0.5 / frame.height)
        else:
            tensor_shift, image_shift = 0.5, (0.0, 0.0)
        poses = []
        for kp, score in zip(keypoints, scores):
            u = (kp[:, 1].astype(np.float64) + tensor_shift) / input_w
            v = (kp[:, 0].astype(np.float64) + tensor_shift) / input_h
            landmarks = np.zeros((kp.shape[0], 5), dtype=np.float32)
            landmarks[:, 0] = matrix[0, 0] * u + matrix[0, 1] * v + matrix[0, 2] + image_shift[0]
            landmarks[:, 1] = matrix[1, 0] * u + matrix[1, 1] * v + matrix[1, 2] + image_shift[1]
            landmarks[:, 3] = kp[:, 2]
            landmarks[:, 4] = kp[:, 2]
            poses.append(Pose(landmarks, "coco17", score=float(score)))
        ctx.send(self.POSES, poses)
