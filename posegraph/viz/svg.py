"""Drawing a laid-out graph as SVG: one ``<g>`` per node, edge and cluster, with ids, classes and ``data-``
attributes that the HTML page's script (search, highlight, details) and the tests rely on, and ``<title>``
tooltips (options, issues, timings) for viewers that show them on hover."""

from __future__ import annotations

from html import escape
from typing import Any

from .layout import FONT, Layout, cluster_label, edge_label, heat_color, node_lines, stats_lines
from .model import GraphModel, VNode

SVG_CSS = """
svg.pg-graph text { font-family: %(font)s; }
svg.pg-graph g.node .shape { stroke-width: 1.2; }
svg.pg-graph g.k-calculator .shape { fill: #eef3fb; stroke: #4c6ea8; }
svg.pg-graph g.k-subgraph .shape { fill: #f3effb; stroke: #6b4fa8; stroke-width: 2; }
svg.pg-graph g.k-subgraph .shape2 { fill: none; stroke: #6b4fa8; stroke-width: 1; }
svg.pg-graph g.k-input .shape { fill: #e6f4ea; stroke: #2f8a4c; }
svg.pg-graph g.k-output .shape { fill: #e7f1fb; stroke: #2b6cb0; }
svg.pg-graph g.k-side_in .shape, svg.pg-graph g.k-side_out .shape { fill: #f4eefc; stroke: #7048e8; }
svg.pg-graph g.k-missing .shape { fill: #fff0f0; stroke: #c92a2a; stroke-dasharray: 4 3; }
svg.pg-graph g.node.issue .shape { stroke: #c92a2a; stroke-width: 2.6; }
svg.pg-graph g.node text.name { font-size: 11px; font-weight: bold; fill: #1d2330; }
svg.pg-graph g.node text.detail { font-size: 9px; fill: #4a5263; }
svg.pg-graph g.node text.stats { font-size: 9px; fill: #6e2a0c; }
svg.pg-graph g.node.issue text.name { fill: #a61e1e; }
svg.pg-graph g.edge path.line { fill: none; stroke: #55606e; stroke-width: 1.2; }
svg.pg-graph g.edge path.hit { fill: none; stroke: transparent; stroke-width: 10; }
svg.pg-graph g.edge polygon { fill: #55606e; stroke: none; }
svg.pg-graph g.edge.side path.line { stroke: #7048e8; stroke-dasharray: 5 3; }
svg.pg-graph g.edge.side polygon { fill: #fff; stroke: #7048e8; stroke-width: 1; }
svg.pg-graph g.edge.back path.line { stroke: #d9480f; stroke-dasharray: 7 3; stroke-width: 1.5; }
svg.pg-graph g.edge.back polygon { fill: #d9480f; }
svg.pg-graph g.edge.issue path.line { stroke: #c92a2a; stroke-width: 2.2; }
svg.pg-graph g.edge text { font-size: 8.5px; fill: #394150; paint-order: stroke; stroke: #fff; stroke-width: 3px;
  stroke-linejoin: round; }
svg.pg-graph g.edge.side text { fill: #5f3dc4; }
svg.pg-graph g.edge.back text { fill: #c2410c; }
svg.pg-graph g.edge.drops text { fill: #c92a2a; font-weight: bold; }
svg.pg-graph g.cluster rect { fill: #faf8ff; stroke: #8a7bb5; stroke-dasharray: 5 3; }
svg.pg-graph g.cluster text { font-size: 10px; fill: #5a4a8a; font-weight: bold; }
svg.pg-graph text.title { font-size: 12px; fill: #394150; }
""" % {"font": FONT}


def _f(v: float) -> str:
    return f"{v:.1f}"


def _attr(text: Any) -> str:
    return escape(str(text), quote=True)


def node_tooltip(node: VNode, stats: dict | None = None) -> str:
    lines = [node.name]
    if node.kind == "calculator":
        lines.append(f"calculator: {node.calculator}")
    elif node.kind == "subgraph":
        lines.append(f"subgraph {node.calculator}: {len(node.members)} nodes")
    else:
        lines.append({"input": "graph input stream", "output": "graph output stream",
                      "side_in": "input side packet", "side_out": "output side packet",
                      "missing": "nobody produces this"}.get(node.kind, node.kind))
    if node.where:
        lines.append(node.where)
    if node.cluster:
        lines.append("in subgraph " + " \u203a ".join(node.cluster))
    for key, value in node.settings.items():
        lines.append(f"{key}: {value}")
    if node.options_text:
        lines.append("options:")
        lines += ["  " + line for line in node.options_text.splitlines()]
    elif node.options:
        lines.append("options (defaults):")
        lines += [f"  {k}: {v}" for k, v in node.options.items()]
    if stats and not stats.get("_live"):
        lines.append(f"process: mean {stats.get('mean_ms', 0):.3f} ms, p90 {stats.get('p90_ms', 0):.3f} ms, "
                     f"{stats.get('calls', 0)} calls, {stats.get('percent', 0):.1f}% of time"
                     + (f", {stats['dropped']} dropped" if stats.get("dropped") else ""))
    if node.issues:
        lines.append("PROBLEMS:")
        lines += ["  " + i for i in node.issues]
    return "\n".join(lines)


def _shape(node: VNode, x: float, y: float, w: float, h: float, fill: str | None) -> str:
    style = f' style="fill:{fill}"' if fill else ""
    if node.kind in ("side_in", "side_out"):
        k = min(10.0, w * 0.12)
        pts = [(x + k, y), (x + w, y), (x + w - k, y + h), (x, y + h)]
        return f'<polygon class="shape"{style} points="{" ".join(f"{_f(a)},{_f(b)}" for a, b in pts)}"/>'
    rx = h / 2 if node.kind in ("input", "output") else 6
    out = f'<rect class="shape"{style} x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" rx="{_f(rx)}"/>'
    if node.kind == "subgraph":
        out += (f'<rect class="shape2" x="{_f(x + 3)}" y="{_f(y + 3)}" width="{_f(w - 6)}" height="{_f(h - 6)}" '
                f'rx="4"/>')
    return out


def render_svg(model: GraphModel, layout: Layout, overlay: Any = None, *, prefix: str = "",
               standalone: bool = True, view: str = "expanded") -> str:
    """The SVG document (or, with ``standalone=False``, an inline ``<svg>`` element) of one laid-out view."""
    w, h = layout.width, layout.height
    out = []
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    out.append(f'<svg{ns} class="pg-graph" data-view="{view}" viewBox="0 0 {_f(w)} {_f(h)}" width="{_f(w)}" '
               f'height="{_f(h)}" data-width="{_f(w)}" data-height="{_f(h)}" data-engine="{layout.engine}">')
    if standalone:
        out.append(f"<title>{escape(model.title)}</title>")
        out.append(f"<style>{SVG_CSS}</style>")
        out.append(f'<rect x="0" y="0" width="{_f(w)}" height="{_f(h)}" fill="#fff"/>')
    out.append('<g class="viewport">')

    out.append('<g class="clusters">')
    for c in sorted(model.clusters, key=lambda c: c.path.count("/")):
        box = layout.clusters.get(c.id)
        if box is None:
            continue
        tip = f"subgraph {cluster_label(c, full=True)}\n{c.subgraph_file}"
        if c.file:
            tip += f"\nused at {c.file}:{c.line}"
        out.append(f'<g class="cluster" id="{prefix}{c.id}" data-id="{c.id}" data-path="{_attr(c.path)}" '
                   f'data-type="{_attr(c.type)}"><title>{escape(tip)}</title>'
                   f'<rect x="{_f(box.x)}" y="{_f(box.y)}" width="{_f(box.w)}" height="{_f(box.h)}" rx="8"/>'
                   f'<text x="{_f(box.x + 8)}" y="{_f(box.y + 13)}">{escape(cluster_label(c))}</text></g>')
    out.append("</g>")

    by_id = {n.id: n for n in model.nodes}
    out.append('<g class="edges">')
    for e in model.edges:
        geom = layout.edges.get(e.id)
        if geom is None:
            continue
        drops = overlay.edge_drops(e, by_id) if overlay is not None else 0
        classes = ["edge", "side" if e.side else "stream"]
        if e.back_edge:
            classes.append("back")
        if e.issues:
            classes.append("issue")
        if drops:
            classes.append("drops")
        src, dst = by_id.get(e.src), by_id.get(e.dst)
        tip = (f"{'side packet' if e.side else 'stream'} {e.stream}\n"
               f"{src.name if src else e.src}{(' ' + e.src_port) if e.src_port else ''} \u2192 "
               f"{dst.name if dst else e.dst}{(' ' + e.dst_port) if e.dst_port else ''}"
               + ("\nback edge" if e.back_edge else "") + (f"\n{drops} packets dropped here" if drops else "")
               + "".join(f"\nPROBLEM: {i}" for i in e.issues))
        arrow = " ".join(f"{_f(a)},{_f(b)}" for a, b in geom.arrow)
        label = ""
        text = edge_label(e, by_id, drops)
        if geom.label is not None and text:
            lx, ly = geom.label
            label = (f'<text x="{_f(lx)}" y="{_f(ly + 3)}" text-anchor="middle">'
                     f"{escape(text)}</text>")
        out.append(f'<g class="{" ".join(classes)}" id="{prefix}{e.id}" data-id="{e.id}" '
                   f'data-stream="{_attr(e.stream)}" data-src="{e.src}" data-dst="{e.dst}">'
                   f"<title>{escape(tip)}</title><path class=\"hit\" d=\"{geom.d}\"/>"
                   f'<path class="line" d="{geom.d}"/><polygon points="{arrow}"/>{label}</g>')
    out.append("</g>")

    out.append('<g class="nodes">')
    for n in model.nodes:
        box = layout.nodes.get(n.id)
        if box is None:
            continue
        stats = overlay.node_stats(n) if overlay is not None else None
        fill = heat_color(stats.get("percent", 0.0) / 100.0) if stats and n.kind in ("calculator", "subgraph") \
            else None
        classes = ["node", f"k-{n.kind}"]
        if n.issues:
            classes.append("issue")
        if stats:
            classes.append("profiled")
        lines = node_lines(n, stats)
        sizes = [11.0] + [9.0] * (len(lines) - 1)
        total = sum(s * 1.25 for s in sizes)
        y = box.cy - total / 2
        texts = []
        for k, (line, size) in enumerate(zip(lines, sizes)):
            y += size * 1.25
            cls = "name" if k == 0 else ("detail" if k == 1 and len(lines) - len(stats_lines(stats)) > 1
                                         else "stats")
            texts.append(f'<text class="{cls}" x="{_f(box.cx)}" y="{_f(y - size * 0.28)}" '
                         f'text-anchor="middle">{escape(line)}</text>')
        extra = f' data-calculator="{_attr(n.calculator)}"' if n.calculator else ""
        if n.cluster:
            extra += f' data-cluster="{_attr(n.cluster[-1])}"'
        out.append(f'<g class="{" ".join(classes)}" id="{prefix}{n.id}" data-id="{n.id}" data-kind="{n.kind}" '
                   f'data-name="{_attr(n.name)}"{extra}><title>{escape(node_tooltip(n, stats))}</title>'
                   f"{_shape(n, box.x, box.y, box.w, box.h, fill)}{''.join(texts)}</g>")
    out.append("</g></g></svg>")
    return "\n".join(out)


__all__ = ["render_svg", "SVG_CSS", "node_tooltip"]
