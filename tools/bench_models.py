"""Model-graph benchmark: frames/s of each pose graph on the shared media, decoder kernel times, and the MoveNet
graph's overhead against a hand-written loop of the same steps. Numbers and ratios are measured in one run
(machines here are shared and noisy: ratios of interleaved runs are what to compare).

    python tools/bench_models.py [--repeat R] [--kernel-iterations N] [--skip-graphs]

Prints:
- frames/s per graph and input (after open(); the per-frame rate the CLI would report);
- kernel times (median of N calls, warm): MoveNet decode + next crop; PoseNet dequantise, single- and multi-pose
  decode (target: multi-pose < 1 ms); OpenPose peaks and PAF grouping (target: grouping < 3 ms with up to 6
  people; mosaics of the shared photos give 6 and 10 people);
- MoveNet graph vs a sequential hand-written loop (same video reader, crop, kernels and model) on the dance video,
  interleaved, best of R: graph time / loop time (target <= 1.05x), with the graph on 1 worker thread and on the
  default number.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from posegraph import Graph
from posegraph.calculators.image.transforms import image_to_tensor
from posegraph.calculators.inference.tflite_model import TfliteModel
from posegraph.calculators.io.images import read_image
from posegraph.calculators.io.video import VideoReader
from posegraph.calculators.movenet.crop_region import full_frame_crop
from posegraph.calculators.movenet.kernels import crop_region_from_keypoints, decode_movenet, pose_score
from posegraph.calculators.openpose.kernels import find_peaks, group_people
from posegraph.calculators.posenet.kernels import decode_single_pose, dequantize
from posegraph.calculators.posenet.multi_pose import decode_multi_pose
from posegraph.calculators.types import NormalizedRect, Pose
from posegraph.models import resolve_model

SHARED = Path(__file__).resolve().parents[2] / "shared"
MEDIA = SHARED / "media"

GRAPH_RUNS = [
    ("movenet_singlepose", "video_dance_single_synthetic.mp4", {}),
    ("movenet_singlepose", "video_man_dancing_fullbody.mp4", {}),
    ("movenet_singlepose", "video_dance_single_synthetic.mp4", {"use_prev_landmarks": False}),
    ("posenet_singlepose", "video_dance_single_synthetic.mp4", {}),
    ("posenet_multipose", "video_dance_single_synthetic.mp4", {}),
    ("posenet_multipose", "video_man_dancing_fullbody.mp4", {}),
    ("openpose_multipose", "video_dance_single_synthetic.mp4", {}),
    ("openpose_multipose", "video_man_dancing_fullbody.mp4", {}),
]


# -- graphs ------------------------------------------------------------------------------------------------------
def run_graph(name: str, media: Path, extra: dict, threads: int | None = None) -> tuple[float, int, float]:
    """(seconds from the end of open() to done, frames, frames/s). Rendering and sinks are switched off."""
    graph = Graph(name, num_threads=threads)
    count = [0]
    graph.observe_output("poses", lambda p: count.__setitem__(0, count[0] + 1))
    graph.start({"input_path": str(media), "output_video_path": "", **extra})
    graph.wait_until_done(timeout=600)
    profile = graph.profile()
    return profile.wall_s, count[0], profile.fps


def bench_graphs(repeat: int) -> None:
    print("graph frames/s (best of %d; rendering and sinks off)" % repeat)
    for name, media, extra in GRAPH_RUNS:
        best = max((run_graph(name, MEDIA / media, extra) for _ in range(repeat)), key=lambda r: r[2])
        mode = " static" if extra.get("use_prev_landmarks") is False else ""
        print(f"  {name + mode:<28} {media:<36} {best[1]:4d} frames  {best[2]:7.1f} frames/s")


# -- kernels -----------------------------------------------------------------------------------------------------
def median_us(fn, iterations: int) -> float:
    fn()  # warm (compile or load from cache)
    times = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1e3


def mosaic(names: list[str], rows: int, cols: int) -> np.ndarray:
    """Shared photos resized to 640x480 and tiled: more people per frame than any single photo has."""
    tiles = [cv2.resize(read_image(MEDIA / n), (640, 480), interpolation=cv2.INTER_AREA) for n in names]
    return np.ascontiguousarray(np.concatenate([np.concatenate(tiles[r * cols:(r + 1) * cols], axis=1)
                                                for r in range(rows)], axis=0))


def bench_kernels(iterations: int) -> None:
    print(f"kernel times (median of {iterations} warm calls)")
    # MoveNet
    model = TfliteModel(resolve_model("movenet_lightning_int8"))
    image = read_image(MEDIA / "person_single_fullbody_man_suit.jpeg")
    h, w = image.shape[:2]
    crop = full_frame_crop(w, h)
    c = image_to_tensor(image, crop, 192, 192, keep_aspect_ratio=False, value_range=(0, 255), border="zero")
    raw = model.run(c.tensor.astype(np.uint8)[None])[0].reshape(-1, 3)
    matrix = c.matrix.astype(np.float64)
    lm = decode_movenet(raw, matrix)
    t_decode = median_us(lambda: decode_movenet(raw, matrix), iterations)
    print(f"  movenet decode_movenet                    {t_decode:8.1f} us")
    print(f"  movenet crop_region_from_keypoints        "
          f"{median_us(lambda: crop_region_from_keypoints(lm, w, h, 0.2, 1.9, 1.2), iterations):8.1f} us")

    # PoseNet
    posenet = TfliteModel(resolve_model("posenet"))
    snow = read_image(MEDIA / "people_two_walking_snow.bmp")
    cases = [("snow (2 people)", snow),
             ("2x2 mosaic", mosaic(["people_two_walking_snow.bmp", "people_two_partial_body.jpg",
                                    "people_several_closeup_partial.jpg", "people_two_walking_snow.bmp"], 2, 2))]
    for label, img in cases:
        t = image_to_tensor(img, None, 481, 353, keep_aspect_ratio=True, value_range=(0, 255), border="zero")
        outs = posenet.run(t.tensor.astype(np.uint8)[None])
        q = [(o[0], s.quant_scale, s.quant_zero_point) for o, s in zip(outs, posenet.outputs)]
        maps = [dequantize(a, s, z) for a, s, z in q]
        n = len(decode_multi_pose(maps[0], maps[1], maps[2], 16, 10, 0.5, 20.0, 1, 5)[1])
        deq = median_us(lambda: [dequantize(a, s, z) for a, s, z in q], iterations)
        single = median_us(lambda: decode_single_pose(maps[0], maps[1], 16), iterations)
        multi = median_us(lambda: decode_multi_pose(maps[0], maps[1], maps[2], 16, 10, 0.5, 20.0, 1, 5),
                          iterations)
        print(f"  posenet {label:<18} dequantise x3 {deq:7.1f} us  single {single:6.1f} us  "
              f"multi {multi:7.1f} us ({n} poses)   target multi < 1000 us")

    # OpenPose
    openpose = TfliteModel(resolve_model("openpose_mobilenet_v2"))
    cases = [("snow", snow),
             ("closeup", read_image(MEDIA / "people_several_closeup_partial.jpg")),
             ("1x3 mosaic", mosaic(["people_two_walking_snow.bmp"] * 3, 1, 3)),
             ("2x2 mosaic", mosaic(["people_two_walking_snow.bmp", "people_two_partial_body.jpg",
                                    "people_several_closeup_partial.jpg", "people_two_walking_snow.bmp"], 2, 2))]
    for label, img in cases:
        t = image_to_tensor(img, None, 432, 368, keep_aspect_ratio=True, value_range=(0, 255), border="zero")
        out = openpose.run(np.ascontiguousarray(t.tensor[:, :, ::-1])[None])[0][0]
        heat = np.ascontiguousarray(out[:, :, :19])
        pafs = np.ascontiguousarray(out[:, :, 19:])
        peaks = find_peaks(heat, 18, 0.1)
        people = len(group_people(peaks, pafs, 10, 0.05, 0.8, 4, 0.4)[1])
        t_peaks = median_us(lambda: find_peaks(heat, 18, 0.1), iterations)
        t_group = median_us(lambda: group_people(peaks, pafs, 10, 0.05, 0.8, 4, 0.4), iterations)
        print(f"  openpose {label:<12} peaks {t_peaks:6.1f} us ({len(peaks):3d} peaks)  PAF grouping "
              f"{t_group:7.1f} us ({people:2d} people)   target grouping < 3000 us")


# -- MoveNet graph vs hand-written loop --------------------------------------------------------------------------
class MoveNetLoop:
    """The MoveNet graph's tracking path as plain sequential Python: the same reader, crop, kernels and model."""

    def __init__(self, model: str = "movenet_lightning_int8", min_pose_score: float = 0.2):
        self.model = TfliteModel(resolve_model(model))
        spec = self.model.inputs[0]
        self.height, self.width = int(spec.shape[1]), int(spec.shape[2])
        self.min_pose_score = min_pose_score
        image = np.zeros((8, 8, 3), np.uint8)  # warm every kernel
        c = image_to_tensor(image, full_frame_crop(8, 8), self.width, self.height, keep_aspect_ratio=False,
                            value_range=(0, 255), border="zero")
        lm = decode_movenet(self.model.run(c.tensor.astype(np.uint8)[None])[0].reshape(-1, 3),
                            c.matrix.astype(np.float64))
        crop_region_from_keypoints(lm, 8, 8, 0.2, 1.9, 1.2)

    def run(self, reader: VideoReader) -> list[list[Pose]]:
        results: list[list[Pose]] = []
        prev: NormalizedRect | None = None
        size = None
        while (frame := reader.read()) is not None:
            rgb = frame.rgb
            h, w = rgb.shape[:2]
            crop = prev if (prev is not None and size == (w, h)) else full_frame_crop(w, h)
            size = (w, h)
            c = image_to_tensor(rgb, crop, self.width, self.height, keep_aspect_ratio=False, value_range=(0, 255),
                                border="zero")
            tensor = np.ascontiguousarray(c.tensor.astype(np.uint8))[None]
            raw = np.asarray(self.model.run(tensor)[0], dtype=np.float32).reshape(-1, 3)
            landmarks = decode_movenet(raw, np.asarray(c.matrix, dtype=np.float64))
            score = float(pose_score(landmarks))
            poses = [Pose(landmarks, "coco17", score=score, roi=crop)] if score >= self.min_pose_score else []
            results.append(poses)
            if poses:
                r = crop_region_from_keypoints(landmarks, w, h, 0.2, 1.9, 1.2)
                prev = NormalizedRect(float(r[0]), float(r[1]), float(r[2]), float(r[3]), 0.0)
            else:
                prev = full_frame_crop(w, h)
        return results


def time_loop(loop: MoveNetLoop, media: Path) -> tuple[float, float, list[list[Pose]]]:
    """(wall s, CPU s, results); the video is opened before timing, as the graph's source opens in open()."""
    reader = VideoReader(media)
    try:
        cpu, start = time.process_time(), time.perf_counter()
        results = loop.run(reader)
        return time.perf_counter() - start, time.process_time() - cpu, results
    finally:
        reader.close()


def graph_results(media: Path, threads: int | None) -> tuple[float, float, list[list[Pose]], float]:
    """(wall s after open(), CPU s without open(), results, seconds spent inside process() calls) of the MoveNet
    graph, rendering and sinks off."""
    graph = Graph("movenet_singlepose", num_threads=threads)
    out: list[list[Pose]] = []
    graph.observe_output("poses", lambda p: out.append(p.value))
    cpu = time.process_time()
    graph.start({"input_path": str(media), "output_video_path": ""})
    graph.wait_until_done(timeout=600)
    cpu = time.process_time() - cpu - sum(s.open_ns for s in graph.node_stats()) / 1e9  # opens: model loading
    inside = sum(s.process_ns for s in graph.node_stats()) / 1e9
    return graph.profile().wall_s, cpu, out, inside


def bench_movenet_overhead(repeat: int) -> None:
    media = MEDIA / "video_dance_single_synthetic.mp4"
    loop = MoveNetLoop()
    runs: dict[str, list[tuple[float, float]]] = {"loop": [], "graph1": [], "graph": []}
    outside: list[float] = []  # graph on 1 thread: wall time not spent in any process() call (the runtime's share)
    frames = 0
    for _ in range(repeat):  # interleaved, so drift in machine load hits all sides alike
        wall, cpu, results = time_loop(loop, media)
        runs["loop"].append((wall, cpu))
        wall, cpu, out1, inside = graph_results(media, 1)
        runs["graph1"].append((wall, cpu))
        outside.append(wall - inside)
        wall, cpu, _, _ = graph_results(media, None)
        runs["graph"].append((wall, cpu))
        frames = len(results)
        for a, b in zip(results, out1):  # the loop does exactly what the graph does
            assert len(a) == len(b) and all(np.array_equal(p.landmarks, q.landmarks) for p, q in zip(a, b))
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
    median = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}
    lo_w, lo_c = best["loop"]
    print(f"MoveNet on {media.name} ({frames} frames, tracking; best of {repeat}, interleaved; wall and CPU time)")
    labels = {"loop": "hand-written loop", "graph1": "graph, 1 worker thread", "graph": "graph, default threads"}
    for key, label in labels.items():
        w, c = best[key]
        ratio = "" if key == "loop" else f"  -> wall {w / lo_w:5.3f}x, CPU {c / lo_c:5.3f}x the loop"
        target = "   target <= 1.05x" if key == "graph1" else ""
        print(f"  {label:<24} {w / frames * 1e3:6.3f} ms/frame wall, {c / frames * 1e3:6.3f} ms/frame CPU{ratio}"
              f"{target}")
    print(f"  graph on 1 thread, wall time outside every process() call: {min(outside) / frames * 1e3:.3f} ms/frame "
          f"(best), {statistics.median(outside) / frames * 1e3:.3f} (median) = the runtime's own cost")
    print("  medians (ms/frame wall / CPU): " + ", ".join(
        f"{labels[k]} {w / frames * 1e3:.3f} / {c / frames * 1e3:.3f}" for k, (w, c) in median.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--kernel-iterations", type=int, default=300)
    parser.add_argument("--skip-graphs", action="store_true", help="only kernels and the MoveNet overhead")
    args = parser.parse_args()
    if not MEDIA.is_dir():
        raise SystemExit(f"shared media not found at {MEDIA}")
    if not args.skip_graphs:
        bench_graphs(max(1, args.repeat // 2))
    bench_kernels(args.kernel_iterations)
    bench_movenet_overhead(args.repeat)


if __name__ == "__main__":
    main()
