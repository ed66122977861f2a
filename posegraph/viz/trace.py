"""Reading a trace written by ``posegraph run --profile`` (Chrome trace-event JSON) into per-node statistics.

The per-call slices give complete timing (no sampling); ``metadata.posegraph`` adds what the slices cannot say:
packets dropped (flow limiting), time packets waited in input queues, open/close times, graph input drops.

Input latency follows MediaPipe's profiler: for a call at packet timestamp T, the time since T entered the graph,
that is since the source call that sent T finished (or, for packets the application added, since the first call
at T started).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..profiler import NodeProfile
from .model import VEdge, VNode

UNSET = -(2**63)


@dataclass
class TraceData:
    path: str
    rows: list[NodeProfile]
    wall_s: float
    frames: int
    fps: float
    threads: dict[int, str]
    slices: list[tuple[int, int, float, float, int]]  # (tid, node index, start us, dur us, timestamp)
    kinds: list[str]                                  # per slice: process | source | close
    node_names: list[str]
    flows: list[tuple[int, int]]                      # (producer slice, consumer slice)
    dropped_inputs: dict[str, int] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    def row(self, node: str) -> NodeProfile | None:
        return next((r for r in self.rows if r.node == node), None)

    def to_dict(self) -> dict:
        return {"trace": self.path, "wall_s": self.wall_s, "frames": self.frames, "fps": self.fps,
                "threads": list(self.threads.values()), "flows": len(self.flows),
                "dropped_inputs": self.dropped_inputs, "nodes": [asdict(r) for r in self.rows]}


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else 0.0


def load_trace(path: str | os.PathLike) -> TraceData:
    """Parse a trace; raises ValueError when the file is not trace-event JSON."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read trace {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot read trace {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    events = data.get("traceEvents") if isinstance(data, dict) else data
    if not isinstance(events, list):
        raise ValueError(f"{path} is not a trace-event file (no traceEvents list)")
    meta = (data.get("metadata") or {}).get("posegraph", {}) if isinstance(data, dict) else {}
    return analyse(events, meta, str(path))


def analyse(events: list[dict], meta: dict, path: str = "") -> TraceData:
    threads: dict[int, str] = {}
    names: list[str] = [n["name"] for n in meta.get("nodes", [])]
    calculators: dict[str, str] = {n["name"]: n.get("calculator", "") for n in meta.get("nodes", [])}
    index = {n: i for i, n in enumerate(names)}
    slices: list[tuple[int, int, float, float, int]] = []
    kinds: list[str] = []
    sent: list[int] = []
    flow_start: dict[Any, tuple[int, float]] = {}
    flow_end: dict[Any, tuple[int, float]] = {}
    for ev in events:
        ph = ev.get("ph")
        if ph == "M" and ev.get("name") == "thread_name":
            threads[ev.get("tid", 0)] = ev.get("args", {}).get("name", str(ev.get("tid")))
        elif ph == "X":
            cat = ev.get("cat", "process")
            if cat not in ("process", "source", "close"):
                continue
            name = ev.get("name", "?")
            k = index.get(name)
            if k is None:
                k = index[name] = len(names)
                names.append(name)
            args = ev.get("args") or {}
            slices.append((ev.get("tid", 0), k, float(ev.get("ts", 0.0)), float(ev.get("dur", 0.0)),
                           int(args.get("timestamp", UNSET))))
            kinds.append(cat)
            sent.append(int(args.get("sent", UNSET)))
        elif ph in ("s", "f"):
            (flow_start if ph == "s" else flow_end)[(ev.get("id"), ev.get("cat"))] = (ev.get("tid", 0),
                                                                                    float(ev.get("ts", 0.0)))
    # flows: bind each end to the slice enclosing it on its thread
    flows: list[tuple[int, int]] = []
    if flow_start:
        by_tid: dict[int, list[int]] = {}
        for i, s in enumerate(slices):
            by_tid.setdefault(s[0], []).append(i)
        for lst in by_tid.values():
            lst.sort(key=lambda i: slices[i][2])
        starts = {tid: np.array([slices[i][2] for i in lst]) for tid, lst in by_tid.items()}

        def enclosing(tid: int, ts: float) -> int | None:
            lst = by_tid.get(tid)
            if not lst:
                return None
            j = int(np.searchsorted(starts[tid], ts, side="right")) - 1
            if j >= 0:
                s = slices[lst[j]]
                if s[2] <= ts <= s[2] + s[3]:
                    return lst[j]
            return None

        for key, (tid, ts) in flow_start.items():
            end = flow_end.get(key)
            if end is None:
                continue
            a, b = enclosing(tid, ts), enclosing(*end)
            if a is not None and b is not None:
                flows.append((a, b))

    profile = meta.get("profile") or {}
    prof_nodes = {n["node"]: n for n in profile.get("nodes", [])}
    if slices:
        first = min(s[2] for s in slices)
        last = max(s[2] + s[3] for s in slices)
        span_s = (last - first) / 1e6
    else:
        span_s = 0.0
    wall_s = float(profile.get("wall_s") or span_s)

    # where each packet timestamp entered the graph
    origin: dict[int, float] = {}
    for i, s in enumerate(slices):
        if kinds[i] == "source" and sent[i] != UNSET:  # a source call: its packet entered when it returned
            end = s[2] + s[3]
            if sent[i] not in origin or end < origin[sent[i]]:
                origin[sent[i]] = end
    first_at: dict[int, float] = {}
    for i, s in enumerate(slices):
        if kinds[i] == "process" and s[4] != UNSET and s[4] not in origin:
            if s[4] not in first_at or s[2] < first_at[s[4]]:
                first_at[s[4]] = s[2]
    for ts, start in first_at.items():
        origin.setdefault(ts, start)

    per_node: dict[int, list[int]] = {}
    for i, s in enumerate(slices):
        if kinds[i] != "close":
            per_node.setdefault(s[1], []).append(i)
    total_us = sum(slices[i][3] for lst in per_node.values() for i in lst) or 1.0
    rows = []
    for k, name in enumerate(names):
        lst = per_node.get(k, [])
        dur = np.array([slices[i][3] for i in lst], dtype=float) / 1000.0
        lat = np.array([slices[i][2] - origin[slices[i][4]] for i in lst if slices[i][4] in origin],
                       dtype=float) / 1000.0
        lat = np.maximum(lat, 0.0)
        p = prof_nodes.get(name, {})
        wait_key = "wait" if "wait_mean_ms" in p else "latency"  # older traces named the queue wait latency_*
        calls = len(lst)
        rows.append(NodeProfile(
            node=name, calculator=calculators.get(name) or p.get("calculator", ""), calls=calls,
            fps=calls / wall_s if wall_s > 0 else 0.0, dropped=int(p.get("dropped", 0)), errors=int(p.get("errors", 0)),
            mean_ms=float(dur.mean()) if calls else 0.0, stddev_ms=float(dur.std()) if calls else 0.0,
            p50_ms=_pct(dur, 50), p90_ms=_pct(dur, 90), max_ms=float(dur.max()) if calls else 0.0,
            total_ms=float(dur.sum()), percent=100.0 * float(dur.sum()) * 1000.0 / total_us,
            latency_mean_ms=float(lat.mean()) if lat.size else 0.0, latency_p90_ms=_pct(lat, 90),
            wait_mean_ms=float(p.get(f"{wait_key}_mean_ms", -1.0)),
            wait_p90_ms=float(p.get(f"{wait_key}_p90_ms", -1.0)),
            open_ms=float(p.get("open_ms", 0.0)), close_ms=float(p.get("close_ms", 0.0))))
    rows.sort(key=lambda r: (-r.total_ms, r.node))
    frames = int(profile.get("frames") or max((r.calls for r in rows), default=0))
    fps = frames / wall_s if wall_s > 0 else 0.0
    return TraceData(path, rows, wall_s, frames, fps, threads, slices, kinds, names, flows,
                     dict(meta.get("dropped_inputs") or {}), meta)


def table(trace: TraceData, top: int | None = None) -> str:
    """MediaPipe-style per-node table, slowest (most total time) first; times in milliseconds."""
    header = ("node", "calculator", "calls", "fps", "drop", "mean", "sd", "p50", "p90", "max", "total", "%",
              "in-lat", "lat-p90", "wait")
    rows = [header]
    for r in trace.rows[:top] if top else trace.rows:
        rows.append((r.node, r.calculator, str(r.calls), f"{r.fps:.1f}", str(r.dropped), f"{r.mean_ms:.3f}",
                     f"{r.stddev_ms:.3f}", f"{r.p50_ms:.3f}", f"{r.p90_ms:.3f}", f"{r.max_ms:.3f}",
                     f"{r.total_ms:.1f}", f"{r.percent:.1f}", f"{r.latency_mean_ms:.2f}",
                     f"{r.latency_p90_ms:.2f}", f"{r.wait_mean_ms:.3f}" if r.wait_mean_ms >= 0 else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    drops = sum(trace.dropped_inputs.values())
    lines.append(f"{trace.frames} frames in {trace.wall_s:.2f} s = {trace.fps:.1f} frames/s; "
                 f"{len(trace.threads)} worker threads; {len(trace.flows)} packet flows"
                 + (f"; {drops} packets refused at graph inputs" if drops else ""))
    lines.append("times in ms: process time per call (mean, sd, p50, p90, max, total, % of all process time); "
                 "in-lat = input latency (since the packet's timestamp entered the graph); wait = time in the "
                 "input queue")
    return "\n".join(lines)


class ProfileOverlay:
    """Per-node timing for the drawing: node label lines, heat colour, drops on the edges into a dropping node."""

    def __init__(self, trace: TraceData):
        self.trace = trace
        self.rows = {r.node: r for r in trace.rows}

    def stats_for(self, name: str) -> dict | None:
        r = self.rows.get(name)
        return asdict(r) if r is not None else None

    def node_stats(self, node: VNode) -> dict | None:
        if node.kind == "calculator":
            return self.stats_for(node.name)
        if node.kind == "subgraph":
            rows = [self.rows[m] for m in node.members if m in self.rows]
            if not rows:
                return None
            return {"calls": max(r.calls for r in rows), "mean_ms": sum(r.mean_ms for r in rows),
                    "p90_ms": sum(r.p90_ms for r in rows), "total_ms": sum(r.total_ms for r in rows),
                    "percent": sum(r.percent for r in rows), "dropped": sum(r.dropped for r in rows)}
        return None

    def edge_drops(self, edge: VEdge, nodes: dict[str, VNode]) -> int:
        """Packets dropped where this edge arrives: at a flow-limiting node's (non back edge) stream input, or
        refused at a graph input."""
        if edge.side or edge.back_edge:
            return 0
        src = nodes.get(edge.src)
        if src is not None and src.kind == "input":
            return int(self.trace.dropped_inputs.get(src.name, 0))
        dst = nodes.get(edge.dst)
        if dst is None:
            return 0
        stats = self.node_stats(dst)
        return int(stats.get("dropped", 0)) if stats else 0

    def to_dict(self) -> dict:
        return {"wall_s": self.trace.wall_s, "frames": self.trace.frames, "fps": self.trace.fps,
                "nodes": {name: asdict(r) for name, r in self.rows.items()}}


__all__ = ["load_trace", "analyse", "table", "TraceData", "ProfileOverlay"]
