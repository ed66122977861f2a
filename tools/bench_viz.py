"""Visualizer and dashboard benchmark: numbers and ratios measured in one run (machines here are shared and noisy).

    python tools/bench_viz.py [--graph G.pbtxt] [--seconds S] [--repeat R] [--browser]

Prints: the time to draw the largest shipped graph (subgraphs expanded) to each format, in-process and through
the CLI (target < 1 s); the cost of one dashboard snapshot and of one HTTP poll; the throughput of a busy graph
with the dashboard on and polled twice a second (as its page does; --browser: by a real headless Chromium) vs
off (target: costs < 2%); and the time to write and to analyse a trace.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import posegraph.testing  # noqa: F401  (CountSourceCalculator, DelayCalculator with busy_us)
from posegraph import Graph

REPO = Path(__file__).resolve().parents[1]


def busy_graph(seconds: float) -> str:
    stages = "".join(
        f"node {{ calculator: 'DelayCalculator' name: 'stage{i}' input_stream: 's{i}' output_stream: 's{i + 1}' "
        f"options {{ [posegraph.DelayOptions.ext] {{ busy_us: {150 + 100 * i} }} }} }}\n" for i in range(4))
    return (f"output_stream: 's4'\nmax_queue_size: 20\n"
            f"node {{ calculator: 'CountSourceCalculator' name: 'source' output_stream: 's0' "
            f"options {{ [posegraph.CountSourceOptions.ext] {{ seconds: {seconds} }} }} }}\n{stages}")


def run_once(text: str, dashboard: bool, poll_s: float, use_browser: bool) -> float:
    """Frames per second through the graph (optionally with the dashboard on and watched)."""
    from posegraph.viz.dashboard import Dashboard

    graph = Graph(text)
    count = [0]
    graph.observe_output("s4", lambda p: count.__setitem__(0, count[0] + 1))
    dash = Dashboard(graph, port=0) if dashboard else None
    stop = threading.Event()
    watcher = None
    browser = None
    if dash is not None:
        url = dash.start()
        if use_browser:
            from posegraph.viz.browser import Browser
            browser = Browser()
            browser.open(url)
        else:
            def poll():
                urllib.request.urlopen(url, timeout=5).read()
                while not stop.wait(poll_s):
                    try:
                        urllib.request.urlopen(url + "stats.json", timeout=5).read()
                    except OSError:
                        return
            watcher = threading.Thread(target=poll, daemon=True)
            watcher.start()
    graph.start()
    start = time.perf_counter()
    graph.wait_until_done(timeout=120)
    elapsed = time.perf_counter() - start
    stop.set()
    if watcher is not None:
        watcher.join(5)
    if browser is not None:
        browser.close()
    if dash is not None:
        dash.close()
    return count[0] / elapsed


def bench_drawing(graph: Path | None) -> None:
    from posegraph.viz import build_model, draw
    from posegraph.viz.layout import dot_executable

    graphs = [graph] if graph else sorted((REPO / "graphs").glob("*.pbtxt"))
    if not graphs:
        graphs = [REPO / "tests/viz/graphs/viz_main.pbtxt"]
    sizes = {g: sum(n.kind == "calculator" for n in build_model(g).nodes) for g in graphs}
    largest = max(graphs, key=lambda g: sizes[g])
    model = build_model(largest)
    print(f"largest graph: {largest.relative_to(REPO) if largest.is_relative_to(REPO) else largest} "
          f"({sizes[largest]} nodes, {len(model.clusters)} subgraphs, {len(model.edges)} edges); "
          f"layout: {'dot' if dot_executable() else 'builtin'}")
    with tempfile.TemporaryDirectory() as tmp:
        draw(largest, Path(tmp) / "warm.html")
        for suffix in (".html", ".svg", ".dot") + ((".png",) if dot_executable() else ()):
            times = []
            for _ in range(5):
                start = time.perf_counter()
                draw(largest, Path(tmp) / f"g{suffix}")
                times.append(time.perf_counter() - start)
            print(f"  draw -> {suffix:5s} {min(times) * 1e3:7.1f} ms (best of 5)   target < 1000 ms")
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "posegraph.cli", "viz", str(largest), "-o",
                               str(Path(tmp) / "cli.html")], capture_output=True, text=True, timeout=120)
        wall = time.perf_counter() - start
        print(f"  posegraph viz (new process, imports included): {wall * 1e3:7.1f} ms wall; "
              f"{proc.stdout.strip()}")


def bench_dashboard(seconds: float, repeat: int, use_browser: bool) -> None:
    from posegraph.viz.dashboard import Dashboard

    text = busy_graph(seconds)
    graph = Graph(text)
    graph.start()
    graph.wait_until_done(timeout=120)  # measured on a finished graph: pure CPU cost, no waiting for the GIL
    dash = Dashboard(graph, port=0)
    url = dash.start()
    n = 500
    cpu = time.process_time()
    for _ in range(n):
        dash.snapshot()
    snap = (time.process_time() - cpu) / n
    cpu = time.process_time()
    for _ in range(100):
        dash._cached = None
        urllib.request.urlopen(url + "stats.json", timeout=5).read()
    poll = (time.process_time() - cpu) / 100  # client and server: the server's share is less
    dash.close()
    print(f"dashboard snapshot: {snap * 1e6:7.1f} us CPU; one HTTP poll of stats.json (client + server): "
          f"{poll * 1e3:6.2f} ms CPU -> at 2 polls/s: {2 * poll * 100:.2f}% of one core (upper bound)")
    off, on = [], []
    for _ in range(repeat):  # interleaved, so drift in machine load hits both sides alike
        off.append(run_once(text, False, 0.5, False))
        on.append(run_once(text, True, 0.5, use_browser))
    ratio = max(on) / max(off)
    who = "a headless Chromium" if use_browser else "a client polling every 0.5 s"
    print(f"busy graph ({seconds:.1f} s runs, 4 GIL-holding stages): {max(off):7.1f} frames/s without the "
          f"dashboard, {max(on):7.1f} with it watched by {who}: {ratio:5.3f}x   target >= 0.98x")


def bench_trace(calls: int) -> None:
    from posegraph.viz.trace import load_trace

    text = ("input_stream: 'in' output_stream: 'out' max_queue_size: 1000\n" + "".join(
        f"node {{ calculator: 'PassThroughCalculator' input_stream: '{a}' output_stream: '{b}' }}\n"
        for a, b in zip(["in"] + [f"s{i}" for i in range(9)], [f"s{i}" for i in range(9)] + ["out"])))
    packets = calls // 10
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace.json"
        graph = Graph(text, trace_path=path)
        graph.observe_output("out", lambda p: None)
        graph.start()
        for t in range(packets):
            graph.add_packet("in", t, t)
        graph.close_all_inputs()
        graph.wait_until_idle(timeout=120)
        start = time.perf_counter()
        graph.wait_until_done(timeout=120)  # writes the trace (slices, flows, metadata)
        write = time.perf_counter() - start
        size = path.stat().st_size
        start = time.perf_counter()
        trace = load_trace(path)
        read = time.perf_counter() - start
        flows = len(json.loads(path.read_text())["traceEvents"]) - len(trace.slices)
    print(f"trace of {len(trace.slices)} calls ({size / 1e6:.1f} MB, {len(trace.flows)} flows): written in "
          f"{write:.2f} s, analysed by `posegraph profile` in {read:.2f} s ({flows} other events)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, help="draw this graph instead of the largest shipped one")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each dashboard run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="watch the dashboard with headless Chromium")
    parser.add_argument("--trace-calls", type=int, default=50000)
    args = parser.parse_args()
    bench_drawing(args.graph)
    bench_dashboard(args.seconds, args.repeat, args.browser)
    bench_trace(args.trace_calls)


if __name__ == "__main__":
    main()
