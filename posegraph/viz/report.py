"""``posegraph profile trace.json --html timeline.html``: a self-contained timeline page.

One row per worker thread with a slice per ``process``/``close`` call (colour per node), wheel zoom and drag
pan on the time axis, hover for the call, click for the packet flows into and out of a call, and the per-node
table (click a row to pick out that node's calls). It loads nothing from the network.
"""

from __future__ import annotations

from dataclasses import asdict
from html import escape

from .html import _script_json
from .trace import UNSET, TraceData

TIMELINE_CSS = r"""
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.35 Helvetica, Arial, sans-serif; color: #1d2330; }
header { padding: 8px 12px; background: #f5f6f8; border-bottom: 1px solid #d5d9e0; display: flex; gap: 10px;
  align-items: center; flex-wrap: wrap; }
header .sum { color: #4a5263; }
header .tools { margin-left: auto; display: flex; gap: 6px; }
button { font: inherit; padding: 3px 9px; border: 1px solid #b8bfcc; background: #fff; border-radius: 4px;
  cursor: pointer; }
#pg-wrap { position: relative; border-bottom: 1px solid #d5d9e0; }
#pg-timeline { display: block; width: 100%; cursor: crosshair; }
#pg-tip { position: absolute; pointer-events: none; background: rgba(29,35,48,.92); color: #fff; padding: 4px 8px;
  border-radius: 4px; font-size: 12px; white-space: pre; display: none; z-index: 5; }
#pg-details { padding: 6px 12px; min-height: 2.6em; background: #fbfbfc; border-bottom: 1px solid #eceef2; }
table { border-collapse: collapse; margin: 8px 12px 20px; font-size: 12px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eceef2; text-align: right; white-space: nowrap; }
th { background: #f5f6f8; cursor: pointer; position: sticky; top: 0; }
td:first-child, td:nth-child(2), th:first-child, th:nth-child(2) { text-align: left; }
tr.sel td { background: #fff1d6; }
tbody tr { cursor: pointer; }
tbody tr:hover td { background: #eef3fb; }
.bar { display: inline-block; height: 8px; background: #ff8c5a; vertical-align: middle; margin-right: 4px; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; vertical-align: middle; margin-right: 5px; }
#pg-js-errors { color: #c92a2a; margin: 0; padding: 4px 12px; }
"""

TIMELINE_JS = r"""
(function () {
  "use strict";
  var errBox = document.getElementById("pg-js-errors");
  window.addEventListener("error", function (e) { errBox.hidden = false; errBox.textContent += e.message + "\n"; });
  var D = JSON.parse(document.getElementById("pg-data").textContent);
  var canvas = document.getElementById("pg-timeline"), ctx = canvas.getContext("2d");
  var tip = document.getElementById("pg-tip"), details = document.getElementById("pg-details");
  var ROW = 26, AXIS = 24, LEFT = 150;
  var S = D.slices, N = S.tid.length;
  var rows = D.threads.length;
  var t0 = Infinity, t1 = -Infinity;
  for (var i = 0; i < N; i++) { t0 = Math.min(t0, S.start[i]); t1 = Math.max(t1, S.start[i] + S.dur[i]); }
  if (!N) { t0 = 0; t1 = 1; }
  var view = {a: t0, b: t1 + (t1 - t0) * 0.01 + 1e-3};
  var picked = null, pickedNode = null;
  var flowsOut = {}, flowsIn = {};
  D.flows.forEach(function (f) {
    (flowsOut[f[0]] = flowsOut[f[0]] || []).push(f[1]);
    (flowsIn[f[1]] = flowsIn[f[1]] || []).push(f[0]);
  });
  function color(k, alpha) {
    var h = (k * 137.508) % 360;
    return "hsla(" + h + ",62%," + (alpha ? "55%," + alpha : "62%,1") + ")";
  }
  function width() { return canvas.clientWidth; }
  function x(t) { return LEFT + (t - view.a) / (view.b - view.a) * (width() - LEFT - 10); }
  function tAt(px) { return view.a + (px - LEFT) / (width() - LEFT - 10) * (view.b - view.a); }
  function fmt(us) {
    return us >= 1e6 ? (us / 1e6).toFixed(3) + " s" : us >= 1e3 ? (us / 1e3).toFixed(3) + " ms" : us.toFixed(1) + " us";
  }
  function axis(us, step) {
    var unit = step >= 1e5 ? 1e6 : step >= 100 ? 1e3 : 1, name = unit === 1e6 ? " s" : unit === 1e3 ? " ms" : " us";
    var digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step / unit) + 1e-9)));
    return (us / unit).toFixed(digits) + name;
  }
  function resize() {
    var dpr = window.devicePixelRatio || 1, h = AXIS + rows * ROW + 6;
    canvas.style.height = h + "px";
    canvas.width = Math.round(canvas.clientWidth * dpr); canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    draw();
  }
  function center(i) { return [x(S.start[i] + S.dur[i] / 2), AXIS + S.tid[i] * ROW + ROW / 2]; }
  function arrow(i, j) {
    var a = center(i), b = center(j);
    ctx.strokeStyle = "#1d2330"; ctx.fillStyle = "#1d2330"; ctx.lineWidth = 1.2;
    ctx.beginPath(); ctx.moveTo(a[0], a[1]);
    ctx.bezierCurveTo((a[0] + b[0]) / 2, a[1], (a[0] + b[0]) / 2, b[1], b[0], b[1]); ctx.stroke();
    ctx.beginPath(); ctx.arc(b[0], b[1], 2.5, 0, 6.3); ctx.fill();
  }
  function draw() {
    var W = width(), H = AXIS + rows * ROW + 6;
    ctx.clearRect(0, 0, W, H);
    ctx.font = "11px Helvetica, Arial, sans-serif"; ctx.textBaseline = "middle";
    for (var r = 0; r < rows; r++) {
      ctx.fillStyle = r % 2 ? "#f7f8fa" : "#fff"; ctx.fillRect(0, AXIS + r * ROW, W, ROW);
      ctx.fillStyle = "#394150"; ctx.fillText(D.threads[r], 6, AXIS + r * ROW + ROW / 2);
    }
    var span = view.b - view.a, step = Math.pow(10, Math.floor(Math.log10(span / 6)));
    if (span / step > 12) step *= 2; if (span / step > 12) step *= 2.5;
    ctx.fillStyle = "#5b6373"; ctx.strokeStyle = "#e3e6eb"; ctx.lineWidth = 1;
    for (var t = Math.ceil(view.a / step) * step; t < view.b; t += step) {
      var px = x(t); ctx.beginPath(); ctx.moveTo(px, AXIS - 4); ctx.lineTo(px, H); ctx.stroke();
      ctx.fillText(axis(t, step), px + 2, 10);
    }
    var drawn = 0;
    for (var i = 0; i < N; i++) {
      var s = S.start[i], e = s + S.dur[i];
      if (e < view.a || s > view.b) continue;
      var x0 = Math.max(LEFT, x(s)), x1 = Math.min(W, x(e)), w = Math.max(1, x1 - x0);
      var y = AXIS + S.tid[i] * ROW + 3;
      var dim = pickedNode !== null && S.node[i] !== pickedNode;
      ctx.fillStyle = S.kind[i] ? "#adb5bd" : color(S.node[i], dim ? 0.18 : 0);
      ctx.fillRect(x0, y, w, ROW - 6);
      if (w > 40) {
        ctx.fillStyle = dim ? "#adb5bd" : "#111"; ctx.save(); ctx.beginPath(); ctx.rect(x0, y, w, ROW - 6); ctx.clip();
        ctx.fillText(D.nodes[S.node[i]], x0 + 3, y + (ROW - 6) / 2); ctx.restore();
      }
      drawn++;
    }
    if (picked !== null) {
      var p = picked, px0 = x(S.start[p]), y0 = AXIS + S.tid[p] * ROW + 2;
      ctx.strokeStyle = "#e8590c"; ctx.lineWidth = 2;
      ctx.strokeRect(px0, y0, Math.max(2, x(S.start[p] + S.dur[p]) - px0), ROW - 4);
      (flowsIn[p] || []).forEach(function (j) { arrow(j, p); });
      (flowsOut[p] || []).forEach(function (j) { arrow(p, j); });
    }
    canvas.dataset.drawn = String(drawn);
  }
  function hit(ev) {
    var r = canvas.getBoundingClientRect(), px = ev.clientX - r.left, py = ev.clientY - r.top;
    var row = Math.floor((py - AXIS) / ROW);
    if (row < 0 || row >= rows || px < LEFT) return null;
    var t = tAt(px), slack = (view.b - view.a) / (width() - LEFT) * 2, best = null;
    for (var i = 0; i < N; i++) {
      if (S.tid[i] !== row) continue;
      if (S.start[i] - slack <= t && t <= S.start[i] + S.dur[i] + slack) { best = i; if (S.start[i] <= t) break; }
    }
    return best;
  }
  function describe(i) {
    var ts = S.ts[i] === null ? "-" : S.ts[i];
    return D.nodes[i === null ? 0 : S.node[i]] + " (" + D.calculators[S.node[i]] + ")\n" +
      (S.kind[i] ? "close" : "process") + " at packet timestamp " + ts + "\nstart " + fmt(S.start[i]) +
      ", took " + fmt(S.dur[i]) + "\nthread " + D.threads[S.tid[i]];
  }
  function pick(i) {
    picked = i;
    if (i === null) {
      details.textContent = "Click a call to see the packets that flowed into and out of it.";
      draw();
      return;
    }
    var ins = (flowsIn[i] || []).map(function (j) { return D.nodes[S.node[j]]; });
    var outs = (flowsOut[i] || []).map(function (j) { return D.nodes[S.node[j]]; });
    details.textContent = describe(i).replace(/\n/g, " \u00b7 ") + " \u00b7 inputs from: " + (ins.join(", ") || "-") +
      " \u00b7 outputs to: " + (outs.join(", ") || "-");
    details.dataset.flowsIn = ins.length; details.dataset.flowsOut = outs.length;
    draw();
  }
  canvas.addEventListener("mousemove", function (ev) {
    if (drag) return;
    var i = hit(ev);
    if (i === null) { tip.style.display = "none"; return; }
    var r = canvas.getBoundingClientRect();
    tip.textContent = describe(i); tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX - r.left + 12, r.width - 260) + "px";
    tip.style.top = (ev.clientY - r.top + 14) + "px";
  });
  canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = canvas.getBoundingClientRect(), t = tAt(ev.clientX - r.left), f = Math.exp(ev.deltaY * 0.0015);
    var a = t - (t - view.a) * f, b = t + (view.b - t) * f;
    if (b - a < 1) return;
    view.a = a; view.b = b; draw();
  }, {passive: false});
  var drag = null;
  canvas.addEventListener("pointerdown", function (ev) { drag = {x: ev.clientX, a: view.a, b: view.b, moved: false}; });
  window.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    var dt = dx / (width() - LEFT - 10) * (drag.b - drag.a);
    view.a = drag.a - dt; view.b = drag.b - dt; draw();
  });
  window.addEventListener("pointerup", function (ev) {
    if (!drag) return;
    var moved = drag.moved; drag = null;
    if (!moved && ev.target === canvas) pick(hit(ev));
  });
  document.getElementById("pg-fit").addEventListener("click", function () {
    view = {a: t0, b: t1 + (t1 - t0) * 0.01 + 1e-3}; draw();
  });
  var tbody = document.querySelector("#pg-table tbody");
  tbody.addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr"); if (!tr) return;
    var k = D.nodes.indexOf(tr.dataset.node);
    pickedNode = pickedNode === k ? null : k;
    tbody.querySelectorAll("tr").forEach(function (x) { x.classList.toggle("sel", pickedNode !== null && x === tr); });
    draw();
  });
  document.querySelectorAll("#pg-table th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var trs = Array.prototype.slice.call(tbody.querySelectorAll("tr"));
      var num = col >= 2, dir = th.dataset.dir === "asc" ? -1 : 1;
      th.dataset.dir = dir > 0 ? "asc" : "desc";
      trs.sort(function (p, q) {
        var a = p.children[col].dataset.v || p.children[col].textContent;
        var b = q.children[col].dataset.v || q.children[col].textContent;
        return num ? dir * (parseFloat(a) - parseFloat(b)) : dir * a.localeCompare(b);
      });
      trs.forEach(function (tr) { tbody.appendChild(tr); });
    });
  });
  window.posegraphTimeline = {pick: pick, view: function () { return view; }, slices: N,
    find: function (node, ts) {
      for (var i = 0; i < N; i++) if (D.nodes[S.node[i]] === node && S.ts[i] === ts && !S.kind[i]) return i;
      return null;
    }};
  window.addEventListener("resize", resize);
  resize(); pick(null);
  document.body.dataset.ready = "1";
})();
"""


def render_timeline_html(trace: TraceData, title: str | None = None) -> str:
    """The timeline page of a trace (threads x time, per-node table, packet flows)."""
    tids = sorted(trace.threads) or sorted({s[0] for s in trace.slices})
    row_of = {tid: k for k, tid in enumerate(tids)}
    for s in trace.slices:
        if s[0] not in row_of:
            row_of[s[0]] = len(row_of)
            tids.append(s[0])
    origin = min((s[2] for s in trace.slices), default=0.0)
    slices = {"tid": [row_of[s[0]] for s in trace.slices], "node": [s[1] for s in trace.slices],
              "start": [round(s[2] - origin, 3) for s in trace.slices],
              "dur": [round(s[3], 3) for s in trace.slices],
              "ts": [None if s[4] == UNSET else s[4] for s in trace.slices],
              "kind": [1 if k == "close" else 0 for k in trace.kinds]}
    calculators = {r.node: r.calculator for r in trace.rows}
    data = {"threads": [trace.threads.get(t, f"thread {t}") for t in tids], "nodes": trace.node_names,
            "calculators": [calculators.get(n, "") for n in trace.node_names], "slices": slices,
            "flows": [list(f) for f in trace.flows], "rows": [asdict(r) for r in trace.rows]}
    cols = ("node", "calculator", "calls", "fps", "dropped", "mean ms", "sd", "p50", "p90", "max", "total ms", "%",
            "in-lat ms", "lat p90", "wait ms")
    body = []
    for r in trace.rows:
        k = trace.node_names.index(r.node) if r.node in trace.node_names else 0
        hue = (k * 137.508) % 360
        values = (r.calls, f"{r.fps:.1f}", r.dropped, f"{r.mean_ms:.3f}", f"{r.stddev_ms:.3f}", f"{r.p50_ms:.3f}",
                  f"{r.p90_ms:.3f}", f"{r.max_ms:.3f}", f"{r.total_ms:.1f}", None, f"{r.latency_mean_ms:.2f}",
                  f"{r.latency_p90_ms:.2f}", f"{r.wait_mean_ms:.3f}" if r.wait_mean_ms >= 0 else "-")
        cells = [f'<td><span class="sw" style="background:hsl({hue:.0f},62%,62%)"></span>{escape(r.node)}</td>',
                 f"<td>{escape(r.calculator)}</td>"]
        for v in values:
            if v is None:
                cells.append(f'<td data-v="{r.percent:.3f}"><span class="bar" style="width:{r.percent * 0.6:.1f}px">'
                             f"</span>{r.percent:.1f}</td>")
            else:
                cells.append(f"<td>{escape(str(v))}</td>")
        body.append(f'<tr data-node="{escape(r.node, quote=True)}">{"".join(cells)}</tr>')
    drops = sum(trace.dropped_inputs.values())
    summary = (f"{trace.frames} frames in {trace.wall_s:.2f} s = {trace.fps:.1f} frames/s &middot; "
               f"{len(trace.slices)} calls on {len(tids)} threads &middot; {len(trace.flows)} packet flows"
               + (f" &middot; {drops} packets refused at graph inputs" if drops else ""))
    name = escape(title or trace.path)
    csp = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'none'; "
           "base-uri 'none'; form-action 'none'")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>posegraph profile: {name}</title><style>{TIMELINE_CSS}</style></head>
<body data-page="timeline">
<header><b>posegraph profile</b> <span>{name}</span><span class="sum">{summary}</span>
<span class="tools"><button id="pg-fit">Fit</button></span></header>
<div id="pg-wrap"><canvas id="pg-timeline"></canvas><div id="pg-tip"></div></div>
<div id="pg-details"></div>
<table id="pg-table"><thead><tr>{''.join(f'<th>{c}</th>' for c in cols)}</tr></thead>
<tbody>{''.join(body)}</tbody></table>
<p style="margin:0 12px 16px;color:#5b6373;font-size:12px">Times per call in milliseconds. in-lat: input latency,
the time since the packet's timestamp entered the graph; wait: time in the input queue. Wheel to zoom, drag to pan,
click a call for its packet flows, click a row to pick out a node. The trace itself opens in
ui.perfetto.dev or chrome://tracing.</p>
<pre id="pg-js-errors" hidden></pre>
<script type="application/json" id="pg-data">{_script_json(data)}</script>
<script>{TIMELINE_JS}</script>
</body></html>
"""


__all__ = ["render_timeline_html"]
