"""PoseTrackSmoothing: MediaPipe's landmark smoothing, with one filter state per track id."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..landmarks.smoothing import (OneEuroFilter, OneEuroParams, VisibilityFilter, filter_normalized_landmarks,
                                   object_scale_from_rect)
from ..types import ImageFrame, Pose


@dataclass
class PoseTrackSmoothingOptions:
    # Landmarks (normalised, filtered in pixels, value scale 1 / object scale): MediaPipe Tasks' parameters.
    min_cutoff: float = 0.05
    beta: float = 80.0
    derivate_cutoff: float = 1.0
    visibility_alpha: float = 0.1
    # World landmarks (metres, no value scaling).
    world_min_cutoff: float = 0.1
    world_beta: float = 40.0
    world_derivate_cutoff: float = 1.0
    frequency: float = 30.0
    min_allowed_object_scale: float = 1e-6
    # Pose.extras key of the ROI whose size is the object scale (None or missing: the landmarks' extent).
    object_scale_key: str = "_next_roi"


class _TrackFilters:
    __slots__ = ("landmarks", "visibility", "world")

    def __init__(self, o: PoseTrackSmoothingOptions):
        self.landmarks = OneEuroFilter(OneEuroParams(o.min_cutoff, o.beta, o.derivate_cutoff, o.frequency,
                                                     o.min_allowed_object_scale))
        # alpha 1 makes the low-pass the identity: visibility smoothing off.
        self.visibility = VisibilityFilter(o.visibility_alpha if o.visibility_alpha > 0 else 1.0)
        self.world = OneEuroFilter(OneEuroParams(o.world_min_cutoff, o.world_beta, o.world_derivate_cutoff,
                                                 o.frequency, o.min_allowed_object_scale,
                                                 disable_value_scaling=True))


@calculator("PoseTrackSmoothingCalculator")
class PoseTrackSmoothingCalculator(Calculator):
    """MediaPipe's landmark smoothing (One Euro) with one filter state per track id, dropped when the track ends.

    POSES (list[Pose] with track_id) at each IMAGE timestamp -> POSES with landmarks and world landmarks
    smoothed by a One Euro filter of their own track (state created when an id appears, dropped on the first frame
    it is missing: a track that ends and comes back starts afresh, like the single-person graph's reset).

    Poses without a track id pass unchanged. ENABLE (smooth_landmarks) and TRACKING (use_prev_landmarks) side
    packets: smoothing runs only when both are true.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    POSES = Input[list]("POSES")
    ENABLE = InputSidePacket[bool]("ENABLE", optional=True)
    TRACKING = InputSidePacket[bool]("TRACKING", optional=True)
    OUT = Output[list]("POSES")
    Options = PoseTrackSmoothingOptions

    def open(self, ctx):
        self._enabled = bool(ctx.side(self.ENABLE, default=True)) and bool(ctx.side(self.TRACKING, default=True))
        self._filters: dict[int, _TrackFilters] = {}
        warm = _TrackFilters(self.options)  # load the filter kernels now, on throwaway filters, not in frame 1
        filter_normalized_landmarks(warm.landmarks, warm.visibility, np.ones((33, 5), np.float32), 2, 2, 0, 1.0)
        warm.world.apply(np.ones((33, 3), np.float32), 0, None)

    @property
    def track_ids(self) -> list[int]:
        """Ids that currently hold filter state (tests)."""
        return sorted(self._filters)

    def process(self, ctx):
        poses: list[Pose] = ctx[self.POSES] or []
        if not self._enabled:
            ctx.send(self.OUT, poses)
            return
        frame: ImageFrame = ctx[self.IMAGE]
        o = self.options
        seen = {p.track_id for p in poses if p.track_id is not None}
        for gone in [tid for tid in self._filters if tid not in seen]:
            del self._filters[gone]
        out = []
        for pose in poses:
            if pose.track_id is None:
                out.append(pose)
                continue
            filters = self._filters.get(pose.track_id)
            if filters is None:
                filters = self._filters[pose.track_id] = _TrackFilters(o)
            rect = pose.extras.get(o.object_scale_key) if o.object_scale_key else None
            scale = object_scale_from_rect(rect, frame.width, frame.height) if rect is not None else None
            landmarks = filter_normalized_landmarks(filters.landmarks, filters.visibility, pose.landmarks,
                                                    frame.width, frame.height, ctx.timestamp, scale)
            world = pose.world_landmarks
            if world is not None:
                world = np.array(world, dtype=np.float32, copy=True)
                world[:, :3] = filters.world.apply(world[:, :3], ctx.timestamp, None)
            out.append(dataclasses.replace(pose, landmarks=landmarks, world_landmarks=world))
        ctx.send(self.OUT, out)
