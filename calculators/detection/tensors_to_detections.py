"""TensorsToDetections: SSD box/score tensors -> detections, decoded against anchors computed once."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from .anchors import SsdAnchorOptions, generate_anchors
from .kernels import DecodeOptions, decode_boxes
from .roi import rows_to_detections


@dataclass
class SsdAnchors:
    """MediaPipe's SsdAnchorsCalculatorOptions (the fields the fixed-size generator reads)."""

    input_size_width: int = 0
    input_size_height: int = 0
    min_scale: float = 0.0
    max_scale: float = 0.0
    num_layers: int = 0
    strides: list[int] = field(default_factory=list)
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5
    aspect_ratios: list[float] = field(default_factory=lambda: [1.0])
    feature_map_width: list[int] = field(default_factory=list)
    feature_map_height: list[int] = field(default_factory=list)
    reduce_boxes_in_lowest_layer: bool = False
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = False


@dataclass
class TensorsToDetectionsOptions:
    anchors: SsdAnchors = field(default_factory=SsdAnchors)
    num_classes: int = 1
    num_boxes: int = 0
    num_coords: int = 4
    num_keypoints: int = 0
    num_values_per_keypoint: int = 2
    box_coord_offset: int = 0
    keypoint_coord_offset: int = 4
    x_scale: float = 1.0
    y_scale: float = 1.0
    w_scale: float = 1.0
    h_scale: float = 1.0
    reverse_output_order: bool = False
    apply_exponential_on_box_size: bool = False
    sigmoid_score: bool = False
    score_clipping_thresh: float | None = None
    min_score_thresh: float | None = None

    def __post_init__(self):
        if self.num_coords != 4 + self.num_values_per_keypoint * self.num_keypoints:
            raise ValueError(f"num_coords {self.num_coords} != 4 + {self.num_values_per_keypoint} * "
                             f"{self.num_keypoints} keypoints")


@calculator("TensorsToDetectionsCalculator")
class TensorsToDetectionsCalculator(Calculator):
    """TENSORS (boxes [1, N, num_coords] and scores [1, N, classes], in either order) -> DETECTIONS (normalised to
    the model input). MIN_SCORE (side packet) overrides ``min_score_thresh`` (the app's detection confidence)."""

    TENSORS = Input[list]("TENSORS")
    MIN_SCORE = InputSidePacket[float]("MIN_SCORE", optional=True)
    DETECTIONS = Output[list]("DETECTIONS")
    Options = TensorsToDetectionsOptions

    def open(self, ctx):
        o = self.options
        a = o.anchors
        self._anchors = generate_anchors(SsdAnchorOptions(
            input_size_width=a.input_size_width, input_size_height=a.input_size_height, min_scale=a.min_scale,
            max_scale=a.max_scale, num_layers=a.num_layers, strides=tuple(a.strides),
            anchor_offset_x=a.anchor_offset_x, anchor_offset_y=a.anchor_offset_y,
            aspect_ratios=tuple(a.aspect_ratios), feature_map_width=tuple(a.feature_map_width),
            feature_map_height=tuple(a.feature_map_height),
            reduce_boxes_in_lowest_layer=a.reduce_boxes_in_lowest_layer,
            interpolated_scale_aspect_ratio=a.interpolated_scale_aspect_ratio,
            fixed_anchor_size=a.fixed_anchor_size))
        if o.num_boxes and self._anchors.shape[0] != o.num_boxes:
            raise ValueError(f"anchor options give {self._anchors.shape[0]} anchors, num_boxes is {o.num_boxes}")
        min_score = ctx.side(self.MIN_SCORE, default=o.min_score_thresh)
        self._decode = DecodeOptions(
            num_coords=o.num_coords, num_keypoints=o.num_keypoints, x_scale=o.x_scale, y_scale=o.y_scale,
            w_scale=o.w_scale, h_scale=o.h_scale, box_coord_offset=o.box_coord_offset,
            keypoint_coord_offset=o.keypoint_coord_offset, num_values_per_keypoint=o.num_values_per_keypoint,
            reverse_output_order=o.reverse_output_order,
            apply_exponential_on_box_size=o.apply_exponential_on_box_size, sigmoid_score=o.sigmoid_score,
            score_clipping_thresh=o.score_clipping_thresh,
            min_score_thresh=None if min_score is None else float(min_score))
        self._load_kernel()

    def _load_kernel(self) -> None:
        """Decode zeros once: loads the kernel now, not in the first frame."""
        n, o = self._anchors.shape[0], self.options
        decode_boxes(np.zeros((1, n, o.num_coords), np.float32), np.zeros((1, n, max(o.num_classes, 1)), np.float32),
                     self._anchors, self._decode)

    def process(self, ctx):
        tensors = ctx[self.TENSORS]
        boxes = next((t for t in tensors if t.shape[-1] == self.options.num_coords), None)
        scores = next((t for t in tensors if t is not boxes and t.shape[-1] == self.options.num_classes), None)
        if boxes is None or scores is None or boxes.size // self.options.num_coords != self._anchors.shape[0]:
            raise ValueError(f"expected a [1, {self._anchors.shape[0]}, {self.options.num_coords}] box tensor and a "
                             f"[1, {self._anchors.shape[0]}, {self.options.num_classes}] score tensor, got "
                             f"{[list(t.shape) for t in tensors]}")
        rows, scores, classes = decode_boxes(boxes, scores, self._anchors, self._decode)
        ctx.send(self.DETECTIONS, rows_to_detections(rows, scores, classes))
