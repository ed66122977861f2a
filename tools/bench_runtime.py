"""Runtime overhead benchmark: numbers and ratios measured in one run (machines here are shared and noisy).

    python tools/bench_runtime.py [--packets N] [--repeat R]

Prints: microseconds per packet per node hop on a chain of 10 pass-through nodes; packets/s through a
fan-out/fan-in graph and through a graph with a back edge; trace on vs off; and the speed-up of two GIL-releasing
nodes on parallel branches with 2 threads vs 1.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import posegraph.testing  # noqa: F401  (DelayCalculator: sleeps, GIL released, as in inference)
from posegraph import Graph


def chain_text(hops: int) -> str:
    names = ["in"] + [f"s{i}" for i in range(hops)]
    nodes = "".join(f"node {{ calculator: 'PassThroughCalculator' input_stream: '{a}' output_stream: '{b}' }}\n"
                    for a, b in zip(names, names[1:]))
    return f"input_stream: 'in'\noutput_stream: '{names[-1]}'\nmax_queue_size: 1000\n{nodes}"


FAN = """
input_stream: 'in'  output_stream: 'out'  max_queue_size: 1000
node { calculator: 'PassThroughCalculator' input_stream: 'in' output_stream: 'a' }
node { calculator: 'PassThroughCalculator' input_stream: 'in' output_stream: 'b' }
node { calculator: 'PassThroughCalculator' input_stream: 'in' output_stream: 'c' }
node { calculator: 'MergeCalculator' input_stream: 'a' input_stream: 'b' input_stream: 'c' output_stream: 'out' }
"""

BACK_EDGE = """
input_stream: 'in'  output_stream: 'out'  max_queue_size: 1000
node { calculator: 'PreviousLoopbackCalculator' input_stream: 'MAIN:in' input_stream: 'LOOP:out'
       input_stream_info { tag_index: 'LOOP' back_edge: true } output_stream: 'PREV_LOOP:prev' }
node { calculator: 'MergeCalculator' input_stream: 'in' input_stream: 'prev' output_stream: 'out' }
"""

PARALLEL = """
input_stream: 'in'  output_stream: 'out'
node { calculator: 'DelayCalculator' input_stream: 'in' output_stream: 'a'
       options { [posegraph.DelayOptions.ext] { ms: 5 } } }
node { calculator: 'DelayCalculator' input_stream: 'in' output_stream: 'b'
       options { [posegraph.DelayOptions.ext] { ms: 5 } } }
node { calculator: 'MergeCalculator' input_stream: 'a' input_stream: 'b' output_stream: 'out' }
"""


def pump(text: str, packets: int, threads: int | None = None) -> float:
    """Seconds to push `packets` through the graph until it is idle with its inputs closed (closing the nodes and
    joining the workers not timed)."""
    graph = Graph(text, num_threads=threads)
    count = [0]
    graph.observe_output(graph.spec.output_streams[0], lambda p: count.__setitem__(0, count[0] + 1))
    graph.start()
    start = time.perf_counter()
    for t in range(packets):
        graph.add_packet("in", t, t)
    graph.close_all_inputs()
    graph.wait_until_idle(timeout=120)
    elapsed = time.perf_counter() - start
    graph.close(timeout=120)
    assert count[0] == packets, (count[0], packets)
    return elapsed


def step_through(text: str, packets: int, trace: bool = False) -> float:
    """Seconds for `packets` frames through the graph with ``process()``, one at a time on the calling thread
    (after one untimed frame); `trace`: with a Chrome trace recorded (written untimed)."""
    with tempfile.TemporaryDirectory() as tmp:
        graph = Graph(text, num_threads=1, trace_path=Path(tmp) / "trace.json" if trace else None)
        graph.start(synchronous=True)
        stream = graph.spec.input_streams[0]
        graph.process({stream: -1}, timestamp=-1)
        start = time.perf_counter()
        for t in range(packets):
            graph.process({stream: t}, timestamp=t)
        elapsed = time.perf_counter() - start
        graph.close(timeout=120)
    return elapsed


def best(fn, repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    n, r = args.packets, args.repeat

    hops = 10
    chain = best(lambda: pump(chain_text(hops), n), r)
    chain1 = best(lambda: pump(chain_text(hops), n, threads=1), r)
    print(f"chain of {hops} pass-through nodes: {chain / n / hops * 1e6:6.2f} us per packet per hop "
          f"(2 threads), {chain1 / n / hops * 1e6:6.2f} us (1 thread)   target <= 15 us")
    fan = best(lambda: pump(FAN, n), r)
    print(f"fan-out/fan-in (3 branches + merge): {n / fan:9.0f} packets/s")
    back = best(lambda: pump(BACK_EDGE, n), r)
    print(f"back edge (previous loopback + merge): {n / back:9.0f} packets/s")

    # Frame at a time (the caller runs every node): with a feeding thread and a worker, each run's wall time
    # depends on how the two hand the GIL over, and the same code measured 0.997x, 1.19x and 1.05x in three runs
    # on an idle machine (with two workers 0.89-1.20x); this way 1.046-1.061x in three.
    off, on = [], []
    for _ in range(max(7, r)):  # interleaved, so drift in machine load hits both sides alike
        off.append(step_through(chain_text(hops), n))
        on.append(step_through(chain_text(hops), n, trace=True))
    ratio = min(on) / min(off)  # best of each: the least disturbed runs
    print(f"trace on vs off (chain of {hops}, frame at a time): {ratio:5.3f}x   target <= 1.03x")

    frames = 60
    t1 = pump(PARALLEL, frames, threads=1)
    t2 = pump(PARALLEL, frames, threads=2)
    print(f"two GIL-releasing 5 ms nodes on parallel branches: {t1 / frames * 1e3:5.2f} ms/frame with 1 thread, "
          f"{t2 / frames * 1e3:5.2f} ms with 2 -> {t1 / t2:4.2f}x   target ~2x")
    if args.json:
        args.json.write_text(json.dumps({
            "hop_us_1_worker": chain1 / n / hops * 1e6, "hop_us_2_workers": chain / n / hops * 1e6,
            "fan_packets_per_s": n / fan, "back_edge_packets_per_s": n / back, "trace_ratio": ratio,
            "parallel_speedup": t1 / t2}))


if __name__ == "__main__":
    main()
