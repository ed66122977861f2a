"""TensorsToSegmentation: a model's mask tensor -> a float mask in [0, 1] (MediaPipe's calculator, CPU path)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cv2
import numpy as np

from posegraph import Calculator, Input, Output, calculator

from .kernels import sigmoid, softmax


class Activation(enum.Enum):
    NONE = "none"        # 1-channel tensor, values used as they are
    SIGMOID = "sigmoid"  # 1-channel tensor
    SOFTMAX = "softmax"  # 2-channel tensor, channel `output_layer_index`


class GpuOrigin(enum.Enum):
    DEFAULT = "default"
    CONVENTIONAL = "conventional"
    TOP_LEFT = "top_left"


@dataclass
class TensorsToSegmentationCalculatorOptions:
    __proto_name__ = "mediapipe.TensorsToSegmentationCalculatorOptions"  # read under MediaPipe's name in MediaPipe's graph files
    # Only meaningful on GPU in MediaPipe; the CPU path (this one) reads tensors top row first either way.
    gpu_origin: GpuOrigin = GpuOrigin.DEFAULT
    activation: Activation = Activation.NONE
    output_layer_index: int = 1

    def __post_init__(self):
        if self.output_layer_index not in (0, 1):
            raise ValueError("output_layer_index must be 0 or 1 (a 2-channel softmax)")


@calculator("TensorsToSegmentationCalculator")
class TensorsToSegmentationCalculator(Calculator):
    """TENSORS (a list; its first tensor, [1 x] H x W x C float) or TENSOR -> MASK (float32 H x W, in [0, 1] after
    SIGMOID/SOFTMAX). OUTPUT_SIZE ((width, height)) resizes the mask bilinearly as MediaPipe's ``cv::resize``;
    without it the mask keeps the tensor's size."""

    TENSORS = Input[list]("TENSORS", optional=True)
    TENSOR = Input[np.ndarray]("TENSOR", optional=True)
    OUTPUT_SIZE = Input[tuple]("OUTPUT_SIZE", optional=True)
    MASK = Output[np.ndarray]("MASK")
    Options = TensorsToSegmentationCalculatorOptions

    def process(self, ctx):
        if ctx.connected(self.TENSORS):
            tensors = ctx[self.TENSORS]
            if not tensors:
                return
            tensor = tensors[0]
        else:
            tensor = ctx[self.TENSOR]
            if tensor is None:
                return
        mask = self.convert(np.asarray(tensor))
        size = ctx[self.OUTPUT_SIZE]
        if size is not None and (int(size[0]), int(size[1])) != (mask.shape[1], mask.shape[0]):
            mask = cv2.resize(mask, (int(size[0]), int(size[1])))
        ctx.send(self.MASK, mask)

    def convert(self, tensor: np.ndarray) -> np.ndarray:
        hwc = tensor.reshape(tensor.shape[-3:]) if tensor.ndim == 4 else tensor
        if hwc.ndim == 2:
            hwc = hwc[:, :, None]
        if hwc.ndim != 3 or hwc.shape[2] not in (1, 2):
            raise ValueError(f"node '{self.name}': expected a [1 x] H x W x 1 or 2 tensor, got {tensor.shape}")
        activation = self.options.activation
        if hwc.shape[2] == 2:
            if activation is Activation.SOFTMAX:
                return softmax(hwc[:, :, 0], hwc[:, :, 1], self.options.output_layer_index)
            channel = hwc[:, :, 0]
        else:
            if activation is Activation.SOFTMAX:
                raise ValueError(f"node '{self.name}': SOFTMAX needs a 2-channel tensor, got {tensor.shape}")
            channel = hwc[:, :, 0]
        if activation is Activation.SIGMOID:
            return sigmoid(channel)
        return np.ascontiguousarray(channel, dtype=np.float32)
