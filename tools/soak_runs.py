"""Repeated runs: one shipped graph run N times in one process; memory, threads and open files must stay flat.

    python tools/soak_runs.py [--graph pose_tracking_cpu] [--input person_single_fullbody_man_casual.jpg]
                              [--runs 300] [--every 50] [--gc]

Each run builds a new `Graph`, starts it with the input file as ``input_path``, and closes it, as an app or a batch
worker does per file. Prints RSS, thread count and open file descriptors after the first run and every `--every`
runs, and exits non-zero when RSS grew by 50 MB or more from the first run, or threads or descriptors grew.
`--gc` calls ``gc.collect()`` after every run (the default leaves collection to the interpreter, as apps do;
`--no-auto-gc` disables the cycle collector entirely, which shows what is freed by reference counting alone).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from posegraph import Graph

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2] / "shared"))
LIMIT_MB = 50.0


def rss_mb() -> float:
    """Resident set size of this process now (Linux /proc)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@dataclass(frozen=True)
class Sample:
    run: int
    rss_mb: float
    threads: int  # Python threads
    native_threads: int  # every thread of the process, the interpreters' thread pools included
    fds: int

    def __str__(self) -> str:
        return (f"run {self.run:4d}: RSS {self.rss_mb:7.1f} MB, threads {self.threads} "
                f"({self.native_threads} native), open fds {self.fds}")


def sample(run: int) -> Sample:
    time.sleep(0.2)  # a joined thread has returned from Python but may take a moment to leave /proc/self/task
    return Sample(run, rss_mb(), threading.active_count(), len(os.listdir("/proc/self/task")), open_fds())


def run_once(graph_name: str, side: dict) -> int:
    """One complete run; returns how many packets the graph's first output gave (a check that it worked)."""
    graph = Graph(graph_name)
    count = 0

    def seen(_packet) -> None:
        nonlocal count
        count += 1

    if graph.spec.output_streams:
        graph.observe_output(graph.spec.output_streams[0], seen)
    graph.start(side)
    graph.close(timeout=120)
    return count


def soak_runs(graph_name: str, side: dict, runs: int, every: int, collect: bool,
              report=print) -> list[Sample]:
    """Run the graph `runs` times; samples after run 1 and every `every` runs (and after the last)."""
    samples = []
    for run in range(1, runs + 1):
        if run_once(graph_name, side) == 0:
            raise SystemExit(f"run {run} gave no output")
        if collect:
            gc.collect()
        if run == 1 or run % every == 0 or run == runs:
            samples.append(sample(run))
            report(samples[-1])
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default="pose_tracking_cpu")
    parser.add_argument("--input", default="person_single_fullbody_man_casual.jpg",
                        help="a file in ../shared/media, or a path")
    parser.add_argument("--max-frames", type=int, default=0, help="frames per run (0: all)")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--gc", action="store_true", help="gc.collect() after every run")
    parser.add_argument("--no-auto-gc", action="store_true", help="disable the cycle collector")
    args = parser.parse_args()
    path = Path(args.input) if Path(args.input).exists() else SHARED / "media" / args.input
    side: dict = {"input_path": str(path)}
    if args.max_frames:
        side["max_frames"] = args.max_frames
    if args.no_auto_gc:
        gc.disable()
    start = time.perf_counter()
    samples = soak_runs(args.graph, side, args.runs, args.every, args.gc)
    first, last = samples[0], samples[-1]
    growth = last.rss_mb - first.rss_mb
    print(f"{args.runs} runs of {args.graph} on {path.name} in {time.perf_counter() - start:.0f} s "
          f"(gc.collect() after each: {'yes' if args.gc else 'no'}; cycle collector "
          f"{'off' if args.no_auto_gc else 'on'})")
    print(f"RSS {first.rss_mb:.0f} -> {last.rss_mb:.0f} MB ({growth:+.0f} MB, limit {LIMIT_MB:.0f}); "
          f"threads {first.threads} -> {last.threads} ({first.native_threads} -> {last.native_threads} native); open fds {first.fds} -> {last.fds}")
    ok = (growth < LIMIT_MB and last.threads <= first.threads and last.native_threads <= first.native_threads
          and last.fds <= first.fds)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
