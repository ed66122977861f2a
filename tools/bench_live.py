"""Live mode benchmark: a shared video paced at 30 frames/s into the live BlazePose graph, as from a camera.

    python tools/bench_live.py [--video PATH] [--runs 2] [--no-outputs]

Two cases, each a full `posegraph run pose_tracking_cpu --live` graph (flow limiter, source on its own thread,
annotated H.264 video and JSONL written unless --no-outputs):

- normal: the graph as shipped. Target: 0 frames dropped, latency (capture -> result) p95 < 40 ms on 2 cores.
- slowed: every TFLite model invocation run three times (the models at 3x their cost). Target: the graph stays
  live, latency p95 < 2 frame intervals + one frame's processing time (admitted -> result, median), and
  frames in = processed + dropped exactly.

Before the measured runs the graph runs once on a few frames (models loaded, Numba cache warm), as a camera app
does before its camera starts. Prints one row per run and whether each target is met; exits 1 when one is not.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "media" / "video_dance_single_synthetic.mp4"  # 576x576, 30 fps, 120 frames


def build(video: Path, outputs: Path | None, live: bool = True):
    from posegraph import Graph
    from posegraph.run_media import LiveMonitor, MediaPlan, load_config, rewrite_for_live

    config, search = load_config("pose_tracking_cpu")
    result, _ = rewrite_for_live(config, live=live, paced=live, watch=False)
    graph = Graph(config, search_paths=search)
    monitor = LiveMonitor(MediaPlan(config, search, live=live, result_stream=result))
    monitor.attach(graph)
    side = {"input_path": str(video)}
    if outputs is not None:
        side |= {"output_video_path": str(outputs / "out.mp4"), "landmarks_path": str(outputs / "out.jsonl")}
    return graph, monitor, side


def run_once(video: Path, outputs: Path | None, max_frames: int | None = None) -> dict:
    graph, monitor, side = build(video, outputs)
    if max_frames:
        side["max_frames"] = max_frames
    started = time.perf_counter()
    graph.start(side)
    monitor.started(graph)
    graph.wait_until_done(timeout=300)
    wall = time.perf_counter() - started
    latencies = np.asarray(monitor.latencies_ms)
    processing = np.asarray(monitor.processing_ms)
    limiter = next(s for s in graph.node_stats() if s.name == "live_flow_limiter")
    return {"in": monitor.frames_in, "processed": monitor.processed, "dropped": monitor.dropped,
            "limiter_dropped": limiter.dropped, "wall": wall,
            "p50": float(np.percentile(latencies, 50)), "p95": float(np.percentile(latencies, 95)),
            "max": float(latencies.max()), "processing_p50": float(np.percentile(processing, 50))}


def slow_models(factor: int):
    """Make every TFLite invocation cost `factor` times as much (it runs `factor` times); returns an undo."""
    from posegraph.calculators.inference.tflite_model import TfliteModel

    original = TfliteModel.run

    def run(self, *tensors):
        for _ in range(factor - 1):
            original(self, *tensors)
        return original(self, *tensors)

    TfliteModel.run = run
    return lambda: setattr(TfliteModel, "run", original)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--runs", type=int, default=2, help="measured runs per case")
    parser.add_argument("--no-outputs", action="store_true", help="do not write the annotated video and JSONL")
    args = parser.parse_args(argv)
    if not args.video.is_file():
        print(f"video not found: {args.video}", file=sys.stderr)
        return 2
    os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".venv" / "numba-cache"))
    interval = 1000 / 30
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        outputs = None if args.no_outputs else Path(tmp)
        run_once(args.video, outputs, max_frames=10)  # warm-up
        print(f"{args.video.name}, paced at its 30 frames/s, {os.cpu_count()} cores; outputs "
              f"{'off' if outputs is None else 'H.264 mp4 + JSONL'}")
        print(f"{'case':8} {'in':>4} {'proc':>5} {'drop':>5} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
              f"{'proc ms':>8}  target")
        for case in ("normal", "slowed"):
            undo = slow_models(3) if case == "slowed" else (lambda: None)
            try:
                for _ in range(args.runs):
                    r = run_once(args.video, outputs)
                    exact = r["in"] == r["processed"] + r["dropped"] and r["dropped"] == r["limiter_dropped"]
                    if case == "normal":
                        met = exact and r["dropped"] == 0 and r["p95"] < 40
                        target = "0 dropped, p95 < 40 ms"
                    else:
                        bound = 2 * interval + r["processing_p50"]
                        met = exact and r["p95"] < bound
                        target = f"p95 < {bound:.1f} ms (2 intervals + processing), exact counts"
                    ok &= met
                    print(f"{case:8} {r['in']:4d} {r['processed']:5d} {r['dropped']:5d} {r['p50']:7.1f} "
                          f"{r['p95']:7.1f} {r['max']:7.1f} {r['processing_p50']:8.1f}  "
                          f"{'met' if met else 'NOT met'}: {target}{'' if exact else ' (counts inexact!)'}")
            finally:
                undo()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
