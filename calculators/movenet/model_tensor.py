"""ImageToModelTensor: ImageToTensorCalculator whose tensor size and type are read from the model file.

MoveNet Lightning takes 192x192, Thunder 256x256; a graph that hard-codes the crop size needs two edits to swap
models. This calculator is ImageToTensorCalculator (same crop, same options, same outputs) except that at open() it
reads the model's first input, [1, H, W, 3], and produces H x W tensors of that dtype (uint8 or float32). The model
is the MODEL side packet or the `model` option, resolved like TfliteInferenceCalculator resolves it, so the graph
names the model once (the shared `model` side packet) for the crop, the inference and the decoder.

(Belongs next to ImageToTensorCalculator: a MODEL side packet there would make this subclass unnecessary.)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from posegraph import InputSidePacket, calculator

from ...models import resolve_model
from ..image.image_to_tensor import ImageToTensor, ImageToTensorOptions, TensorType
from ..inference.tflite_model import ModelMismatchError, TfliteModel


@dataclass
class ImageToModelTensorOptions(ImageToTensorOptions):
    # The model whose first input sets the tensor size and type (overridden by the MODEL side packet);
    # output_tensor_width / output_tensor_height / tensor_type are taken from it and ignored here.
    model: str = ""


def model_input_spec(model: str):
    """(path, first input TensorSpec) of a model name or path."""
    path = resolve_model(model)
    return path, TfliteModel(path).inputs[0]


@calculator("ImageToModelTensorCalculator")
class ImageToModelTensor(ImageToTensor):
    """ImageToTensorCalculator with the tensor size and dtype of the model's input (MODEL side packet or option).

    Inputs, outputs and crop are those of ImageToTensorCalculator; a model whose first input is not
    [1, H, W, 3] uint8/float32 is refused at open(), naming the node and the shapes.
    """

    MODEL = InputSidePacket[str]("MODEL", optional=True)
    Options = ImageToModelTensorOptions

    def open(self, ctx):
        model = ctx.side(self.MODEL) or self.options.model
        if not model:
            raise ValueError(f"node '{self.name}': no model given (set options.model or the MODEL side packet)")
        path, spec = model_input_spec(model)
        shape = tuple(spec.shape)
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or spec.dtype not in (np.uint8, np.float32):
            raise ModelMismatchError(
                f"node '{self.name}': model {path} input {spec.name!r} is {list(shape)} {spec.dtype}; this node makes "
                f"image tensors of shape [1, H, W, 3] (uint8 or float32)")
        tensor_type = TensorType.UINT8 if spec.dtype == np.uint8 else TensorType.FLOAT32
        if tensor_type is TensorType.UINT8 and (self.options.range_min, self.options.range_max) != (0.0, 255.0):
            raise ModelMismatchError(
                f"node '{self.name}': model {path} takes uint8 input but the options ask for values in "
                f"[{self.options.range_min}, {self.options.range_max}]; set range_min: 0 range_max: 255")
        self.options = dataclasses.replace(self.options, output_tensor_width=int(shape[2]),
                                           output_tensor_height=int(shape[1]), tensor_type=tensor_type)
        self.model_path = path
