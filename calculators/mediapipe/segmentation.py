"""MediaPipe's segmentation calculators as the pose graphs use them: tensor to mask, mask back into the image
(InverseMatrix + WarpAffine) and temporal smoothing. Masks are H x W float32 arrays in [0, 1]."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..landmarks.kernels import sigmoid
from .image import GpuOrigin


class SegmentationActivation(enum.Enum):
    NONE = 0
    SIGMOID = 1
    SOFTMAX = 2


@dataclass
class TensorsToSegmentationCalculatorOptions:
    __proto_name__ = "mediapipe.TensorsToSegmentationCalculatorOptions"
    gpu_origin: GpuOrigin = GpuOrigin.DEFAULT
    activation: SegmentationActivation = SegmentationActivation.NONE
    output_layer_index: int = 1


@calculator("TensorsToSegmentationCalculator")
class TensorsToSegmentation(Calculator):
    """TENSORS (one [1, H, W, C] tensor) -> MASK (H x W float32; resized to OUTPUT_SIZE when given): the
    activation of channel 0 (NONE, SIGMOID) or the softmax probability of ``output_layer_index`` (SOFTMAX)."""

    TENSORS = Input[list]("TENSORS")
    OUTPUT_SIZE = Input[tuple]("OUTPUT_SIZE", optional=True)
    MASK = Output[np.ndarray]("MASK")
    Options = TensorsToSegmentationCalculatorOptions

    def process(self, ctx):
        tensors = ctx[self.TENSORS]
        if not tensors:
            return
        t = np.asarray(tensors[0], dtype=np.float32)
        t = t.reshape(t.shape[-3:]) if t.ndim >= 3 else t[..., None]
        act = self.options.activation
        if act is SegmentationActivation.SOFTMAX:
            e = np.exp(t - t.max(axis=2, keepdims=True))
            mask = (e[:, :, self.options.output_layer_index] / e.sum(axis=2)).astype(np.float32)
        elif act is SegmentationActivation.SIGMOID:
            mask = sigmoid(np.ascontiguousarray(t[:, :, 0]))
        else:
            mask = np.ascontiguousarray(t[:, :, 0])
        size = ctx[self.OUTPUT_SIZE]
        if size is not None:
            mask = cv2.resize(mask, (int(size[0]), int(size[1])), interpolation=cv2.INTER_LINEAR)
        ctx.send(self.MASK, mask)


@calculator("InverseMatrixCalculator")
class InverseMatrix(Calculator):
    """MATRIX (4x4) -> MATRIX, its inverse."""

    MATRIX = Input[np.ndarray]("MATRIX")
    OUT = Output[np.ndarray]("MATRIX")

    def process(self, ctx):
        m = ctx[self.MATRIX]
        if m is not None:
            ctx.send(self.OUT, np.linalg.inv(np.asarray(m, dtype=np.float32).reshape(4, 4)).astype(np.float32))


class WarpBorderMode(enum.Enum):
    BORDER_UNSPECIFIED = 0
    BORDER_ZERO = 1
    BORDER_REPLICATE = 2


class Interpolation(enum.Enum):
    INTER_UNSPECIFIED = 0
    INTER_LINEAR = 1
    INTER_CUBIC = 2
    INTER_NEAREST = 3


@dataclass
class WarpAffineCalculatorOptions:
    __proto_name__ = "mediapipe.WarpAffineCalculatorOptions"
    border_mode: WarpBorderMode = WarpBorderMode.BORDER_UNSPECIFIED
    gpu_origin: GpuOrigin = GpuOrigin.DEFAULT
    interpolation: Interpolation = Interpolation.INTER_UNSPECIFIED


@calculator("WarpAffineCalculator")
class WarpAffine(Calculator):
    """IMAGE (a mask or an image) + MATRIX (4x4, output-normalised -> input-normalised coordinates) +
    OUTPUT_SIZE ((width, height)) -> IMAGE of that size, sampled through the matrix."""

    IMAGE = Input("IMAGE")
    MATRIX = Input[np.ndarray]("MATRIX")
    OUTPUT_SIZE = Input[tuple]("OUTPUT_SIZE")
    OUT = Output("IMAGE")
    Options = WarpAffineCalculatorOptions

    def process(self, ctx):
        image, matrix, size = ctx[self.IMAGE], ctx[self.MATRIX], ctx[self.OUTPUT_SIZE]
        if image is None or matrix is None or size is None:
            return
        src = np.asarray(getattr(image, "pixels", image))
        in_h, in_w = src.shape[:2]
        out_w, out_h = int(size[0]), int(size[1])
        # MediaPipe's OpenCV runner, in its float32 4x4 arithmetic: scale_src * matrix * normalize_dst
        m = np.asarray(matrix, dtype=np.float32).reshape(4, 4)
        scale_src = np.diag(np.array([in_w, in_h, 1, 1], dtype=np.float32))
        normalize_dst = np.diag(np.array([1.0 / out_w, 1.0 / out_h, 1, 1], dtype=np.float32))
        absolute = (scale_src @ m @ normalize_dst).astype(np.float32)
        to_px = np.array([[absolute[0, 0], absolute[0, 1], absolute[0, 3]],
                          [absolute[1, 0], absolute[1, 1], absolute[1, 3]]], dtype=np.float32)
        border = cv2.BORDER_REPLICATE if self.options.border_mode is WarpBorderMode.BORDER_REPLICATE else \
            cv2.BORDER_CONSTANT
        interp = {Interpolation.INTER_CUBIC: cv2.INTER_CUBIC, Interpolation.INTER_NEAREST: cv2.INTER_NEAREST}.get(
            self.options.interpolation, cv2.INTER_LINEAR)
        out = cv2.warpAffine(src, to_px, (out_w, out_h), flags=interp | cv2.WARP_INVERSE_MAP,
                             borderMode=border, borderValue=0)
        ctx.send(self.OUT, out)


@dataclass
class SegmentationSmoothingCalculatorOptions:
    __proto_name__ = "mediapipe.SegmentationSmoothingCalculatorOptions"
    combine_with_previous_ratio: float = 0.0


@calculator("SegmentationSmoothingCalculator")
class SegmentationSmoothing(Calculator):
    """MASK + MASK_PREVIOUS (the previous smoothed mask, through a loopback) -> MASK_SMOOTHED: each pixel mixes
    in the previous value in proportion to how uncertain the new one is (MediaPipe's entropy-based blend)."""

    MASK = Input[np.ndarray]("MASK")
    MASK_PREVIOUS = Input[np.ndarray]("MASK_PREVIOUS", optional=True)
    MASK_SMOOTHED = Output[np.ndarray]("MASK_SMOOTHED")
    Options = SegmentationSmoothingCalculatorOptions

    def process(self, ctx):
        mask = ctx[self.MASK]
        if mask is None:
            return
        prev = ctx[self.MASK_PREVIOUS]
        ratio = np.float32(self.options.combine_with_previous_ratio)
        if prev is None or ratio == 0 or np.shape(prev) != np.shape(mask):
            ctx.send(self.MASK_SMOOTHED, mask)
            return
        new = np.asarray(mask, dtype=np.float32)
        eps = np.float32(1e-6)
        alpha = np.float32(1.0) + (new * np.log(new + eps) + (np.float32(1.0) - new) *
                                   np.log(np.float32(1.0) - new + eps)) / np.float32(np.log(2.0))
        alpha = np.clip(alpha, 0.0, 1.0).astype(np.float32)
        alpha = alpha * (np.float32(2.0) - alpha)
        mixed = new * alpha + np.asarray(prev, dtype=np.float32) * (np.float32(1.0) - alpha)
        ctx.send(self.MASK_SMOOTHED, (mixed * ratio + (np.float32(1.0) - ratio) * new).astype(np.float32))


__all__ = ["TensorsToSegmentation", "InverseMatrix", "WarpAffine", "SegmentationSmoothing"]
