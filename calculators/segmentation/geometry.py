"""InverseMatrix: the inverse transform that a warp back to the image needs (the image size comes from
ImagePropertiesCalculator, calculators/mediapipe/image.py)."""

from __future__ import annotations

import numpy as np

from posegraph import Calculator, Input, Output, calculator


@calculator("InverseMatrixCalculator")
class InverseMatrixCalculator(Calculator):
    """MATRIX (3x3 or 4x4) -> MATRIX, its inverse in float32 (MediaPipe inverts its 4x4 float matrix)."""

    MATRIX = Input[np.ndarray]("MATRIX")
    OUT = Output[np.ndarray]("MATRIX")

    def process(self, ctx):
        matrix = np.asarray(ctx[self.MATRIX], dtype=np.float64)
        ctx.send(self.OUT, np.linalg.inv(matrix).astype(np.float32))
