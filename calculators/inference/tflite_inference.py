"""TfliteInference: runs a TFLite model (LiteRT, or tflite-runtime as fallback) on a list of tensors."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ...models import resolve_model
from .tflite_model import ModelMismatchError, TfliteModel


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1x224x224x3"`` -> (1, 224, 224, 3); ``-1`` or ``?`` is any size."""
    return tuple(-1 if part in ("?", "-1") else int(part) for part in text.lower().split("x"))


@dataclass
class TfliteInferenceOptions:
    # A model name from models/manifest.toml, a file name, or a path (see posegraph.models.resolve_model).
    model: str = ""
    num_threads: int = 1
    # Expected tensor shapes ("1x224x224x3"); a model that does not match is refused before the first frame.
    input_shapes: list[str] = field(default_factory=list)
    output_shapes: list[str] = field(default_factory=list)

    def __post_init__(self):
        for text in (*self.input_shapes, *self.output_shapes):
            parse_shape(text)
        if self.num_threads < 1:
            raise ValueError("num_threads must be at least 1")


@calculator("TfliteInferenceCalculator")
class TfliteInference(Calculator):
    """TENSORS (a list of arrays, or one array) -> TENSORS (the model's outputs, in order).

    The MODEL side packet, when given, overrides the ``model`` option (e.g. to swap the lite landmark model for
    the full one). One interpreter per node; inference releases the GIL, so other nodes run meanwhile.
    """

    TENSORS_IN = Input("TENSORS")
    TENSORS_OUT = Output[list]("TENSORS")
    MODEL = InputSidePacket[str]("MODEL", optional=True)
    Options = TfliteInferenceOptions

    def open(self, ctx):
        model = ctx.side(self.MODEL) or self.options.model
        if not model:
            raise ValueError(f"node '{self.name}': no model given (set options.model or the MODEL side packet)")
        path = resolve_model(model)
        self.model = TfliteModel(path, num_threads=self.options.num_threads)
        if self.options.input_shapes or self.options.output_shapes:
            try:
                self.model.check_shapes([parse_shape(s) for s in self.options.input_shapes] or None,
                                        [parse_shape(s) for s in self.options.output_shapes] or None)
            except ModelMismatchError as exc:
                raise ModelMismatchError(f"node '{self.name}': model {path} does not fit this node: {exc}") from exc

    def process(self, ctx):
        tensors = ctx[self.TENSORS_IN]
        if isinstance(tensors, np.ndarray):
            tensors = [tensors]
        ctx.send(self.TENSORS_OUT, self.model.run(*tensors))
