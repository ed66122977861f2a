"""Per-node timing that is always on, and an optional Chrome trace.

Always-on statistics cost two ``perf_counter_ns`` calls and a few additions per ``process`` call; samples for
percentiles go into a fixed-size ring so a long run never grows memory. The trace (one slice per call, one row per
worker thread) is kept only when asked for.
"""

from __future__ import annotations

import json
import math
import os
from array import array
from dataclasses import asdict, dataclass
from pathlib import Path


class NodeStats:
    """Counters for one node; written by one thread at a time (the graph lock or the node's own call)."""

    __slots__ = ("name", "calculator", "open_ns", "close_ns", "process_count", "process_ns", "samples",
                 "latency_samples", "latency_ns", "cursor", "dropped", "errors", "emitted", "_capacity")

    def __init__(self, name: str, calculator: str, capacity: int = 10000):
        self.name = name
        self.calculator = calculator
        self.open_ns = 0
        self.close_ns = 0
        self.process_count = 0
        self.process_ns = 0
        self.latency_ns = 0
        self._capacity = max(1, capacity)
        self.samples = array("q")
        self.latency_samples = array("q")
        self.cursor = 0
        self.dropped = 0
        self.errors = 0
        self.emitted = 0  # packets a source node sent (its frames)

    def record(self, duration_ns: int, latency_ns: int) -> None:
        self.process_count += 1
        self.process_ns += duration_ns
        self.latency_ns += latency_ns
        if len(self.samples) < self._capacity:
            self.samples.append(duration_ns)
            self.latency_samples.append(latency_ns)
        else:
            i = self.cursor
            self.samples[i] = duration_ns
            self.latency_samples[i] = latency_ns
            self.cursor = (i + 1) % self._capacity


@dataclass(frozen=True)
class NodeProfile:
    """One row of the profile table; times in milliseconds."""

    node: str
    calculator: str
    calls: int
    fps: float
    dropped: int
    errors: int
    open_ms: float
    close_ms: float
    mean_ms: float
    stddev_ms: float
    p50_ms: float
    p90_ms: float
    max_ms: float
    total_ms: float
    percent: float
    latency_mean_ms: float
    latency_p90_ms: float


@dataclass(frozen=True)
class GraphProfile:
    nodes: list[NodeProfile]
    wall_s: float
    frames: int
    fps: float

    def to_dict(self) -> dict:
        return {"wall_s": self.wall_s, "frames": self.frames, "fps": self.fps,
                "nodes": [asdict(n) for n in self.nodes]}

    def table(self) -> str:
        header = ("node", "calls", "fps", "drop", "mean", "p50", "p90", "max", "total", "%", "wait")
        rows = [header]
        for n in self.nodes:
            rows.append((n.node, str(n.calls), f"{n.fps:.1f}", str(n.dropped), f"{n.mean_ms:.3f}",
                         f"{n.p50_ms:.3f}", f"{n.p90_ms:.3f}", f"{n.max_ms:.3f}", f"{n.total_ms:.1f}",
                         f"{n.percent:.1f}", f"{n.latency_mean_ms:.3f}"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"{self.frames} frames in {self.wall_s:.2f} s = {self.fps:.1f} frames/s "
                     f"(times in ms; wait = time a packet queued before process)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def summarize(stats: list[NodeStats], wall_s: float, frames: int) -> GraphProfile:
    total_ns = sum(s.process_ns for s in stats) or 1
    rows = []
    for s in stats:
        samples = sorted(s.samples)
        lat = sorted(s.latency_samples)
        n = s.process_count
        mean = s.process_ns / n if n else 0.0
        var = (sum((x - mean) ** 2 for x in samples) / len(samples)) if samples else 0.0
        rows.append(NodeProfile(
            node=s.name, calculator=s.calculator, calls=n, fps=n / wall_s if wall_s > 0 else 0.0,
            dropped=s.dropped, errors=s.errors, open_ms=s.open_ns / 1e6, close_ms=s.close_ns / 1e6,
            mean_ms=mean / 1e6, stddev_ms=math.sqrt(var) / 1e6, p50_ms=_percentile(samples, 0.5) / 1e6,
            p90_ms=_percentile(samples, 0.9) / 1e6, max_ms=(samples[-1] if samples else 0) / 1e6,
            total_ms=s.process_ns / 1e6, percent=100.0 * s.process_ns / total_ns,
            latency_mean_ms=(s.latency_ns / n / 1e6) if n else 0.0, latency_p90_ms=_percentile(lat, 0.9) / 1e6))
    rows.sort(key=lambda r: r.total_ms, reverse=True)
    return GraphProfile(rows, wall_s, frames, frames / wall_s if wall_s > 0 else 0.0)


class TraceRecorder:
    """Collects one slice per process call for Chrome's trace-event JSON (Perfetto, chrome://tracing).

    Events are stored flat in an ``array('q')`` (worker, node, start ns, duration ns, packet timestamp, kind):
    plain integers that the garbage collector never scans, so recording a call costs a fraction of a microsecond
    and a long run does not slow down as the trace grows.
    """

    FIELDS = 6
    KINDS = {0: "process", 1: "process", 2: "close"}

    def __init__(self):
        self.events = array("q")
        self.origin_ns = 0
        self.thread_names: list[str] = []
        self.node_names: list[str] = []

    def add_thread(self, name: str) -> int:
        """Register a worker thread; returns its row index."""
        self.thread_names.append(name)
        return len(self.thread_names) - 1

    def __len__(self) -> int:
        return len(self.events) // self.FIELDS

    def to_chrome(self) -> dict:
        pid = os.getpid()
        out: list[dict] = [{"ph": "M", "pid": pid, "tid": 0, "name": "process_name", "args": {"name": "posegraph"}}]
        for row, name in enumerate(self.thread_names):
            out.append({"ph": "M", "pid": pid, "tid": row + 1, "name": "thread_name", "args": {"name": name}})
        ev = self.events
        for i in range(0, len(ev), self.FIELDS):
            worker, node, start, dur, ts, kind = ev[i:i + self.FIELDS]
            out.append({"ph": "X", "pid": pid, "tid": worker + 1, "name": self.node_names[node],
                        "cat": self.KINDS[kind], "ts": (start - self.origin_ns) / 1000.0, "dur": dur / 1000.0,
                        "args": {"timestamp": ts}})
        return {"traceEvents": out, "displayTimeUnit": "ms"}

    def write(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_chrome()))
        tmp.replace(path)
        return path
