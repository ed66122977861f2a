"""The progress display of ``posegraph run``: frames *finished* (out of the graph), not frames read.

A frame is finished when every graph output stream has delivered its timestamp and every sink node (a node with no
output streams: video writer, JSONL writer) has processed it; sources read ahead of that by a whole queue. On a
terminal the bar is tqdm's; when stderr is a pipe or a file, a plain line is written every few seconds instead, so
logs of long runs show that work goes on.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import IO, Callable

DEFAULT_INTERVAL_S = 5.0
INTERVAL_ENV = "POSEGRAPH_PROGRESS_INTERVAL"  # seconds between plain lines when stderr is not a terminal


class FinishedFrames:
    """Counts finished frames of a running graph from public views: output packets and sink nodes' calls."""

    def __init__(self, graph):
        self._graph = graph
        self._lock = threading.Lock()
        self._delivered = {name: 0 for name in graph.spec.output_streams}
        for name in self._delivered:
            graph.observe_output(name, lambda packet, name=name: self._count(name))
        self._sinks = {node.name for node in graph.spec.nodes if not node.outputs}

    def _count(self, name: str) -> None:
        with self._lock:
            self._delivered[name] += 1

    @property
    def delivered(self) -> dict[str, int]:
        with self._lock:
            return dict(self._delivered)

    def __call__(self) -> int:
        counts = []
        with self._lock:
            if self._delivered:
                counts.append(max(self._delivered.values()))
        # a sink that never runs (a video writer without --output) does not hold the count back
        counts += [n.process_count for n in self._graph.nodes if n.name in self._sinks and n.process_count]
        return min(counts, default=0)


def _total(graph) -> int | None:
    """Frames the sources will produce, when they know (a video's frame count, ``--max-frames``)."""
    totals = []
    for node in graph.nodes:  # sources that report progress()
        progress = getattr(node.instance, "progress", None)
        if callable(progress):
            try:
                totals.append(progress()[1])
            except Exception:  # noqa: BLE001 - a display must never fail a run
                return None
    return totals[0] if len(totals) == 1 else None


class Progress:
    """Polls `finished()` on a thread and shows it; `stop()` draws the final state."""

    def __init__(self, graph, finished: Callable[[], int], stream: IO[str] | None = None,
                 interval_s: float | None = None):
        self.graph = graph
        self.finished = finished
        self.stream = stream or sys.stderr
        if interval_s is None:
            try:
                interval_s = float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S))
            except ValueError:
                interval_s = DEFAULT_INTERVAL_S
        self.interval_s = max(0.05, interval_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="posegraph-progress", daemon=True)
        self._started = time.perf_counter()
        self._bar = None

    def start(self) -> "Progress":
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def _terminal(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def _run(self) -> None:
        try:
            if self._terminal():
                self._run_bar()
            else:
                self._run_lines()
        except Exception:  # noqa: BLE001 - a display must never fail a run
            pass

    def _run_bar(self) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=_total(self.graph), unit="frame", file=self.stream, dynamic_ncols=True,
                         leave=True, smoothing=0.1)
        shown = 0
        while True:
            stopping = self._stop.wait(0.2)
            done = self.finished()
            if done > shown:
                self._bar.update(done - shown)
                shown = done
            if stopping:
                break
        self._bar.close()

    def _run_lines(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def line(self) -> str:
        done = self.finished()
        elapsed = max(1e-9, time.perf_counter() - self._started)
        total = _total(self.graph)
        of = f"/{total}" if total else ""
        return f"posegraph: {done}{of} frames finished, {done / elapsed:.1f} frames/s, {elapsed:.0f} s"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)


__all__ = ["FinishedFrames", "Progress"]
