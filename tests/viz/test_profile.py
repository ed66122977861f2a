"""The trace a run writes (threads, slices, flow arrows, metadata), the `posegraph profile` report and the
timing overlay on the drawing."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET

import pytest

from posegraph import Graph
from posegraph.cli import main
from posegraph.profiler import NodeProfile
from posegraph.viz import build_model, draw, load_trace, table
from posegraph.viz.trace import ProfileOverlay

from .conftest import GRAPHS

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def run_trace(tmp_path_factory):
    """Run viz_run.pbtxt (ticker -> flow limiter -> slow 4 ms -> fast 1 ms, back edge) with a trace."""
    path = tmp_path_factory.mktemp("trace") / "trace.json"
    graph = Graph(GRAPHS / "viz_run.pbtxt", trace_path=path)
    outputs = []
    graph.observe_output("done", lambda p: outputs.append(p.timestamp))
    graph.start()
    graph.wait_until_done(timeout=60)
    stats = {s.name: s for s in graph.node_stats()}
    return path, json.loads(path.read_text()), stats, outputs


def test_trace_has_thread_rows_slices_and_metadata(run_trace):
    _, data, stats, outputs = run_trace
    events = data["traceEvents"]
    threads = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert len(threads) >= 1 and all(name.startswith("posegraph-") for name in threads.values())
    slices = [e for e in events if e["ph"] == "X"]
    assert {e["tid"] for e in slices} <= set(threads)
    for name, s in stats.items():
        process = [e for e in slices if e["name"] == name and e["cat"] == ("source" if name == "ticker" else
                                                                             "process")]
        closes = [e for e in slices if e["name"] == name and e["cat"] == "close"]
        assert len(process) == s.process_count and len(closes) == 1
    # the source's slices carry the timestamp they sent
    ticks = [e["args"].get("sent") for e in slices if e["name"] == "ticker" and e["cat"] == "source"]
    assert [t for t in ticks if t is not None] == [i * 1000 for i in range(60)]
    meta = data["metadata"]["posegraph"]
    assert [n["name"] for n in meta["nodes"]] == ["ticker", "limiter", "slow", "fast"]
    assert meta["nodes"][1]["back_edges"] == ["done"]
    prof = {n["node"]: n for n in meta["profile"]["nodes"]}
    assert prof["limiter"]["dropped"] == stats["limiter"].dropped > 0
    assert prof["slow"]["calls"] == stats["slow"].process_count == len(outputs)
    assert meta["dropped_inputs"] == {}


def test_one_row_type_graph_counters_and_trace_agree_older_traces_still_read(run_trace, tmp_path):
    path, data, stats, _ = run_trace
    written = {n["node"]: n for n in data["metadata"]["posegraph"]["profile"]["nodes"]}
    trace = load_trace(path)
    assert {type(r) for r in trace.rows} == {NodeProfile}
    for r in trace.rows:
        assert r.calls == written[r.node]["calls"] == stats[r.node].process_count
        assert r.wait_mean_ms == written[r.node]["wait_mean_ms"] >= 0  # queue wait: the graph's counters
        assert r.wait_p90_ms == written[r.node]["wait_p90_ms"]
        assert written[r.node]["latency_mean_ms"] == -1.0 and r.latency_mean_ms >= 0  # input latency: the trace's
    # traces written before the rows were one type named the queue wait latency_*
    old = json.loads(json.dumps(data))
    for row in old["metadata"]["posegraph"]["profile"]["nodes"]:
        row["latency_mean_ms"], row["latency_p90_ms"] = row.pop("wait_mean_ms"), row.pop("wait_p90_ms")
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert [(r.node, r.wait_mean_ms, r.wait_p90_ms) for r in load_trace(tmp_path / "old.json").rows] == \
        [(r.node, r.wait_mean_ms, r.wait_p90_ms) for r in trace.rows]


def test_flow_arrows_join_a_packets_producer_to_its_consumer(run_trace):
    _, data, _, outputs = run_trace
    events = data["traceEvents"]
    slices = [e for e in events if e["ph"] == "X"]
    meta = data["metadata"]["posegraph"]
    produces = {n["name"]: set(n["outputs"]) for n in meta["nodes"]}
    consumes = {n["name"]: set(n["inputs"]) for n in meta["nodes"]}
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    assert starts and set(starts) == set(ends)

    def enclosing(ev):
        found = [s for s in slices if s["tid"] == ev["tid"] and s["ts"] <= ev["ts"] <= s["ts"] + s["dur"]]
        assert len(found) == 1, ev
        return found[0]

    pairs = set()
    for fid, start in starts.items():
        end = ends[fid]
        assert end["bp"] == "e" and end["cat"] == start["cat"] == "packet" and end["name"] == start["name"]
        producer, consumer = enclosing(start), enclosing(end)
        stream = start["name"]
        assert stream in produces[producer["name"]] and stream in consumes[consumer["name"]]
        assert producer["args"]["sent"] == consumer["args"]["timestamp"]
        assert producer["ts"] <= consumer["ts"]
        pairs.add((producer["name"], consumer["name"]))
    assert {("ticker", "limiter"), ("limiter", "slow"), ("slow", "fast")} <= pairs
    # every frame that went through reached 'fast' from 'slow' with an arrow
    slow_to_fast = [f for f in starts.values() if f["name"] == "worked"]
    assert len(slow_to_fast) == len(outputs)


def test_report_table_sorted_by_time_with_latency_and_drops(run_trace):
    path, _, stats, outputs = run_trace
    trace = load_trace(path)
    rows = {r.node: r for r in trace.rows}
    assert [r.total_ms for r in trace.rows] == sorted((r.total_ms for r in trace.rows), reverse=True)
    assert abs(sum(r.percent for r in trace.rows) - 100.0) < 1e-6
    assert rows["slow"].calls == len(outputs) and rows["limiter"].dropped == stats["limiter"].dropped
    slow = rows["slow"]
    assert 3.9 <= slow.p50_ms <= slow.p90_ms <= slow.max_ms and 3.9 <= slow.mean_ms <= slow.max_ms
    assert slow.stddev_ms >= 0 and slow.fps == pytest.approx(slow.calls / trace.wall_s)
    assert abs(rows["slow"].total_ms - stats["slow"].process_ns / 1e6) < 0.01
    # 'fast' starts on a frame only after 'slow' spent its ~4 ms on it: its input latency says so
    assert rows["fast"].latency_mean_ms >= 0.9 * rows["slow"].mean_ms
    assert rows["slow"].latency_mean_ms < rows["fast"].latency_mean_ms
    assert rows["fast"].wait_mean_ms >= 0.0
    # the graph wrote the same input latency into the trace's metadata
    written = trace.metadata["input_latency"]
    for r in trace.rows:
        if r.node in written:
            assert written[r.node]["mean_ms"] == pytest.approx(r.latency_mean_ms, abs=2e-3)
            assert written[r.node]["p90_ms"] == pytest.approx(r.latency_p90_ms, abs=2e-3)
    assert set(written) == {"limiter", "slow", "fast"}
    assert trace.frames == 60 and trace.fps > 0 and len(trace.flows) > 0
    text = table(trace)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["node", "calculator", "calls", "fps"]
    body = [line.split()[0] for line in lines[2:2 + len(trace.rows)]]
    assert body == [r.node for r in trace.rows]
    assert "60 frames" in text


def test_cli_profile(run_trace, tmp_path, capsys):
    path = run_trace[0]
    html = tmp_path / "timeline.html"
    assert main(["profile", str(path), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "slow" in out and "limiter" in out and "in-lat" in out
    page = html.read_text()
    assert "Content-Security-Policy" in page and 'id="pg-timeline"' in page
    assert main(["profile", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {n["node"] for n in data["nodes"]} == {"ticker", "limiter", "slow", "fast"}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["profile", str(bad)]) == 1
    assert "not JSON" in capsys.readouterr().err


def test_profile_overlay_on_the_drawing(run_trace, tmp_path):
    path = run_trace[0]
    trace = load_trace(path)
    out = tmp_path / "profiled.svg"
    draw(GRAPHS / "viz_run.pbtxt", out, profile=path)
    root = ET.fromstring(out.read_text())
    ns = "{http://www.w3.org/2000/svg}"
    nodes = {g.get("data-name"): g for g in root.iter(f"{ns}g") if g.get("data-kind") == "calculator"}
    slow = trace.row("slow")
    texts = [t.text for t in nodes["slow"].iter(f"{ns}text")]
    assert f"{slow.mean_ms:.2f} ms \u00b7 p90 {slow.p90_ms:.2f} ms" in texts
    assert f"{slow.calls} calls \u00b7 {slow.percent:.1f}%" in texts
    fills = {name: g.find(f"{ns}rect").get("style") for name, g in nodes.items()}
    assert all(f and f.startswith("fill:#") for f in fills.values())
    # more time, redder: compare the green channel of the fill colours
    green = {name: int(f[len("fill:#") + 2:len("fill:#") + 4], 16) for name, f in fills.items()}
    assert green["slow"] < green["limiter"]
    drops = [g for g in root.iter(f"{ns}g") if "drops" in (g.get("class") or "").split()]
    assert len(drops) == 1 and drops[0].get("data-stream") == "ticks"
    label = "".join(drops[0].find(f"{ns}text").itertext())
    assert f"{trace.row('limiter').dropped} dropped" in label
    # the overlay in the collapsed view sums a subgraph's members
    model = build_model(GRAPHS / "viz_main.pbtxt").collapsed()
    (box,) = [n for n in model.nodes if n.kind == "subgraph"]
    fake = load_trace(path)
    fake.rows = [dataclasses.replace(row, node=member) for row, member in zip(fake.rows, box.members)]
    stats = ProfileOverlay(fake).node_stats(box)
    assert stats["total_ms"] == pytest.approx(sum(r.total_ms for r in fake.rows))


def test_report_reads_a_plain_trace_without_posegraph_metadata(run_trace, tmp_path):
    path, data, stats, _ = run_trace
    plain = {"traceEvents": [e for e in data["traceEvents"] if e["ph"] in ("M", "X")]}  # no flows, no metadata
    other = tmp_path / "plain.json"
    other.write_text(json.dumps(plain))
    trace = load_trace(other)
    rows = {r.node: r for r in trace.rows}
    assert rows["slow"].calls == stats["slow"].process_count
    assert rows["limiter"].dropped == 0 and rows["slow"].wait_mean_ms == -1.0  # unknown without metadata
    assert trace.flows == [] and trace.wall_s > 0
    assert rows["fast"].latency_mean_ms > 0  # still derived from the slices' packet timestamps
    assert " - " in table(trace) or table(trace).splitlines()[2].rstrip().endswith("-")
