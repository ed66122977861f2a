"""MoveNet smart cropping, as a calculator pair around a back edge.

    frames --MAIN--> PreviousLoopback --PREV_LOOP--> MoveNetCropCalculator --> crop --> model --> poses
                       ^ LOOP (back edge)                                                          |
                       +-------------------- MoveNetNextCropCalculator <---------------------------+

`MoveNetNextCropCalculator` turns this frame's keypoints into the crop for the next frame (hip-centred square from
the torso and body ranges; see kernels.py); `MoveNetCropCalculator` picks the crop to run on: the previous frame's
when there is one, else the whole frame padded to a square.

Both take the USE_PREV_LANDMARKS side packet (default true). When it is false (static-image mode) the crop
calculator ignores the previous frame and the next-crop calculator also emits REFINE_CROP, the crop for a second
pass on the same image. (Reading the side packet here rather than through two GateCalculators keeps the graph at
the node count of a hand-written loop's steps: every node costs a few microseconds per frame.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..types import ImageFrame, NormalizedRect, Pose
from .kernels import crop_region_from_keypoints, init_crop_region


def _rect(values: np.ndarray) -> NormalizedRect:
    return NormalizedRect(float(values[0]), float(values[1]), float(values[2]), float(values[3]), 0.0)


def full_frame_crop(width: int, height: int) -> NormalizedRect:
    """The whole frame padded to a centred square (the first frame's crop)."""
    return _rect(init_crop_region(width, height))


@dataclass
class MoveNetNextCropOptions:
    # Keypoints scoring below this do not count (for torso visibility and the body range).
    min_keypoint_score: float = 0.2
    # Half side = max(torso range * torso_expansion, body range * body_expansion).
    torso_expansion: float = 1.9
    body_expansion: float = 1.2

    def __post_init__(self):
        if self.torso_expansion <= 0 or self.body_expansion <= 0:
            raise ValueError("expansion ratios must be positive")


@calculator("MoveNetNextCropCalculator")
class MoveNetNextCropCalculator(Calculator):
    """POSES (this frame's MoveNet pose, coco17) + IMAGE (for its size) -> NORM_RECT, the crop for the next frame.

    Centred on the hips, a square (in pixels) of half side max(1.9 x torso range, 1.2 x body range), clamped to the
    largest distance to an image border; the padded full frame when the torso is not visible (no hip or no shoulder
    above min_keypoint_score), when the square would be larger than the frame, or when there is no pose. Always
    emits, so the loop always carries a crop. With USE_PREV_LANDMARKS false (static-image mode) the same crop also
    goes to REFINE_CROP, for a second pass on this image.
    """

    POSES = Input[list]("POSES")
    IMAGE = Input[ImageFrame]("IMAGE")
    NORM_RECT = Output[NormalizedRect]("NORM_RECT")
    REFINE_CROP = Output[NormalizedRect]("REFINE_CROP", optional=True)
    USE_PREV = InputSidePacket[bool]("USE_PREV_LANDMARKS", optional=True)
    Options = MoveNetNextCropOptions

    def open(self, ctx):
        self._refine = not bool(ctx.side(self.USE_PREV, default=True))

    def process(self, ctx):
        frame: ImageFrame = ctx[self.IMAGE]
        poses: list[Pose] = ctx[self.POSES] or []
        w, h = frame.width, frame.height
        if poses:
            o = self.options
            crop = _rect(crop_region_from_keypoints(np.asarray(poses[0].landmarks, dtype=np.float32), w, h,
                                                    o.min_keypoint_score, o.torso_expansion, o.body_expansion))
        else:
            crop = full_frame_crop(w, h)
        ctx.send(self.NORM_RECT, crop)
        if self._refine:
            ctx.send(self.REFINE_CROP, crop)


@calculator("MoveNetCropCalculator")
class MoveNetCropCalculator(Calculator):
    """IMAGE + PREV_CROP (optional: the crop computed from the previous frame) -> NORM_RECT, the crop to run on.

    The previous crop when there is one, the frame size did not change and USE_PREV_LANDMARKS (side packet,
    default true) allows it; else the whole frame padded to a centred square (first frame, static-image mode, a new
    image size).
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    PREV_CROP = Input[NormalizedRect]("PREV_CROP", optional=True)
    NORM_RECT = Output[NormalizedRect]("NORM_RECT")
    USE_PREV = InputSidePacket[bool]("USE_PREV_LANDMARKS", optional=True)

    def open(self, ctx):
        self._last_size: tuple[int, int] | None = None
        self._use_prev = bool(ctx.side(self.USE_PREV, default=True))

    def process(self, ctx):
        frame: ImageFrame = ctx[self.IMAGE]
        size = (frame.width, frame.height)
        prev = ctx[self.PREV_CROP]
        same_size = self._last_size == size
        self._last_size = size
        if prev is not None and same_size and self._use_prev:
            ctx.send(self.NORM_RECT, prev)
        else:
            ctx.send(self.NORM_RECT, full_frame_crop(*size))
