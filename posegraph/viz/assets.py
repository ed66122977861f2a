"""CSS and JavaScript of the self-contained HTML pages (kept as Python strings so that they ship with the code and
are inlined into every page: the pages load nothing from the network)."""

PAGE_CSS = r"""
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; font: 13px/1.35 Helvetica, Arial, sans-serif; color: #1d2330; }
body { display: flex; flex-direction: column; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 10px; padding: 6px 10px; background: #f5f6f8;
  border-bottom: 1px solid #d5d9e0; position: relative; }
header .title { font-size: 14px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 48vw; }
header .title small { color: #5b6373; margin-left: 6px; }
header .tools { display: flex; gap: 6px; align-items: center; margin-left: auto; }
button { font: inherit; padding: 3px 9px; border: 1px solid #b8bfcc; background: #fff; border-radius: 4px;
  cursor: pointer; }
button.on { background: #4c6ea8; color: #fff; border-color: #4c6ea8; }
button:disabled { opacity: .45; cursor: default; }
#pg-search { width: 260px; padding: 4px 8px; border: 1px solid #b8bfcc; border-radius: 4px; font: inherit; }
#pg-results { position: absolute; right: 150px; top: 36px; z-index: 10; list-style: none; margin: 0; padding: 4px 0;
  background: #fff; border: 1px solid #b8bfcc; border-radius: 4px; max-height: 60vh; overflow: auto; min-width: 300px;
  box-shadow: 0 4px 14px rgba(0,0,0,.15); }
#pg-results li { padding: 3px 10px; cursor: pointer; white-space: nowrap; }
#pg-results li.active, #pg-results li:hover { background: #e8eefb; }
#pg-results li small { color: #6b7385; margin-left: 6px; }
.live { font-weight: bold; color: #2f8a4c; }
.live.ended { color: #868e96; }
#pg-issues { background: #fff4f4; border-bottom: 1px solid #f1c0c0; color: #a61e1e; padding: 5px 10px;
  max-height: 22vh; overflow: auto; }
#pg-issues ul { margin: 3px 0 0 0; padding-left: 18px; }
#pg-issues li { cursor: pointer; }
#pg-issues li:hover { text-decoration: underline; }
main { flex: 1; display: flex; min-height: 0; }
#pg-canvas { flex: 1; position: relative; overflow: hidden; background: #fff; cursor: grab; touch-action: none; }
#pg-canvas.dragging { cursor: grabbing; }
#pg-canvas .view { position: absolute; inset: 0; }
#pg-canvas .view[hidden] { display: none; }
#pg-canvas svg.pg-graph { width: 100%; height: 100%; display: block; user-select: none; }
#pg-panel { width: 340px; border-left: 1px solid #d5d9e0; overflow: auto; padding: 8px 12px; background: #fbfbfc; }
#pg-panel h2 { font-size: 15px; margin: 2px 0 6px; word-break: break-all; }
#pg-panel h3 { font-size: 12px; margin: 10px 0 3px; color: #5b6373; text-transform: uppercase; letter-spacing: .04em; }
#pg-panel table { border-collapse: collapse; width: 100%; font-size: 12px; }
#pg-panel td { border-top: 1px solid #eceef2; padding: 2px 4px; vertical-align: top; word-break: break-all; }
#pg-panel pre { background: #f1f3f6; padding: 6px; font-size: 11px; white-space: pre-wrap; margin: 0; }
#pg-panel .problem { color: #a61e1e; }
#pg-panel a { color: #2b59c3; cursor: pointer; text-decoration: none; }
#pg-panel a:hover { text-decoration: underline; }
#pg-panel .muted { color: #6b7385; }
footer { padding: 4px 10px; border-top: 1px solid #d5d9e0; background: #f5f6f8; font-size: 11px; color: #4a5263;
  display: flex; gap: 14px; flex-wrap: wrap; }
footer .sw { display: inline-block; width: 22px; height: 0; vertical-align: middle; margin-right: 4px;
  border-top: 2px solid #55606e; }
footer .sw.side { border-top: 2px dashed #7048e8; }
footer .sw.back { border-top: 2px dashed #d9480f; }
footer .box { display: inline-block; width: 14px; height: 10px; vertical-align: middle; margin-right: 4px;
  border: 1px solid #4c6ea8; background: #eef3fb; border-radius: 2px; }
footer .box.err { border: 2px solid #c92a2a; }
footer .box.heat { background: linear-gradient(90deg, #fff7dc, #ff5a46); border-color: #c2410c; }
#pg-js-errors { color: #c92a2a; margin: 0; padding: 4px 10px; }
svg.pg-graph.dim g.node:not(.hl), svg.pg-graph.dim g.edge:not(.hl) { opacity: .16; }
svg.pg-graph.dim g.cluster { opacity: .5; }
svg.pg-graph g.node.hl .shape { stroke: #f08c00; stroke-width: 3; }
svg.pg-graph g.node.sel .shape { stroke: #e8590c; stroke-width: 4; }
svg.pg-graph g.edge.hl path.line { stroke: #f08c00; stroke-width: 2.8; }
svg.pg-graph g.edge.hl polygon { fill: #f08c00; }
svg.pg-graph g.node, svg.pg-graph g.edge, svg.pg-graph g.cluster text { cursor: pointer; }
"""

VIEWER_JS = r"""
(function () {
  "use strict";
  var errBox = document.getElementById("pg-js-errors");
  function reportError(text) { errBox.hidden = false; errBox.textContent += text + "\n"; }
  window.addEventListener("error", function (e) { reportError("error: " + (e.message || e.type)); });
  window.addEventListener("unhandledrejection", function (e) { reportError("unhandled: " + e.reason); });

  var DATA = JSON.parse(document.getElementById("pg-data").textContent);
  var canvas = document.getElementById("pg-canvas");
  var panel = document.getElementById("pg-details");
  var search = document.getElementById("pg-search");
  var results = document.getElementById("pg-results");
  var current = "expanded";
  var boxes = {};     // view -> {x, y, w, h} (the viewBox)
  var selected = null;  // {type: "node"|"stream", key}

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function model(v) { return DATA.views[v || current]; }
  function viewEl(v) { return canvas.querySelector('.view[data-view="' + (v || current) + '"]'); }
  function svgEl(v) { return viewEl(v).querySelector("svg"); }
  function nodeById(id, v) {
    var m = model(v);
    for (var i = 0; i < m.nodes.length; i++) { if (m.nodes[i].id === id) return m.nodes[i]; }
    return null;
  }
  function nodeByName(name, v) {
    var m = model(v);
    for (var i = 0; i < m.nodes.length; i++) {
      if (m.nodes[i].name === name && m.nodes[i].kind === "calculator") return m.nodes[i];
    }
    for (i = 0; i < m.nodes.length; i++) { if (m.nodes[i].name === name) return m.nodes[i]; }
    return null;
  }
  function el(id, v) { return svgEl(v).querySelector('[data-id="' + id + '"]'); }

  // ---- pan and zoom (the viewBox keeps the element's aspect ratio, so pixels map linearly) ----
  function setBox(b, v) {
    v = v || current;
    boxes[v] = b;
    svgEl(v).setAttribute("viewBox", b.x + " " + b.y + " " + b.w + " " + b.h);
  }
  function fit(v, target) {
    v = v || current;
    var s = svgEl(v);
    var r = canvas.getBoundingClientRect();
    var t = target || {x: 0, y: 0, w: +s.dataset.width, h: +s.dataset.height};
    var pad = target ? 40 : 10;
    var cw = Math.max(r.width, 50), ch = Math.max(r.height, 50);
    var scale = Math.max((t.w + 2 * pad) / cw, (t.h + 2 * pad) / ch);
    if (target) scale = Math.max(scale, 0.6);
    var w = cw * scale, h = ch * scale;
    setBox({x: t.x + t.w / 2 - w / 2, y: t.y + t.h / 2 - h / 2, w: w, h: h}, v);
  }
  function toGraph(clientX, clientY) {
    var r = canvas.getBoundingClientRect(), b = boxes[current];
    return {x: b.x + (clientX - r.left) * b.w / r.width, y: b.y + (clientY - r.top) * b.h / r.height};
  }
  function zoom(factor, clientX, clientY) {
    var b = boxes[current], r = canvas.getBoundingClientRect();
    if (clientX === undefined) { clientX = r.left + r.width / 2; clientY = r.top + r.height / 2; }
    var p = toGraph(clientX, clientY);
    var s = svgEl();
    var maxW = Math.max(+s.dataset.width, +s.dataset.height * r.width / Math.max(r.height, 1)) * 4;
    var w = Math.min(Math.max(b.w * factor, 40), maxW);
    var f = w / b.w;
    setBox({x: p.x - (p.x - b.x) * f, y: p.y - (p.y - b.y) * f, w: w, h: b.h * f});
  }
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    zoom(Math.exp(e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)), e.clientX, e.clientY);
  }, {passive: false});
  var drag = null;
  canvas.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) return;
    drag = {x: e.clientX, y: e.clientY, box: boxes[current], moved: false, id: e.pointerId};
  });
  window.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!drag.moved) { drag.moved = true; canvas.classList.add("dragging"); }
    var r = canvas.getBoundingClientRect(), b = drag.box;
    setBox({x: b.x - dx * b.w / r.width, y: b.y - dy * b.h / r.height, w: b.w, h: b.h});
  });
  window.addEventListener("pointerup", function (e) {
    if (!drag) return;
    var moved = drag.moved;
    drag = null;
    canvas.classList.remove("dragging");
    if (!moved) click(e.target);
  });

  // ---- selection and highlight ----
  function clearMarks(v) {
    var s = svgEl(v);
    s.classList.remove("dim");
    s.querySelectorAll(".hl, .sel").forEach(function (x) { x.classList.remove("hl", "sel"); });
  }
  function edgesOf(v) { return Array.prototype.slice.call(svgEl(v).querySelectorAll("g.edge")); }
  function highlightNode(id) {
    clearMarks();
    var s = svgEl(), g = el(id);
    if (!g) return;
    s.classList.add("dim");
    g.classList.add("hl", "sel");
    edgesOf().forEach(function (e) {
      if (e.dataset.src === id || e.dataset.dst === id) {
        e.classList.add("hl");
        var other = el(e.dataset.src === id ? e.dataset.dst : e.dataset.src);
        if (other) other.classList.add("hl");
      }
    });
  }
  function streamEnds(name, v) {
    var m = model(v), producers = [], consumers = [], edges = [];
    m.edges.forEach(function (e) {
      if (e.stream !== name) return;
      edges.push(e);
      if (producers.indexOf(e.src) < 0) producers.push(e.src);
      if (consumers.indexOf(e.dst) < 0) consumers.push(e.dst);
    });
    return {producers: producers, consumers: consumers, edges: edges};
  }
  function highlightStream(name) {
    clearMarks();
    var s = svgEl(), ends = streamEnds(name);
    s.classList.add("dim");
    edgesOf().forEach(function (e) { if (e.dataset.stream === name) e.classList.add("hl"); });
    ends.producers.concat(ends.consumers).forEach(function (id) { var g = el(id); if (g) g.classList.add("hl"); });
    return ends;
  }
  function bboxOf(elements) {
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    elements.forEach(function (g) {
      if (!g) return;
      var b = g.getBBox();
      x0 = Math.min(x0, b.x); y0 = Math.min(y0, b.y);
      x1 = Math.max(x1, b.x + b.width); y1 = Math.max(y1, b.y + b.height);
    });
    return x0 === Infinity ? null : {x: x0, y: y0, w: x1 - x0, h: y1 - y0};
  }
  function reveal(elements) {
    var b = bboxOf(elements);
    if (!b) return;
    var cur = boxes[current];
    var inside = b.x >= cur.x && b.y >= cur.y && b.x + b.w <= cur.x + cur.w && b.y + b.h <= cur.y + cur.h;
    if (!inside || cur.w > 6 * Math.max(b.w, 150)) fit(current, b);
  }
  function selectNode(id, center) {
    var n = nodeById(id);
    if (!n) return;
    selected = {type: "node", key: n.name, id: id};
    highlightNode(id);
    showNode(n);
    if (center) reveal([el(id)]);
  }
  function selectStream(name, center) {
    selected = {type: "stream", key: name};
    var ends = highlightStream(name);
    showStream(name, ends);
    if (center) reveal(ends.producers.concat(ends.consumers).map(function (id) { return el(id); }));
  }
  function clearSelection() {
    selected = null;
    clearMarks();
    showSummary();
  }
  function click(target) {
    var g = target.closest ? target.closest("g.node, g.edge, g.cluster") : null;
    if (!g) { clearSelection(); return; }
    if (g.classList.contains("node")) {
      var n = nodeById(g.dataset.id);
      if (n && n.kind === "subgraph" && selected && selected.id === n.id && DATA.views.expanded) {
        expandCluster(n.name);
        return;
      }
      selectNode(g.dataset.id, false);
    } else if (g.classList.contains("edge")) {
      selectStream(g.dataset.stream, false);
    } else if (g.classList.contains("cluster")) {
      collapseCluster(g.dataset.path);
    }
  }

  // ---- views: expanded and collapsed subgraphs ----
  function setView(v, keep) {
    if (!DATA.views[v]) return;
    var before = selected;
    current = v;
    canvas.querySelectorAll(".view").forEach(function (x) { x.hidden = x.dataset.view !== v; });
    document.querySelectorAll("#pg-views button").forEach(function (b) {
      b.classList.toggle("on", b.dataset.view === v);
    });
    if (!boxes[v]) fit(v);
    clearMarks();
    if (keep !== false && before) {
      if (before.type === "node") {
        var n = nodeByName(before.key);
        if (!n) {  // the node is inside a collapsed subgraph
          var top = before.key.split("/")[0];
          n = nodeByName(top);
        }
        if (n) { selectNode(n.id, true); return; }
      } else if (before.type === "stream" && streamEnds(before.key).edges.length) {
        selectStream(before.key, true); return;
      }
    }
    selected = null;
    showSummary();
  }
  function collapseCluster(path) {
    if (!DATA.views.collapsed) return;
    var top = path.split("/")[0];
    setView("collapsed", false);
    var n = nodeByName(top);
    if (n) selectNode(n.id, true);
  }
  function expandCluster(path) {
    setView("expanded", false);
    var c = null;
    model().clusters.forEach(function (x) { if (x.path === path) c = x; });
    if (c) {
      var g = el(c.id);
      if (g) fit("expanded", bboxOf([g]));
      showCluster(c);
    }
  }
  document.querySelectorAll("#pg-views button").forEach(function (b) {
    b.addEventListener("click", function () { setView(b.dataset.view); });
  });

  // ---- details panel ----
  function link(kind, key, text) {
    return '<a data-go="' + kind + '" data-key="' + esc(key) + '">' + esc(text === undefined ? key : text) + "</a>";
  }
  function statsOf(name) {
    if (DATA.live_stats && DATA.live_stats[name]) return DATA.live_stats[name];
    return DATA.overlay && DATA.overlay.nodes ? DATA.overlay.nodes[name] : null;
  }
  function table(rows) {
    return "<table>" + rows.map(function (r) { return "<tr><td>" + r[0] + "</td><td>" + r[1] + "</td></tr>"; }).join("")
      + "</table>";
  }
  function showNode(n) {
    var h = "<h2>" + esc(n.name) + "</h2>";
    var kindText = {calculator: n.calculator, subgraph: "subgraph " + n.calculator, input: "graph input stream",
      output: "graph output stream", side_in: "input side packet", side_out: "output side packet",
      missing: "referenced but not produced"}[n.kind] || n.kind;
    h += '<div class="muted">' + esc(kindText) + (n.where ? " &middot; " + esc(n.where) : "") + "</div>";
    if (n.cluster && n.cluster.length) h += '<div class="muted">in ' + n.cluster.map(function (p) {
      return link("cluster", p);
    }).join(" &rsaquo; ") + "</div>";
    if (n.issues && n.issues.length) {
      h += "<h3>Problems</h3><ul class=\"problem\">" + n.issues.map(function (i) { return "<li>" + esc(i) + "</li>"; })
        .join("") + "</ul>";
    }
    var st = statsOf(n.name);
    if (st) {
      var rows = [];
      Object.keys(st).forEach(function (k) {
        if (k === "node" || k === "calculator") return;
        var v = st[k];
        rows.push([esc(k), esc(typeof v === "number" ? (Math.round(v * 1000) / 1000) : v)]);
      });
      h += "<h3>" + (DATA.live_stats ? "Live" : "Profile") + "</h3>" + table(rows);
    }
    if (n.kind === "subgraph") {
      h += "<h3>Nodes</h3><div>" + n.members.map(function (m) { return link("member", m); }).join("<br>") + "</div>";
      if (DATA.views.expanded) h += '<p><button data-expand="' + esc(n.name) + '">Expand subgraph</button></p>';
    }
    if (n.kind !== "calculator" && n.kind !== "subgraph") {
      h += "<p>" + link("stream", n.name, "highlight " + n.name) + "</p>";
    }
    if (n.ports && n.ports.length) {
      h += "<h3>Ports</h3>" + table(n.ports.map(function (p) {
        var dir = {input_stream: "in", output_stream: "out", input_side_packet: "side in",
          output_side_packet: "side out"}[p.kind];
        return [esc(dir + " " + p.label) + (p.type ? '<br><span class="muted">' + esc(p.type) + "</span>" : ""),
          link("stream", p.name) + (p.back_edge ? ' <span class="muted">(back edge)</span>' : "")];
      }));
    }
    var settings = Object.keys(n.settings || {});
    if (settings.length) h += "<h3>Settings</h3>" + table(settings.map(function (k) {
      return [esc(k), esc(n.settings[k])];
    }));
    if (n.options_text) h += "<h3>Options</h3><pre>" + esc(n.options_text) + "</pre>";
    var opts = Object.keys(n.options || {});
    if (opts.length) h += "<h3>" + (n.options_text ? "Effective options" : "Options (defaults)") + "</h3>" +
      table(opts.map(function (k) { return [esc(k), esc(n.options[k])]; }));
    panel.innerHTML = h;
  }
  function nodeLinks(ids) {
    return ids.map(function (id) { var n = nodeById(id); return n ? link("node", id, n.name) : esc(id); }).join("<br>");
  }
  function showStream(name, ends) {
    var e0 = ends.edges[0] || {};
    var h = "<h2>" + esc(name) + "</h2><div class=\"muted\">" + (e0.side ? "side packet" : "stream") +
      (ends.edges.some(function (e) { return e.back_edge; }) ? " &middot; back edge" : "") + "</div>";
    h += "<h3>Produced by</h3>" + nodeLinks(ends.producers);
    h += "<h3>Consumed by</h3>" + nodeLinks(ends.consumers);
    var issues = [];
    ends.edges.forEach(function (e) {
      (e.issues || []).forEach(function (i) { if (issues.indexOf(i) < 0) issues.push(i); });
    });
    if (issues.length) h += "<h3>Problems</h3><ul class=\"problem\">" + issues.map(function (i) {
      return "<li>" + esc(i) + "</li>";
    }).join("") + "</ul>";
    if (DATA.live_queues) {
      var q = ends.edges.map(function (e) {
        var dst = nodeById(e.dst);
        var d = dst ? DATA.live_queues[dst.name + "\u0000" + name] : undefined;
        return d === undefined ? null : [esc(dst.name), esc(d)];
      }).filter(Boolean);
      if (q.length) h += "<h3>Queued packets</h3>" + table(q);
    }
    panel.innerHTML = h;
  }
  function showCluster(c) {
    panel.innerHTML = "<h2>" + esc(c.path) + "</h2><div class=\"muted\">subgraph " + esc(c.type) +
      (c.where ? " &middot; " + esc(c.where) : "") + "</div><p class=\"muted\">" + esc(c.subgraph_file) + "</p>" +
      (DATA.views.collapsed ? '<p><button data-collapse="' + esc(c.path) + '">Collapse subgraphs</button></p>' : "");
  }
  function showSummary() {
    var m = model();
    var calcs = m.nodes.filter(function (n) { return n.kind === "calculator"; }).length;
    var streams = {};
    m.edges.forEach(function (e) { streams[e.stream] = 1; });
    var h = "<h2>" + esc(DATA.title) + "</h2><div class=\"muted\">" + calcs + " calculators, " +
      Object.keys(streams).length + " streams and side packets" +
      (m.collapsed ? ", subgraphs collapsed" : (m.clusters.length ? ", " + m.clusters.length + " subgraphs" : "")) +
      "</div>";
    if (DATA.overlay) h += "<p>Profile: " + esc(DATA.overlay.frames) + " frames in " +
      esc(Math.round(DATA.overlay.wall_s * 100) / 100) + " s = " + esc(Math.round(DATA.overlay.fps * 10) / 10) +
      " frames/s. Colour: share of process time.</p>";
    h += "<p class=\"muted\">Click a node or an edge for details; a stream highlights its producer and consumers. " +
      "Drag to pan, wheel to zoom, / to search, Esc to clear. Click a subgraph's frame to collapse it; click a " +
      "selected collapsed subgraph to expand it.</p>";
    panel.innerHTML = h;
  }
  panel.addEventListener("click", function (e) {
    var a = e.target.closest("[data-go], [data-expand], [data-collapse]");
    if (!a) return;
    if (a.dataset.expand) { expandCluster(a.dataset.expand); return; }
    if (a.dataset.collapse) { collapseCluster(a.dataset.collapse); return; }
    var kind = a.dataset.go, key = a.dataset.key;
    if (kind === "node") selectNode(key, true);
    else if (kind === "stream") selectStream(key, true);
    else if (kind === "member") { setView("expanded", false); var n = nodeByName(key); if (n) selectNode(n.id, true); }
    else if (kind === "cluster") {
      var c = null;
      model().clusters.forEach(function (x) { if (x.path === key) c = x; });
      if (c) { clearMarks(); fit(current, bboxOf([el(c.id)])); showCluster(c); }
    }
  });

  // ---- search ----
  var hits = [], active = 0;
  function runSearch() {
    var q = search.value.trim().toLowerCase();
    hits = [];
    if (q) {
      var m = model(), seen = {};
      m.nodes.forEach(function (n) {
        if (n.name.toLowerCase().indexOf(q) >= 0 || (n.calculator || "").toLowerCase().indexOf(q) >= 0) {
          hits.push({type: "node", id: n.id, text: n.name, note: n.calculator || n.kind});
        }
      });
      m.edges.forEach(function (e) {
        if (!seen[e.stream] && e.stream.toLowerCase().indexOf(q) >= 0) {
          seen[e.stream] = 1;
          hits.push({type: "stream", id: e.stream, text: e.stream, note: e.side ? "side packet" : "stream"});
        }
      });
    }
    active = 0;
    renderHits();
  }
  function renderHits() {
    if (!hits.length) { results.hidden = true; results.innerHTML = ""; return; }
    results.hidden = false;
    results.innerHTML = hits.slice(0, 40).map(function (h, i) {
      return '<li data-i="' + i + '"' + (i === active ? ' class="active"' : "") + ">" + esc(h.text) +
        "<small>" + esc(h.note) + "</small></li>";
    }).join("");
  }
  function choose(i) {
    var h = hits[i];
    if (!h) return;
    results.hidden = true;
    if (h.type === "node") selectNode(h.id, true); else selectStream(h.id, true);
  }
  search.addEventListener("input", runSearch);
  search.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); choose(active); }
    else if (e.key === "ArrowDown") {
      e.preventDefault(); active = Math.min(active + 1, hits.length - 1); renderHits();
    }
    else if (e.key === "ArrowUp") { e.preventDefault(); active = Math.max(active - 1, 0); renderHits(); }
    else if (e.key === "Escape") { search.value = ""; runSearch(); search.blur(); }
  });
  results.addEventListener("mousedown", function (e) {
    var li = e.target.closest("li");
    if (li) { e.preventDefault(); choose(+li.dataset.i); }
  });
  search.addEventListener("blur", function () { setTimeout(function () { results.hidden = true; }, 150); });
  document.addEventListener("keydown", function (e) {
    if (e.target === search) return;
    if (e.key === "/") { e.preventDefault(); search.focus(); search.select(); }
    else if (e.key === "Escape") clearSelection();
    else if (e.key === "+" || e.key === "=") zoom(1 / 1.25);
    else if (e.key === "-") zoom(1.25);
    else if (e.key === "0") fit();
  });
  document.getElementById("pg-zoom-in").addEventListener("click", function () { zoom(1 / 1.25); });
  document.getElementById("pg-zoom-out").addEventListener("click", function () { zoom(1.25); });
  document.getElementById("pg-fit").addEventListener("click", function () { fit(); });

  // ---- problems list ----
  var issuesBox = document.getElementById("pg-issues");
  if (issuesBox) issuesBox.addEventListener("click", function (e) {
    var li = e.target.closest("li[data-node]");
    if (!li) return;
    setView("expanded", false);
    var n = nodeById(li.dataset.node);
    if (n) selectNode(n.id, true);
  });

  window.addEventListener("resize", function () {
    var b = boxes[current], r = canvas.getBoundingClientRect();
    if (b && r.width > 0) setBox({x: b.x, y: b.y, w: b.w, h: b.w * r.height / r.width});
  });

  // the page's own API: used by the live dashboard script and by tests
  window.posegraphViewer = {
    selectNode: function (name) { var n = nodeByName(name); if (n) selectNode(n.id, true); return !!n; },
    selectStream: function (name) { selectStream(name, true); },
    setView: setView, fit: fit, zoom: zoom, clear: clearSelection,
    view: function () { return current; }, box: function () { return boxes[current]; },
    svg: svgEl, model: model, data: DATA, refresh: function () {
      if (selected && selected.type === "node") { var n = nodeByName(selected.key); if (n) showNode(n); }
      else if (selected && selected.type === "stream") showStream(selected.key, streamEnds(selected.key));
    }
  };
  Object.keys(DATA.views).forEach(function (v) { if (DATA.views[v]) fit(v); });
  setView("expanded", false);
  document.body.dataset.ready = "1";
})();
"""

LIVE_JS = r"""
(function () {
  "use strict";
  var viewer = window.posegraphViewer, DATA = viewer.data;
  var status = document.getElementById("pg-live");
  var failures = 0, timer = null;
  var nodes = {};   // name -> {g, lines: [text, text]}
  var edges = [];   // {g, text, base, key}
  function ms(v) { return v < 10 ? v.toFixed(2) : v.toFixed(1); }
  function heat(share) {
    share = Math.max(0, Math.min(1, share));
    var t = Math.sqrt(share);
    var g = Math.round(247 - t * (247 - 90)), b = Math.round(220 - t * (220 - 70));
    return "rgb(255," + g + "," + b + ")";
  }
  function index() {
    var svg = viewer.svg("expanded");
    svg.querySelectorAll('g.node[data-kind="calculator"]').forEach(function (g) {
      nodes[g.dataset.name] = {g: g, shape: g.querySelector(".shape"), lines: g.querySelectorAll("text.stats")};
    });
    var model = viewer.model("expanded"), byId = {};
    model.nodes.forEach(function (n) { byId[n.id] = n; });
    svg.querySelectorAll("g.edge").forEach(function (g) {
      var t = g.querySelector("text"), dst = byId[g.dataset.dst];
      if (t && dst && dst.kind === "calculator") {
        edges.push({g: g, text: t, base: t.textContent, key: dst.name + "\u0000" + g.dataset.stream});
      }
    });
  }
  function update(s) {
    DATA.live_stats = s.nodes;
    DATA.live_queues = {};
    (s.queues || []).forEach(function (q) { DATA.live_queues[q[0] + "\u0000" + q[1]] = q[2]; });
    Object.keys(s.nodes).forEach(function (name) {
      var n = nodes[name], st = s.nodes[name];
      if (!n) return;
      if (n.lines[0]) n.lines[0].textContent = ms(st.recent_mean_ms) + " ms \u00b7 " + st.calls_per_s.toFixed(1) + "/s";
      if (n.lines[1]) n.lines[1].textContent = st.calls + " calls \u00b7 q " + st.queued +
        (st.dropped ? " \u00b7 \u2715" + st.dropped : "");
      n.shape.style.fill = heat(st.recent_share);
    });
    edges.forEach(function (e) {
      var d = DATA.live_queues[e.key];
      e.text.textContent = d ? e.base + "  [" + d + " queued]" : e.base;
      e.g.classList.toggle("drops", !!d);
    });
    status.className = "live" + (s.done ? " ended" : "");
    status.textContent = (s.done ? "finished" : s.started ? "running" : "starting") + " \u00b7 " + s.frames +
      " frames \u00b7 " + s.fps.toFixed(1) + " frames/s \u00b7 " + s.elapsed_s.toFixed(1) + " s";
    document.body.dataset.updates = String((+document.body.dataset.updates || 0) + 1);
    viewer.refresh();
  }
  function poll() {
    var ctrl = new AbortController();
    var guard = setTimeout(function () { ctrl.abort(); }, 2000);
    fetch(DATA.live.url, {cache: "no-store", signal: ctrl.signal}).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (s) {
      failures = 0;
      update(s);
      if (!s.done) timer = setTimeout(poll, DATA.live.interval_ms);
    }).catch(function () {
      failures += 1;
      status.className = "live ended";
      status.textContent = "run ended (dashboard closed)";
      if (failures < 3) timer = setTimeout(poll, DATA.live.interval_ms);
    }).finally(function () { clearTimeout(guard); });
  }
  index();
  poll();
})();
"""
