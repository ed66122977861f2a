"""SegmentationSmoothing: blends a mask with the previous frame's, where the new mask is uncertain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import STOP, Calculator, Input, InputSidePacket, Output, OutputSidePacket, calculator

from .kernels import smooth_masks


@dataclass
class SegmentationSmoothingCalculatorOptions:
    __proto_name__ = "mediapipe.SegmentationSmoothingCalculatorOptions"  # read under MediaPipe's name in MediaPipe's graph files
    # How much of the previous mask to mix in where the new value is fully uncertain (0.5); 0 = no smoothing.
    combine_with_previous_ratio: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.combine_with_previous_ratio <= 1.0:
            raise ValueError("combine_with_previous_ratio must be in [0, 1]")


@calculator("SegmentationSmoothingCalculator")
class SegmentationSmoothingCalculator(Calculator):
    """MASK + MASK_PREVIOUS (float32 H x W) -> MASK_SMOOTHED; MASK passes through when there is no previous mask.

    Per pixel, as MediaPipe: ``new + (prev - new) * uncertainty(new) * ratio``, where uncertainty is 1 at 0.5 and
    falls to 0 towards 0 and 1 (a polynomial fit of the squared binary entropy). Feed MASK_PREVIOUS from a
    PreviousLoopbackCalculator on MASK_SMOOTHED (see graphs/pose_segmentation_filtering.pbtxt).
    """

    MASK = Input[np.ndarray]("MASK")
    MASK_PREVIOUS = Input[np.ndarray]("MASK_PREVIOUS", optional=True)
    MASK_SMOOTHED = Output[np.ndarray]("MASK_SMOOTHED")
    Options = SegmentationSmoothingCalculatorOptions

    def process(self, ctx):
        current = ctx[self.MASK]
        if current is None:
            return
        previous = ctx[self.MASK_PREVIOUS]
        if previous is None:
            ctx.send(self.MASK_SMOOTHED, current)
            return
        current = np.ascontiguousarray(current, dtype=np.float32)
        previous = np.ascontiguousarray(previous, dtype=np.float32)
        if current.shape != previous.shape:
            raise ValueError(f"node '{self.name}': MASK is {current.shape} but MASK_PREVIOUS is {previous.shape}")
        out = np.empty_like(current)
        smooth_masks(current, previous, float(self.options.combine_with_previous_ratio), out)
        ctx.send(self.MASK_SMOOTHED, out)


@calculator("SegmentationSmoothingEnableCalculator")
class SegmentationSmoothingEnableCalculator(Calculator):
    """TRACKING (use_prev_landmarks, default true) and SMOOTH (smooth_segmentation, default false) -> ENABLE side
    packet: masks are smoothed only across tracked frames (``smooth_segmentation and not static_image_mode``, as
    MediaPipe's legacy solution). The default is MediaPipe Tasks' (PoseLandmarker does not smooth masks)."""

    TRACKING = InputSidePacket[bool]("TRACKING", optional=True)
    SMOOTH = InputSidePacket[bool]("SMOOTH", optional=True)
    ENABLE = OutputSidePacket[bool]("ENABLE")

    def open(self, ctx):
        tracking = bool(ctx.side(self.TRACKING)) if ctx.has_side(self.TRACKING) else True
        smooth = bool(ctx.side(self.SMOOTH)) if ctx.has_side(self.SMOOTH) else False
        ctx.set_side(self.ENABLE, tracking and smooth)

    def process(self, ctx):
        return STOP
