"""Per-person steps inside the landmark loop (BeginLoop over list[TrackedRoi] ... EndLoop)."""

from __future__ import annotations

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..types import NormalizedRect
from .types import TrackedPerson, TrackedRoi


@calculator("TrackedRoiToRectCalculator")
class TrackedRoiToRectCalculator(Calculator):
    """TRACK (a TrackedRoi) -> ROI (its NormalizedRect), for a landmark subgraph that takes a plain ROI."""

    TRACK = Input[TrackedRoi]("TRACK")
    ROI = Output[NormalizedRect]("ROI")

    def process(self, ctx):
        ctx.send(self.ROI, ctx[self.TRACK].roi)


@calculator("TrackedPersonCalculator")
class TrackedPersonCalculator(Calculator):
    """One loop item's result: TRACK + what the landmark subgraph found for it -> PERSON (a TrackedPerson).

    Emitted for every TRACK, also when the landmarks are absent (presence below threshold), so that the tracker
    learns the track was lost."""

    TRACK = Input[TrackedRoi]("TRACK")
    LANDMARKS = Input[np.ndarray]("LANDMARKS", optional=True)
    WORLD_LANDMARKS = Input[np.ndarray]("WORLD_LANDMARKS", optional=True)
    AUX_LANDMARKS = Input[np.ndarray]("AUX_LANDMARKS", optional=True)
    PRESENCE = Input[float]("PRESENCE", optional=True)
    NEXT_ROI = Input[NormalizedRect]("NEXT_ROI", optional=True)
    SEGMENTATION_MASK = Input[np.ndarray]("SEGMENTATION_MASK", optional=True)
    PERSON = Output[TrackedPerson]("PERSON")

    def process(self, ctx):
        track = ctx[self.TRACK]
        if track is None:
            return
        landmarks = ctx[self.LANDMARKS]
        presence = ctx[self.PRESENCE]
        ctx.send(self.PERSON, TrackedPerson(
            track=track,
            landmarks=landmarks,
            world_landmarks=ctx[self.WORLD_LANDMARKS] if landmarks is not None else None,
            aux_landmarks=ctx[self.AUX_LANDMARKS] if landmarks is not None else None,
            presence=None if presence is None else float(presence),
            next_roi=ctx[self.NEXT_ROI] if landmarks is not None else None,
            segmentation_mask=ctx[self.SEGMENTATION_MASK] if landmarks is not None else None))
