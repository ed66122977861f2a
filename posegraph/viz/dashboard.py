"""A live view of a running graph: ``posegraph run ... --dashboard [PORT]``.

A small HTTP server on the loopback interface only (127.0.0.1) serves the graph page and ``/stats.json``; the
page polls it twice a second and shows per-node timings (mean over the last two seconds, calls/s, share of the
time), queued packets per input, and frames/s. The numbers are read from counters the runtime keeps anyway,
without taking the graph's lock, so watching costs the run next to nothing. The server stops when the run ends.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
WINDOW_S = 2.0       # rates and recent means are over this window
SAMPLE_EVERY_S = 0.2
POLL_MS = 500


class _LiveLabels:
    """Stands in for a profile while laying out, so that nodes have room for the two live lines."""

    def node_stats(self, node) -> dict | None:
        return {"_live": True} if node.kind == "calculator" else None

    def edge_drops(self, edge, nodes) -> int:
        return 0


class Dashboard:
    """Serve a live page for `graph` (a :class:`posegraph.Graph`, started or about to be)."""

    def __init__(self, graph: Any, port: int | None = None, *, interval_ms: int = POLL_MS, engine: str = "auto"):
        self.graph = graph
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
    def _frames(self, nodes) -> int:
        counts = self.graph.input_counts() if hasattr(self.graph, "input_counts") else {}
        frames = max(counts.values(), default=0)
        if not frames:
            frames = max((n.emitted for n in nodes if n.is_source), default=0)
        return frames

    def snapshot(self) -> dict:
        """Current per-node counters and queue depths, with rates over the last WINDOW_S seconds."""
        g = self.graph
        nodes = list(getattr(g, "nodes", ()) or ())
        now = time.perf_counter()
        counters = {n.name: (n.process_count, n.process_ns) for n in nodes}
        frames = self._frames(nodes)
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

    # -- server ----------------------------------------------------------------------------------------------
    def start(self) -> str:
        """Bind 127.0.0.1 and serve in a background thread; returns the page's URL."""
        self._page = self.render_page().encode("utf-8")
        dashboard = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "posegraph-dashboard"
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stalls)

            def do_GET(self):  # noqa: N802 - http.server's name
                dashboard.requests += 1
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
                if host not in ("127.0.0.1", "localhost", ""):  # no DNS rebinding
                    self._send(403, b"forbidden", "text/plain")
                    return
                path = self.path.split("?", 1)[0]
                if path in ("/", "/index.html"):
                    self._send(200, dashboard._page, "text/html; charset=utf-8")
                elif path == "/stats.json":
                    self._send(200, dashboard._stats_body(), "application/json")
                else:
                    self._send(404, b"not found", "text/plain")

            def _send(self, code: int, body: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # quiet
                pass

        ports = [self.requested_port] if self.requested_port is not None else [DEFAULT_PORT, 0]
        error: OSError | None = None
        for port in ports:
            try:
                server = ThreadingHTTPServer((HOST, port), Handler)
                break
            except OSError as exc:
                error = exc
        else:
            raise OSError(f"cannot serve the dashboard on {HOST}:{ports[-1]}: {error}")
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="posegraph-dashboard", daemon=True)
        self._thread.start()
        return self.url

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(2.0)

    def __enter__(self) -> "Dashboard":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["Dashboard", "HOST", "DEFAULT_PORT"]
