"""MediaPipe's detection calculators: anchors, tensors to detections, NMS, detections <-> rects, rect transforms."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, OutputSidePacket, calculator
from posegraph.registry import register_variant

from ..detection.anchors import SsdAnchorOptions, generate_anchors
from ..detection.convert import detections_to_rows, sample_detections
from ..detection.kernels import DecodeOptions, non_max_suppression, weighted_non_max_suppression
from ..detection.roi import alignment_points_to_rect, rows_to_detections, transform_rect
from ..detection.tensors_to_detections import TensorsToDetectionsCalculator
from ..types import Detection, NormalizedRect
from .types import RELEASED_EXACT_MATH

_F32 = np.float32


# ----------------------------------------------------------------------------------------------- anchors


@dataclass
class SsdAnchorsCalculatorOptions:
    __proto_name__ = "mediapipe.SsdAnchorsCalculatorOptions"
    input_size_width: int = 0
    input_size_height: int = 0
    min_scale: float = 0.0
    max_scale: float = 0.0
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5
    num_layers: int = 0
    feature_map_width: list[int] = field(default_factory=list)
    feature_map_height: list[int] = field(default_factory=list)
    strides: list[int] = field(default_factory=list)
    aspect_ratios: list[float] = field(default_factory=list)
    reduce_boxes_in_lowest_layer: bool = False
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = False

    def generator_options(self) -> SsdAnchorOptions:
        return SsdAnchorOptions(
            input_size_width=self.input_size_width, input_size_height=self.input_size_height,
            min_scale=self.min_scale, max_scale=self.max_scale, num_layers=self.num_layers,
            strides=tuple(self.strides), anchor_offset_x=self.anchor_offset_x, anchor_offset_y=self.anchor_offset_y,
            aspect_ratios=tuple(self.aspect_ratios), feature_map_width=tuple(self.feature_map_width),
            feature_map_height=tuple(self.feature_map_height),
            reduce_boxes_in_lowest_layer=self.reduce_boxes_in_lowest_layer,
            interpolated_scale_aspect_ratio=self.interpolated_scale_aspect_ratio,
            fixed_anchor_size=self.fixed_anchor_size)


@calculator("SsdAnchorsCalculator")
class SsdAnchorsCalculator(Calculator):
    """Output side packet (untagged, or ANCHORS): the SSD anchors, N x 4 float32 (x_center, y_center, w, h)."""

    ANCHORS = OutputSidePacket[np.ndarray]("", optional=True)
    ANCHORS_TAGGED = OutputSidePacket[np.ndarray]("ANCHORS", optional=True)
    Options = SsdAnchorsCalculatorOptions

    def open(self, ctx):
        anchors = generate_anchors(self.options.generator_options())
        ctx.set_side(self.ANCHORS, anchors)
        ctx.set_side(self.ANCHORS_TAGGED, anchors)

    def process(self, ctx):
        from posegraph import STOP
        return STOP


# ------------------------------------------------------------------------------------- tensors to detections


@dataclass
class MpTensorsToDetectionsOptions:
    __proto_name__ = "mediapipe.TensorsToDetectionsCalculatorOptions"
    num_classes: int = 0
    num_boxes: int = 0
    num_coords: int = 0
    keypoint_coord_offset: int = 0
    num_keypoints: int = 0
    num_values_per_keypoint: int = 2
    box_coord_offset: int = 0
    x_scale: float = 0.0
    y_scale: float = 0.0
    w_scale: float = 0.0
    h_scale: float = 0.0
    apply_exponential_on_box_size: bool = False
    reverse_output_order: bool = False
    ignore_classes: list[int] = field(default_factory=list)
    allow_classes: list[int] = field(default_factory=list)
    sigmoid_score: bool = False
    score_clipping_thresh: float | None = None
    flip_vertically: bool = False
    min_score_thresh: float | None = None
    max_results: int = -1

    def __post_init__(self):
        if self.num_coords != self.box_coord_offset + 4 + self.num_values_per_keypoint * self.num_keypoints and \
                self.num_coords < 4 + self.num_values_per_keypoint * self.num_keypoints:
            raise ValueError(f"num_coords {self.num_coords} cannot hold 4 box values and {self.num_keypoints} "
                             f"keypoints of {self.num_values_per_keypoint}")
        if self.flip_vertically or self.ignore_classes or self.allow_classes:
            raise ValueError("flip_vertically, ignore_classes and allow_classes are not supported")


class MpTensorsToDetections(TensorsToDetectionsCalculator):
    """TENSORS (raw boxes and scores) + ANCHORS (side packet, from SsdAnchorsCalculator) -> DETECTIONS normalised
    to the model input (MediaPipe's contract: anchors come as a side packet, options carry no anchors)."""

    ANCHORS = InputSidePacket[np.ndarray]("ANCHORS")
    Options = MpTensorsToDetectionsOptions

    def open(self, ctx):
        o = self.options
        self._anchors = np.asarray(ctx.side(self.ANCHORS), dtype=np.float32)
        if o.num_boxes and self._anchors.shape[0] != o.num_boxes:
            raise ValueError(f"node '{self.name}': {self._anchors.shape[0]} anchors, num_boxes is {o.num_boxes}")
        self._decode = DecodeOptions(
            num_coords=o.num_coords, num_keypoints=o.num_keypoints, x_scale=o.x_scale, y_scale=o.y_scale,
            w_scale=o.w_scale, h_scale=o.h_scale, box_coord_offset=o.box_coord_offset,
            keypoint_coord_offset=o.keypoint_coord_offset, num_values_per_keypoint=o.num_values_per_keypoint,
            reverse_output_order=o.reverse_output_order,
            apply_exponential_on_box_size=o.apply_exponential_on_box_size, sigmoid_score=o.sigmoid_score,
            score_clipping_thresh=o.score_clipping_thresh,
            min_score_thresh=ctx.side(self.MIN_SCORE, default=o.min_score_thresh), exact_math=RELEASED_EXACT_MATH)
        self._load_kernel()


register_variant("TensorsToDetectionsCalculator", MpTensorsToDetectionsOptions.__proto_name__,
                 MpTensorsToDetections)


# ---------------------------------------------------------------------------------------------------- NMS


class OverlapType(enum.Enum):
    UNSPECIFIED_OVERLAP_TYPE = 0
    JACCARD = 1
    MODIFIED_JACCARD = 2
    INTERSECTION_OVER_UNION = 3


class NmsAlgorithm(enum.Enum):
    DEFAULT = 0
    WEIGHTED = 1


@dataclass
class MpNonMaxSuppressionOptions:
    __proto_name__ = "mediapipe.NonMaxSuppressionCalculatorOptions"
    num_detection_streams: int = 1
    max_num_detections: int = -1
    min_score_threshold: float = -1.0
    min_suppression_threshold: float = 1.0
    overlap_type: OverlapType = OverlapType.JACCARD
    return_empty_detections: bool = False
    algorithm: NmsAlgorithm = NmsAlgorithm.DEFAULT

    def __post_init__(self):
        if self.overlap_type not in (OverlapType.JACCARD, OverlapType.INTERSECTION_OVER_UNION):
            raise ValueError(f"overlap_type {self.overlap_type.name} is not supported (JACCARD or "
                             f"INTERSECTION_OVER_UNION, which are the same measure)")
        if self.num_detection_streams != 1:
            raise ValueError("only num_detection_streams: 1 is supported")


class MpNonMaxSuppression(Calculator):
    """Untagged detections in, untagged detections out (MediaPipe's contract). An empty input gives no packet
    unless return_empty_detections."""

    IN = Input[list]("")
    OUT = Output[list]("")
    Options = MpNonMaxSuppressionOptions

    def open(self, ctx):
        self._suppress(sample_detections())  # loads the kernel now, not in the first frame

    def process(self, ctx):
        detections = ctx[self.IN]
        if not detections:
            if self.options.return_empty_detections:
                ctx.send(self.OUT, [])
            return
        ctx.send(self.OUT, self._suppress(detections))

    def _suppress(self, detections: list[Detection]) -> list[Detection]:
        o = self.options
        nms = weighted_non_max_suppression if o.algorithm is NmsAlgorithm.WEIGHTED else non_max_suppression
        rows, scores = nms(*detections_to_rows(detections), o.min_suppression_threshold, o.min_score_threshold,
                           o.max_num_detections)
        return rows_to_detections(rows, scores)


register_variant("NonMaxSuppressionCalculator", MpNonMaxSuppressionOptions.__proto_name__, MpNonMaxSuppression)


# -------------------------------------------------------------------------------------- detections to rects


class ConversionMode(enum.Enum):
    DEFAULT = 0
    USE_BOUNDING_BOX = 1
    USE_KEYPOINTS = 2


@dataclass
class DetectionsToRectsCalculatorOptions:
    __proto_name__ = "mediapipe.DetectionsToRectsCalculatorOptions"
    rotation_vector_start_keypoint_index: int | None = None
    rotation_vector_end_keypoint_index: int | None = None
    rotation_vector_target_angle: float | None = None
    rotation_vector_target_angle_degrees: float | None = None
    output_zero_rect_for_empty_detections: bool = False
    conversion_mode: ConversionMode = ConversionMode.DEFAULT

    def target_angle(self) -> float:
        """Radians, float32 as MediaPipe computes it."""
        if self.rotation_vector_target_angle_degrees is not None:
            return float(_F32(math.pi * float(_F32(self.rotation_vector_target_angle_degrees)) / 180.0))
        return float(_F32(self.rotation_vector_target_angle or 0.0))


def _image_size(ctx, port) -> tuple[int, int]:
    size = ctx[port]
    if size is None:
        raise ValueError("IMAGE_SIZE is needed for normalised rects")
    return int(size[0]), int(size[1])


class _DetectionsToRectsBase(Calculator):
    DETECTION = Input[Detection]("DETECTION", optional=True)
    DETECTIONS = Input[list]("DETECTIONS", optional=True)
    IMAGE_SIZE = Input[tuple]("IMAGE_SIZE", optional=True)
    NORM_RECT = Output[NormalizedRect]("NORM_RECT", optional=True)
    NORM_RECTS = Output[list]("NORM_RECTS", optional=True)
    Options = DetectionsToRectsCalculatorOptions

    def open(self, ctx):
        o = self.options  # one rect from a sample detection: loads the kernels now, not in the first frame
        keypoints = max(o.rotation_vector_start_keypoint_index or 0, o.rotation_vector_end_keypoint_index or 0) + 1
        self._rect(sample_detections(1, keypoints)[0], 640, 480)

    def _detections(self, ctx) -> list[Detection] | None:
        if ctx.connected(self.DETECTION):
            d = ctx[self.DETECTION]
            return None if d is None else [d]
        return ctx[self.DETECTIONS]

    def process(self, ctx):
        detections = self._detections(ctx)
        if detections is None:
            return
        if not detections:
            if self.options.output_zero_rect_for_empty_detections:
                ctx.send(self.NORM_RECT, NormalizedRect(0.0, 0.0, 0.0, 0.0, 0.0))
                ctx.send(self.NORM_RECTS, [])
            return
        w, h = _image_size(ctx, self.IMAGE_SIZE)
        rects = [self._rect(d, w, h) for d in detections]
        ctx.send(self.NORM_RECT, rects[0])
        ctx.send(self.NORM_RECTS, rects)


@calculator("AlignmentPointsRectsCalculator")
class AlignmentPointsRectsCalculator(_DetectionsToRectsBase):
    """DETECTION(S) + IMAGE_SIZE -> NORM_RECT(S): a square centred on the start keypoint, its side twice the
    distance to the end keypoint, rotated so that start->end points at the target angle."""

    def _rect(self, d: Detection, w: int, h: int) -> NormalizedRect:
        o = self.options
        kps = d.keypoints
        start, end = o.rotation_vector_start_keypoint_index or 0, o.rotation_vector_end_keypoint_index or 0
        target = math.degrees(o.target_angle()) if o.rotation_vector_target_angle_degrees is None else \
            o.rotation_vector_target_angle_degrees
        return alignment_points_to_rect(kps[start], kps[end], w, h, target, exact_math=RELEASED_EXACT_MATH)


@calculator("DetectionsToRectsCalculator")
class DetectionsToRectsCalculator(_DetectionsToRectsBase):
    """DETECTION(S) + IMAGE_SIZE -> NORM_RECT(S): the detection's box, rotated by the keypoint vector when the
    rotation options are set."""

    def _rect(self, d: Detection, w: int, h: int) -> NormalizedRect:
        o = self.options
        xmin, ymin, bw, bh = (_F32(v) for v in d.box[:4])
        rect = NormalizedRect(float(xmin + bw / _F32(2.0)), float(ymin + bh / _F32(2.0)), float(bw), float(bh), 0.0)
        if o.rotation_vector_start_keypoint_index is not None and o.rotation_vector_end_keypoint_index is not None:
            kps = d.keypoints
            x0, y0 = _F32(kps[o.rotation_vector_start_keypoint_index][0]) * _F32(w), \
                _F32(kps[o.rotation_vector_start_keypoint_index][1]) * _F32(h)
            x1, y1 = _F32(kps[o.rotation_vector_end_keypoint_index][0]) * _F32(w), \
                _F32(kps[o.rotation_vector_end_keypoint_index][1]) * _F32(h)
            angle = _F32(o.target_angle()) - _F32(math.atan2(-(y1 - y0), x1 - x0))
            from ..detection.roi import normalize_radians
            rect = NormalizedRect(rect.x_center, rect.y_center, rect.width, rect.height, normalize_radians(angle))
        return rect


# ------------------------------------------------------------------------------------- rect transformation


@dataclass
class RectTransformationCalculatorOptions:
    __proto_name__ = "mediapipe.RectTransformationCalculatorOptions"
    scale_x: float = 1.0
    scale_y: float = 1.0
    rotation: float | None = None
    rotation_degrees: int | None = None
    shift_x: float = 0.0
    shift_y: float = 0.0
    square_long: bool = False
    square_short: bool = False

    def __post_init__(self):
        if self.square_long and self.square_short:
            raise ValueError("square_long and square_short are exclusive")


@calculator("RectTransformationCalculator")
class RectTransformationCalculator(Calculator):
    """NORM_RECT (or NORM_RECTS) + IMAGE_SIZE -> the rect shifted along its rotated axes, squared in pixels,
    scaled (output untagged)."""

    NORM_RECT = Input[NormalizedRect]("NORM_RECT", optional=True)
    NORM_RECTS = Input[list]("NORM_RECTS", optional=True)
    IMAGE_SIZE = Input[tuple]("IMAGE_SIZE")
    OUT = Output("")
    Options = RectTransformationCalculatorOptions

    def _transform(self, rect: NormalizedRect, w: int, h: int) -> NormalizedRect:
        o = self.options
        rotation = None
        if o.rotation is not None:
            rotation = float(_F32(o.rotation))
        elif o.rotation_degrees is not None:
            rotation = float(_F32(math.pi * o.rotation_degrees / 180.0))
        return transform_rect(rect, w, h, scale_x=o.scale_x, scale_y=o.scale_y, shift_x=o.shift_x, shift_y=o.shift_y,
                              square_long=o.square_long, square_short=o.square_short, rotation=rotation,
                              exact_math=RELEASED_EXACT_MATH)

    def open(self, ctx):
        self._transform(NormalizedRect(0.5, 0.5, 0.2, 0.3, 0.1), 640, 480)  # loads the kernel now

    def process(self, ctx):
        size = ctx[self.IMAGE_SIZE]
        if size is None:
            return
        w, h = int(size[0]), int(size[1])
        if ctx.connected(self.NORM_RECT):
            rect = ctx[self.NORM_RECT]
            if rect is not None:
                ctx.send(self.OUT, self._transform(rect, w, h))
        else:
            rects = ctx[self.NORM_RECTS]
            if rects is not None:
                ctx.send(self.OUT, [self._transform(r, w, h) for r in rects])


# --------------------------------------------------------------------------------- landmarks to detection


@calculator("LandmarksToDetectionCalculator")
class LandmarksToDetectionCalculator(Calculator):
    """NORM_LANDMARKS -> DETECTION: every landmark a keypoint, the box their extent (MediaPipe's
    LandmarksToDetectionCalculator, without selected_landmark_indices)."""

    NORM_LANDMARKS = Input[np.ndarray]("NORM_LANDMARKS")
    DETECTION = Output[Detection]("DETECTION")

    def process(self, ctx):
        lm = ctx[self.NORM_LANDMARKS]
        if lm is None:
            return
        pts = np.asarray(lm, dtype=np.float32)[:, :2]
        xmin, ymin = pts[:, 0].min(), pts[:, 1].min()
        xmax, ymax = pts[:, 0].max(), pts[:, 1].max()
        box = np.array([xmin, ymin, xmax - xmin, ymax - ymin], dtype=np.float32)
        ctx.send(self.DETECTION, Detection(score=0.0, box=box, keypoints=pts.copy()))


__all__ = ["SsdAnchorsCalculator", "MpTensorsToDetections", "MpNonMaxSuppression", "AlignmentPointsRectsCalculator",
           "DetectionsToRectsCalculator", "RectTransformationCalculator", "LandmarksToDetectionCalculator"]
