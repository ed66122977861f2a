"""Soak: many frames through the BlazePose tracking graph; memory, threads and throughput must stay flat.

    python tools/soak.py [--frames 20000] [--video video_dance_single_synthetic.mp4] [--window 1000]

The video's frames are decoded once and fed over and over (timestamps keep increasing), so the run measures the
runtime and calculators, not the decoder. Prints RSS growth after warm-up (target < 30 MB), the thread count at
start and end (must be equal), and the throughput of the last window against the first after warm-up (target:
within 10%). Exits non-zero when a target is missed. tests/reliability runs a short version.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

from posegraph import Graph
from posegraph.calculators.types import ImageFrame

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def rss_mb() -> float:
    """Resident set size of this process now (Linux /proc; falls back to the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class SoakResult:
    frames: int
    rss_after_warmup_mb: float
    rss_end_mb: float
    threads_before: int
    threads_after: int
    first_window_fps: float
    last_window_fps: float

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_after_warmup_mb

    @property
    def throughput_ratio(self) -> float:
        return self.last_window_fps / self.first_window_fps


def soak(frames: int, video: Path, window: int, warmup: int) -> SoakResult:
    capture = cv2.VideoCapture(str(video))
    decoded = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        decoded.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    if not decoded:
        raise SystemExit(f"could not decode {video}")
    threads_before = threading.active_count()
    graph = Graph("pose_landmark_cpu")
    arrivals: list[float] = []
    graph.observe_output("poses", lambda p: arrivals.append(time.perf_counter()))
    graph.start({})
    rss_warm = 0.0
    for i in range(frames):
        graph.add_packet("image", ImageFrame(decoded[i % len(decoded)], video.name, i), i * 33_333)
        if i == warmup:
            graph.wait_until_idle(timeout=60)
            rss_warm = rss_mb()
    graph.close(timeout=120)
    rss_end = rss_mb()
    threads_after = threading.active_count()

    def fps(chunk: list[float]) -> float:
        return (len(chunk) - 1) / max(1e-9, chunk[-1] - chunk[0])

    first = arrivals[warmup:warmup + window]
    last = arrivals[-window:]
    return SoakResult(frames, rss_warm, rss_end, threads_before, threads_after, fps(first), fps(last))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--video", default="video_dance_single_synthetic.mp4")
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=500)
    args = parser.parse_args()
    start = time.perf_counter()
    r = soak(args.frames, SHARED / "media" / args.video, args.window, args.warmup)
    print(f"{r.frames} frames in {time.perf_counter() - start:.0f} s")
    print(f"RSS after warm-up {r.rss_after_warmup_mb:.1f} MB, at the end {r.rss_end_mb:.1f} MB: "
          f"growth {r.rss_growth_mb:+.1f} MB (target < 30 MB)")
    print(f"threads before {r.threads_before}, after {r.threads_after} (must be equal)")
    print(f"throughput first window {r.first_window_fps:.1f} fps, last {r.last_window_fps:.1f} fps: "
          f"{r.throughput_ratio:.2f}x (target within 10%)")
    ok = r.rss_growth_mb < 30 and r.threads_before == r.threads_after and abs(r.throughput_ratio - 1) <= 0.10
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
