"""ImageProperties and InverseMatrix: the image size and inverse transform that a warp back to the image needs."""

from __future__ import annotations

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..types import ImageFrame


@calculator("ImagePropertiesCalculator")
class ImageProperties(Calculator):
    """IMAGE (an ImageFrame or an array) -> SIZE, (width, height) as MediaPipe's std::pair<int, int>."""

    IMAGE = Input("IMAGE")
    SIZE = Output[tuple]("SIZE")

    def process(self, ctx):
        image = ctx[self.IMAGE]
        pixels = image.pixels if isinstance(image, ImageFrame) else np.asarray(image)
        ctx.send(self.SIZE, (int(pixels.shape[1]), int(pixels.shape[0])))


@calculator("InverseMatrixCalculator")
class InverseMatrix(Calculator):
    """MATRIX (3x3 or 4x4) -> MATRIX, its inverse in float32 (MediaPipe inverts its 4x4 float matrix)."""

    MATRIX = Input[np.ndarray]("MATRIX")
    OUT = Output[np.ndarray]("MATRIX")

    def process(self, ctx):
        matrix = np.asarray(ctx[self.MATRIX], dtype=np.float64)
        ctx.send(self.OUT, np.linalg.inv(matrix).astype(np.float32))
