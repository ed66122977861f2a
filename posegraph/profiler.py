"""Per-node timing that is always on, and an optional Chrome trace.

Always-on statistics cost two ``perf_counter_ns`` calls and a few additions per ``process`` call; samples for
percentiles go into a fixed-size ring so a long run never grows memory. The trace (one slice per call, one row per
worker thread) is kept only when asked for.
"""

from __future__ import annotations

import json
import math
import os
import struct
from array import array
from dataclasses import asdict, dataclass
from pathlib import Path


class NodeStats:
    """Counters for one node; written by one thread at a time (the graph lock or the node's own call)."""

    __slots__ = ("name", "calculator", "open_ns", "close_ns", "process_count", "process_ns", "samples",
                 "latency_samples", "latency_ns", "cursor", "dropped", "errors", "emitted", "capacity")

    def __init__(self, name: str, calculator: str, capacity: int = 10000):
        self.name = name
        self.calculator = calculator
        self.open_ns = 0
        self.close_ns = 0
        self.process_count = 0
        self.process_ns = 0
        self.latency_ns = 0
        self.capacity = max(1, capacity)
        self.samples = array("q")
        self.latency_samples = array("q")
        self.cursor = 0
        self.dropped = 0
        self.errors = 0
        self.emitted = 0  # packets a source node sent (its frames)

    def record(self, duration_ns: int, latency_ns: int) -> None:
        """Count one process() call (the scheduler inlines the first branch: keep the two in step)."""
        self.process_count += 1
        self.process_ns += duration_ns
        self.latency_ns += latency_ns
        if len(self.samples) < self.capacity:
            self.samples.append(duration_ns)
            self.latency_samples.append(latency_ns)
        else:
            i = self.cursor
            self.samples[i] = duration_ns
            self.latency_samples[i] = latency_ns
            self.cursor = (i + 1) % self.capacity


@dataclass(frozen=True)
class NodeProfile:
    """One node's row of a profile, from the graph's counters (`summarize`) or from a trace's slices
    (``posegraph.viz.trace``); times in milliseconds, -1 where the source cannot tell."""

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
    wait_mean_ms: float = -1.0     # time a packet waited in the node's input queue (the graph's counters)
    wait_p90_ms: float = -1.0
    latency_mean_ms: float = -1.0  # input latency: since the packet's timestamp entered the graph (a trace's)
    latency_p90_ms: float = -1.0


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
                         f"{n.percent:.1f}", f"{n.wait_mean_ms:.3f}"))
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
            wait_mean_ms=(s.latency_ns / n / 1e6) if n else 0.0, wait_p90_ms=_percentile(lat, 0.9) / 1e6))
    rows.sort(key=lambda r: r.total_ms, reverse=True)
    return GraphProfile(rows, wall_s, frames, frames / wall_s if wall_s > 0 else 0.0)


class TraceRecorder:
    """Collects one slice per call for Chrome's trace-event JSON (Perfetto, chrome://tracing).

    Each call is packed into a ``bytearray`` as seven int64 (worker, node, start ns, duration ns, input timestamp,
    kind, timestamp of the first packet the call sent): no Python objects for the garbage collector to scan, and
    recording costs one ``struct.pack`` and one ``extend`` (about a quarter of a microsecond), so a long run does
    not slow down as the trace grows. Flow arrows (a packet's producer -> its consumer) are not recorded: they are
    matched when the trace is written, by stream wiring and packet timestamp (a call at timestamp T is joined to
    the call of each upstream node that sent its first packet at T).
    """

    FIELDS = 7
    KINDS = {0: "process", 1: "source", 2: "close", 3: "open"}  # a source's process() calls are "source"
    RECORD = struct.Struct("7q")
    UNSET = -(2**63)  # Timestamp.UNSET: no input timestamp (sources, close) / no packet sent

    def __init__(self):
        self.buffer = bytearray()
        self.record = self.buffer.extend  # the scheduler calls ``record(RECORD.pack(...))`` (no lock needed)
        self.origin_ns = 0
        self.thread_names: list[str] = []
        self.node_names: list[str] = []
        self.nodes: list[dict] = []  # per node rank: name, calculator, inputs, outputs (see set_nodes)

    def set_nodes(self, nodes) -> None:
        """Remember names and stream wiring of the graph's nodes (``NodeRuntime``s, indexed by rank)."""
        self.node_names = [n.name for n in nodes]
        self.nodes = [{"name": n.name, "calculator": n.spec.calculator,
                       "inputs": [b.name for b in n.spec.inputs],
                       "back_edges": [b.name for b in n.spec.inputs if b.back_edge],
                       "outputs": [b.name for b in n.spec.outputs],
                       "subgraph_path": list(n.spec.subgraph_path)} for n in nodes]

    def add_thread(self, name: str) -> int:
        """Register a worker thread; returns its row index."""
        self.thread_names.append(name)
        return len(self.thread_names) - 1

    def __len__(self) -> int:
        return len(self.buffer) // self.RECORD.size

    @property
    def events(self) -> array:
        """The recorded calls, flat: FIELDS int64 per call."""
        events = array("q")
        events.frombytes(bytes(self.buffer[:len(self) * self.RECORD.size]))
        return events

    def flows(self, ev: array | None = None) -> list[tuple[int, int, str]]:
        """(producer call, consumer call, stream) pairs: the consumer ran at the input timestamp at which the
        producer of one of its input streams sent a packet (the first call that sent at that timestamp)."""
        ev = self.events if ev is None else ev
        f = self.FIELDS
        if not self.nodes:
            return []
        producer_of: dict[str, int] = {}
        for rank, node in enumerate(self.nodes):
            for stream in node["outputs"]:
                producer_of.setdefault(stream, rank)
        sent: dict[tuple[int, int], int] = {}
        for i in range(0, len(ev), f):
            out_ts = ev[i + 6]
            if out_ts != self.UNSET:
                sent.setdefault((ev[i + 1], out_ts), i // f)
        feeds = [[(producer_of[s], s) for s in node["inputs"] if s in producer_of] for node in self.nodes]
        flows = []
        for i in range(0, len(ev), f):
            ts = ev[i + 4]
            if ev[i + 5] != 0 or ts == self.UNSET:
                continue
            for producer, stream in feeds[ev[i + 1]]:
                j = sent.get((producer, ts))
                if j is not None and ev[j * f + 2] <= ev[i + 2]:
                    flows.append((j, i // f, stream))
        return flows

    def input_latency(self, ev: array | None = None) -> dict[str, dict[str, float]]:
        """Per node: mean and p90 (ms) of the time from a packet timestamp entering the graph (the end of the
        source call that sent it, else the first call at that timestamp) to the node's call at that timestamp."""
        ev = self.events if ev is None else ev
        f = self.FIELDS
        unset = self.UNSET
        origin: dict[int, int] = {}
        for i in range(0, len(ev), f):
            if ev[i + 5] == 1 and ev[i + 6] != unset:  # a source call: its packet entered when it returned
                end = ev[i + 2] + ev[i + 3]
                if end < origin.get(ev[i + 6], end + 1):
                    origin[ev[i + 6]] = end
        first: dict[int, int] = {}
        for i in range(0, len(ev), f):
            ts = ev[i + 4]
            if ev[i + 5] == 0 and ts != unset and ts not in origin and ev[i + 2] < first.get(ts, ev[i + 2] + 1):
                first[ts] = ev[i + 2]
        origin.update(first)
        waits: dict[int, list[int]] = {}
        for i in range(0, len(ev), f):
            ts = ev[i + 4]
            if ev[i + 5] == 0 and ts in origin:
                waits.setdefault(ev[i + 1], []).append(max(0, ev[i + 2] - origin[ts]))
        out = {}
        for rank, values in waits.items():
            values.sort()
            out[self.node_names[rank]] = {"mean_ms": sum(values) / len(values) / 1e6,
                                          "p90_ms": _percentile(values, 0.9) / 1e6}
        return out

    def to_chrome(self, profile: "GraphProfile | None" = None, **extra) -> dict:
        """Trace-event JSON: thread rows, one slice per call, flow arrows, and ``metadata.posegraph`` (the node
        list and wiring, plus the profile table and `extra` when given)."""
        pid = os.getpid()
        out: list[dict] = [{"ph": "M", "pid": pid, "tid": 0, "name": "process_name", "args": {"name": "posegraph"}}]
        for row, name in enumerate(self.thread_names):
            out.append({"ph": "M", "pid": pid, "tid": row + 1, "name": "thread_name", "args": {"name": name}})
            out.append({"ph": "M", "pid": pid, "tid": row + 1, "name": "thread_sort_index",
                        "args": {"sort_index": row}})
        ev = self.events
        f = self.FIELDS
        origin = self.origin_ns
        names = self.node_names
        unset = self.UNSET
        slices = []
        for i in range(0, len(ev), f):
            worker, node, start, dur, ts, kind, out_ts = ev[i:i + f]
            args = {}
            if ts != unset:
                args["timestamp"] = ts
            if out_ts != unset:
                args["sent"] = out_ts
            slices.append({"ph": "X", "pid": pid, "tid": worker + 1, "name": names[node], "cat": self.KINDS[kind],
                           "ts": (start - origin) / 1000.0, "dur": dur / 1000.0, "args": args})
        out += slices
        for k, (j, i, stream) in enumerate(self.flows(ev)):
            src, dst = slices[j], slices[i]
            common = {"pid": pid, "cat": "packet", "name": stream, "id": k + 1}
            out.append({"ph": "s", "tid": src["tid"], "ts": src["ts"] + src["dur"] / 2, **common})
            out.append({"ph": "f", "bp": "e", "tid": dst["tid"], "ts": dst["ts"] + dst["dur"] / 2, **common})
        meta: dict = {"format": "posegraph-trace", "version": 1, "nodes": self.nodes, "threads": self.thread_names,
                      "input_latency": self.input_latency(ev)}
        if profile is not None:
            meta["profile"] = profile.to_dict()
        meta.update(extra)
        return {"traceEvents": out, "displayTimeUnit": "ms", "metadata": {"posegraph": meta}}

    @staticmethod
    def check_path(path: str | os.PathLike) -> None:
        """Make sure the trace can be written to `path` (its folder is created, a file written there and deleted):
        the graph checks when it starts, since the trace is written only when the run ends."""
        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(f"cannot write the trace to {path}: it is a folder")
        tmp = path.with_suffix(path.suffix + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(b"")
            tmp.unlink()
        except OSError as exc:
            raise PermissionError(f"cannot write the trace to {path}: {exc.strerror or exc}; choose another path")\
                from None

    def write(self, path: str | os.PathLike, profile: "GraphProfile | None" = None, **extra) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_chrome(profile, **extra)))
        tmp.replace(path)
        return path
