"""TensorNormalize: (x * scale - mean) / std per channel, NHWC -> NCHW (PaddleDetection's NormalizeImage + Permute)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from .kernels import IMAGENET_MEAN, IMAGENET_STD, normalize_to_nchw


@dataclass
class TensorNormalizeOptions:
    # Per-channel mean and std, applied after `scale` (defaults: ImageNet, for RGB in [0, 1]).
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    # Multiplies the input first: 1 for a float tensor in [0, 1]; 1/255 (0.003921569) for a uint8 tensor.
    scale: float = 1.0

    def __post_init__(self):
        if len(self.mean) != len(self.std) or not self.mean:
            raise ValueError(f"mean and std need the same number of values (one per channel), got "
                             f"{len(self.mean)} and {len(self.std)}")
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std values must be positive, got {self.std}")
        if not self.scale > 0:
            raise ValueError(f"scale must be positive, got {self.scale}")


@calculator("TensorNormalizeCalculator")
class TensorNormalizeCalculator(Calculator):
    """TENSORS ([1 x H x W x C], e.g. from ImageToTensorCalculator) -> TENSORS ([1 x C x H x W] float32, normalised).

    For models exported from PaddlePaddle / PyTorch (PicoDet, PP-TinyPose): RGB/255, ImageNet mean/std, channels
    first. Only the first tensor of the list is used.
    """

    TENSORS_IN = Input("TENSORS")
    TENSORS_OUT = Output[list]("TENSORS")
    Options = TensorNormalizeOptions

    def open(self, ctx):
        self._mean = np.asarray(self.options.mean, dtype=np.float32)
        self._std = np.asarray(self.options.std, dtype=np.float32)
        # load the kernel now (for ImageToTensor's float32 tensors), not in the first frame
        normalize_to_nchw(np.zeros((1, 2, 2, self._mean.size), np.float32), self._mean, self._std, self.options.scale)

    def process(self, ctx):
        tensors = ctx[self.TENSORS_IN]
        tensor = tensors if isinstance(tensors, np.ndarray) else tensors[0]
        ctx.send(self.TENSORS_OUT, [normalize_to_nchw(tensor, self._mean, self._std, self.options.scale)])
