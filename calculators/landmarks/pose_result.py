"""PoseResult: gathers one frame's landmark streams into the graph's single result type, list[Pose]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..types import ImageFrame, NormalizedRect, Pose


SEGMENTATION_MASK_KEY = "_segmentation_mask"  # Pose.extras key of the person's mask (private: not in JSONL)


@dataclass
class PoseResultOptions:
    topology: str = "blazepose33"


@calculator("PoseResultCalculator")
class PoseResultCalculator(Calculator):
    """At every IMAGE timestamp: POSES = [Pose(LANDMARKS, WORLD_LANDMARKS, score=PRESENCE, roi=ROI)] when
    LANDMARKS are present, else [] (so sinks write one line per frame). AUX_LANDMARKS and DETECTIONS, when
    connected, are kept in ``Pose.extras`` (not written to JSONL), and so is SEGMENTATION_MASK (float32 H x W) as
    ``extras["_segmentation_mask"]``."""

    IMAGE = Input[ImageFrame]("IMAGE")
    LANDMARKS = Input[np.ndarray]("LANDMARKS", optional=True)
    WORLD_LANDMARKS = Input[np.ndarray]("WORLD_LANDMARKS", optional=True)
    PRESENCE = Input[float]("PRESENCE", optional=True)
    ROI = Input[NormalizedRect]("ROI", optional=True)
    AUX_LANDMARKS = Input[np.ndarray]("AUX_LANDMARKS", optional=True)
    DETECTIONS = Input[list]("DETECTIONS", optional=True)
    SEGMENTATION_MASK = Input[np.ndarray]("SEGMENTATION_MASK", optional=True)
    POSES = Output[list]("POSES")
    Options = PoseResultOptions

    def process(self, ctx):
        landmarks = ctx[self.LANDMARKS]
        if landmarks is None:
            ctx.send(self.POSES, [])
            return
        extras = {}
        if ctx.has(self.AUX_LANDMARKS):
            extras["_auxiliary_landmarks"] = ctx[self.AUX_LANDMARKS]
        if ctx.has(self.DETECTIONS):
            extras["_detections"] = ctx[self.DETECTIONS]
        if ctx.has(self.SEGMENTATION_MASK):
            extras[SEGMENTATION_MASK_KEY] = ctx[self.SEGMENTATION_MASK]
        presence = ctx[self.PRESENCE]
        ctx.send(self.POSES, [Pose(landmarks=landmarks, topology=self.options.topology,
                                   score=1.0 if presence is None else float(presence),
                                   world_landmarks=ctx[self.WORLD_LANDMARKS], roi=ctx[self.ROI], extras=extras)])
