"""WarpAffine: an image or mask warped by a matrix into a given size (MediaPipe's calculator, CPU path)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..types import ImageFrame
from .kernels import warp_affine
from .tensors_to_segmentation import GpuOrigin


class BorderMode(enum.Enum):
    BORDER_UNSPECIFIED = "unspecified"  # = BORDER_REPLICATE, MediaPipe's default
    BORDER_ZERO = "zero"
    BORDER_REPLICATE = "replicate"


class Interpolation(enum.Enum):
    INTER_UNSPECIFIED = "unspecified"  # = INTER_LINEAR
    INTER_LINEAR = "linear"
    INTER_CUBIC = "cubic"
    INTER_NEAREST = "nearest"


@dataclass
class WarpAffineCalculatorOptions:
    __proto_name__ = "mediapipe.WarpAffineCalculatorOptions"  # read under MediaPipe's name in MediaPipe's graph files
    border_mode: BorderMode = BorderMode.BORDER_UNSPECIFIED
    gpu_origin: GpuOrigin = GpuOrigin.DEFAULT  # GPU only in MediaPipe; the CPU path ignores it
    interpolation: Interpolation = Interpolation.INTER_UNSPECIFIED


@calculator("WarpAffineCalculator")
class WarpAffineCalculator(Calculator):
    """IMAGE (a float32 H x W mask, an H x W x C array, or an ImageFrame) + MATRIX (3x3 or 4x4: normalised output
    coordinates -> normalised input coordinates, e.g. InverseMatrixCalculator of ImageToTensor's MATRIX) +
    OUTPUT_SIZE ((width, height)) -> IMAGE of that size, of the input's kind.

    Same pixel arithmetic as MediaPipe's OpenCV runner: ``cv::warpAffine`` with WARP_INVERSE_MAP on the matrix
    scaled to pixels without a half-pixel shift.
    """

    IMAGE = Input("IMAGE")
    MATRIX = Input[np.ndarray]("MATRIX")
    OUTPUT_SIZE = Input[tuple]("OUTPUT_SIZE")
    OUT = Output("IMAGE")
    Options = WarpAffineCalculatorOptions

    def open(self, ctx):
        opts = self.options
        self._border_zero = opts.border_mode is BorderMode.BORDER_ZERO
        self._interpolation = {Interpolation.INTER_CUBIC: "cubic",
                               Interpolation.INTER_NEAREST: "nearest"}.get(opts.interpolation, "linear")

    def process(self, ctx):
        image, matrix, size = ctx[self.IMAGE], ctx[self.MATRIX], ctx[self.OUTPUT_SIZE]
        if image is None or matrix is None or size is None:
            return
        pixels = image.pixels if isinstance(image, ImageFrame) else np.asarray(image)
        out = warp_affine(pixels, matrix, int(size[0]), int(size[1]), border_zero=self._border_zero,
                          interpolation=self._interpolation)
        if isinstance(image, ImageFrame):
            out = ImageFrame(np.ascontiguousarray(out), image.source, image.index)
        ctx.send(self.OUT, out)
