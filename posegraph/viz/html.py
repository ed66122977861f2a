"""The self-contained HTML viewer: the drawing (expanded and collapsed subgraph views), pan/zoom, search, stream
highlight, a details panel with options and problems, and (for the dashboard) live timings.

Everything is inlined; a Content-Security-Policy forbids the page from loading anything from anywhere (the
dashboard page may only fetch its own ``stats.json``).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from html import escape
from typing import Any

from .assets import LIVE_JS, PAGE_CSS, VIEWER_JS
from .layout import Layout, layout_graph
from .model import GraphModel
from .svg import SVG_CSS, render_svg


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")


def layout_views(model: GraphModel, overlay: Any = None, engine: str = "auto"
                 ) -> dict[str, tuple[GraphModel, Layout]]:
    """Expanded view, plus the collapsed view when the graph has subgraphs; laid out in parallel."""
    views = {"expanded": model}
    if model.clusters:
        views["collapsed"] = model.collapsed()
    if len(views) == 1 or not model.nodes:
        return {name: (m, layout_graph(m, overlay, engine)) for name, m in views.items()}
    with ThreadPoolExecutor(max_workers=len(views)) as pool:  # dot runs as a subprocess: real parallelism
        futures = {name: pool.submit(layout_graph, m, overlay, engine) for name, m in views.items()}
        return {name: (views[name], f.result()) for name, f in futures.items()}


def _issues_html(model: GraphModel) -> str:
    if not model.issues:
        return ""
    items = []
    for n in model.nodes:
        if n.kind == "missing":
            continue  # the consumer's issue says it
        for issue in n.issues:
            items.append(f'<li data-node="{n.id}"><b>{escape(n.name)}</b>: {escape(issue)}</li>')
    for issue in model.graph_issues:
        items.append(f"<li>{escape(issue)}</li>")
    count = len(model.issues)
    head = f"{count} problem{'s' if count != 1 else ''} found while validating (marked in red)"
    return f'<div id="pg-issues"><b>\u26a0 {head}</b><ul>{"".join(items)}</ul></div>'


def render_html(model: GraphModel, overlay: Any = None, *, engine: str = "auto", live: dict | None = None,
                views: dict[str, tuple[GraphModel, Layout]] | None = None) -> str:
    """The page. `live` = ``{"url": "stats.json", "interval_ms": 500}`` makes it a dashboard."""
    views = views if views is not None else layout_views(model, overlay, engine)
    svgs, data_views = [], {"expanded": None, "collapsed": None}
    for name, (m, lay) in views.items():
        prefix = name[0] + "-"
        hidden = "" if name == "expanded" else " hidden"
        svgs.append(f'<div class="view" data-view="{name}"{hidden}>'
                    f"{render_svg(m, lay, overlay, prefix=prefix, standalone=False, view=name)}</div>")
        data_views[name] = m.to_dict()
    data = {"title": model.title, "views": data_views,
            "overlay": overlay.to_dict() if overlay is not None and hasattr(overlay, "to_dict") else None,
            "live": live}
    if live:
        data["overlay"] = None
    connect = "'self'" if live else "'none'"
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
           f"connect-src {connect}; base-uri 'none'; form-action 'none'")
    collapsed_btn = ('<button data-view="collapsed">Collapsed</button>' if data_views["collapsed"] else
                     '<button data-view="collapsed" disabled title="no subgraphs">Collapsed</button>')
    calcs = sum(1 for n in model.nodes if n.kind == "calculator")
    subtitle = f"{calcs} nodes" + (f", {len(model.clusters)} subgraphs" if model.clusters else "")
    if overlay is not None and not live and hasattr(overlay, "trace"):
        subtitle += f" &middot; profile: {overlay.trace.frames} frames, {overlay.trace.fps:.1f} frames/s"
    legend = ('<span><span class="sw"></span>stream</span><span><span class="sw side"></span>side packet</span>'
              '<span><span class="sw back"></span>back edge</span><span><span class="box"></span>calculator</span>'
              '<span><span class="box err"></span>problem</span>')
    if overlay is not None or live:
        legend += '<span><span class="box heat"></span>share of process time (low to high)</span>'
    engine_used = next(iter(views.values()))[1].engine if views else ""
    legend += f'<span style="margin-left:auto">layout: {escape(engine_used)}</span>'
    scripts = f"<script>{VIEWER_JS}</script>" + (f"<script>{LIVE_JS}</script>" if live else "")
    kind = "dashboard" if live else "graph"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>posegraph {kind}: {escape(model.title)}</title>
<style>{PAGE_CSS}{SVG_CSS}</style></head>
<body data-page="{kind}">
<header><div class="title">posegraph &middot; <b>{escape(model.title)}</b><small>{subtitle}</small></div>
<div class="tools"><span id="pg-live"></span>
<span id="pg-views"><button data-view="expanded" class="on">Expanded</button>{collapsed_btn}</span>
<input id="pg-search" type="search" placeholder="Search nodes and streams ( / )" autocomplete="off" spellcheck="false">
<button id="pg-zoom-in" title="zoom in (+)">+</button><button id="pg-zoom-out" title="zoom out (-)">&minus;</button>
<button id="pg-fit" title="fit (0)">Fit</button></div>
<ul id="pg-results" hidden></ul></header>
{_issues_html(model)}
<main><div id="pg-canvas">{''.join(svgs)}</div><aside id="pg-panel"><div id="pg-details"></div></aside></main>
<footer>{legend}</footer>
<pre id="pg-js-errors" hidden></pre>
<script type="application/json" id="pg-data">{_script_json(data)}</script>
{scripts}
</body></html>
"""


__all__ = ["render_html", "layout_views"]
