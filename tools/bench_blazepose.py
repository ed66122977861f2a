"""BlazePose speed: the graph against a hand-written loop of the same steps, and against MediaPipe, in one run.

    python tools/bench_blazepose.py [--video video_squats_woman.mp4] [--repeat 3] [--inference-threads 1]
                                    [--mediapipe-python PATH]

Frames are decoded once up front (MediaPipe's figures exclude decoding too). Prints, per mode:
  * loop      - tools/blazepose_loop.BlazePoseLoop, sequential, same kernels and models;
  * graph/sync    - the pose_landmark_cpu graph driven frame by frame with Graph.process (latency per frame);
  * graph/stream  - the same graph fed as fast as back-pressure allows (throughput; later frames overlap
                    smoothing, result assembly and the app's callback with the next frame's inference);
  * file      - the whole pose_tracking_cpu graph from the video file to JSONL and an annotated video;
  * mediapipe - MediaPipe 1.2.2 Tasks PoseLandmarker (VIDEO mode), run in its own environment when one is given
                or found (--mediapipe-python, $MEDIAPIPE_PYTHON, ../mp-venv, .venv-mediapipe); else said so.
plus kernel timings and the time from `posegraph run` to the first frame.

    python tools/bench_blazepose.py --variants [--base ../base] [--repeat 5]

measures instead the options' cost: the pose_landmark_cpu graph (tracking, streaming and frame at a time) with
segmentation off (the default), on, on with smoothing, the full model, and the full model with segmentation; with
--base, also another checkout's default graph (its own .venv), interleaved in the same rounds, each variant in a
fresh subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from posegraph import Graph
from posegraph.calculators.inference.inference_calculator import auto_threads
from posegraph.calculators.types import ImageFrame

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEGRAPH_SHARED", REPO.parent / "shared"))
sys.path.insert(0, str(REPO / "tools"))

from blazepose_loop import BlazePoseLoop  # noqa: E402


def decode(video: Path, limit: int | None) -> tuple[list[np.ndarray], list[int]]:
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while limit is None or len(frames) < limit:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return frames, [round(i * 1000 / fps) * 1000 for i in range(len(frames))]


def summary(per_frame_s: list[float]) -> dict:
    ms = sorted(1e3 * t for t in per_frame_s)
    return {"median_ms": statistics.median(ms), "p90_ms": ms[int(0.9 * (len(ms) - 1))], "mean_ms": statistics.fmean(ms)}


def bench_loop(frames, stamps, static: bool, threads: int) -> dict:
    loop = BlazePoseLoop(static_image_mode=static, num_threads=threads)
    loop.warm_up()
    times = []
    start = time.perf_counter()
    for rgb, ts in zip(frames, stamps):
        t = time.perf_counter()
        loop.process(rgb, ts)
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    return {"frames_per_s": len(frames) / total, **summary(times)}


def _side(static: bool, threads: int) -> dict:
    return {"use_prev_landmarks": not static, "inference_threads": threads}


def bench_graph_sync(frames, stamps, static: bool, threads: int, trace_path: Path | None = None) -> dict:
    graph = Graph("pose_landmark_cpu", trace_path=trace_path)
    graph.start(_side(static, threads), synchronous=True)
    graph.process({"image": ImageFrame(frames[0], "warm-up", 0)}, timestamp=-1)  # opens and compiles everything
    times = []
    start = time.perf_counter()
    for i, (rgb, ts) in enumerate(zip(frames, stamps)):
        t = time.perf_counter()
        graph.process({"image": ImageFrame(rgb, "bench", i)}, timestamp=ts)
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    graph.close(timeout=60)
    return {"frames_per_s": len(frames) / total, **summary(times)}


def bench_graph_stream(frames, stamps, static: bool, threads: int) -> tuple[dict, Graph]:
    graph = Graph("pose_landmark_cpu")
    sent: dict[int, float] = {}
    latency: list[float] = []
    graph.observe_output("poses", lambda p: latency.append(time.perf_counter() - sent[p.timestamp]))
    graph.start(_side(static, threads))
    graph.add_packet("image", ImageFrame(frames[0], "warm-up", 0), -1)
    sent[-1] = time.perf_counter()
    graph.wait_until_idle(timeout=60)
    latency.clear()
    start = time.perf_counter()
    for i, (rgb, ts) in enumerate(zip(frames, stamps)):
        sent[ts] = time.perf_counter()
        graph.add_packet("image", ImageFrame(rgb, "bench", i), ts)
    graph.close(timeout=120)
    total = time.perf_counter() - start
    return {"frames_per_s": len(frames) / total, **summary(latency)}, graph


def bench_file(video: Path, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        graph = Graph("pose_tracking_cpu")
        start = time.perf_counter()
        graph.start({"input_path": str(video), "landmarks_path": f"{tmp}/out.jsonl",
                     "output_video_path": f"{tmp}/out.mp4", "inference_threads": threads})
        graph.wait_until_done(timeout=300)
        total = time.perf_counter() - start
        frames = graph.profile().frames
    return {"frames_per_s": frames / total, "mean_ms": 1e3 * total / frames}


MEDIAPIPE_SCRIPT = r"""
import json, sys, time, cv2, numpy as np
import mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision
video, task, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
cap = cv2.VideoCapture(video); fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
frames = []
while len(frames) < limit:
    ok, bgr = cap.read()
    if not ok: break
    frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
out = {}
for mode in ("video", "image"):
    running = vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE
    lm = vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=task), running_mode=running))
    images = [mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(f)) for f in frames]
    lm.detect(images[0]) if mode == "image" else None
    times = []; start = time.perf_counter()
    for i, image in enumerate(images):
        t = time.perf_counter()
        if mode == "video":
            lm.detect_for_video(image, round(i * 1000 / fps))
        else:
            lm.detect(image)
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    times.sort()
    out[mode] = {"frames_per_s": len(images) / total, "median_ms": 1e3 * times[len(times) // 2],
                 "p90_ms": 1e3 * times[int(0.9 * (len(times) - 1))], "mean_ms": 1e3 * total / len(images)}
    lm.close()
print(json.dumps(out))
"""


VARIANT_SCRIPT = r"""
import json, sys, time, cv2
from posegraph import Graph
from posegraph.calculators.types import ImageFrame
video, limit, threads, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
cap = cv2.VideoCapture(video); fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
frames = []
while len(frames) < limit:
    ok, bgr = cap.read()
    if not ok: break
    frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
stamps = [round(i * 1000 / fps) * 1000 for i in range(len(frames))]
side = {"use_prev_landmarks": True, "inference_threads": threads, **side}
graph = Graph("pose_landmark_cpu")
graph.start(side)
graph.add_packet("image", ImageFrame(frames[0], "warm-up", 0), -1)
graph.wait_until_idle(timeout=60)
start = time.perf_counter()
for i, (rgb, ts) in enumerate(zip(frames, stamps)):
    graph.add_packet("image", ImageFrame(rgb, "bench", i), ts)
graph.close(timeout=120)
stream = len(frames) / (time.perf_counter() - start)
graph = Graph("pose_landmark_cpu")
graph.start(side, synchronous=True)
graph.process({"image": ImageFrame(frames[0], "warm-up", 0)}, timestamp=-1)
times = []
cpu = time.process_time()
for i, (rgb, ts) in enumerate(zip(frames, stamps)):
    t = time.perf_counter()
    graph.process({"image": ImageFrame(rgb, "bench", i)}, timestamp=ts)
    times.append(time.perf_counter() - t)
cpu = time.process_time() - cpu
graph.close(timeout=60)
times.sort()
print(json.dumps({"stream_fps": stream, "sync_median_ms": 1e3 * times[len(times) // 2],
                  "sync_mean_ms": 1e3 * sum(times) / len(times), "sync_cpu_ms": 1e3 * cpu / len(frames)}))
"""

VARIANTS = {
    "default (segmentation off)": {},
    "segmentation on": {"enable_segmentation": True},
    "segmentation + smoothing": {"enable_segmentation": True, "smooth_segmentation": True},
    "full model": {"model_complexity": 1},
    "full model + segmentation": {"model_complexity": 1, "enable_segmentation": True},
}


def bench_variants(video: Path, limit: int, threads: int, repeat: int, base: Path | None,
                   only_default: bool = False) -> None:
    """Each variant in a fresh process, rounds interleaved; best of `repeat` per variant, ratios to the default.
    CPU ms/frame (process time over the frame-at-a-time run) is the figure least disturbed by a busy machine."""
    runs: dict[str, list[dict]] = {}
    variants = list(VARIANTS.items())[:1] if only_default else VARIANTS.items()
    plan = [(name, sys.executable, side) for name, side in variants]
    if base is not None:
        plan.insert(1, (f"base checkout {base.name} (default)", str(base / ".venv" / "bin" / "python"), {}))
    for _ in range(repeat):
        for name, python, side in plan:
            done = subprocess.run([python, "-c", VARIANT_SCRIPT, str(video), str(limit), str(threads),
                                   json.dumps(side)], capture_output=True, text=True, timeout=900,
                                  cwd=str(base) if python != sys.executable and base is not None else None)
            if done.returncode != 0:
                raise RuntimeError(f"{name}: {done.stderr[-2000:]}")
            runs.setdefault(name, []).append(json.loads(done.stdout.strip().splitlines()[-1]))
    default = max(r["stream_fps"] for r in runs["default (segmentation off)"])
    default_ms = min(r["sync_median_ms"] for r in runs["default (segmentation off)"])
    default_cpu = min(r["sync_cpu_ms"] for r in runs["default (segmentation off)"])
    print(f"{'variant':36s} {'stream fps':>10s} {'vs default':>10s} {'sync median ms':>15s} {'vs default':>10s} "
          f"{'CPU ms/frame':>13s} {'vs default':>10s}")
    for name, results in runs.items():
        fps = max(r["stream_fps"] for r in results)
        ms = min(r["sync_median_ms"] for r in results)
        cpu = min(r["sync_cpu_ms"] for r in results)
        print(f"{name:36s} {fps:10.1f} {fps / default:9.3f}x {ms:15.2f} {ms / default_ms:9.3f}x {cpu:13.2f} "
              f"{cpu / default_cpu:9.3f}x")


def find_mediapipe_python(given: str | None) -> str | None:
    candidates = [given, os.environ.get("MEDIAPIPE_PYTHON"), str(REPO.parent / "mp-venv" / "bin" / "python"),
                  str(REPO / ".venv-mediapipe" / "bin" / "python")]
    for c in candidates:
        if c and Path(c).exists():
            ok = subprocess.run([c, "-c", "import mediapipe"], capture_output=True).returncode == 0
            if ok:
                return c
    return None


def bench_mediapipe(python: str, video: Path, limit: int) -> dict:
    task = SHARED / "models" / "reference" / "mediapipe_pose_landmarker_lite_2021.task"
    done = subprocess.run([python, "-c", MEDIAPIPE_SCRIPT, str(video), str(task), str(limit)], capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_kernels() -> dict:
    from posegraph.calculators.detection.anchors import generate_anchors, pose_detection_anchor_options
    from posegraph.calculators.detection.kernels import (decode_boxes, pose_detection_decode_options,
                                                         weighted_non_max_suppression)
    from posegraph.calculators.landmarks.smoothing import OneEuroFilter, OneEuroParams

    rng = np.random.default_rng(0)
    anchors = generate_anchors(pose_detection_anchor_options())
    boxes = rng.normal(0, 20, (1, 2254, 12)).astype(np.float32)
    scores = rng.normal(-3, 2, (1, 2254, 1)).astype(np.float32)
    opts = pose_detection_decode_options()

    def decode_nms():
        rows, sc, _ = decode_boxes(boxes, scores, anchors, opts)
        weighted_non_max_suppression(rows, sc, 0.5)

    filt = OneEuroFilter(OneEuroParams(min_cutoff=0.05, beta=80.0))
    values = rng.random((33, 3)).astype(np.float32)
    ts = [0]

    def smooth():
        ts[0] += 33_333
        filt.apply(values, ts[0], 300.0)

    out = {}
    for name, fn in (("decode+nms_ms", decode_nms), ("one_euro_33_us", smooth)):
        fn()
        n = 2000
        start = time.perf_counter()
        for _ in range(n):
            fn()
        per = (time.perf_counter() - start) / n
        out[name] = per * (1e3 if name.endswith("_ms") else 1e6)
    return out


def time_to_first_frame(video: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "posegraph.cli", "run", "pose_tracking_cpu", "--input", str(video),
                        "--max-frames", "1", "--landmarks", f"{tmp}/o.jsonl", "--quiet"], check=True,
                       capture_output=True, timeout=120)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default="video_squats_woman.mp4")
    parser.add_argument("--frames", type=int, default=None, help="limit the frames used")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--inference-threads", type=int, default=0, help="0: the graphs' default (auto)")
    parser.add_argument("--mediapipe-python")
    parser.add_argument("--variants", action="store_true", help="the cost of segmentation and the full model")
    parser.add_argument("--base", type=Path, help="with --variants: another checkout to compare the default with")
    parser.add_argument("--only-default", action="store_true", help="with --variants: only the default and --base")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    video = SHARED / "media" / args.video
    threads = args.inference_threads or auto_threads()
    if args.variants:
        bench_variants(video, args.frames or 10_000, threads, args.repeat, args.base, args.only_default)
        return
    frames, stamps = decode(video, args.frames)
    print(f"{args.video}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}, interpreter threads "
          f"{threads}, graph worker threads {os.cpu_count()}, best of {args.repeat} interleaved runs")

    results: dict[str, list[dict]] = {}
    profile = None
    for _ in range(args.repeat):
        for static in (False, True):
            mode = "static" if static else "tracking"
            results.setdefault(f"loop/{mode}", []).append(bench_loop(frames, stamps, static, threads))
            results.setdefault(f"graph/sync/{mode}", []).append(bench_graph_sync(frames, stamps, static, threads))
            if not static:  # the same with a Chrome trace recorded (written after the timed frames)
                with tempfile.TemporaryDirectory() as tmp:
                    results.setdefault("graph/sync/tracking/trace", []).append(
                        bench_graph_sync(frames, stamps, static, threads, Path(tmp) / "trace.json"))
            stream, graph = bench_graph_stream(frames, stamps, static, threads)
            results.setdefault(f"graph/stream/{mode}", []).append(stream)
            if not static:
                profile = graph.profile()
        results.setdefault("file/tracking", []).append(bench_file(video, threads))
    best = {k: max(v, key=lambda r: r["frames_per_s"]) for k, v in results.items()}

    mp_python = find_mediapipe_python(args.mediapipe_python)
    if mp_python:
        runs = [bench_mediapipe(mp_python, video, len(frames)) for _ in range(args.repeat)]
        best["mediapipe/tracking"] = max((r["video"] for r in runs), key=lambda r: r["frames_per_s"])
        best["mediapipe/static"] = max((r["image"] for r in runs), key=lambda r: r["frames_per_s"])
    print(f"{'mode':24s} {'frames/s':>9s} {'mean ms':>8s} {'median':>8s} {'p90':>8s}")
    for name, r in best.items():
        print(f"{name:24s} {r['frames_per_s']:9.1f} {r['mean_ms']:8.2f} {r.get('median_ms', float('nan')):8.2f} "
              f"{r.get('p90_ms', float('nan')):8.2f}")
    figures: dict = {"best": best, "sync_vs_loop": {}}
    for mode in ("tracking", "static"):
        loop, sync, stream = best[f"loop/{mode}"], best[f"graph/sync/{mode}"], best[f"graph/stream/{mode}"]
        figures["sync_vs_loop"][mode] = sync["mean_ms"] / loop["mean_ms"]
        print(f"{mode}: graph/sync per frame = {sync['mean_ms'] / loop['mean_ms']:.3f}x the loop's "
              f"(target <= 1.03x); graph/stream throughput = {stream['frames_per_s'] / loop['frames_per_s']:.2f}x "
              f"the loop's")
        if mp_python:
            mpr = best[f"mediapipe/{mode}"]
            print(f"{mode}: graph/stream throughput = {stream['frames_per_s'] / mpr['frames_per_s']:.2f}x "
                  f"MediaPipe's (target >= 1.25x); per-frame latency (graph/sync, median) {sync['median_ms']:.1f} ms "
                  f"vs {mpr['median_ms']:.1f} ms (target: no worse)")
    traced = best["graph/sync/tracking/trace"]
    figures["trace_ratio_tracking"] = traced["mean_ms"] / best["graph/sync/tracking"]["mean_ms"]
    print(f"tracking: trace on / off, graph frame at a time = {figures['trace_ratio_tracking']:.3f}x (target <= 1.03x)")
    if not mp_python:
        print("mediapipe: not measured (no environment with mediapipe 1.2.2 found; create one with "
              "`python -m venv ../mp-venv && ../mp-venv/bin/pip install mediapipe==1.2.2`)")
    kernels = bench_kernels()
    print(f"kernels: detection decode + weighted NMS {kernels['decode+nms_ms']:.3f} ms (target < 0.2 ms); "
          f"One Euro on 33 landmarks {kernels['one_euro_33_us']:.1f} us (target < 20 us)")
    print(f"time from `posegraph run` to the first frame written (warm Numba cache): "
          f"{time_to_first_frame(video):.2f} s (target < 2 s)")
    if args.json:
        args.json.write_text(json.dumps(figures | {"kernels": kernels}))
    if profile is not None:
        print("per-node breakdown (graph/stream, tracking, last run):")
        print("\n".join(profile.table().splitlines()[:14]))


if __name__ == "__main__":
    main()
