"""PicoDetDecode: PicoDet's decoded boxes and scores -> person detections (score threshold + greedy NMS)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..types import Detection, LetterboxPadding
from .kernels import decode_picodet

_NO_KEYPOINTS = np.zeros((0, 2), dtype=np.float32)
_NO_KEYPOINTS.setflags(write=False)


@dataclass
class PicoDetDecodeOptions:
    # The detector's input size; boxes come in these pixel units.
    input_width: int = 192
    input_height: int = 192
    # PaddleDetection's default. With the preprocessing PicoDet was trained with (bicubic cv2.resize; the graph's
    # ImageToTensor interpolation "cubic") the shared media give: people 0.60-0.96 (the two far people on the kites
    # beach 0.66 and 0.60, as in PaddleDetection's own pipeline), the best negative box 0.458 (cat). A bilinear
    # warp lifts the cat to 0.51, so keep the two together.
    score_threshold: float = 0.5
    # Greedy NMS IoU (PaddleDetection's PicoDet export: 0.6) over at most max_candidates best boxes (0 = all).
    iou_threshold: float = 0.6
    max_candidates: int = 1000
    # Keep the max_poses highest-scoring people (0 = no limit); the rest are counted as dropped.
    max_poses: int = 0

    def __post_init__(self):
        if self.input_width < 1 or self.input_height < 1:
            raise ValueError("input size must be positive")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {self.score_threshold}")
        if not 0.0 < self.iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in (0, 1], got {self.iou_threshold}")
        if self.max_candidates < 0 or self.max_poses < 0:
            raise ValueError("max_candidates and max_poses must be >= 0 (0 = no limit)")


@calculator("PicoDetDecodeCalculator")
class PicoDetDecodeCalculator(Calculator):
    """TENSORS (PicoDet outputs: boxes [1, N, 4] x1,y1,x2,y2 in input pixels, scores [1, 1, N]) -> DETECTIONS
    (list[Detection], normalised boxes, highest score first; an empty list when nobody is found).

    Boxes are normalised by the input size, so the detector input must be the whole frame stretched to it
    (ImageToTensor with keep_aspect_ratio false), or letterboxed with LETTERBOX_PADDING connected.
    """

    TENSORS = Input[list]("TENSORS")
    LETTERBOX_PADDING = Input[LetterboxPadding]("LETTERBOX_PADDING", optional=True)
    DETECTIONS = Output[list]("DETECTIONS")
    Options = PicoDetDecodeOptions

    def open(self, ctx):
        opts = self.options  # load the NMS kernel now, not in the first frame
        decode_picodet(np.zeros((1, 2, 4), np.float32), np.zeros((1, 1, 2), np.float32), opts.input_width,
                       opts.input_height, score_threshold=opts.score_threshold, iou_threshold=opts.iou_threshold,
                       max_candidates=opts.max_candidates)

    def process(self, ctx):
        opts = self.options
        tensors = ctx[self.TENSORS]
        if len(tensors) < 2:
            raise ValueError(f"node '{self.name}': expected 2 tensors (boxes, scores), got {len(tensors)}")
        boxes, scores = np.asarray(tensors[0]), np.asarray(tensors[1])
        if boxes.shape[-1] != 4 or boxes.size // 4 != scores.size:
            raise ValueError(f"node '{self.name}': expected boxes [1, N, 4] and scores [1, 1, N], got "
                             f"{list(boxes.shape)} and {list(scores.shape)}")
        kept_scores, kept_boxes = decode_picodet(boxes, scores, opts.input_width, opts.input_height,
                                                 score_threshold=opts.score_threshold,
                                                 iou_threshold=opts.iou_threshold,
                                                 max_candidates=opts.max_candidates)
        padding = ctx[self.LETTERBOX_PADDING]
        if padding is not None:
            sx = 1.0 - padding.left - padding.right
            sy = 1.0 - padding.top - padding.bottom
            kept_boxes = kept_boxes.copy()
            kept_boxes[:, 0] = (kept_boxes[:, 0] - padding.left) / sx
            kept_boxes[:, 1] = (kept_boxes[:, 1] - padding.top) / sy
            kept_boxes[:, 2] /= sx
            kept_boxes[:, 3] /= sy
        kept_boxes.setflags(write=False)  # each Detection.box is a row of it: payloads are read-only
        count = len(kept_scores)
        if opts.max_poses and count > opts.max_poses:
            ctx.count_dropped(count - opts.max_poses)
            count = opts.max_poses
        detections = [Detection(float(kept_scores[i]), kept_boxes[i], _NO_KEYPOINTS) for i in range(count)]
        ctx.send(self.DETECTIONS, detections)
