"""A checked wrapper around one OpenVINO compiled model, with the same surface as `TfliteModel`.

`openvino` is an optional dependency (``pip install 'posegraph[openvino]'``): it is imported when the first model is
loaded, never when this module is imported, so graphs that do not use the backend never need it, and a missing
package surfaces as `OpenVinoMissingError` (an ImportError) that says how to install it.

Like `TfliteModel`, this wrapper checks the files before handing them to the runtime (an IR is an ``.xml`` topology
plus a ``.bin`` of weights with the same base name; a missing, empty or mismatched ``.bin`` otherwise fails deep in
the runtime without naming the file), names the file in every load error, validates inputs against the model's
tensors before inference (dtype exactly, shape except dynamic dimensions), and returns outputs that stay valid after
the next call.

Inference runs with the GIL released. One infer request per instance: use an instance from one thread at a time
(concurrent use raises instead of corrupting the request); give each worker its own `OpenVinoModel`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .base import InputTensorError, ModelLoadError, TensorModel, TensorSpec, expected_size_note, shape_matches

__all__ = ["OpenVinoMissingError", "OpenVinoModel", "PRECISIONS", "import_openvino"]

INSTALL_HINT = "pip install 'posegraph[openvino]'  (or: pip install openvino)"
# Accepted inference precisions; "" keeps the device default (bf16 on CPUs with AMX/AVX512-BF16, which costs
# accuracy on heatmap models), so f32 is the default of the inference calculator.
PRECISIONS = ("", "f32", "bf16", "f16")


class OpenVinoMissingError(ImportError):
    """The optional `openvino` package is not installed (or cannot be imported)."""


def import_openvino() -> Any:
    """Import and return the `openvino` module, or raise OpenVinoMissingError with the install command."""
    try:
        import openvino  # noqa: PLC0415 - optional dependency, imported on first use
    except ImportError as exc:
        raise OpenVinoMissingError(
            f"the OpenVINO inference backend needs the optional 'openvino' package, which cannot be imported "
            f"({exc}). Install it: {INSTALL_HINT}") from exc
    if not hasattr(openvino, "Core"):
        raise OpenVinoMissingError(
            f"the installed 'openvino' package ({getattr(openvino, '__file__', '?')}) has no Core: it is too old or "
            f"not the OpenVINO runtime. Install a current one: pip install -U 'openvino>=2024.0'")
    return openvino


def _sniff_ir(path: Path) -> Path:
    """Check that `path` is an OpenVINO IR .xml with its .bin beside it; return the .bin path."""
    if not path.exists():
        raise FileNotFoundError(f"OpenVINO model {path} does not exist (use posegraph.models.resolve_model to find "
                                "model files by name)")
    if not path.is_file():
        raise ModelLoadError(f"OpenVINO model {path} is not a file", path)
    if path.suffix.lower() != ".xml":
        raise ModelLoadError(f"OpenVINO model {path} is not an IR topology file: give the .xml file (its weights "
                             f"must sit beside it as {path.with_suffix('.bin').name})", path)
    size = path.stat().st_size
    if size == 0:
        raise ModelLoadError(f"OpenVINO model {path} is empty (0 bytes): an interrupted download or copy?", path)
    with open(path, "rb") as handle:
        head = handle.read(4096)  # the <net> element may follow a long header comment
    text = head.lstrip().lower()
    if head.startswith(b"version https://git-lfs"):
        raise ModelLoadError(f"OpenVINO model {path} is a Git LFS pointer, not the model (run `git lfs pull`)", path)
    if not text.startswith((b"<?xml", b"<net")) or b"<net" not in head:
        raise ModelLoadError(f"OpenVINO model {path} ({size} bytes) is not an OpenVINO IR: it should be XML with "
                             f"a <net> element. First bytes: {head[:32]!r}", path)
    weights = path.with_suffix(".bin")
    if not weights.is_file():
        raise ModelLoadError(f"OpenVINO model {path}: its weights file {weights.name} is missing; the .xml and "
                             f"the .bin must sit in the same folder with the same base name", path)
    if weights.stat().st_size == 0:
        raise ModelLoadError(f"OpenVINO model {path}: its weights file {weights} is empty (0 bytes)", path)
    expected = _manifest_weights_size(path, weights)
    if expected is not None and weights.stat().st_size != expected:
        raise ModelLoadError(f"OpenVINO model {path}: its weights file {weights.name} has {weights.stat().st_size} "
                             f"bytes but the manifest expects {expected}: truncated, or from another model?", path)
    return weights


def _manifest_weights_size(path: Path, weights: Path) -> int | None:
    """The size the manifest records for this model's .bin (None when the model or its companion is unknown)."""
    try:
        from ...models.manifest import find_spec
    except ImportError:  # used outside the posegraph package
        return None
    spec = find_spec(path.name)
    if spec is None or spec.size != path.stat().st_size:  # a different file that happens to share the name
        return None
    for companion in spec.companions:
        if Path(companion.file).name == weights.name:
            return companion.size
    return None


def _spec_from_port(port: Any, index: int) -> TensorSpec:
    partial = port.get_partial_shape()
    dims = []
    for dim in partial:
        dims.append(dim.get_length() if dim.is_static else -1)
    try:
        dtype = np.dtype(port.get_element_type().to_dtype())
    except (AttributeError, TypeError):  # pragma: no cover - very old/new openvino
        dtype = np.dtype(str(port.get_element_type().get_type_name()))
    try:
        name = port.get_any_name()
    except RuntimeError:  # a port without names
        name = f"port{index}"
    shape = tuple(dims)
    return TensorSpec(name=name, index=index, shape=shape, dtype=dtype, shape_signature=shape)


class OpenVinoModel(TensorModel):
    """A compiled OpenVINO IR model with checked `run()`; the API mirrors `TfliteModel`.

    Raises FileNotFoundError for a missing .xml, ModelLoadError (naming the file) for a damaged IR or a missing or
    mismatched .bin, and OpenVinoMissingError when the `openvino` package is not installed.
    `precision` is the CPU inference precision hint ("f32" default; "" = the device default).
    """

    KIND = "OpenVINO model"

    def __init__(self, path: str | os.PathLike[str], num_threads: int | None = 1, *, device: str = "CPU",
                 precision: str = "f32"):
        if num_threads is None:
            num_threads = 1
        if not isinstance(num_threads, int) or isinstance(num_threads, bool) or num_threads < 1:
            raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.path = Path(path)
        self.num_threads = num_threads
        self.device = device
        self.precision = precision
        weights = _sniff_ir(self.path)
        ov = import_openvino()
        self.runtime = f"openvino {getattr(ov, '__version__', '?').split('-')[0]}"
        core = ov.Core()
        try:
            model = core.read_model(str(self.path), str(weights))
        except Exception as exc:  # openvino raises RuntimeError subclasses with long C++ traces
            raise ModelLoadError(f"OpenVINO model {self.path} cannot be read: {_first_line(exc)}."
                                 f"{expected_size_note(self.path)}", self.path) from exc
        config: dict[str, Any] = {"INFERENCE_NUM_THREADS": num_threads, "NUM_STREAMS": 1,
                                  "PERFORMANCE_HINT": "LATENCY"}
        if device.upper().startswith("CPU"):
            # Do not pin threads to cores: graphs run several models and other work on the same cores.
            config["ENABLE_CPU_PINNING"] = False
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        try:
            self._compiled = core.compile_model(model, device, config)
        except Exception as exc:
            raise ModelLoadError(f"OpenVINO model {self.path} cannot be compiled for {device} with {config}: "
                                 f"{_first_line(exc)}", self.path) from exc
        self._inputs = [_spec_from_port(p, i) for i, p in enumerate(self._compiled.inputs)]
        self._outputs = [_spec_from_port(p, i) for i, p in enumerate(self._compiled.outputs)]
        self._request = self._compiled.create_infer_request()
        self._lock_init()

    def __repr__(self) -> str:
        ins = ", ".join(t.describe() for t in self._inputs)
        outs = ", ".join(t.describe() for t in self._outputs)
        return (f"OpenVinoModel({str(self.path)!r}, runtime={self.runtime}, device={self.device}, "
                f"precision={self.precision or 'default'}, inputs=[{ins}], outputs=[{outs}])")

    def reset(self) -> bool:
        """Clear the request's state (stateful models); inputs are never resized, so the rest is as loaded."""
        self._request.reset_state()
        return True

    def _check_input(self, spec: TensorSpec, array: np.ndarray, position: int) -> bool:
        where = self._check_dtype(spec, array, position)
        if not shape_matches(spec.shape, tuple(array.shape)):
            raise InputTensorError(f"{where} expects shape {list(spec.shape)} ({spec.dtype}), got "
                                   f"{list(array.shape)}")
        return False  # dynamic dimensions need no resize: the infer request reshapes itself

    def _invoke(self, arrays: list[np.ndarray], resize: list[bool], skip: frozenset[int]) -> list[np.ndarray]:
        # share_inputs: no copy of our (contiguous, checked) arrays; outputs are copied (share_outputs False),
        # so they stay valid after the next call.
        results = self._request.infer(arrays, share_inputs=True, share_outputs=False)
        return [self.skipped_output(i) if i in skip else np.asarray(results[port])
                for i, port in enumerate(self._compiled.outputs)]


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # OpenVINO prefixes messages with "Exception from src/...cpp:NN:" lines; keep the informative ones.
    informative = [line for line in lines if not line.startswith(("Exception from", "Check '"))]
    return (informative or lines or [type(exc).__name__])[0]
