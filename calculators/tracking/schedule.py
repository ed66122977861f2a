"""When the person detector runs in the multi-person graph.

Two detector runs per frame at most:

- the *first* runs on the image as it is, when nobody is tracked (first frame, static-image mode, everybody lost),
  exactly as in the single-person graph (`TracksPresentCalculator` gates it);
- the *search* runs on the image with the people found so far painted over (MaskPeopleCalculator), to find people
  the first run could not separate from them, and new people entering while others are tracked
  (`PoseDetectionScheduleCalculator` decides).
"""

from __future__ import annotations

from dataclasses import dataclass

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..types import ImageFrame
from .types import TrackSet


@calculator("TracksPresentCalculator")
class TracksPresentCalculator(Calculator):
    """PRESENT (bool) at every IMAGE timestamp: whether TRACKS (the previous frame's TrackSet) has active tracks."""

    IMAGE = Input[ImageFrame]("IMAGE")
    TRACKS = Input[TrackSet]("TRACKS", optional=True)
    PRESENT = Output[bool]("PRESENT")

    def process(self, ctx):
        tracks: TrackSet | None = ctx[self.TRACKS]
        ctx.send(self.PRESENT, tracks is not None and len(tracks.active) > 0)


@dataclass
class PoseDetectionScheduleOptions:
    # While people are tracked, the search runs every this many frames (to find people who entered, and to count
    # people beyond max_poses); 0 = only when a track was lost on the previous frame.
    detection_interval: int = 10

    def __post_init__(self):
        if self.detection_interval < 0:
            raise ValueError(f"detection_interval must be >= 0, got {self.detection_interval}")


@calculator("PoseDetectionScheduleCalculator")
class PoseDetectionScheduleCalculator(Calculator):
    """Whether the search (the detector on the image with the people found painted over) runs on this frame.

    DETECT (bool) at every IMAGE timestamp, given TRACKS (the previous frame's TrackSet) and PERSONS (what the
    landmark loop found for the tracks or the first detections).

    - Nobody was tracked (the first detector ran on this frame): search when it found somebody (people hidden next
      to them); in static-image mode this is every frame with a person.
    - People were tracked: search when a track was lost on the previous frame, or DETECTION_INTERVAL frames after
      the last detection (side packet; overrides the option).
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    TRACKS = Input[TrackSet]("TRACKS", optional=True)
    PERSONS = Input[list]("PERSONS", optional=True)
    DETECTION_INTERVAL = InputSidePacket[int]("DETECTION_INTERVAL", optional=True)
    DETECT = Output[bool]("DETECT")
    Options = PoseDetectionScheduleOptions

    def open(self, ctx):
        self._interval = int(ctx.side(self.DETECTION_INTERVAL, default=self.options.detection_interval))
        if self._interval < 0:
            raise ValueError(f"detection_interval must be >= 0, got {self._interval}")
        self._since_detection = 0
        self.searches = 0  # frames on which the search ran (tests, benchmarks)

    def process(self, ctx):
        tracks: TrackSet | None = ctx[self.TRACKS]
        found = sum(1 for p in (ctx[self.PERSONS] or []) if p.found)
        self._since_detection += 1
        if tracks is None or not tracks.active:
            detect = found > 0
            self._since_detection = 0  # the first detector ran on this frame
        else:
            detect = tracks.just_lost > 0 or (self._interval > 0 and self._since_detection >= self._interval)
        if detect:
            self._since_detection = 0
            self.searches += 1
        ctx.send(self.DETECT, detect)
