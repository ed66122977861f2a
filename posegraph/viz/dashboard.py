"""A live view of a running graph: ``posegraph run ... --dashboard [PORT]``.

A small HTTP server on the loopback interface only (127.0.0.1) serves the graph page and ``/stats.json``; the
page polls it twice a second and shows per-node timings (mean over the last two seconds, calls/s, share of the
time), queued packets per input, and frames/s. The numbers are read from counters the runtime keeps anyway,
without taking the graph's lock, so watching costs the run next to nothing. The server stops when the run ends.

Given the run's `LiveMonitor` (``live=``), the page also shows the annotated video as it is produced (``/frame.jpg``,
long-polled, turned into data: URLs since the page's Content-Security-Policy loads nothing else), frames in /
processed / dropped, and a frames/s and latency chart (``/live.json``).

Connections: at most MAX_CONNECTIONS are served at once (one thread each; more are answered 503 and closed), an
idle keep-alive connection is closed after IDLE_TIMEOUT_S, ``close()`` ends every open connection, and clients
that hang up are not reported.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
WINDOW_S = 2.0       # rates and recent means are over this window
SAMPLE_EVERY_S = 0.2
POLL_MS = 500
IDLE_TIMEOUT_S = 5.0   # idle keep-alive connections are closed after this
MAX_CONNECTIONS = 16   # connections served at once (one thread each); more are answered 503 and closed
FRAME_WAIT_S = 1.0     # /frame.jpg?after=N waits this long for a newer frame


class _Server(ThreadingHTTPServer):
    """One thread per connection, but a bounded number of them, each with an idle timeout; connections are
    tracked so that close() can end them, and clients that hang up are not worth a traceback."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64  # a burst of connections waits to be accepted (and told 503) instead of timing out

    def __init__(self, *args, **kwargs):
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    @property
    def active(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    def process_request(self, request, client_address):
        with self._connections_lock:
            full = len(self._connections) >= MAX_CONNECTIONS
            if not full:
                self._connections.add(request)
        if full:
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, OSError)):
            return  # the client hung up or went quiet: nothing to report
        sys.stderr.write(f"posegraph dashboard: error serving {client_address[0]}: {error!r}\n")



class _LiveLabels:
    """Stands in for a profile while laying out, so that nodes have room for the two live lines."""

    def node_stats(self, node) -> dict | None:
        return {"_live": True} if node.kind == "calculator" else None

    def edge_drops(self, edge, nodes) -> int:
        return 0


class Dashboard:
    """Serve a live page for `graph` (a :class:`posegraph.Graph`, started or about to be)."""

    def __init__(self, graph: Any, port: int | None = None, *, interval_ms: int = POLL_MS, engine: str = "auto",
                 live: Any = None):
        self.graph = graph
        self.live = live  # a posegraph.run_media.LiveMonitor: frames in/processed/dropped, latency, video
        self.requested_port = port
        self.interval_ms = interval_ms
        self.engine = engine
        self._lock = threading.Lock()
        self._samples: deque = deque()
        self._cached: tuple[float, bytes] | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._page = b""
        self.requests = 0
        self.port = 0
        self._closed = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    # -- page ------------------------------------------------------------------------------------------------
    def _model(self):
        from .model import build_model, model_from_spec

        spec = self.graph.spec
        names = {n.name for n in spec.nodes}
        if spec.source.file:
            try:
                model = build_model(spec.source.file)
                if model.valid and {n.name for n in model.nodes if n.kind == "calculator"} == names:
                    return model
            except Exception:  # noqa: BLE001 - fall back to what the graph already knows
                pass
        return model_from_spec(spec)

    def render_page(self) -> str:
        from .html import render_html

        return render_html(self._model(), _LiveLabels(), engine=self.engine,
                           live={"url": "stats.json", "interval_ms": self.interval_ms})

    # -- numbers ---------------------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """Current per-node counters and queue depths, with rates over the last WINDOW_S seconds."""
        g = self.graph
        nodes = list(getattr(g, "nodes", ()) or ())
        now = time.perf_counter()
        counters = {n.name: (n.process_count, n.process_ns) for n in nodes}
        frames = g.frames
        with self._lock:
            if not self._samples or now - self._samples[-1][0] >= SAMPLE_EVERY_S:
                self._samples.append((now, counters, frames))
            while len(self._samples) > 1 and now - self._samples[1][0] >= WINDOW_S:
                self._samples.popleft()
            base_t, base, base_frames = self._samples[0]
        span = now - base_t
        recent_ns = {name: ns - base.get(name, (0, 0))[1] for name, (_, ns) in counters.items()}
        recent_total = sum(max(0, v) for v in recent_ns.values()) or 1
        elapsed = float(getattr(g, "elapsed_s", 0.0) or 0.0)
        out_nodes, queues = {}, []
        for n in nodes:
            count, ns = counters[n.name]
            b_count, b_ns = base.get(n.name, (0, 0))
            d_count, d_ns = count - b_count, ns - b_ns
            queued = 0
            for q in n.queues:
                if q.size:
                    queued += q.size
                    queues.append([n.name, q.stream, q.size])
            out_nodes[n.name] = {
                "calculator": n.calculator, "calls": count, "dropped": n.dropped,
                "errors": n.errors, "queued": queued, "in_flight": n.in_flight, "state": n.state,
                "mean_ms": ns / count / 1e6 if count else 0.0,
                "recent_mean_ms": (d_ns / d_count / 1e6) if d_count else (ns / count / 1e6 if count else 0.0),
                "calls_per_s": d_count / span if span > 0 else 0.0,
                "total_ms": ns / 1e6, "recent_share": max(0, d_ns) / recent_total}
        return {"started": bool(getattr(g, "started", False)), "done": bool(getattr(g, "done", False)),
                "elapsed_s": max(0.0, elapsed), "frames": frames,
                "fps": (frames - base_frames) / span if span > 0 else 0.0,
                "fps_mean": frames / elapsed if elapsed > 0 else 0.0,
                "nodes": out_nodes, "queues": queues, "time": time.time()}

    def _stats_body(self) -> bytes:
        now = time.monotonic()
        cached = self._cached
        if cached is not None and now - cached[0] < 0.1:  # many viewers cost no more than one
            return cached[1]
        body = json.dumps(self.snapshot(), separators=(",", ":")).encode("utf-8")
        self._cached = (now, body)
        return body

    # -- live media (a `LiveMonitor` of the run: counts, latency, annotated frames) ------------------------------------
    def _live_body(self) -> bytes:
        live = self.live
        body = live.snapshot() if live is not None else {"live": False, "video": False}
        return json.dumps(body, separators=(",", ":"), allow_nan=False, default=str).encode("utf-8")

    def _frame(self, after: int) -> tuple[int, bytes] | None:
        """The newest annotated frame as JPEG, waiting up to FRAME_WAIT_S for one newer than `after`."""
        live = self.live
        if live is None:
            return None
        deadline = time.monotonic() + FRAME_WAIT_S
        while not self._closed.is_set():
            latest = live.latest_jpeg()
            if latest is not None and latest[0] > after:
                return latest
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return latest
            live.wait_frame(after, min(0.2, remaining))
        return None

    # -- server ----------------------------------------------------------------------------------------------------
    def start(self) -> str:
        """Bind 127.0.0.1 and serve in a background thread; returns the page's URL."""
        self._page = self.render_page().encode("utf-8")
        if self.live is not None:
            self._page = self._page.replace(b"</body>", LIVE_PANEL.encode("utf-8") + b"</body>", 1)
        self._closed.clear()
        dashboard = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "posegraph-dashboard"
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stalls)
            timeout = IDLE_TIMEOUT_S  # an idle keep-alive connection is closed (and its thread ends) after this

            def do_GET(self):  # noqa: N802 - http.server's name
                dashboard.requests += 1
                if dashboard._closed.is_set():
                    self._send(503, b"the run is over", "text/plain")
                    return
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
                if host not in ("127.0.0.1", "localhost", ""):  # no DNS rebinding
                    self._send(403, b"forbidden", "text/plain")
                    return
                path, _, query = self.path.partition("?")
                if path in ("/", "/index.html"):
                    self._send(200, dashboard._page, "text/html; charset=utf-8")
                elif path == "/stats.json":
                    self._send(200, dashboard._stats_body(), "application/json")
                elif path == "/live.json":
                    self._send(200, dashboard._live_body(), "application/json")
                elif path == "/frame.jpg":
                    after = parse_qs(query).get("after", ["-1"])[0]
                    frame = dashboard._frame(int(after) if after.lstrip("-").isdigit() else -1)
                    if frame is None:
                        self._send(204, b"", "image/jpeg")
                    else:
                        self._send(200, frame[1], "image/jpeg", {"X-Frame-Seq": str(frame[0])})
                else:
                    self._send(404, b"not found", "text/plain")

            def _send(self, code: int, body: bytes, kind: str, extra: dict | None = None) -> None:
                closing = dashboard._closed.is_set()
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                if closing:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # quiet
                pass

        ports = [self.requested_port] if self.requested_port is not None else [DEFAULT_PORT, 0]
        error: OSError | None = None
        for port in ports:
            try:
                server = _Server((HOST, port), Handler)
                break
            except OSError as exc:
                error = exc
        else:
            raise OSError(f"cannot serve the dashboard on {HOST}:{ports[-1]}: {error}")
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="posegraph-dashboard", daemon=True)
        self._thread.start()
        return self.url

    def close(self) -> None:
        """Stop serving: no new connections, open ones (keep-alive, waiting for a frame) are shut down."""
        self._closed.set()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(2.0)

    @property
    def connections(self) -> int:
        """Connections being served now (each has a thread)."""
        server = self._server
        return server.active if server is not None else 0

    def __enter__(self) -> "Dashboard":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["Dashboard", "HOST", "DEFAULT_PORT"]


# The run's media panel: counts, the annotated video (JPEG frames fetched as data: URLs, which the page's
# Content-Security-Policy allows) and a frames/s + latency chart. Added to the page when the run has a monitor.
LIVE_PANEL = """
<div id="pg-media" style="position:fixed;right:12px;bottom:44px;z-index:50;background:rgba(255,255,255,.96);
 border:1px solid #bbb;border-radius:6px;padding:8px;font:12px system-ui,sans-serif;width:380px;
 box-shadow:0 2px 8px rgba(0,0,0,.2)">
<div id="pg-media-counts">waiting for frames&hellip;</div>
<div id="pg-media-gaps" style="color:#b00"></div>
<img id="pg-media-video" alt="annotated video" style="display:none;max-width:100%;max-height:45vh;margin-top:6px">
<svg id="pg-media-chart" viewBox="0 0 360 110" width="360" height="110" style="margin-top:6px"></svg>
<div style="color:#555"><span style="color:#1f77b4">&#9632; frames/s</span>
 <span style="color:#d95f02;margin-left:8px">&#9632; latency p50 (ms)</span></div>
</div>
<script>
(function () {
  "use strict";
  var counts = document.getElementById("pg-media-counts"), gaps = document.getElementById("pg-media-gaps"),
      img = document.getElementById("pg-media-video"), chart = document.getElementById("pg-media-chart"),
      seq = -1, videoOn = false, over = false;
  function fmt(v, d) { return v === null || v === undefined ? "-" : Number(v).toFixed(d); }
  function path(series, col, max, t0, span) {
    var pts = [];
    series.forEach(function (s) {
      if (s[col] === null) { return; }
      pts.push(((s[0] - t0) / span * 350 + 5).toFixed(1) + "," + (100 - s[col] / max * 90).toFixed(1));
    });
    return pts.join(" ");
  }
  function draw(series) {
    if (!series.length) { return; }
    var t0 = series[0][0], span = Math.max(1, series[series.length - 1][0] - t0);
    var fmax = 1, lmax = 1;
    series.forEach(function (s) { fmax = Math.max(fmax, s[1]); if (s[2] !== null) { lmax = Math.max(lmax, s[2]); } });
    chart.innerHTML = '<line x1="5" y1="100" x2="355" y2="100" stroke="#999"/>' +
      '<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="' + path(series, 1, fmax, t0, span) + '"/>' +
      '<polyline fill="none" stroke="#d95f02" stroke-width="1.5" points="' + path(series, 2, lmax, t0, span) + '"/>' +
      '<text x="5" y="9" font-size="9" fill="#1f77b4">' + fmax.toFixed(1) + ' fps</text>' +
      '<text x="355" y="9" font-size="9" fill="#d95f02" text-anchor="end">' + lmax.toFixed(0) + ' ms</text>';
  }
  function poll() {
    fetch("live.json", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (d) {
      var text = d.frames_in + " frames in = " + d.processed + " processed + " + d.dropped + " dropped \\u00b7 " +
        fmt(d.fps, 1) + " frames/s";
      if (d.latency_p50_ms !== null) {
        text += " \\u00b7 latency p50 " + fmt(d.latency_p50_ms, 1) + " ms, p95 " + fmt(d.latency_p95_ms, 1) + " ms";
      }
      counts.textContent = text;
      gaps.textContent = (d.gaps || []).slice(-2).join("; ");
      draw(d.series || []);
      if (d.video && !videoOn) { videoOn = true; img.style.display = "block"; nextFrame(); }
      setTimeout(poll, 500);
    }).catch(function () { over = true; counts.textContent += " (the run is over)"; });
  }
  function nextFrame() {
    if (over) { return; }
    fetch("frame.jpg?after=" + seq, {cache: "no-store"}).then(function (r) {
      if (r.status !== 200) { return null; }
      seq = Number(r.headers.get("X-Frame-Seq"));
      return r.blob();
    }).then(function (blob) {
      if (!blob) { setTimeout(nextFrame, 200); return; }
      var reader = new FileReader();
      reader.onload = function () { img.src = reader.result; setTimeout(nextFrame, 30); };
      reader.readAsDataURL(blob);
    }).catch(function () { setTimeout(nextFrame, 500); });
  }
  poll();
}());
</script>
"""
