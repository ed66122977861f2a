"""LandmarksSmoothing: One Euro filtering of landmarks across frames, reset when a frame has none."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..types import ImageFrame, NormalizedRect
from .smoothing import (OneEuroFilter, OneEuroParams, VisibilityFilter, filter_normalized_landmarks,
                        object_scale_from_rect)


@dataclass
class LandmarksSmoothingOptions:
    min_cutoff: float = 1.0
    beta: float = 0.0
    derivate_cutoff: float = 1.0
    frequency: float = 30.0
    min_allowed_object_scale: float = 1e-6
    # World landmarks (metres): filtered as they are, no pixel conversion and no value scaling.
    world: bool = False
    # Visibility low-pass (MediaPipe VisibilitySmoothing); 0 turns it off.
    visibility_alpha: float = 0.1


@calculator("LandmarksSmoothingCalculator")
class LandmarksSmoothingCalculator(Calculator):
    """LANDMARKS (N x 5 normalised, or N x 3 world) at each IMAGE timestamp -> smoothed LANDMARKS.

    The object scale comes from OBJECT_SCALE_ROI when given (BlazePose: the next frame's ROI), else from the
    landmarks' extent. A frame without landmarks resets the filter. ENABLE (smooth_landmarks) and TRACKING
    (use_prev_landmarks) side packets: smoothing runs only when both are true (frames of unrelated images are
    never smoothed together); otherwise landmarks pass through unchanged.
    """

    LANDMARKS = Input[np.ndarray]("LANDMARKS", optional=True)
    IMAGE = Input[ImageFrame]("IMAGE")
    OBJECT_SCALE_ROI = Input[NormalizedRect]("OBJECT_SCALE_ROI", optional=True)
    ENABLE = InputSidePacket[bool]("ENABLE", optional=True)
    TRACKING = InputSidePacket[bool]("TRACKING", optional=True)
    OUT = Output[np.ndarray]("LANDMARKS")
    Options = LandmarksSmoothingOptions

    def open(self, ctx):
        o = self.options
        self._enabled = bool(ctx.side(self.ENABLE, default=True)) and bool(ctx.side(self.TRACKING, default=True))
        params = OneEuroParams(o.min_cutoff, o.beta, o.derivate_cutoff, o.frequency, o.min_allowed_object_scale,
                               disable_value_scaling=o.world)
        alpha = o.visibility_alpha if o.visibility_alpha > 0 else 1.0  # 1: the low-pass is the identity (off)
        self._filter = OneEuroFilter(params)
        self._visibility = VisibilityFilter(alpha)
        # load the filter kernels now, on throwaway filters, not in the first frame
        warm = np.ones((33, 5), np.float32)
        if o.world:
            OneEuroFilter(params).apply(warm[:, :3], 0, None)
        else:
            filter_normalized_landmarks(OneEuroFilter(params), VisibilityFilter(alpha), warm, 2, 2, 0, 1.0)

    def process(self, ctx):
        landmarks = ctx[self.LANDMARKS]
        if landmarks is None:
            self._filter.reset()
            self._visibility.reset()
            return
        if not self._enabled:
            ctx.send(self.OUT, landmarks)
            return
        if self.options.world:
            out = np.array(landmarks, dtype=np.float32, copy=True)
            out[:, :3] = self._filter.apply(out[:, :3], ctx.timestamp, None)
        else:
            frame: ImageFrame = ctx[self.IMAGE]
            rect = ctx[self.OBJECT_SCALE_ROI]
            scale = object_scale_from_rect(rect, frame.width, frame.height) if rect is not None else None
            out = filter_normalized_landmarks(self._filter, self._visibility, landmarks, frame.width, frame.height,
                                              ctx.timestamp, scale)
        ctx.send(self.OUT, out)
