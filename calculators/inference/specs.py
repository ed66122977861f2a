"""The tensor specs of the models that inference nodes run, for the nodes that size or check against them.

An inference node publishes its model's `ModelSpecs` (tensor names, shapes, dtypes, quantisation) when it opens,
whatever its backend, here and on its optional SPECS output side packet. Decoders and crops ask `model_specs()` for
the model they are configured with: they get what the inference node published, or, when they open first (a crop
opens before the inference node it feeds), the specs of the model loaded once by the backend its file format names
(.tflite: TFLite, .xml: OpenVINO), cached for every later node. No calculator outside this package opens a model
file itself, so swapping the inference backend is one option plus the model file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .base import ModelSpecs, TensorModel

__all__ = ["OutputCheck", "load_model", "model_specs", "publish"]

_published: dict[tuple[Path, int, int], ModelSpecs] = {}
_lock = threading.Lock()


def _key(path: Path) -> tuple[Path, int, int]:
    """The published entry of a file, so that a file rewritten in place (tests, conversions) is read again."""
    stat = path.stat()
    return path.resolve(), stat.st_mtime_ns, stat.st_size


def load_model(path: str | os.PathLike[str], backend: str = "", *, num_threads: int = 1, device: str = "CPU",
               precision: str = "f32") -> TensorModel:
    """Load `path` with `backend` ("tflite" or "openvino"; "" = the one the file's suffix names)."""
    path = Path(path)
    backend = backend or ("openvino" if path.suffix.lower() in (".xml", ".bin") else "tflite")
    if backend == "openvino":
        from .openvino_model import OpenVinoModel
        return OpenVinoModel(path, num_threads=num_threads, device=device, precision=precision)
    from .tflite_model import TfliteModel
    return TfliteModel(path, num_threads=num_threads)


def publish(specs: ModelSpecs) -> None:
    """Record the specs of a loaded model (the inference node calls this at open())."""
    with _lock:
        _published[_key(specs.path)] = specs


def model_specs(model: str | os.PathLike[str]) -> ModelSpecs:
    """The specs of `model` (a manifest name, file name or path): as published, else loaded once and cached."""
    from ...models import resolve_model
    path = resolve_model(str(model))
    key = _key(path)
    with _lock:
        found = _published.get(key)
    if found is not None:
        return found
    specs = load_model(path).specs
    with _lock:
        return _published.setdefault(key, specs)


class OutputCheck:
    """A decoder's check of the model outputs it decodes, done once: at open() against the model's specs when the
    node is given the model, else on the first tensors it receives.

    `check(shapes, what)` raises (naming the node and both shapes) when the shapes do not fit the decoder.
    """

    def __init__(self, check: Callable[[list[tuple[int, ...]], str], None]):
        self._check = check
        self.done = False
        self.specs: ModelSpecs | None = None

    def open(self, model: str | os.PathLike[str] | None) -> ModelSpecs | None:
        """Check `model`'s outputs now (no model: nothing, the first tensors will be); return its specs."""
        self.done = False
        self.specs = None
        if model:
            self.specs = model_specs(model)
            self._check([tuple(t.shape) for t in self.specs.outputs], f"the outputs of model {self.specs.path}")
            self.done = True
        return self.specs

    def first_tensors(self, tensors: Sequence[Any]) -> bool:
        """Check `tensors` unless the check is done; True when this call did it."""
        if self.done:
            return False
        self._check([tuple(np.shape(t)) for t in tensors], "the input tensors")
        self.done = True
        return True
