"""Top-down pipeline benchmark (PicoDet + PP-TinyPose, graphs/tinypose_topdown.pbtxt): cost per frame as a function
of the number of people, and the per-person overhead of the BeginLoop/EndLoop machinery.

    python tools/bench_topdown.py [--frames N] [--rounds R] [--threads T]

Frames: a 2 x 2 grid of 320x480 cells (a 640x960 frame) built from the shared person photos, with 1, 2 or 4 cells
holding a person and the rest blank, so the frame size and the detector's cost stay the same and only the number of
people changes. Every configuration is measured in interleaved rounds (machines here are shared and noisy: compare
the ratios and slopes of one run, not absolute numbers across runs).

Prints, per number of people:
  * graph: median ms per frame through the shipped graph (media source and sinks replaced by an input stream),
    with 1 worker thread (the machinery's cost, nothing overlapped) and with --threads workers;
  * direct: the same computation as plain function calls (same kernels, same OpenVINO models), no graph;
then the linear fit t = a + b * people of each and how linear it is (cost of each extra person from 1 -> 2 and from
2 -> 4, per person); the loop machinery's cost per person, measured inside the same graph runs (wall time of each
frame minus the time spent in the calculators, plus the BeginLoop / EndLoop calls, fitted against the number of
people); and the loop overhead on its own: BeginLoop -> 3 pass-through nodes (as many as the pose body) -> EndLoop
over N trivial items.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from posegraph import Graph
from posegraph.calculators.image.transforms import image_to_tensor
from posegraph.calculators.inference.openvino_model import OpenVinoModel
from posegraph.calculators.io.images import read_image
from posegraph.calculators.topdown import kernels as K
from posegraph.calculators.types import ImageFrame
from posegraph.config import parse_graph_text
from posegraph.models import resolve_model

REPO = Path(__file__).resolve().parents[1]
GRAPH_FILE = REPO / "graphs" / "tinypose_topdown.pbtxt"
MEDIA = REPO.parent / "shared" / "media"
PEOPLE = ("person_single_fullbody_man_suit.jpeg", "person_single_fullbody_woman_standing.png",
          "yoga_tree_pose.jpeg", "person_single_fullbody_man_casual.jpg")
CELL_W, CELL_H = 320, 480
COUNTS = (1, 2, 4)
LOOP_BODY_NODES = 3  # PersonCrop, Inference, HeatmapPoseDecode


def make_cell(name: str) -> np.ndarray:
    image = read_image(MEDIA / name)
    h, w = image.shape[:2]
    s = min(CELL_W / w, CELL_H / h)
    resized = cv2.resize(image, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
    cell = np.full((CELL_H, CELL_W, 3), 255, np.uint8)
    y, x = (CELL_H - resized.shape[0]) // 2, (CELL_W - resized.shape[1]) // 2
    cell[y:y + resized.shape[0], x:x + resized.shape[1]] = resized
    return cell


def make_frames() -> dict[int, ImageFrame]:
    cells = [make_cell(name) for name in PEOPLE]
    blank = np.full((CELL_H, CELL_W, 3), 255, np.uint8)
    frames = {}
    for n in COUNTS:
        grid = cells[:n] + [blank] * (4 - n)
        pixels = np.ascontiguousarray(np.vstack([np.hstack(grid[:2]), np.hstack(grid[2:])]))
        frames[n] = ImageFrame(pixels, f"tiled_{n}_people")
    return frames


def streaming_config(outputs=("poses",)):
    """The shipped graph with the media source and the sinks replaced by an input stream ``frames``."""
    config, _ = parse_graph_text(GRAPH_FILE.read_text(encoding="utf-8"), str(GRAPH_FILE))
    drop = ("MediaSourceCalculator", "PoseRendererCalculator", "VideoSinkCalculator", "LandmarksSinkCalculator")
    nodes = [n for n in config.node if n.calculator not in drop]
    del config.node[:]
    config.node.extend(nodes)
    del config.input_side_packet[:]
    del config.output_stream[:]
    config.input_stream.append("frames")
    config.output_stream.extend(outputs)
    return config


class Direct:
    """The graph's computation as plain calls: the baseline the graph's overhead is measured against."""

    def __init__(self):
        self.detector = OpenVinoModel(resolve_model("picodet_pedestrian_192"))
        self.pose = OpenVinoModel(resolve_model("pp_tinypose_128x96"))

    def __call__(self, frame: ImageFrame) -> list[np.ndarray]:
        crop = image_to_tensor(frame.pixels, None, 192, 192, keep_aspect_ratio=False, value_range=(0.0, 1.0))
        boxes, scores = self.detector.run(K.normalize_to_nchw(crop.tensor))
        det_scores, det_boxes = K.decode_picodet(boxes, scores, 192, 192, score_threshold=0.65, iou_threshold=0.6)
        poses = []
        for box in det_boxes:
            x, y, w, h = box * [frame.width, frame.height, frame.width, frame.height]
            rect = K.person_crop_rect((x, y, x + w, y + h), 0.3, 96 / 128)
            heatmaps = self.pose.run(K.crop_person(frame.pixels, rect, 96, 128))[0]
            rect_n = (rect[0] / frame.width, rect[1] / frame.height, rect[2] / frame.width, rect[3] / frame.height)
            poses.append(K.decode_heatmaps(heatmaps, rect_n, (96, 128)))
        return poses


def loop_only_text(body_nodes: int) -> str:
    names = ["item"] + [f"b{i}" for i in range(body_nodes)]
    body = "".join(f"node {{ calculator: 'PassThroughCalculator' input_stream: '{a}' output_stream: '{b}' }}\n"
                   for a, b in zip(names, names[1:]))
    return ("input_stream: 'items'\noutput_stream: 'out'\n"
            "node { calculator: 'BeginLoopCalculator' input_stream: 'ITERABLE:items' output_stream: 'ITEM:item' "
            "output_stream: 'BATCH_END:end' }\n" + body +
            f"node {{ calculator: 'EndLoopCalculator' input_stream: 'ITEM:{names[-1]}' input_stream: 'BATCH_END:end' "
            "output_stream: 'ITERABLE:out' }\n")


def fit(counts, times) -> tuple[float, float]:
    slope, intercept = np.polyfit(np.asarray(counts, float), np.asarray(times, float), 1)
    return float(intercept), float(slope)


def linearity(t: dict[int, float]) -> str:
    first = t[2] - t[1]
    second = (t[4] - t[2]) / 2
    return f"extra person 1->2: {first:.2f} ms, 2->4: {second:.2f} ms per person (ratio {second / first:.2f})"


def time_calls(fn, arg, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(arg)
        out.append((time.perf_counter() - start) * 1e3)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=15, help="frames per configuration per round")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=2, help="worker threads of the multi-threaded graph run")
    parser.add_argument("--loop-items", type=int, default=2000, help="items per batch in the loop-only benchmark")
    args = parser.parse_args()
    if not MEDIA.is_dir():
        print(f"shared media not found at {MEDIA}", file=sys.stderr)
        return 1

    frames = make_frames()
    direct = Direct()
    thread_counts = sorted({1, args.threads})
    # One graph per (threads, people) so that each graph's always-on profile describes one kind of frame.
    graphs = {(t, n): Graph(streaming_config(("poses", "detections")), num_threads=t)
              for t in thread_counts for n in COUNTS}
    for (threads, n), graph in graphs.items():  # warm up (Numba, OpenVINO's first inference), check the counts
        found = {len(direct(frames[n])), len(graph.process({"frames": frames[n]})["detections"])}
        if found != {n}:
            print(f"warning: the {n}-person frame gives {sorted(found)} people", file=sys.stderr)
    before = {key: {s.name: s.process_count for s in g.node_stats()} for key, g in graphs.items()}

    samples: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for n, frame in frames.items():
            samples.setdefault(("direct", n), []).extend(time_calls(direct, frame, args.frames))
            for threads in thread_counts:
                graph = graphs[threads, n]
                samples.setdefault((f"graph{threads}", n), []).extend(
                    time_calls(lambda f: graph.process({"frames": f}), frame, args.frames))
    stats = {key: {s.name: s for s in g.node_stats()} for key, g in graphs.items()}
    for graph in graphs.values():
        graph.close()

    kinds = ["direct"] + [f"graph{t}" for t in thread_counts]
    medians = {k: {n: statistics.median(samples[k, n]) for n in COUNTS} for k in kinds}
    print(f"per-frame time, median ms over {args.rounds * args.frames} frames ({frames[1].width}x{frames[1].height})")
    print("people  " + "  ".join(f"{k:>10s}" for k in kinds))
    for n in COUNTS:
        print(f"{n:6d}  " + "  ".join(f"{medians[k][n]:10.2f}" for k in kinds))
    fits = {}
    for k in kinds:
        a, b = fit(COUNTS, [medians[k][n] for n in COUNTS])
        fits[k] = (a, b)
        residual = max(abs(medians[k][n] - (a + b * n)) for n in COUNTS)
        print(f"{k:>8s}: t = {a:.2f} + {b:.2f} * people ms (max residual {residual:.2f} ms); {linearity(medians[k])}")
    print(f"graph (1 thread) vs direct per-person cost: {fits['graph1'][1] / fits['direct'][1]:.3f} "
          f"(difference {1e3 * (fits['graph1'][1] - fits['direct'][1]):.0f} us: two separately timed runs, noisy)")

    # Same run, same frames: the wall time of each graph.process() minus the time spent inside the calculators'
    # process() calls for that frame (from the always-on per-call samples; the graph runs one frame at a time, so
    # they split into frames) is the runtime's own cost: scheduling, queues, handing packets over. Add the BeginLoop
    # and EndLoop calls, take the median over frames (robust to the other work on a shared machine), and fit it
    # against the number of people: the slope is the loop machinery's cost per person.
    machinery = {}
    print("1-thread graph, per frame (median ms): wall, inside calculators, runtime, BeginLoop + EndLoop")
    for n in COUNTS:
        walls = samples["graph1", n]
        inside = np.zeros(len(walls))
        loop = np.zeros(len(walls))
        for name, st in stats[1, n].items():
            calls = (st.process_count - before[1, n][name]) // len(walls)  # calls per frame: 1, n or n + 1
            per_call = np.asarray(st.samples[before[1, n][name]:st.process_count], dtype=np.float64) / 1e6
            per_frame = per_call[:calls * len(walls)].reshape(len(walls), calls).sum(axis=1) if calls else 0.0
            inside += per_frame
            if st.calculator in ("BeginLoopCalculator", "EndLoopCalculator"):
                loop += per_frame
        runtime = np.asarray(walls) - inside
        machinery[n] = float(np.median(runtime + loop))
        print(f"  {n} people: {np.median(walls):7.3f}, {np.median(inside):7.3f}, {np.median(runtime):6.3f}, "
              f"{np.median(loop):6.3f}")
    a, b = fit(COUNTS, [machinery[n] for n in COUNTS])
    print(f"loop machinery per person (runtime + BeginLoop/EndLoop, slope over people): {b * 1e3:.0f} us "
          f"(fixed per frame: {a * 1e3:.0f} us)")
    print("per-node process() time in the 1-thread, 4-person graph (mean per call):")
    for name, s in sorted(stats[1, 4].items(), key=lambda item: -item[1].process_ns):
        calls = s.process_count
        print(f"  {name:30s} {calls:6d} calls  {s.process_ns / max(calls, 1) / 1e3:8.0f} us")

    # The loop machinery alone: BeginLoop -> 3 pass-throughs -> EndLoop, per item, 1 thread.
    results = {}
    for items in (0, args.loop_items):
        graph = Graph(loop_only_text(LOOP_BODY_NODES), num_threads=1)
        batch = list(range(items))
        graph.process({"items": batch})
        times = time_calls(lambda b: graph.process({"items": b}), batch, 5)
        graph.close()
        results[items] = statistics.median(times)
    per_item = (results[args.loop_items] - results[0]) / args.loop_items
    print(f"loop machinery alone (BeginLoop + {LOOP_BODY_NODES} body nodes + EndLoop, 1 thread): "
          f"{per_item * 1e3:.0f} us per item ({args.loop_items} items per batch)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
