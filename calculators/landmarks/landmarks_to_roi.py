"""LandmarksToRoi: the region to crop on the next frame, from this frame's alignment landmarks (tracking)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..detection.roi import landmarks_to_roi_rect
from ..types import ImageFrame, NormalizedRect


@dataclass
class LandmarksToRoiOptions:
    # Rows of LANDMARKS: centre and scale point (BlazePose auxiliary landmarks 33, 34 -> rows 0, 1 of AUX).
    start_landmark: int = 0
    end_landmark: int = 1
    target_angle_degrees: float = 90.0
    scale_x: float = 1.25
    scale_y: float = 1.25
    square_long: bool = True


@calculator("LandmarksToRoiCalculator")
class LandmarksToRoiCalculator(Calculator):
    """LANDMARKS (image-normalised) + IMAGE (for its size) -> NORM_RECT centred on the start landmark, sized twice
    its distance to the end landmark, rotated so that start->end points at the target angle, then scaled."""

    LANDMARKS = Input[np.ndarray]("LANDMARKS")
    IMAGE = Input[ImageFrame]("IMAGE")
    NORM_RECT = Output[NormalizedRect]("NORM_RECT")
    Options = LandmarksToRoiOptions

    def open(self, ctx):
        rows = max(self.options.start_landmark, self.options.end_landmark) + 1
        self._roi(np.full((rows, 5), 0.5, np.float32), 640, 480)  # loads the kernel now, not in the first frame

    def process(self, ctx):
        landmarks = ctx[self.LANDMARKS]
        frame = ctx[self.IMAGE]
        if landmarks is None or frame is None:
            return
        ctx.send(self.NORM_RECT, self._roi(landmarks, frame.width, frame.height))

    def _roi(self, landmarks: np.ndarray, w: int, h: int) -> NormalizedRect:
        o = self.options
        return landmarks_to_roi_rect(landmarks, w, h, o.start_landmark, o.end_landmark, o.target_angle_degrees,
                                     scale_x=o.scale_x, scale_y=o.scale_y, square_long=o.square_long)
