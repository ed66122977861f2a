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
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .base import (InputTensorError, ModelLoadError, ModelMismatchError, TensorModel, TensorSpec,  # noqa: F401
                   expected_size_note, shape_matches)

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
                                 f"{self.runtime}: {exc}.{expected_size_note(self.path)}", self.path) from exc
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
        self._loaded_inputs = list(self._inputs)
        self._lock_init()

    def reset(self) -> bool:
        """Clear variable tensors (stateful models); a model whose inputs were resized is not reused."""
        if self._inputs != self._loaded_inputs:
            return False
        self._interpreter.reset_all_variables()
        return True

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
        if -1 in spec.shape_signature and shape_matches(spec.shape_signature, actual):
            return True
        expected = list(spec.shape_signature) if -1 in spec.shape_signature else list(spec.shape)
        raise InputTensorError(f"{where} expects shape {expected} ({spec.dtype}), got {list(actual)}")

    def _invoke(self, arrays: list[np.ndarray], resize: list[bool], skip: frozenset[int]) -> list[np.ndarray]:
        """Resize dynamic inputs when needed, then set, invoke and read back (get_tensor() copies)."""
        if any(resize):
            for spec, array, needed in zip(self._inputs, arrays, resize):
                if needed:
                    self._interpreter.resize_tensor_input(spec.index, list(array.shape), strict=True)
            self._interpreter.allocate_tensors()
            self._refresh_specs()
        for spec, array in zip(self._inputs, arrays):
            self._interpreter.set_tensor(spec.index, array)
        self._interpreter.invoke()
        # get_tensor() returns a copy (unlike tensor()), so results stay valid after the next invoke().
        return [self.skipped_output(i) if i in skip else self._interpreter.get_tensor(spec.index)
                for i, spec in enumerate(self._outputs)]
