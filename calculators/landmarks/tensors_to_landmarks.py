"""TensorsToLandmarks: a landmark model's raw tensors -> landmarks in crop coordinates, world landmarks, presence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from .kernels import decode_refined_landmarks, decode_world_landmarks


@dataclass
class TensorsToLandmarksOptions:
    num_landmarks: int = 39
    input_image_width: int = 256
    input_image_height: int = 256
    # Heatmap refinement (MediaPipe RefineLandmarksFromHeatmap); 0 turns it off.
    refine_kernel_size: int = 7
    min_confidence_to_refine: float = 0.5
    visibility_sigmoid: bool = True
    presence_sigmoid: bool = True

    def __post_init__(self):
        if self.num_landmarks < 1 or self.refine_kernel_size < 0:
            raise ValueError("num_landmarks must be positive and refine_kernel_size >= 0")


@calculator("TensorsToLandmarksCalculator")
class TensorsToLandmarksCalculator(Calculator):
    """TENSORS of a BlazePose-style landmark model (found by size: N*5 landmarks, 1 presence flag, H x W x N
    heatmap, N*3 world landmarks) -> LANDMARKS (N x 5, normalised to the crop), WORLD_LANDMARKS (N x 3, metres)
    and PRESENCE (the pose flag, a float in [0, 1])."""

    TENSORS = Input[list]("TENSORS")
    LANDMARKS = Output[np.ndarray]("LANDMARKS")
    WORLD_LANDMARKS = Output[np.ndarray]("WORLD_LANDMARKS", optional=True)
    PRESENCE = Output[float]("PRESENCE", optional=True)
    Options = TensorsToLandmarksOptions

    def open(self, ctx):
        o = self.options  # load the decoding kernels now, not in the first frame
        n = o.num_landmarks
        decode_refined_landmarks(np.zeros(n * 5, np.float32), np.zeros((1, 2, 2, n), np.float32), n,
                                 o.input_image_width, o.input_image_height, o.visibility_sigmoid,
                                 o.presence_sigmoid, o.refine_kernel_size, o.min_confidence_to_refine)
        decode_world_landmarks(np.zeros(n * 3, np.float32), n)

    def process(self, ctx):
        o = self.options
        n = o.num_landmarks
        by_size = {t.size: t for t in ctx[self.TENSORS]}
        raw = by_size.get(n * 5)
        if raw is None:
            raise ValueError(f"no landmark tensor of {n} x 5 values among tensor sizes {sorted(by_size)}")
        heatmap = next((t for t in ctx[self.TENSORS] if t.ndim == 4 and t.shape[-1] == n), None)
        landmarks = decode_refined_landmarks(raw, heatmap, n, o.input_image_width, o.input_image_height,
                                             o.visibility_sigmoid, o.presence_sigmoid, o.refine_kernel_size,
                                             o.min_confidence_to_refine)
        ctx.send(self.LANDMARKS, landmarks)
        if n * 3 in by_size:
            ctx.send(self.WORLD_LANDMARKS, decode_world_landmarks(by_size[n * 3], n))
        if 1 in by_size:
            ctx.send(self.PRESENCE, float(by_size[1].reshape(-1)[0]))
