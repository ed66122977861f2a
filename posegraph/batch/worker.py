"""What a batch worker does: run one graph per file in a long-lived process, keeping what is expensive.

A posegraph `Graph` runs once (start, drain, close), so a worker builds a fresh `Graph` for every file from a
`ValidatedGraph` it parsed and validated once. What a worker keeps between files is everything that does not depend
on the file: the imported runtime and calculator modules, the registry, the parsed and validated graph, compiled
code that calculators keep in memory (Numba dispatchers, for example), and whatever the OS caches (model files in
the page cache). What it rebuilds per file is only what `open()` of each calculator does, so every file starts
with fresh state (trackers, filters, open sink files) exactly like ``posegraph run`` on that file.

Nothing here knows about pose: a file is "the value of the ``input_path`` side packet", its outputs are "the
values of the per-file output side packets" (paths the graph's sinks write to).
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import importlib.util
import os
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..media_packets import INPUT_PATH

_preloaded: dict[str, Any] = {}
_preload_lock = threading.Lock()


def preload(modules: list[str] | tuple[str, ...]) -> None:
    """Import modules (dotted names or ``.py`` file paths) so that their calculators register in this process.

    Idempotent per process: each module or file is imported once.
    """
    with _preload_lock:
        for item in modules:
            if item in _preloaded:
                continue
            if item.endswith(".py") or os.sep in item or "/" in item:
                path = Path(item).expanduser().resolve()
                if str(path) in _preloaded:
                    continue
                name = "posegraph_batch_preload_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
                spec = importlib.util.spec_from_file_location(name, path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot import {path}: not a Python file")
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
                _preloaded[str(path)] = module
            else:
                module = importlib.import_module(item)
            _preloaded[item] = module


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def short_error(exc: BaseException, limit: int = 600) -> str:
    """The first line of an error (CalculatorError messages carry a whole traceback after it)."""
    text = f"{type(exc).__name__}: {exc}".strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= limit else first[:limit - 3] + "..."


@dataclass
class FileTask:
    """One input file of a batch, as the driver hands it to an engine."""

    index: int                  # position in the batch's input list
    input: str                  # absolute path on the driver's machine
    stem: str                   # output name stem (DIR/<stem><suffix>)
    temp_outputs: dict[str, str]  # per-file output side packet -> temporary path (on the driver's filesystem)
    attempt: int = 1
    redo_reason: str | None = None  # why it is (re)done; None until the driver checked its outputs

    @property
    def name(self) -> str:
        return Path(self.input).name


@dataclass
class FileOutcome:
    """What a worker reports for one file. `data` carries the output files' bytes when the engine ships them."""

    ok: bool
    worker: str
    frames: int = 0
    seconds: float = 0.0        # graph build + open + run, in the worker
    open_s: float = 0.0
    run_s: float = 0.0
    cpu_s: float = 0.0          # CPU time of the worker process (all its threads) during this file
    error: str | None = None
    error_type: str | None = None
    detail: str | None = None   # the full error text (tracebacks), truncated
    written: dict[str, bool] = field(default_factory=dict)   # per-file output side packet -> file exists
    data: dict[str, bytes | None] | None = None


class FileRunner:
    """Runs the graph once per file in this process; built once per worker."""

    def __init__(self, graph_text: str, *, threads: int = 1, side: dict[str, Any] | None = None,
                 preload_modules: tuple[str, ...] | list[str] = (), file_timeout: float | None = None,
                 dedicated: bool = False):
        preload(list(preload_modules))
        from ..config import load_graph

        # The expanded graph (subgraphs inlined) in text form, parsed like any graph file: a worker on another
        # machine needs neither the graph file nor its subgraph files, only the calculators.
        self.spec = load_graph(graph_text)
        self.threads = max(1, int(threads))
        self.side = dict(side or {})
        self.file_timeout = file_timeout
        self.files_done = 0
        self.dedicated = dedicated  # this process exists to run files (a batch worker): it may freeze its heap

    def run(self, input_path: str, outputs: dict[str, str]) -> FileOutcome:
        """Run the graph on `input_path`, its per-file outputs written to `outputs` (side packet -> path)."""
        from ..graph import Graph

        started = time.perf_counter()
        cpu_started = time.process_time()
        outcome = FileOutcome(ok=False, worker=worker_name())
        graph = None
        opened = started
        try:
            for path in outputs.values():
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                if os.path.lexists(path):
                    os.unlink(path)
            side = dict(self.side)
            side[INPUT_PATH] = input_path
            side.update(outputs)
            graph = Graph(self.spec, num_threads=self.threads)
            graph.start(side)
            opened = time.perf_counter()
            try:
                graph.wait_until_done(timeout=self.file_timeout)
            except TimeoutError:
                graph.cancel()
                try:
                    graph.wait_until_done(timeout=10.0)
                except Exception:  # noqa: BLE001 - the timeout is what gets reported
                    pass
                raise TimeoutError(f"file took longer than {self.file_timeout} s; cancelled") from None
            outcome.ok = True
        except Exception as exc:  # noqa: BLE001 - a failing file is recorded, the worker goes on
            outcome.error = short_error(exc)
            outcome.error_type = type(exc).__name__
            outcome.detail = "".join(traceback.format_exception(exc))[-4000:]
        finished = time.perf_counter()
        if graph is not None:  # a finished run's profile stays readable
            outcome.frames = int(graph.profile().frames)
        outcome.open_s = opened - started
        outcome.run_s = finished - opened if outcome.ok else 0.0
        outcome.seconds = finished - started
        outcome.cpu_s = time.process_time() - cpu_started
        outcome.written = {side: os.path.isfile(path) for side, path in outputs.items()}
        self.files_done += 1
        # Nothing of a finished file may stay reachable from the worker: drop the graph now and collect the
        # cycles a graph's nodes, streams and threads form, so memory is back where it was before the file (left
        # to the collector's own pace they piled up: 6-17 MB per pose-graph run). In a process that exists to run
        # files (`dedicated`: freezing is process-wide), what is left after the first file (modules, models,
        # compiled code) is frozen, so each later collection scans one file's objects (a full collection of a
        # pose worker's heap costs ~0.2 s, after freezing ~0.02 s).
        del graph
        gc.collect()
        if self.files_done == 1 and self.dedicated:
            gc.freeze()
        return outcome


__all__ = ["FileOutcome", "FileRunner", "FileTask", "preload", "short_error", "worker_name"]
