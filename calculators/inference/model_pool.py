"""A process-wide pool of loaded models, so that graphs run one after another reuse them instead of reloading.

Every run of a graph gets fresh calculators, and each inference node used to load its model anew at open() and drop
it with the run. An interpreter is tens of MB of native buffers (packed weights, tensor arena, thread pool), loaded
on the run's worker thread: glibc serves it from that thread's malloc arena and keeps the pages when it is freed, so
300 runs of the flagship in one process grew RSS by ~100 MB without leaking a byte (``malloc_trim`` after each run,
or ``MALLOC_ARENA_MAX=1``, kept it flat). Leasing models from this pool instead keeps one interpreter per model and
settings (per node running at the same time) alive for the process, like MediaPipe's resource cache, and makes a
run's start cheaper too.

A leased model belongs to its node alone until the node releases it at close(); a model that is still running (a
node abandoned by the watchdog), that failed inside the backend, or whose inputs were resized is dropped instead of
pooled, so the next lease always gets a model in its just-loaded state. `release_idle_models()` frees the models no
graph is using (an app that is done with pose tracking but keeps running).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .base import TensorModel

__all__ = ["Lease", "ModelKey", "ModelPool", "lease_model", "release_idle_models"]


@dataclass(frozen=True)
class ModelKey:
    """What makes two loaded models interchangeable: the same file contents (by path, mtime and size) and settings."""

    path: Path
    mtime_ns: int
    size: int
    backend: str
    num_threads: int
    device: str
    precision: str

    @classmethod
    def of(cls, path: str | os.PathLike[str], backend: str, num_threads: int, device: str,
           precision: str) -> "ModelKey":
        path = Path(path)
        backend = backend or ("openvino" if path.suffix.lower() in (".xml", ".bin") else "tflite")
        if backend == "tflite":
            device, precision = "CPU", ""  # the TFLite wrapper takes neither
        stat = path.stat()  # a missing file: FileNotFoundError, as loading it would raise
        return cls(path.resolve(), stat.st_mtime_ns, stat.st_size, backend, int(num_threads), device, precision)


@dataclass(eq=False)
class Lease:
    """One node's use of a pooled model; `release()` (idempotent) gives the model back."""

    model: TensorModel
    key: ModelKey
    pool: "ModelPool"
    released: bool = field(default=False, init=False)
    failed: bool = field(default=False, init=False)

    def run(self, *tensors, skip: frozenset[int] = frozenset()):
        """Run the model (`skip`: see TensorModel.run). A failure inside the backend marks it `failed` (it is
        dropped at release); an input the model refuses before running (a ValueError) leaves it as it was."""
        try:
            return self.model.run(*tensors, skip=skip)
        except ValueError:
            raise
        except BaseException:
            self.failed = True
            raise

    def release(self, reusable: bool | None = None) -> None:
        """Give the model back, unless it failed (or `reusable` is False): then it is dropped instead."""
        if self.released:
            return
        self.released = True
        self.pool._give_back(self, (not self.failed) if reusable is None else reusable)


class ModelPool:
    """Idle loaded models by `ModelKey`. Holds at most as many models per key as were in use at once."""

    def __init__(self):
        self._idle: dict[ModelKey, list[TensorModel]] = {}
        self._lock = threading.Lock()

    def lease(self, path: str | os.PathLike[str], backend: str = "", *, num_threads: int = 1, device: str = "CPU",
              precision: str = "f32") -> Lease:
        """An idle model loaded from `path` with these settings, or a newly loaded one."""
        from .specs import load_model

        key = ModelKey.of(path, backend, num_threads, device, precision)
        with self._lock:
            for stale in [k for k in self._idle if k.path == key.path and (k.mtime_ns, k.size) !=
                          (key.mtime_ns, key.size)]:
                del self._idle[stale]  # the file was rewritten: its old models will not be asked for again
            idle = self._idle.get(key)
            model = idle.pop() if idle else None
        if model is None:
            model = load_model(path, backend, num_threads=num_threads, device=device, precision=precision)
        return Lease(model, key, self)

    def _give_back(self, lease: Lease, reusable: bool) -> None:
        model = lease.model
        if not reusable or not model._lock.acquire(blocking=False):
            return  # failed, or still running on a thread the run abandoned: let it go when that thread is done
        try:
            if not model.reset():
                return
        finally:
            model._lock.release()
        with self._lock:
            self._idle.setdefault(lease.key, []).append(model)

    def idle_count(self) -> int:
        with self._lock:
            return sum(len(models) for models in self._idle.values())

    def clear(self) -> int:
        """Drop every idle model (they are freed when the last reference goes); returns how many."""
        with self._lock:
            count = sum(len(models) for models in self._idle.values())
            self._idle.clear()
        return count

    def _forget_after_fork(self) -> None:
        """In a forked child the models' thread pools do not exist: never hand them out, and never destroy them
        (their destructors would wait for those threads)."""
        _abandoned.append(self._idle)
        self._idle = {}
        self._lock = threading.Lock()


_abandoned: list[dict] = []
POOL = ModelPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=POOL._forget_after_fork)


def lease_model(path: str | os.PathLike[str], backend: str = "", *, num_threads: int = 1, device: str = "CPU",
                precision: str = "f32") -> Lease:
    """Lease a model from the process's pool (see the module docstring)."""
    return POOL.lease(path, backend, num_threads=num_threads, device=device, precision=precision)


def release_idle_models() -> int:
    """Free the loaded models no graph is using now; returns how many were dropped."""
    return POOL.clear()
