"""Placing nodes, edges and subgraph clusters: Graphviz ``dot`` when it is installed, else a built-in layered layout.

``dot`` (Debian/Ubuntu package ``graphviz``) gives the best drawing: clusters kept together, few crossings, spline
edges with room for their labels. Without it, :func:`builtin_layout` does a plain Sugiyama-style layering
(longest-path layers, barycentre ordering that keeps each subgraph's nodes side by side, straightened
coordinates, smoothed polyline edges), so that every format except PNG works on any machine.

Both produce a :class:`Layout` in SVG coordinates (pixels, y down), which :mod:`posegraph.viz.svg` draws.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from .model import GraphModel, VEdge, VNode

FONT = "Helvetica, Arial, sans-serif"
NAME_PT, DETAIL_PT, EDGE_PT = 11, 9, 8
DPI = 72.0  # dot's points; the SVG uses one pixel per point


@dataclass
class Box:
    x: float  # top-left
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class EdgeGeom:
    d: str                                   # SVG path
    arrow: list[tuple[float, float]]         # arrowhead triangle
    label: tuple[float, float] | None = None  # label centre


@dataclass
class Layout:
    width: float
    height: float
    nodes: dict[str, Box] = field(default_factory=dict)
    edges: dict[str, EdgeGeom] = field(default_factory=dict)
    clusters: dict[str, Box] = field(default_factory=dict)
    engine: str = ""


# --------------------------------------------------------------------------------------------- labels


def short_name(node: VNode) -> str:
    """A node's name without its subgraph prefix (the cluster around it says where it is)."""
    if node.cluster and node.name.startswith(node.cluster[-1] + "/"):
        return node.name[len(node.cluster[-1]) + 1:]
    return node.name


def cluster_label(cluster: Any, full: bool = False) -> str:
    """'name : Type' (the subgraph node's name and the subgraph's type, when known)."""
    name = cluster.path if full else cluster.name
    return f"{name} : {cluster.type}" if cluster.type else name


def stats_lines(stats: dict | None) -> list[str]:
    if not stats:
        return []
    if stats.get("_live"):  # the dashboard fills these in
        return ["waiting for the first update", "0 calls \u00b7 q 0"]
    calls = stats.get("calls", 0)
    lines = [f"{stats.get('mean_ms', 0.0):.2f} ms · p90 {stats.get('p90_ms', 0.0):.2f} ms",
             f"{calls} calls · {stats.get('percent', 0.0):.1f}%"]
    return lines


def node_lines(node: VNode, stats: dict | None = None) -> list[str]:
    """The text lines drawn in a node: name, then calculator (or kind), then timings when profiled."""
    if node.kind == "calculator":
        name = short_name(node)
        default_name = name == node.calculator or re.fullmatch(re.escape(node.calculator) + r"_\d+", name)
        lines = [name] if default_name and node.calculator else [name, node.calculator or "?"]
    elif node.kind == "subgraph":
        lines = [node.name, f"{node.calculator} ({len(node.members)} nodes)"]
    elif node.kind == "missing":
        lines = [node.name, "no producer"]
    else:
        lines = [node.name]
    if node.issues:
        lines[0] = "\u26a0 " + lines[0]
    return lines + stats_lines(stats)


def edge_label(edge: VEdge, nodes: dict[str, VNode], drops: int = 0) -> str:
    """The stream name, relative to the subgraph both ends are in; plus drops when a flow limiter dropped."""
    text = edge.stream
    a, b = nodes.get(edge.src), nodes.get(edge.dst)
    named_end = (a is not None and a.kind in ("input", "side_in", "missing") and a.name == text) or \
        (b is not None and b.kind in ("output", "side_out") and b.name == text)
    if named_end:  # the node at that end already says the name
        return f"\u2715{drops} dropped" if drops else ""
    if a is not None and b is not None:
        common = [p for p, q in zip(a.cluster, b.cluster) if p == q]
        for path in reversed(common):
            if text.startswith(path + "/"):
                text = text[len(path) + 1:]
                break
    if drops:
        text += f"  \u2715{drops} dropped"
    return text


def estimate_size(lines: list[str]) -> tuple[float, float]:
    """Width and height (points) of a node box holding `lines` (first line bold), as dot would size it."""
    width = 0.0
    for k, line in enumerate(lines):
        per_char = (0.62 if k == 0 else 0.56) * (NAME_PT if k == 0 else DETAIL_PT)
        width = max(width, len(line) * per_char)
    return max(54.0, width + 20.0), 10.0 + NAME_PT * 1.3 + DETAIL_PT * 1.3 * (len(lines) - 1)


# --------------------------------------------------------------------------------------------- DOT

KIND_STYLE = {
    "calculator": 'shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#4c6ea8"',
    "subgraph": 'shape=box, style="rounded,filled,bold", peripheries=2, fillcolor="#f3effb", color="#6b4fa8"',
    "input": 'shape=box, style="rounded,filled", fillcolor="#e6f4ea", color="#2f8a4c"',
    "output": 'shape=box, style="rounded,filled", fillcolor="#e7f1fb", color="#2b6cb0"',
    "side_in": 'shape=parallelogram, style="filled", fillcolor="#f4eefc", color="#7048e8"',
    "side_out": 'shape=parallelogram, style="filled", fillcolor="#f4eefc", color="#7048e8"',
    "missing": 'shape=box, style="dashed,filled", fillcolor="#fff0f0", color="#c92a2a"',
}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def heat_color(share: float) -> str:
    """Fill colour for a node taking `share` (0..1) of the process time: pale yellow to red."""
    share = max(0.0, min(1.0, share))
    t = math.sqrt(share)  # small shares stay visible
    r = 255
    g = int(247 - t * (247 - 90))
    b = int(220 - t * (220 - 70))
    return f"#{r:02x}{g:02x}{b:02x}"


def to_dot(model: GraphModel, overlay: Any = None, *, for_layout: bool = False) -> str:
    """The graph in Graphviz DOT: clusters for subgraphs, dashed side packets, orange dashed back edges."""
    lines = ["digraph posegraph {",
             f'  graph [rankdir=TB, newrank=true, nodesep=0.3, ranksep=0.42, fontname="Helvetica", '
             f'fontsize={NAME_PT}' + ("" if for_layout else f', label={_q(model.title)}, labelloc=t, '
                                     f'tooltip={_q(model.title)}') + '];',
             f'  node [fontname="Helvetica", fontsize={NAME_PT}, margin="0.14,0.05", penwidth=1.2];',
             f'  edge [fontname="Helvetica", fontsize={EDGE_PT}, color="#55606e", fontcolor="#394150", '
             f'arrowsize=0.7];']
    by_cluster: dict[str, list[VNode]] = {}
    for node in model.nodes:
        by_cluster.setdefault(node.cluster[-1] if node.cluster else "", []).append(node)
    children: dict[str | None, list] = {}
    for c in model.clusters:
        children.setdefault(c.parent, []).append(c)

    def node_line(node: VNode, indent: str) -> str:
        stats = overlay.node_stats(node) if overlay is not None else None
        text = "\n".join(node_lines(node, stats))
        attrs = [KIND_STYLE.get(node.kind, KIND_STYLE["calculator"]), f"label={_q(text)}", f"id={_q(node.id)}"]
        if stats and node.kind in ("calculator", "subgraph"):
            attrs.append(f'fillcolor="{heat_color(stats.get("percent", 0.0) / 100.0)}"')
        if node.issues:
            attrs.append('color="#c92a2a", penwidth=2.4')
            attrs.append(f"tooltip={_q(chr(10).join(node.issues))}")
        elif not for_layout:
            attrs.append(f"tooltip={_q(node.name + (' (' + node.calculator + ')' if node.calculator else ''))}")
        return f"{indent}{node.id} [{', '.join(attrs)}];"

    def emit(cluster_path: str, indent: str) -> None:
        for node in by_cluster.get(cluster_path, []):
            lines.append(node_line(node, indent))
        for c in children.get(cluster_path or None, []):
            label = cluster_label(c)
            lines.append(f"{indent}subgraph cluster_{c.id} {{")
            lines.append(f'{indent}  label={_q(label)}; id={_q(c.id)}; style="rounded,dashed"; color="#8a7bb5"; '
                         f'fontcolor="#5a4a8a"; fontsize={DETAIL_PT + 1}; labeljust=l; '
                         f'tooltip={_q(cluster_label(c, full=True))};')
            emit(c.path, indent + "  ")
            lines.append(f"{indent}}}")

    emit("", "  ")
    by_id = {n.id: n for n in model.nodes}
    for edge in model.edges:
        drops = overlay.edge_drops(edge, by_id) if overlay is not None else 0
        attrs = [f"label={_q(edge_label(edge, by_id, drops))}", f"id={_q(edge.id)}"]
        if edge.side:
            attrs.append('style=dashed, color="#7048e8", fontcolor="#5f3dc4", arrowhead=empty')
        if edge.back_edge:
            attrs.append('style=dashed, color="#d9480f", fontcolor="#d9480f", constraint=false, penwidth=1.4')
        if drops:
            attrs.append('fontcolor="#c92a2a"')
        if edge.issues:
            attrs.append('color="#c92a2a", penwidth=2')
        if not for_layout:
            attrs.append(f"tooltip={_q(edge.stream + ': ' + edge.src_port + ' -> ' + edge.dst_port)}")
        lines.append(f"  {edge.src} -> {edge.dst} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- dot engine


def dot_executable() -> str | None:
    return shutil.which("dot")


def run_dot(dot_text: str, fmt: str, timeout: float = 60.0, args: tuple[str, ...] = ()) -> bytes:
    exe = dot_executable()
    if exe is None:
        raise RuntimeError("Graphviz 'dot' is not installed (Debian/Ubuntu: apt-get install graphviz)")
    proc = subprocess.run([exe, f"-T{fmt}", *args], input=dot_text.encode("utf-8"), capture_output=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout


def _points(text: str) -> list[tuple[float, float]]:
    out = []
    for part in text.split():
        x, _, y = part.partition(",")
        out.append((float(x), float(y)))
    return out


def _arrow(tail: tuple[float, float], tip: tuple[float, float], size: float = 7.0) -> list[tuple[float, float]]:
    dx, dy = tip[0] - tail[0], tip[1] - tail[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    bx, by = tip[0] - ux * size, tip[1] - uy * size
    half = size * 0.45
    return [tip, (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)]


def dot_layout(model: GraphModel, overlay: Any = None) -> Layout:
    data = json.loads(run_dot(to_dot(model, overlay, for_layout=True), "json0"))  # positions, no drawing ops
    llx, lly, urx, ury = (float(v) for v in data["bb"].split(","))
    height = ury - lly

    pad = 8.0

    def flip(p: tuple[float, float]) -> tuple[float, float]:
        return p[0] - llx + pad, ury - p[1] + pad

    layout = Layout(urx - llx + 2 * pad, height + 2 * pad, engine="dot")
    objects = data.get("objects", [])
    for obj in objects:
        name = obj.get("name", "")
        if name.startswith("cluster_"):
            x0, y0, x1, y1 = (float(v) for v in obj["bb"].split(","))
            (ax, ay), (bx, by) = flip((x0, y1)), flip((x1, y0))
            layout.clusters[name[len("cluster_"):]] = Box(ax, ay, bx - ax, by - ay)
        elif "pos" in obj:
            cx, cy = flip(tuple(float(v) for v in obj["pos"].split(",")))
            w, h = float(obj["width"]) * DPI, float(obj["height"]) * DPI
            layout.nodes[name] = Box(cx - w / 2, cy - h / 2, w, h)
    for e in data.get("edges", []):
        pos = e.get("pos")
        if not pos:
            continue
        start = end = None
        parts = []
        for part in pos.split(";")[0].split():
            if part.startswith("e,"):
                end = flip(_points(part[2:])[0])
            elif part.startswith("s,"):
                start = flip(_points(part[2:])[0])
            else:
                parts.append(flip(_points(part)[0]))
        if not parts:
            continue
        d = [f"M{parts[0][0]:.1f},{parts[0][1]:.1f}"]
        for k in range(1, len(parts) - 2, 3):
            (x1, y1), (x2, y2), (x3, y3) = parts[k:k + 3]
            d.append(f"C{x1:.1f},{y1:.1f} {x2:.1f},{y2:.1f} {x3:.1f},{y3:.1f}")
        if end is not None:
            arrow = _arrow(parts[-1], end)
        elif start is not None:
            arrow = _arrow(parts[0], start)
        else:
            arrow = _arrow(parts[-2] if len(parts) > 1 else parts[0], parts[-1])
        label = flip(tuple(float(v) for v in e["lp"].split(","))) if e.get("lp") else None
        layout.edges[e.get("id", "")] = EdgeGeom(" ".join(d), arrow, label)
    return layout


# --------------------------------------------------------------------------------------------- builtin engine


def builtin_layout(model: GraphModel, overlay: Any = None) -> Layout:
    """A layered layout in pure Python (no Graphviz)."""
    import networkx as nx

    nodes = {n.id: n for n in model.nodes}
    sizes = {}
    for n in model.nodes:
        stats = overlay.node_stats(n) if overlay is not None else None
        sizes[n.id] = estimate_size(node_lines(n, stats))
    forward = [(e.src, e.dst) for e in model.edges if not e.back_edge and e.src != e.dst]
    dag = nx.DiGraph()
    dag.add_nodes_from(nodes)
    for u, v in forward:  # keep it acyclic: an edge that would close a cycle is drawn as a back edge
        if u in dag and v in dag and not nx.has_path(dag, v, u):
            dag.add_edge(u, v)
    layer: dict[str, int] = {}
    for v in nx.topological_sort(dag):
        layer[v] = max((layer[u] + 1 for u in dag.predecessors(v)), default=0)
    for v in nx.topological_sort(nx.reverse_view(dag)):  # pull sources (inputs, side packets) down to their use
        if dag.in_degree(v) == 0 and dag.out_degree(v) > 0:
            layer[v] = max(layer[v], min(layer[w] for w in dag.successors(v)) - 1)
    depth = max(layer.values(), default=0) + 1

    # chains of virtual points for edges spanning several layers
    cluster_of: dict[str, tuple[str, ...]] = {k: n.cluster for k, n in nodes.items()}
    layers: list[list[str]] = [[] for _ in range(depth)]
    for v in nodes:
        layers[layer[v]].append(v)
    chains: dict[str, list[str]] = {}
    up: dict[str, list[str]] = {v: [] for v in nodes}
    down: dict[str, list[str]] = {v: [] for v in nodes}
    for e in model.edges:
        if (e.src, e.dst) not in dag.edges:
            continue
        a, b = e.src, e.dst
        chain = [a]
        common = tuple(p for p, q in zip(cluster_of[a], cluster_of[b]) if p == q)
        for k in range(layer[a] + 1, layer[b]):
            vid = f"~{e.id}~{k}"
            cluster_of[vid] = common
            sizes[vid] = (8.0, 8.0)
            layers[k].append(vid)
            up[vid], down[vid] = [], []
            chain.append(vid)
        chain.append(b)
        for p, q in zip(chain, chain[1:]):
            down[p].append(q)
            up[q].append(p)
        chains[e.id] = chain

    # ordering: barycentre sweeps; members of one subgraph stay together
    pos = {v: float(i) for lay in layers for i, v in enumerate(lay)}

    def arrange(items: list[str], bary: dict[str, float], level: int = 0) -> list[str]:
        groups: dict[Any, list[str]] = {}
        for v in items:
            key = cluster_of[v][level] if len(cluster_of[v]) > level else ("", v)
            groups.setdefault(key, []).append(v)
        ordered = sorted(groups.items(), key=lambda kv: sum(bary[v] for v in kv[1]) / len(kv[1]))
        out = []
        for key, members in ordered:
            if isinstance(key, tuple) or len(members) == 1:
                out += sorted(members, key=lambda v: bary[v])
            else:
                out += arrange(members, bary, level + 1)
        return out

    for sweep in range(8):
        rng = range(1, depth) if sweep % 2 == 0 else range(depth - 2, -1, -1)
        for k in rng:
            neighbours = up if sweep % 2 == 0 else down
            bary = {}
            for v in layers[k]:
                ns = neighbours[v]
                bary[v] = sum(pos[u] for u in ns) / len(ns) if ns else pos[v]
            layers[k] = arrange(layers[k], bary)
            for i, v in enumerate(layers[k]):
                pos[v] = float(i)

    # coordinates: pack left to right, then pull towards neighbours while keeping order and spacing
    gap, cluster_gap = 24.0, 30.0
    x: dict[str, float] = {}

    def min_gap(a: str, b: str) -> float:
        extra = cluster_gap if cluster_of[a] != cluster_of[b] else gap
        return (sizes[a][0] + sizes[b][0]) / 2 + extra

    for lay in layers:
        cursor = 0.0
        for i, v in enumerate(lay):
            cursor = cursor + (min_gap(lay[i - 1], v) if i else sizes[v][0] / 2)
            x[v] = cursor
    for it in range(12):
        order = range(depth) if it % 2 == 0 else range(depth - 1, -1, -1)
        for k in order:
            lay = layers[k]
            want = []
            for v in lay:
                ns = up[v] + down[v]
                want.append(sum(x[u] for u in ns) / len(ns) if ns else x[v])
            placed = list(want)
            for i in range(1, len(lay)):  # push right to keep spacing
                placed[i] = max(placed[i], placed[i - 1] + min_gap(lay[i - 1], lay[i]))
            for i in range(len(lay) - 2, -1, -1):  # and back left where there is room
                placed[i] = min(placed[i], placed[i + 1] - min_gap(lay[i], lay[i + 1]))
            for v, p in zip(lay, placed):
                x[v] = p
    shift = min((x[v] - sizes[v][0] / 2 for v in x), default=0.0) - 40.0
    for v in x:
        x[v] -= shift

    heights = [max((sizes[v][1] for v in lay), default=0.0) for lay in layers]
    ys, cursor = [], 40.0
    for h in heights:
        ys.append(cursor + h / 2)
        cursor += h + 52.0

    layout = Layout(0.0, 0.0, engine="builtin")
    for v, n in nodes.items():
        w, h = sizes[v]
        layout.nodes[v] = Box(x[v] - w / 2, ys[layer[v]] - h / 2, w, h)

    def smooth(points: list[tuple[float, float]]) -> str:
        d = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
        for i in range(len(points) - 1):  # Catmull-Rom through the points, as cubic pieces
            p0 = points[i - 1] if i else points[i]
            p1, p2 = points[i], points[i + 1]
            p3 = points[i + 2] if i + 2 < len(points) else p2
            c1 = (p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6)
            c2 = (p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6)
            d.append(f"C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {p2[0]:.1f},{p2[1]:.1f}")
        return " ".join(d)

    back_right = 0.0
    for e in model.edges:
        a, b = layout.nodes[e.src], layout.nodes[e.dst]
        chain = chains.get(e.id)
        if chain is not None:
            pts = [(a.cx, a.y + a.h)] + [(x[v], ys[int(v.rsplit("~", 1)[1])]) for v in chain[1:-1]] + \
                  [(b.cx, b.y - 1.0)]
            if len(pts) > 2:
                label = pts[len(pts) // 2]
            else:
                label = ((pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2)
            tail = pts[-2]
            layout.edges[e.id] = EdgeGeom(smooth(pts), _arrow(tail, pts[-1]), label)
        else:  # back edge (or self loop): swing out to the right of both nodes
            sx, sy = a.x + a.w, a.cy
            tx, ty = b.x + b.w, b.cy
            bulge = 40.0 + abs(sy - ty) * 0.15
            ctrl = max(sx, tx) + bulge
            back_right = max(back_right, ctrl)
            d = f"M{sx:.1f},{sy:.1f} C{ctrl:.1f},{sy:.1f} {ctrl:.1f},{ty:.1f} {tx + 1:.1f},{ty:.1f}"
            layout.edges[e.id] = EdgeGeom(d, _arrow((tx + 12, ty), (tx + 1, ty)), (ctrl - bulge * 0.25, (sy + ty) / 2))

    # clusters: boxes around their members, inner first
    by_depth = sorted(model.clusters, key=lambda c: -c.path.count("/"))
    for c in by_depth:
        members = [layout.nodes[v] for v, n in nodes.items() if c.path in n.cluster]
        members += [layout.clusters[o.id] for o in model.clusters if o.parent == c.path and o.id in layout.clusters]
        if not members:
            continue
        x0 = min(m.x for m in members) - 12
        y0 = min(m.y for m in members) - 22
        x1 = max(m.x + m.w for m in members) + 12
        y1 = max(m.y + m.h for m in members) + 10
        layout.clusters[c.id] = Box(x0, y0, x1 - x0, y1 - y0)
    boxes = list(layout.nodes.values()) + list(layout.clusters.values())
    right = max((bx.x + bx.w for bx in boxes), default=0.0)
    layout.width = max(right, back_right) + 40.0
    layout.height = max((bx.y + bx.h for bx in boxes), default=0.0) + 40.0
    return layout


def layout_graph(model: GraphModel, overlay: Any = None, engine: str = "auto") -> Layout:
    """Lay the model out with `engine` ("dot", "builtin" or "auto": dot when installed)."""
    if engine not in ("auto", "dot", "builtin"):
        raise ValueError(f"unknown layout engine {engine!r} (auto, dot, builtin)")
    if engine == "dot" or (engine == "auto" and dot_executable() is not None):
        return dot_layout(model, overlay)
    return builtin_layout(model, overlay)


__all__ = ["Layout", "Box", "EdgeGeom", "layout_graph", "dot_layout", "builtin_layout", "to_dot", "run_dot",
           "dot_executable", "node_lines", "edge_label", "heat_color", "short_name"]
