"""What every inference backend shares: tensor specs, the errors, and a checked, locked `run()`.

A backend (`TfliteModel`, `OpenVinoModel`, the next one) subclasses `TensorModel`: it loads the file, fills `path`,
`_inputs` and `_outputs` (`TensorSpec`: name, shape, dtype, quantisation), and implements `_check_input` and
`_invoke`. `run()` (argument count, one-thread-at-a-time lock, contiguous arrays) is written once, here, so every
backend refuses the same mistakes with the same messages. `ModelSpecs` is what an inference node publishes about
its model, so that decoders and crops size and check themselves without loading the model a second time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

__all__ = [
    "InputTensorError",
    "ModelLoadError",
    "ModelMismatchError",
    "ModelSpecs",
    "TensorModel",
    "TensorSpec",
    "expected_size_note",
    "raise_on_mismatch",
    "shape_matches",
]


class ModelLoadError(ValueError):
    """A model file is missing, empty, truncated, not a model of its backend, or needs something the runtime lacks."""

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


def expected_size_note(path: Path) -> str:
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


def _shape_of(item: ShapeLike) -> tuple[int, ...]:
    shape = getattr(item, "shape", item)
    return tuple(int(d) for d in shape)


def shape_matches(expected: tuple[int, ...], actual: tuple[int, ...]) -> bool:
    return len(expected) == len(actual) and all(e == -1 or e == a for e, a in zip(expected, actual))




@dataclass(frozen=True)
class ModelSpecs:
    """What an inference node publishes about its model, whatever the backend: its tensors, in order."""

    path: Path
    kind: str  # "TFLite model", "OpenVINO model", ...
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

class TensorModel:
    """What every inference backend shares: its tensor specs, and checks of arrays and shapes against them.

    Subclasses set `path`, `_inputs` and `_outputs` when they load, and say what they are in `KIND`.
    """

    KIND = "model"
    path: Path
    _lock: threading.Lock
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

    def _lock_init(self) -> None:
        self._lock = threading.Lock()

    @property
    def specs(self) -> "ModelSpecs":
        """The model's tensors as they are now (TFLite may resize dynamic inputs on a later `run()`)."""
        return ModelSpecs(self.path, self.KIND, tuple(self._inputs), tuple(self._outputs))

    def reset(self) -> bool:
        """Put the model back in its just-loaded state for another user (see model_pool); False when it cannot be,
        and must not be reused. A backend that does not say cannot be."""
        return False

    def _check_input(self, spec: TensorSpec, array: np.ndarray, position: int) -> bool:
        """Validate one input; return True when the backend must resize for a dynamic dimension."""
        raise NotImplementedError

    def _invoke(self, arrays: list[np.ndarray], resize: list[bool], skip: frozenset[int]) -> list[np.ndarray]:
        """Run the backend on checked, contiguous inputs; return new arrays (valid after the next call), with
        `skipped_output(i)` for each output index in `skip`."""
        raise NotImplementedError

    def skipped_output(self, index: int) -> np.ndarray:
        """What stands for output `index` when a run skips it: an empty array of its dtype."""
        return np.empty(0, self._outputs[index].dtype)

    def run(self, *arrays: np.ndarray, skip: frozenset[int] = frozenset()) -> list[np.ndarray]:
        """Run the model on one array per input (in input order); return one new array per output.

        Dtypes must match exactly (no silent casts); shapes must match, except dimensions the model declares
        dynamic. One call at a time: a concurrent call raises instead of corrupting the backend's state.
        `skip`: indices of outputs nobody will read, not copied out (an empty array of their dtype in their place).
        """
        cls = type(self).__name__
        if len(arrays) != len(self._inputs):
            described = "; ".join(t.describe() for t in self._inputs)
            raise InputTensorError(f"{cls} {self.path.name} has {len(self._inputs)} input(s) ({described}), "
                                   f"got {len(arrays)} array(s)")
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(f"{cls} {self.path.name} is already running on another thread; a model must not be "
                               f"used concurrently: create one {cls} per thread")
        try:
            prepared = [np.ascontiguousarray(a) if isinstance(a, np.ndarray) else np.asarray(a) for a in arrays]
            resize = [bool(self._check_input(spec, a, i))
                      for i, (spec, a) in enumerate(zip(self._inputs, prepared))]
            return self._invoke(prepared, resize, skip)
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
            if not shape_matches(want_shape, have.shape):
                problems.append(f"{side} {i} {have.name!r}: expected shape {list(want_shape)}, "
                                f"actual {list(have.shape)}")
            want_dtype = getattr(want, "dtype", None)
            if want_dtype is not None and np.dtype(want_dtype) != have.dtype:
                problems.append(f"{side} {i} {have.name!r}: expected dtype {np.dtype(want_dtype)}, "
                                f"actual {have.dtype}")
    if problems:
        raise ModelMismatchError(f"{model} does not match the expected tensors:\n  - " + "\n  - ".join(problems))
