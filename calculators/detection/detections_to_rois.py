"""DetectionsToRois: each detection becomes a rotated, scaled region of interest for a landmark model."""

from __future__ import annotations

from dataclasses import dataclass

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..types import ImageFrame, NormalizedRect
from .convert import sample_detections
from .roi import associate_rects, detection_to_rect, transform_rect


@dataclass
class DetectionsToRoisOptions:
    # The keypoints whose direction sets the rotation (BlazePose: 0 = hip centre, 1 = scale point).
    start_keypoint: int = 0
    end_keypoint: int = 1
    target_angle_degrees: float = 90.0
    scale_x: float = 1.25
    scale_y: float = 1.25
    square_long: bool = True
    # > 0: drop ROIs that overlap a later one by IoU above this (MediaPipe Tasks' AssociationNormRect).
    association_min_similarity: float = 0.0


@calculator("DetectionsToRoisCalculator")
class DetectionsToRoisCalculator(Calculator):
    """DETECTIONS + IMAGE (for its size) -> ROIS (one NormalizedRect per detection) and ROI (the first; nothing
    when there is no detection). ASSOCIATE (side packet, bool) switches the association on or off;
    MIN_SIMILARITY overrides its threshold."""

    DETECTIONS = Input[list]("DETECTIONS")
    IMAGE = Input[ImageFrame]("IMAGE")
    ASSOCIATE = InputSidePacket[bool]("ASSOCIATE", optional=True)
    MIN_SIMILARITY = InputSidePacket[float]("MIN_SIMILARITY", optional=True)
    ROIS = Output[list]("ROIS", optional=True)
    ROI = Output[NormalizedRect]("ROI", optional=True)
    Options = DetectionsToRoisOptions

    def open(self, ctx):
        similarity = float(ctx.side(self.MIN_SIMILARITY, default=self.options.association_min_similarity))
        associate = bool(ctx.side(self.ASSOCIATE, default=similarity > 0))
        self._similarity = similarity if associate else 0.0
        # loads the kernels now, not in the first frame
        self._rois(sample_detections(2, max(self.options.start_keypoint, self.options.end_keypoint) + 1), 640, 480)

    def process(self, ctx):
        detections = ctx[self.DETECTIONS]
        frame: ImageFrame = ctx[self.IMAGE]
        if detections is None or frame is None:
            return
        rois = self._rois(detections, frame.width, frame.height)
        ctx.send(self.ROIS, rois)
        if rois:
            ctx.send(self.ROI, rois[0])

    def _rois(self, detections: list, w: int, h: int) -> list[NormalizedRect]:
        o = self.options
        rois = [transform_rect(detection_to_rect(d, w, h, o.start_keypoint, o.end_keypoint,
                                                 o.target_angle_degrees), w, h, scale_x=o.scale_x,
                               scale_y=o.scale_y, square_long=o.square_long) for d in detections]
        return associate_rects([[], rois], self._similarity) if self._similarity > 0 else rois
