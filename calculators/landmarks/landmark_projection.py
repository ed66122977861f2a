"""LandmarkProjection: landmarks found in a rotated crop, mapped back to the whole image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..types import NormalizedRect
from .kernels import project_landmarks, project_landmarks_and_world, project_world_landmarks


@dataclass
class LandmarkProjectionOptions:
    # true: cosf/sinf of the ROI rotation correctly rounded, as MediaPipe Tasks 1.x (posegraph's BlazePose graphs
    # set it); false: the C library's, as mediapipe 0.10.x, whose graph files use this calculator without options.
    # See calculators/float32_math.py.
    exact_math: bool = False


@calculator("LandmarkProjectionCalculator")
class LandmarkProjectionCalculator(Calculator):
    """NORM_LANDMARKS (crop-normalised) -> image-normalised, through NORM_RECT (the crop's rotated ROI); z is
    scaled like x. WORLD_LANDMARKS are rotated by the ROI's rotation (they stay metric)."""

    NORM_LANDMARKS = Input[np.ndarray]("NORM_LANDMARKS", optional=True)
    WORLD_IN = Input[np.ndarray]("WORLD_LANDMARKS", optional=True)
    NORM_RECT = Input[NormalizedRect]("NORM_RECT")
    NORM_OUT = Output[np.ndarray]("NORM_LANDMARKS", optional=True)
    WORLD_OUT = Output[np.ndarray]("WORLD_LANDMARKS", optional=True)
    Options = LandmarkProjectionOptions

    def open(self, ctx):
        rect = NormalizedRect(0.5, 0.5, 1.0, 1.0, 0.0)  # load the projection kernels now, not in the first frame
        project_landmarks(np.zeros((33, 5), np.float32), rect, exact_math=self.options.exact_math)
        project_world_landmarks(np.zeros((33, 3), np.float32), rect, exact_math=self.options.exact_math)
        project_landmarks_and_world(np.zeros((33, 5), np.float32), np.zeros((33, 3), np.float32), rect,
                                    exact_math=self.options.exact_math)

    def process(self, ctx):
        rect = ctx[self.NORM_RECT]
        if rect is None:
            return
        exact = self.options.exact_math
        landmarks = ctx[self.NORM_LANDMARKS]
        world = ctx[self.WORLD_IN]
        if landmarks is not None and world is not None:  # the usual case, in one call
            projected, rotated = project_landmarks_and_world(landmarks, world, rect, exact_math=exact)
            ctx.send(self.NORM_OUT, projected)
            ctx.send(self.WORLD_OUT, rotated)
            return
        if landmarks is not None:
            ctx.send(self.NORM_OUT, project_landmarks(landmarks, rect, exact_math=exact))
        if world is not None:
            ctx.send(self.WORLD_OUT, project_world_landmarks(world, rect, exact_math=exact))
