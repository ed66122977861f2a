"""ImageToTensor: a (rotated) region of the frame, resized into a model's input tensor."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ...models import resolve_model
from ..inference.base import ModelMismatchError
from ..inference.specs import model_specs
from ..types import ImageFrame, LetterboxPadding, NormalizedRect
from .transforms import image_to_tensor, value_range_transform, warm_up


class BorderMode(enum.Enum):
    ZERO = "zero"
    REPLICATE = "replicate"


class TensorType(enum.Enum):
    FLOAT32 = "float32"
    UINT8 = "uint8"


@dataclass
class ImageToTensorOptions:
    output_tensor_width: int = 224
    output_tensor_height: int = 224
    # Pad the ROI to the tensor's aspect ratio (letterbox) instead of stretching it.
    keep_aspect_ratio: bool = True
    range_min: float = -1.0
    range_max: float = 1.0
    border_mode: BorderMode = BorderMode.ZERO
    tensor_type: TensorType = TensorType.FLOAT32
    # Channel order of the tensor (some models were trained on BGR frames).
    bgr: bool = False
    # "classic": bit-exact with MediaPipe's bundled OpenCV; "opencv": the installed cv2.warpPerspective.
    backend: str = "classic"
    # "linear" (MediaPipe's warp, corner-aligned) or "cubic" (OpenCV bicubic, pixel-centre-aligned: cv2.resize for
    # the whole frame), for models trained on cubic resizes such as PaddleDetection's PicoDet.
    interpolation: str = "linear"
    # A model (name or path) whose first input, [1, H, W, 3] uint8 or float32, sets the tensor size and type
    # instead of the options above: swapping MoveNet Lightning (192) for Thunder (256) is then one edit.
    model: str = ""

    def __post_init__(self):
        if self.output_tensor_width < 1 or self.output_tensor_height < 1:
            raise ValueError("output tensor size must be positive")
        if self.backend not in ("classic", "opencv"):
            raise ValueError(f"backend must be 'classic' or 'opencv', not {self.backend!r}")
        if self.interpolation not in ("linear", "cubic"):
            raise ValueError(f"interpolation must be 'linear' or 'cubic', not {self.interpolation!r}")
        if self.tensor_type is TensorType.UINT8 and (self.range_min, self.range_max) != (0.0, 255.0):
            raise ValueError("a uint8 tensor needs range_min 0 and range_max 255")


def sized_for_model(options: ImageToTensorOptions, model: str, node: str) -> ImageToTensorOptions:
    """`options` with the tensor size and type of `model`'s first input."""
    path = resolve_model(model)
    spec = model_specs(path).inputs[0]
    shape = tuple(spec.shape)
    if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or spec.dtype not in (np.uint8, np.float32):
        raise ModelMismatchError(f"node '{node}': model {path} input {spec.name!r} is {list(shape)} {spec.dtype}; "
                                 f"this node makes image tensors of shape [1, H, W, 3] (uint8 or float32)")
    tensor_type = TensorType.UINT8 if spec.dtype == np.uint8 else TensorType.FLOAT32
    if tensor_type is TensorType.UINT8 and (options.range_min, options.range_max) != (0.0, 255.0):
        raise ModelMismatchError(f"node '{node}': model {path} takes uint8 input but the options ask for values in "
                                 f"[{options.range_min}, {options.range_max}]; set range_min: 0 range_max: 255")
    return dataclasses.replace(options, output_tensor_width=int(shape[2]), output_tensor_height=int(shape[1]),
                               tensor_type=tensor_type)


@calculator("ImageToTensorCalculator")
class ImageToTensorCalculator(Calculator):
    """IMAGE (+ NORM_RECT, a rotated ROI; the whole frame when not connected) -> TENSORS ([1 x H x W x 3]),
    LETTERBOX_PADDING and MATRIX (3x3, tensor-normalised -> image-normalised coordinates).

    Matches MediaPipe's CPU ImageToTensorCalculator pixel for pixel (see transforms.py). A connected NORM_RECT that
    is empty at a timestamp means "no region": nothing is emitted there. MODEL (side packet) or the ``model``
    option: take the tensor size and type from that model's input.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    NORM_RECT = Input[NormalizedRect]("NORM_RECT", optional=True)
    TENSORS = Output[list]("TENSORS")
    LETTERBOX_PADDING = Output[LetterboxPadding]("LETTERBOX_PADDING", optional=True)
    MATRIX = Output[np.ndarray]("MATRIX", optional=True)
    MODEL = InputSidePacket[str]("MODEL", optional=True)
    Options = ImageToTensorOptions
    # process() keeps no state between calls (the options only; transforms' map cache is replaced, never mutated)
    # and its warp runs outside the GIL (cv2.remap, nogil Numba): several people's crops of one frame may run at
    # once (``max_in_flight`` on the node, as in pose_landmark_by_roi_cpu).
    CONCURRENT_PROCESS = True

    def open(self, ctx):
        model = ctx.side(self.MODEL) or self.options.model
        if model:
            self.options = sized_for_model(self.options, model, self.name)
        # the OpenCV check now, and the Numba kernels a float tensor needs, not in the first frame
        opts = self.options
        warm_up(float_tensor=opts.tensor_type is not TensorType.UINT8,
                identity_range=value_range_transform(opts.range_min, opts.range_max) == (1.0, 0.0))
        self._crop(np.zeros((48, 64, 3), np.uint8), None)  # OpenCV's first remap of this kind (~2 ms), here

    def process(self, ctx):
        rect = ctx[self.NORM_RECT]
        if rect is None and ctx.connected(self.NORM_RECT):
            return
        frame: ImageFrame = ctx[self.IMAGE]
        crop = self._crop(frame.pixels, rect)
        opts = self.options
        tensor = crop.tensor
        if opts.bgr:
            tensor = tensor[:, :, ::-1]
        ctx.send(self.TENSORS, [np.ascontiguousarray(tensor)[None]])
        ctx.send(self.LETTERBOX_PADDING, crop.padding)
        ctx.send(self.MATRIX, crop.matrix)

    def _crop(self, pixels: np.ndarray, rect: NormalizedRect | None):
        opts = self.options
        return image_to_tensor(pixels, rect, opts.output_tensor_width, opts.output_tensor_height,
                               keep_aspect_ratio=opts.keep_aspect_ratio, value_range=(opts.range_min, opts.range_max),
                               border=opts.border_mode.value, backend=opts.backend, interpolation=opts.interpolation,
                               dtype=np.uint8 if opts.tensor_type is TensorType.UINT8 else np.float32)
