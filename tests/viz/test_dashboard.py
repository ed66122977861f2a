"""The live dashboard: loopback only, live per-node numbers and queue depths, closed with the run."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from posegraph import Graph
from posegraph.viz.dashboard import DEFAULT_PORT, Dashboard

from .conftest import GRAPHS

pytestmark = pytest.mark.timeout(90)

# a source faster than the slow stage, so packets queue up in front of it
QUEUEING = """
output_stream: "done"
node { calculator: "CountSourceCalculator" name: "ticker" output_stream: "ticks"
       options { [posegraph.CountSourceOptions.ext] { count: 300 step: 1000 interval_ms: 2 } } }
node { calculator: "DelayCalculator" name: "slow" input_stream: "ticks" output_stream: "worked"
       options { [posegraph.DelayOptions.ext] { ms: 4 } } }
node { calculator: "DelayCalculator" name: "fast" input_stream: "worked" output_stream: "done"
       options { [posegraph.DelayOptions.ext] { ms: 0.5 } } }
"""


def get(url: str, timeout: float = 5.0, host: str | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def get_json(url: str) -> dict:
    status, body, headers = get(url)
    assert status == 200 and headers["Content-Type"] == "application/json"
    return json.loads(body)


def test_dashboard_serves_live_numbers_and_closes(tmp_path):
    graph = Graph(QUEUEING)
    dash = Dashboard(graph, port=0)
    url = dash.start()
    try:
        assert dash._server.server_address[0] == "127.0.0.1" and url == f"http://127.0.0.1:{dash.port}/"
        status, page, headers = get(url)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        text = page.decode()
        assert "connect-src 'self'" in text and 'data-page="dashboard"' in text
        for name in ("ticker", "slow", "fast"):
            assert f'data-name="{name}"' in text
        before = get_json(url + "stats.json")
        assert not before["started"] and before["nodes"] == {}
        graph.start()
        samples = []
        deadline = time.monotonic() + 30
        while not graph.done and time.monotonic() < deadline:
            samples.append(get_json(url + "stats.json"))
            time.sleep(0.25)
        graph.wait_until_done(timeout=30)
        final = get_json(url + "stats.json")
    finally:
        dash.close()
    samples = [s for s in samples if s["started"]]  # (an answer may be up to 0.1 s old)
    assert len(samples) >= 3
    calls = [s["nodes"]["slow"]["calls"] for s in samples]
    assert calls == sorted(calls) and calls[-1] > calls[0]
    assert max(s["fps"] for s in samples) > 20
    live = [s["nodes"]["slow"] for s in samples if s["nodes"]["slow"]["calls"] > 5]
    assert live and all(3.5 <= n["recent_mean_ms"] <= 40 for n in live)
    assert max(n["recent_share"] for n in live) > 0.5  # the slow stage takes most of the time
    queued = [q for s in samples for q in s["queues"]]
    assert queued and {(q[0], q[1]) for q in queued} <= {("slow", "ticks"), ("fast", "worked")}
    assert max(q[2] for q in queued if q[0] == "slow") > 5
    assert max(s["nodes"]["slow"]["queued"] for s in samples) > 5
    assert final["done"] and final["frames"] == 300 and final["nodes"]["fast"]["calls"] == 300
    assert graph.frames == graph.profile().frames == 300  # one frame counter: the graph's
    assert final["nodes"]["slow"]["queued"] == 0
    with pytest.raises(urllib.error.URLError):
        get(url + "stats.json", timeout=2)


def test_dashboard_refuses_other_hosts_and_unknown_paths():
    graph = Graph(GRAPHS / "viz_main.pbtxt")
    with Dashboard(graph, port=0) as dash:
        assert get(dash.url, host="attacker.example:80")[0] == 403
        assert get(dash.url + "etc/passwd")[0] == 404
        assert get(dash.url + "stats.json", host=f"localhost:{dash.port}")[0] == 200


def test_default_port_falls_back_when_taken():
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", DEFAULT_PORT))
        blocker.listen(1)
    except OSError:
        pass  # something else holds it already: the fallback is exercised all the same
    try:
        with Dashboard(Graph(GRAPHS / "viz_main.pbtxt")) as dash:
            assert dash.port != DEFAULT_PORT
            assert get(dash.url + "stats.json")[0] == 200
    finally:
        blocker.close()


def test_cli_run_with_dashboard(tmp_path, dashboard_run):
    graph_file = tmp_path / "queueing.pbtxt"
    graph_file.write_text(QUEUEING)
    run = dashboard_run([str(graph_file)], timeout=20)
    url = run.url
    assert url, run.err.getvalue()
    seen = 0
    while run.thread.is_alive() and time.monotonic() < run.deadline:
        try:
            snapshot = get_json(url + "stats.json")
        except (urllib.error.URLError, ConnectionError):
            break  # the run ended between the check and the request
        seen = max(seen, snapshot["nodes"].get("fast", {}).get("calls", 0))
        time.sleep(0.2)
    run.thread.join(30)
    assert run.rc == 0 and seen > 0
    with pytest.raises(urllib.error.URLError):
        get(url, timeout=2)
