"""The dashboard under connections that idle, outlive the run or hang up; and its live media panel (annotated
frames, frames/s and latency) during a real live run."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
import urllib.request

import cv2
import numpy as np
import pytest

import posegraph.viz.dashboard as dashboard_module
from posegraph import Graph
from posegraph.viz.dashboard import MAX_CONNECTIONS, Dashboard

pytestmark = pytest.mark.timeout(90)

TINY = """
input_stream: "in"
output_stream: "out"
node { calculator: "PassThroughCalculator" input_stream: "in" output_stream: "out" }
"""


@pytest.fixture
def dash(monkeypatch):
    monkeypatch.setattr(dashboard_module, "IDLE_TIMEOUT_S", 2.0)
    board = Dashboard(Graph(TINY), port=0)
    board.start()
    yield board
    board.close()


def _wait(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_idle_connections_are_bounded_and_closed(dash, monkeypatch):
    threads_before = threading.active_count()
    sockets = [socket.create_connection(("127.0.0.1", dash.port), timeout=5) for _ in range(40)]
    try:
        assert _wait(lambda: dash.connections == MAX_CONNECTIONS, 5)  # 40 idle clients, 16 served at once
        assert threading.active_count() <= threads_before + MAX_CONNECTIONS
        replies = []
        for s in sockets:  # every one is answered: 503 and closed when over the limit, closed when idle
            try:
                replies.append(s.recv(200))
            except OSError:
                replies.append(b"")
        assert sum(r.startswith(b"HTTP/1.1 503") for r in replies) >= 40 - 2 * MAX_CONNECTIONS
        assert _wait(lambda: dash.connections == 0, 5)  # the idle ones timed out: their threads end
        assert _wait(lambda: threading.active_count() <= threads_before + 1, 5)
        with urllib.request.urlopen(dash.url + "stats.json", timeout=5) as response:
            assert response.status == 200  # and the dashboard still serves
    finally:
        for s in sockets:
            s.close()


def test_keep_alive_connection_gets_nothing_after_close(dash):
    connection = http.client.HTTPConnection("127.0.0.1", dash.port, timeout=5)
    connection.request("GET", "/stats.json")
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Connection") != "close"
    response.read()
    dash.close()
    try:
        connection.request("GET", "/stats.json")
        status = connection.getresponse().status
    except (ConnectionError, http.client.HTTPException, OSError):
        status = None
    assert status is None
    connection.close()


def test_clients_that_hang_up_print_nothing(dash, capfd):
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", dash.port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # the page is large: the reply outlives the client
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # hang up hard (RST)
        s.close()
    s = socket.create_connection(("127.0.0.1", dash.port), timeout=5)
    s.sendall(b"GET /stats.json HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # half a request, then gone
    s.close()
    time.sleep(1.0)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception" not in err, err


def test_live_panel_shows_frames_and_numbers_during_a_run(tmp_path, dashboard_run):
    from .conftest import DANCE
    if not DANCE.is_file():
        pytest.skip(f"shared media not found: {DANCE}")
    run = dashboard_run(["pose_tracking_cpu", "--input", str(DANCE), "--live", "--max-frames", "75"], timeout=30)
    url = run.url
    assert url, run.err.getvalue()
    with urllib.request.urlopen(url, timeout=5) as response:
        page = response.read().decode()
    assert 'id="pg-media-video"' in page and "frame.jpg" in page and "live.json" in page
    frames, snapshots = [], []
    while run.thread.is_alive() and time.monotonic() < run.deadline:
        try:
            with urllib.request.urlopen(url + "live.json", timeout=5) as response:
                snapshots.append(json.loads(response.read()))
            with urllib.request.urlopen(url + "frame.jpg?after=-1", timeout=5) as response:
                if response.status == 200:
                    assert response.headers["Content-Type"] == "image/jpeg"
                    frames.append(cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR))
        except OSError:
            break  # the run ended between the check and the request
        time.sleep(0.2)
    run.thread.join(30)
    assert run.rc == 0
    assert frames and frames[-1].shape == (576, 576, 3)  # the annotated video, as produced
    live = [s for s in snapshots if s["processed"]]
    assert live and live[-1]["live"] and live[-1]["video"] and live[-1]["fps"] > 5
    assert live[-1]["latency_p50_ms"] is not None and live[-1]["series"]
    assert all(s["processed"] + s["dropped"] <= s["frames_in"] for s in live)
