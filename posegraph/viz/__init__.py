"""Seeing graphs and where the time goes: the visualizer, the profile report and the live dashboard.

    from posegraph.viz import draw
    draw("graphs/pose_tracking_cpu.pbtxt", "pose.html")                        # pan/zoom/search page
    draw("graphs/pose_tracking_cpu.pbtxt", "pose.svg", profile="trace.json")   # timings on the nodes

Command line: ``posegraph viz GRAPH -o out.html|.svg|.dot|.png [--profile trace.json] [--collapsed]``,
``posegraph profile trace.json [--html timeline.html]``, ``posegraph run GRAPH ... --dashboard [PORT]``.

This package is runtime-level: it draws any graph and knows nothing about pose.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from .model import GraphModel, VCluster, VEdge, VNode, build_model, model_from_spec
from .trace import ProfileOverlay, TraceData, load_trace, table

FORMATS = (".html", ".htm", ".svg", ".dot", ".gv", ".png")


def render(model: GraphModel, fmt: str, *, overlay: ProfileOverlay | None = None, collapsed: bool = False,
           engine: str = "auto") -> bytes:
    """The drawing of `model` as bytes in `fmt` (html, svg, dot or png)."""
    from .html import render_html
    from .layout import layout_graph, run_dot, to_dot
    from .svg import render_svg

    fmt = fmt.lower().lstrip(".")
    view = model.collapsed() if collapsed else model
    if fmt in ("html", "htm"):
        return render_html(model, overlay, engine=engine).encode("utf-8")
    if fmt in ("dot", "gv"):
        return to_dot(view, overlay).encode("utf-8")
    if fmt == "svg":
        return render_svg(view, layout_graph(view, overlay, engine), overlay,
                          view="collapsed" if collapsed else "expanded").encode("utf-8")
    if fmt == "png":
        from .layout import dot_executable
        if dot_executable() is not None and engine != "builtin":
            return run_dot(to_dot(view, overlay), "png", args=("-Gdpi=72",))  # 1 px per point, as the SVG
        from .browser import BrowserUnavailable, find_browser, svg_to_png
        if find_browser() is None:
            raise BrowserUnavailable("PNG needs Graphviz 'dot' (apt-get install graphviz) or Chromium "
                                     "(apt-get install chromium); write .svg or .html instead")
        svg = render_svg(view, layout_graph(view, overlay, engine), overlay)
        return svg_to_png(svg)
    raise ValueError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")


def draw(source: Any, output: str | os.PathLike, *, profile: str | os.PathLike | TraceData | None = None,
         collapsed: bool = False, engine: str = "auto", search_paths: Iterable[str | os.PathLike] = ()
         ) -> GraphModel:
    """Draw the graph `source` (path, text or shipped name) to `output`; the format follows the extension.

    Invalid graphs are drawn as far as they can be, with the problems marked; the model (with ``.issues``) is
    returned so callers can tell.
    """
    output = Path(output)
    if output.suffix.lower() not in FORMATS:
        raise ValueError(f"cannot tell the format of {output}: use one of {', '.join(FORMATS)}")
    model = build_model(source, search_paths=search_paths)
    overlay = None
    if profile is not None:
        overlay = ProfileOverlay(profile if isinstance(profile, TraceData) else load_trace(profile))
    data = render(model, output.suffix, overlay=overlay, collapsed=collapsed, engine=engine)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    return model


__all__ = ["draw", "render", "build_model", "model_from_spec", "GraphModel", "VNode", "VEdge", "VCluster",
           "load_trace", "table", "TraceData", "ProfileOverlay", "FORMATS"]
