"""MediaPipe's image calculators: image properties, image to tensor, Image <-> ImageFrame, inference."""

from __future__ import annotations

import enum
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator
from posegraph.registry import register_variant

from ..image.image_to_tensor import BorderMode, ImageToTensorCalculator, ImageToTensorOptions, TensorType
from ..image.transforms import (CropResult, image_to_tensor, perspective_transform, value_range_transform,
                                warp_perspective_classic)
from ..inference.inference_calculator import auto_threads
from ..inference.model_pool import lease_model
from ..inference.tflite_model import TfliteModel
from ..types import ImageFrame
from .core import resolve_resource
from .types import TfliteModelRef


@calculator("ImagePropertiesCalculator")
class ImagePropertiesCalculator(Calculator):
    """IMAGE or IMAGE_CPU (an image) -> SIZE, the (width, height) of the image."""

    IMAGE = Input("IMAGE", optional=True)
    IMAGE_CPU = Input("IMAGE_CPU", optional=True)
    SIZE = Output[tuple]("SIZE")

    def process(self, ctx):
        image = ctx[self.IMAGE] if ctx.connected(self.IMAGE) else ctx[self.IMAGE_CPU]
        if image is None:
            return
        if isinstance(image, ImageFrame):
            ctx.send(self.SIZE, (image.width, image.height))
        else:
            pixels = np.asarray(image)
            ctx.send(self.SIZE, (int(pixels.shape[1]), int(pixels.shape[0])))


@calculator("FromImageCalculator")
class FromImageCalculator(Calculator):
    """IMAGE (MediaPipe's Image) -> IMAGE_CPU (an ImageFrame): the same value here, where both are CPU images."""

    IMAGE = Input("IMAGE")
    IMAGE_CPU = Output("IMAGE_CPU", optional=True)

    def process(self, ctx):
        image = ctx[self.IMAGE]
        if image is not None:
            ctx.send(self.IMAGE_CPU, image)


@calculator("ToImageCalculator")
class ToImageCalculator(Calculator):
    """IMAGE_CPU (an ImageFrame) -> IMAGE (MediaPipe's Image): the same value here."""

    IMAGE_CPU = Input("IMAGE_CPU")
    IMAGE = Output("IMAGE")

    def process(self, ctx):
        image = ctx[self.IMAGE_CPU]
        if image is not None:
            ctx.send(self.IMAGE, image)


# ---------------------------------------------------------------------------------------------- image to tensor


@dataclass
class FloatRange:
    min: float = 0.0
    max: float = 0.0


@dataclass
class IntRange:
    min: int = 0
    max: int = 0


class MpBorderMode(enum.Enum):
    BORDER_UNSPECIFIED = 0
    BORDER_ZERO = 1
    BORDER_REPLICATE = 2


class GpuOrigin(enum.Enum):
    DEFAULT = 0
    CONVENTIONAL = 1
    TOP_LEFT = 2


@dataclass
class MpImageToTensorOptions:
    __proto_name__ = "mediapipe.ImageToTensorCalculatorOptions"
    output_tensor_width: int = 0
    output_tensor_height: int = 0
    keep_aspect_ratio: bool = False
    output_tensor_float_range: FloatRange | None = None
    output_tensor_int_range: IntRange | None = None
    output_tensor_uint_range: IntRange | None = None
    gpu_origin: GpuOrigin = GpuOrigin.DEFAULT
    border_mode: MpBorderMode = MpBorderMode.BORDER_UNSPECIFIED

    def __post_init__(self):
        ranges = [r for r in (self.output_tensor_float_range, self.output_tensor_int_range,
                              self.output_tensor_uint_range) if r is not None]
        if len(ranges) != 1:
            raise ValueError("give exactly one of output_tensor_float_range, output_tensor_int_range, "
                             "output_tensor_uint_range")
        if self.output_tensor_width < 1 or self.output_tensor_height < 1:
            raise ValueError("output_tensor_width and output_tensor_height must be set")

    def native(self) -> ImageToTensorOptions:
        """posegraph's options for the same crop (unspecified border mode is REPLICATE on the CPU, as upstream)."""
        if self.output_tensor_float_range is not None:
            lo, hi, kind = self.output_tensor_float_range.min, self.output_tensor_float_range.max, TensorType.FLOAT32
        else:
            r = self.output_tensor_int_range or self.output_tensor_uint_range
            lo, hi, kind = float(r.min), float(r.max), TensorType.UINT8
        border = BorderMode.ZERO if self.border_mode is MpBorderMode.BORDER_ZERO else BorderMode.REPLICATE
        return ImageToTensorOptions(output_tensor_width=self.output_tensor_width,
                                    output_tensor_height=self.output_tensor_height,
                                    keep_aspect_ratio=self.keep_aspect_ratio, range_min=lo, range_max=hi,
                                    border_mode=border, tensor_type=kind)


# The crop's rotated-rect corners as the OpenCV inside mediapipe 0.10.x computes them (`box_points`): with
# "direct" (posegraph's own graphs, MediaPipe Tasks 1.x) 0.10.21's landmark crops differ by 1-2 grey levels in a
# few pixels, which moves its landmarks by up to 1e-5 and keeps them from being bit-identical.
RELEASED_CORNERS = "reflected"


def fused_value_range(pixels: np.ndarray, crop: CropResult, opts: ImageToTensorOptions) -> np.ndarray:
    """The crop's values as ``fma(v, scale, offset)``, rounded once.

    MediaPipe's released packages (measured on 0.10.21's legacy pose solution) convert the warped uint8 crop with
    OpenCV's ``convertTo`` built with FMA; posegraph's own kernel rounds the product and the sum separately, as
    MediaPipe Tasks does. The two differ by an ulp on about half of the values when the offset is not zero (the
    detector's [-1, 1] range) and are the same for [0, 1]. v * scale is exact in float64 (8 + 24 bits) and so is
    the sum with the float32 offset, so one rounding to float32 gives the fused result exactly.
    """
    scale, offset = value_range_transform(opts.range_min, opts.range_max)
    fwd = perspective_transform(crop.roi, opts.output_tensor_width, opts.output_tensor_height, RELEASED_CORNERS)
    u8 = warp_perspective_classic(pixels, fwd, opts.output_tensor_width, opts.output_tensor_height,
                                  opts.border_mode.value)
    if u8.shape[2] > 3:
        u8 = u8[:, :, :3]
    exact = u8.astype(np.float64) * np.float64(np.float32(scale)) + np.float64(np.float32(offset))
    return exact.astype(np.float32)


class MpImageToTensor(ImageToTensorCalculator):
    """ImageToTensorCalculator with MediaPipe's options; MATRIX is MediaPipe's 4x4 row-major matrix from
    normalised tensor coordinates to normalised image coordinates."""

    Options = MpImageToTensorOptions

    def __init__(self, options=None, name: str = ""):
        super().__init__(options, name)
        self.mp_options = self.options
        self.options = self.options.native()

    def process(self, ctx):
        opts = self.options
        rect = ctx[self.NORM_RECT]
        if rect is None and ctx.connected(self.NORM_RECT):
            return
        frame: ImageFrame = ctx[self.IMAGE]
        if frame is None:
            return
        crop = image_to_tensor(frame.pixels, rect, opts.output_tensor_width, opts.output_tensor_height,
                               keep_aspect_ratio=opts.keep_aspect_ratio, value_range=(opts.range_min, opts.range_max),
                               border=opts.border_mode.value, backend=opts.backend, corners=RELEASED_CORNERS)
        tensor = crop.tensor
        if opts.range_min != 0.0 and opts.tensor_type is TensorType.FLOAT32:
            tensor = fused_value_range(frame.pixels, crop, opts)
        if opts.tensor_type is TensorType.UINT8:
            tensor = tensor.astype(np.uint8)
        ctx.send(self.TENSORS, [np.ascontiguousarray(tensor)[None]])
        ctx.send(self.LETTERBOX_PADDING, crop.padding)
        if ctx.connected(self.MATRIX):
            m = np.eye(4, dtype=np.float32)
            m[:2, :2] = crop.matrix[:2, :2]
            m[:2, 3] = crop.matrix[:2, 2]
            ctx.send(self.MATRIX, m)


register_variant("ImageToTensorCalculator", MpImageToTensorOptions.__proto_name__, MpImageToTensor)


# ---------------------------------------------------------------------------------------------------- inference


@dataclass
class Xnnpack:
    num_threads: int = -1


@dataclass
class TfLiteDelegate:
    pass


@dataclass
class Delegate:
    tflite: TfLiteDelegate | None = None
    xnnpack: Xnnpack | None = None


@dataclass
class MpInferenceOptions:
    __proto_name__ = "mediapipe.InferenceCalculatorOptions"
    model_path: str = ""
    try_mmap_model: bool = False
    use_gpu: bool = False
    use_nnapi: bool = False
    cpu_num_thread: int = -1
    delegate: Delegate = field(default_factory=Delegate)


class MpInference(Calculator):
    """TENSORS -> TENSORS through a TFLite model given by MODEL (side packet, from TfLiteModelCalculator) or by
    ``model_path`` (a file, or MediaPipe's resource path of a known model). CPU only: GPU delegates are refused."""

    TENSORS_IN = Input("TENSORS")
    TENSORS_OUT = Output[list]("TENSORS")
    MODEL = InputSidePacket("MODEL", optional=True)
    Options = MpInferenceOptions

    def open(self, ctx):
        o = self.options
        if o.use_gpu or o.use_nnapi:
            raise ValueError(f"node '{self.name}': only CPU inference is available (unset use_gpu/use_nnapi)")
        threads = o.cpu_num_thread if o.cpu_num_thread > 0 else 0
        if o.delegate.xnnpack is not None and o.delegate.xnnpack.num_threads > 0:
            threads = o.delegate.xnnpack.num_threads
        threads = threads or auto_threads()
        model = ctx.side(self.MODEL) if ctx.has_side(self.MODEL) else None
        self._lease = None
        if isinstance(model, TfliteModelRef) and model.path is None:
            # Bytes without a file: load them from a temporary file, removed once loaded (not pooled).
            handle, name = tempfile.mkstemp(suffix=".tflite")
            try:
                with os.fdopen(handle, "wb") as f:
                    f.write(model.data)
                self.model = TfliteModel(name, num_threads=threads)
            finally:
                os.unlink(name)
            return
        if isinstance(model, TfliteModelRef):
            path = model.path
        elif model is not None:
            path = resolve_resource(str(model))
        elif o.model_path:
            path = resolve_resource(o.model_path)
        else:
            raise ValueError(f"node '{self.name}': no model (set model_path or the MODEL side packet)")
        # Leased from the process's pool, as InferenceCalculator's: runs one after another reuse one interpreter.
        self._lease = lease_model(path, "tflite", num_threads=threads)
        self.model = self._lease.model

    def process(self, ctx):
        tensors = ctx[self.TENSORS_IN]
        if isinstance(tensors, np.ndarray):
            tensors = [tensors]
        outputs = self._lease.run(*tensors) if self._lease is not None else self.model.run(*tensors)
        ctx.send(self.TENSORS_OUT, outputs)

    def close(self, ctx):
        if self._lease is not None:
            self._lease.release()


register_variant("InferenceCalculator", MpInferenceOptions.__proto_name__, MpInference)

__all__ = ["ImagePropertiesCalculator", "FromImageCalculator", "ToImageCalculator", "MpImageToTensor", "MpInference",
           "fused_value_range"]
