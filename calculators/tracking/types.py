"""Payloads of the multi-person tracking calculators."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import NormalizedRect

__all__ = ["NEW_TRACK", "TrackSet", "TrackedPerson", "TrackedRoi"]

NEW_TRACK = -1  # track_id of a ROI from a detection: the tracker gives it an id once its landmarks are found


@dataclass(frozen=True, slots=True)
class TrackedRoi:
    """One person to look at on a frame: where (the landmark model's ROI) and who (track id).

    `origin` is "track" when the ROI comes from the person's landmarks on the previous frame (`track_id` is theirs),
    "detection" when it comes from a detection on this frame (`track_id` is NEW_TRACK until the tracker has
    matched or numbered it). `score` is the last landmark presence of a track, the detection score of a detection.
    `points` are the two alignment points (hip centre, scale point; normalised x, y) the ROI was built from, for
    keypoint similarity. `frames_lost` counts frames since a lost track was last seen (0 while tracked).
    """

    track_id: int
    roi: NormalizedRect
    score: float
    origin: str = "track"
    points: np.ndarray | None = None
    frames_lost: int = 0

    @property
    def is_new(self) -> bool:
        return self.origin != "track"


@dataclass(frozen=True, slots=True)
class TrackedPerson:
    """What the landmark sub-pipeline found for one TrackedRoi (one loop item). `landmarks` is None when the
    pose presence stayed below the threshold (the track is lost there)."""

    track: TrackedRoi
    landmarks: np.ndarray | None = None
    world_landmarks: np.ndarray | None = None
    aux_landmarks: np.ndarray | None = None
    presence: float | None = None
    next_roi: NormalizedRect | None = None
    segmentation_mask: np.ndarray | None = None  # float32 H x W, when the graph runs with enable_segmentation

    @property
    def found(self) -> bool:
        return self.landmarks is not None


@dataclass(frozen=True, slots=True)
class TrackSet:
    """The tracking state carried to the next frame (through a back edge).

    `active`: tracks to follow there (ROI from this frame's landmarks); `just_lost`: how many tracks ended on this
    frame (the detector runs again on the next frame when > 0).
    """

    active: tuple[TrackedRoi, ...] = ()
    just_lost: int = 0
