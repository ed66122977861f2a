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

from .base import ModelSpecs, TensorModel

__all__ = ["load_model", "model_specs", "publish"]

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
