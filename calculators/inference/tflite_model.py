"""A checked wrapper around one TFLite interpreter.

The raw interpreter fails late and obscurely: a truncated file surfaces as "not a valid Flatbuffer buffer" without a
file name, a wrong input dtype as a message about tensor indices, and a missing custom op only at allocation. This
wrapper checks the file before loading, names the file in every load error, validates inputs against the model's
tensors before `invoke()`, and returns outputs that stay valid after the next call.

It prefers `ai_edge_litert` (LiteRT, works with numpy 2) and falls back to `tflite_runtime` (needs numpy<2). It never
calls `get_tensor_details()`, which segfaults on tflite-runtime for the BlazePose detector.

One interpreter per instance. An instance may be used from different threads one after another, but not from two at
the same time (the interpreter is not documented as thread-safe); concurrent use raises instead of corrupting memory.
Give each worker thread its own `TfliteModel`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, Sequence

import numpy as np

__all__ = [
    "InputTensorError",
    "ModelLoadError",
    "ModelMismatchError",
    "TensorSpec",
    "TfliteModel",
    "TfliteRuntimeMissingError",
]

Runtime = Literal["ai_edge_litert", "tflite_runtime"]
_TFLITE_IDENTIFIER = b"TFL3"


class TfliteRuntimeMissingError(ImportError):
    """Neither ai-edge-litert nor tflite-runtime can be imported."""


class ModelLoadError(ValueError):
    """A model file is missing, empty, truncated, not a TFLite model, or needs something the runtime lacks."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


class ModelMismatchError(ValueError):
    """The model's tensors differ from what the caller (or the manifest) expects."""


class InputTensorError(ValueError):
    """An array passed to `run()` does not fit the model input it is meant for."""


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One input or output tensor as the interpreter reports it.

    `shape` is the allocated shape; `shape_signature` keeps -1 for dimensions the model leaves dynamic.
    `quant_scale == 0` means the tensor is not quantised.
    """

    name: str
    index: int
    shape: tuple[int, ...]
    dtype: np.dtype
    quant_scale: float = 0.0
    quant_zero_point: int = 0
    shape_signature: tuple[int, ...] = ()

    @property
    def quantized(self) -> bool:
        return self.quant_scale != 0.0

    def describe(self) -> str:
        quant = f" quant({self.quant_scale:g}, {self.quant_zero_point})" if self.quantized else ""
        return f"{self.name!r} {list(self.shape)} {self.dtype}{quant}"


class _HasShape(Protocol):
    @property
    def shape(self) -> Sequence[int]: ...


ShapeLike = Sequence[int] | _HasShape


def _interpreter_class(runtime: Runtime | None) -> tuple[type, str]:
    """Import the interpreter class, preferring LiteRT; `runtime` forces one."""
    order: tuple[str, ...] = (runtime,) if runtime else ("ai_edge_litert", "tflite_runtime")
    errors = []
    for name in order:
        try:
            if name == "ai_edge_litert":
                from ai_edge_litert.interpreter import Interpreter
            elif name == "tflite_runtime":
                from tflite_runtime.interpreter import Interpreter  # type: ignore[import-not-found,no-redef]
            else:
                raise ValueError(f"unknown TFLite runtime {name!r}; use 'ai_edge_litert' or 'tflite_runtime'")
            return Interpreter, name
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise TfliteRuntimeMissingError(
        "No TFLite runtime could be imported (" + "; ".join(errors) + "). Install one: "
        "`pip install ai-edge-litert` (recommended; works with numpy 2), or `pip install tflite-runtime 'numpy<2'`.")


def _sniff(path: Path) -> bytes:
    """Check the file exists and looks like a TFLite flatbuffer; return its first bytes."""
    if not path.exists():
        raise FileNotFoundError(f"TFLite model {path} does not exist (use posegraph.models.resolve_model to find "
                                "model files by name)")
    if not path.is_file():
        raise ModelLoadError(f"TFLite model {path} is not a file", path)
    size = path.stat().st_size
    if size == 0:
        raise ModelLoadError(f"TFLite model {path} is empty (0 bytes): an interrupted download or copy?", path)
    with open(path, "rb") as handle:
        head = handle.read(64)
    if len(head) < 8 or head[4:8] != _TFLITE_IDENTIFIER:
        if head.startswith(b"version https://git-lfs"):
            what = "a Git LFS pointer, not the model itself (run `git lfs pull`)"
        elif head.lstrip().lower().startswith((b"<!doctype", b"<html", b"<?xml")):
            what = "an HTML/XML document, not a TFLite model (a download error page, or an OpenVINO .xml?)"
        else:
            what = f"not a TFLite model: bytes 4..8 should be {_TFLITE_IDENTIFIER!r}, found {head[4:8]!r}"
        raise ModelLoadError(f"TFLite model {path} ({size} bytes) is {what}. First bytes: {head[:16]!r}", path)
    return head


def _expected_size_note(path: Path) -> str:
    """A hint when the manifest knows this file name and its size differs (the usual sign of truncation)."""
    try:
        from ...models.manifest import find_spec
    except ImportError:  # used outside the posegraph package
        return ""
    spec = find_spec(path.name)
    if spec is None:
        return ""
    actual = path.stat().st_size
    if actual != spec.size:
        return f" The manifest entry {spec.name!r} expects {spec.size} bytes but the file has {actual}: truncated?"
    return ""


def _spec_from_detail(detail: dict[str, Any]) -> TensorSpec:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    signature = detail.get("shape_signature")
    return TensorSpec(
        name=str(detail["name"]),
        index=int(detail["index"]),
        shape=tuple(int(d) for d in detail["shape"]),
        dtype=np.dtype(detail["dtype"]),
        quant_scale=float(scale),
        quant_zero_point=int(zero_point),
        shape_signature=tuple(int(d) for d in (signature if signature is not None else detail["shape"])),
    )


def _shape_of(item: ShapeLike) -> tuple[int, ...]:
    shape = getattr(item, "shape", item)
    return tuple(int(d) for d in shape)


def _shape_matches(expected: tuple[int, ...], actual: tuple[int, ...]) -> bool:
    return len(expected) == len(actual) and all(e == -1 or e == a for e, a in zip(expected, actual))


class TensorModel:
    """What every inference backend shares: its tensor specs, and checks of arrays and shapes against them.

    Subclasses set `path`, `_inputs` and `_outputs` when they load, and say what they are in `KIND`.
    """

    KIND = "model"
    path: Path
    _inputs: list[TensorSpec]
    _outputs: list[TensorSpec]

    @property
    def inputs(self) -> list[TensorSpec]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[TensorSpec]:
        return list(self._outputs)

    def _check_dtype(self, spec: TensorSpec, array: np.ndarray, position: int) -> str:
        """Raise unless `array` has the input's dtype; returns how to name the input in further errors."""
        where = f"{type(self).__name__} {self.path.name}: input {position} {spec.name!r}"
        if array.dtype != spec.dtype:
            raise InputTensorError(f"{where} expects dtype {spec.dtype}, got {array.dtype} (shape "
                                   f"{list(array.shape)}); convert with .astype(np.{spec.dtype})")
        return where

    def check_shapes(self, expected_inputs: Sequence[ShapeLike] | None = None,
                     expected_outputs: Sequence[ShapeLike] | None = None) -> None:
        """Raise ModelMismatchError listing every difference from the expected tensor shapes.

        Each expected entry is a shape (sequence of ints, -1 matches any size) or an object with `.shape` (and
        optionally `.dtype`, `.name`), such as a manifest `TensorInfo`. None skips that side.
        """
        raise_on_mismatch(f"{self.KIND} {self.path}", expected_inputs, expected_outputs, self._inputs,
                          self._outputs)


class TfliteModel(TensorModel):
    """A loaded, allocated TFLite model with checked `run()`.

    Raises FileNotFoundError for a missing file, ModelLoadError (naming the file) for an empty, truncated or
    non-TFLite file or unresolved custom ops, and TfliteRuntimeMissingError when no runtime is installed.
    """

    KIND = "TFLite model"

    def __init__(self, path: str | os.PathLike[str], num_threads: int | None = 1, *, runtime: Runtime | None = None):
        if num_threads is None:
            num_threads = 1
        if not isinstance(num_threads, int) or isinstance(num_threads, bool) or num_threads < 1:
            raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")
        self.path = Path(path)
        self.num_threads = num_threads
        _sniff(self.path)
        interpreter_class, self.runtime = _interpreter_class(runtime)
        try:
            self._interpreter = interpreter_class(model_path=str(self.path), num_threads=num_threads)
        except ValueError as exc:
            raise ModelLoadError(f"TFLite model {self.path} ({self.path.stat().st_size} bytes) cannot be loaded by "
                                 f"{self.runtime}: {exc}.{_expected_size_note(self.path)}", self.path) from exc
        except (ImportError, AttributeError) as exc:  # tflite-runtime built for numpy 1 under numpy 2
            raise TfliteRuntimeMissingError(
                f"{self.runtime} is installed but cannot create an interpreter ({exc}); tflite-runtime needs "
                "numpy<2. Install ai-edge-litert instead.") from exc
        try:
            self._interpreter.allocate_tensors()
        except RuntimeError as exc:
            message = str(exc).strip()
            hint = ""
            if "custom op" in message.lower():
                hint = " The model needs a custom operator that this runtime does not register."
            raise ModelLoadError(f"TFLite model {self.path} loaded but its tensors cannot be allocated by "
                                 f"{self.runtime}: {message}{hint}", self.path) from exc
        self._refresh_specs()
        self._lock = threading.Lock()

    def _refresh_specs(self) -> None:
        self._inputs = [_spec_from_detail(d) for d in self._interpreter.get_input_details()]
        self._outputs = [_spec_from_detail(d) for d in self._interpreter.get_output_details()]

    def __repr__(self) -> str:
        ins = ", ".join(t.describe() for t in self._inputs)
        outs = ", ".join(t.describe() for t in self._outputs)
        return f"TfliteModel({str(self.path)!r}, runtime={self.runtime}, inputs=[{ins}], outputs=[{outs}])"

    def _check_input(self, spec: TensorSpec, array: np.ndarray, position: int) -> bool:
        """Validate one input; return True when the interpreter must be resized for a dynamic dimension."""
        where = self._check_dtype(spec, array, position)
        actual = tuple(array.shape)
        if actual == spec.shape:
            return False
        if -1 in spec.shape_signature and _shape_matches(spec.shape_signature, actual):
            return True
        expected = list(spec.shape_signature) if -1 in spec.shape_signature else list(spec.shape)
        raise InputTensorError(f"{where} expects shape {expected} ({spec.dtype}), got {list(actual)}")

    def run(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """Run the model on one array per input (in input order); return one new array per output.

        Dtypes must match exactly (no silent casts); shapes must match, except dimensions the model declares
        dynamic (-1 in `shape_signature`), which are resized on demand.
        """
        if len(arrays) != len(self._inputs):
            described = "; ".join(t.describe() for t in self._inputs)
            raise InputTensorError(f"TfliteModel {self.path.name} has {len(self._inputs)} input(s) ({described}), "
                                   f"got {len(arrays)} array(s)")
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(f"TfliteModel {self.path.name} is already running on another thread; an interpreter "
                               "must not be used concurrently: create one TfliteModel per thread")
        try:
            prepared = [np.ascontiguousarray(a) if isinstance(a, np.ndarray) else np.asarray(a) for a in arrays]
            resize = [self._check_input(spec, a, i) for i, (spec, a) in enumerate(zip(self._inputs, prepared))]
            if any(resize):
                for spec, array, needed in zip(self._inputs, prepared, resize):
                    if needed:
                        self._interpreter.resize_tensor_input(spec.index, list(array.shape), strict=True)
                self._interpreter.allocate_tensors()
                self._refresh_specs()
            for spec, array in zip(self._inputs, prepared):
                self._interpreter.set_tensor(spec.index, array)
            self._interpreter.invoke()
            # get_tensor() returns a copy (unlike tensor()), so results stay valid after the next invoke().
            return [self._interpreter.get_tensor(spec.index) for spec in self._outputs]
        finally:
            self._lock.release()



def raise_on_mismatch(model: str, expected_inputs: Sequence[ShapeLike] | None,
                      expected_outputs: Sequence[ShapeLike] | None, inputs: Sequence[TensorSpec],
                      outputs: Sequence[TensorSpec]) -> None:
    """ModelMismatchError listing every difference between a model's tensors and the expected ones (any backend)."""
    problems: list[str] = []
    for side, expected, actual in (("input", expected_inputs, inputs), ("output", expected_outputs, outputs)):
        if expected is None:
            continue
        expected = list(expected)
        if len(expected) != len(actual):
            problems.append(f"{len(expected)} {side}(s) expected, the model has {len(actual)}: "
                            f"expected {[list(_shape_of(e)) for e in expected]}, "
                            f"actual {[list(t.shape) for t in actual]}")
            continue
        for i, (want, have) in enumerate(zip(expected, actual)):
            want_shape = _shape_of(want)
            if not _shape_matches(want_shape, have.shape):
                problems.append(f"{side} {i} {have.name!r}: expected shape {list(want_shape)}, "
                                f"actual {list(have.shape)}")
            want_dtype = getattr(want, "dtype", None)
            if want_dtype is not None and np.dtype(want_dtype) != have.dtype:
                problems.append(f"{side} {i} {have.name!r}: expected dtype {np.dtype(want_dtype)}, "
                                f"actual {have.dtype}")
    if problems:
        raise ModelMismatchError(f"{model} does not match the expected tensors:\n  - " + "\n  - ".join(problems))
