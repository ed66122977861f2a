"""DetectionsToRois: each detection becomes a rotated, scaled region of interest for a landmark model."""

from __future__ import annotations

from dataclasses import dataclass

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..types import ImageFrame, NormalizedRect
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

    def process(self, ctx):
        detections = ctx[self.DETECTIONS]
        frame: ImageFrame = ctx[self.IMAGE]
        if detections is None or frame is None:
            return
        o = self.options
        w, h = frame.width, frame.height
        rois = [transform_rect(detection_to_rect(d, w, h, o.start_keypoint, o.end_keypoint,
                                                 o.target_angle_degrees), w, h, scale_x=o.scale_x,
                               scale_y=o.scale_y, square_long=o.square_long) for d in detections]
        if self._similarity > 0:
            rois = associate_rects([[], rois], self._similarity)
        ctx.send(self.ROIS, rois)
        if rois:
            ctx.send(self.ROI, rois[0])
