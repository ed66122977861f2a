"""Runs MediaPipe's own pose_landmark_cpu.pbtxt (../shared/mediapipe_graphs, unchanged) on the shared media and
compares with mediapipe 0.10.21's legacy solution (../shared/reference/mediapipe_legacy/), lite and full.

    python tools/compare_mediapipe_graphs.py [--model lite|full] [--only NAME ...] [--max-frames N]

Images: static mode (use_prev_landmarks false, no smoothing). Videos: tracking with smoothing, frame i at
(i + 1) * 33333 us as the legacy solution feeds them (its records say i * 33333: the clock advances before each
frame; `solution_timestamp`). Prints per file: frames where found/not-found agree, bit-identical
frames, max |difference| of landmark values, mean and max landmark distance in % of the image diagonal.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posegraph import Graph  # noqa: E402
from posegraph.calculators.io.jsonl import read_jsonl  # noqa: E402
from posegraph.calculators.mediapipe.runner import (plan_streams, read_frames, run_on_frames,  # noqa: E402
                                                    solution_timestamp)

SHARED = ROOT.parent / "shared"
MEDIA = SHARED / "media"
GRAPHS = SHARED / "mediapipe_graphs" / "mediapipe"
POSE_LANDMARK_CPU = GRAPHS / "modules" / "pose_landmark" / "pose_landmark_cpu.pbtxt"
REFERENCE = SHARED / "reference" / "mediapipe_legacy"
COMPLEXITY = {"lite": 0, "full": 1}


@dataclass
class Comparison:
    name: str
    frames: int
    agree: int
    identical: int
    max_abs: float
    mean_pct: float
    max_pct: float
    world_max_abs: float
    visible_mean_pct: float  # landmarks with reference visibility >= 0.5 only


def run(media: Path, model: str, max_frames: int | None = None, graph_file: Path = POSE_LANDMARK_CPU):
    """(frames fed, landmarks by timestamp, world landmarks by timestamp) of pose_landmark_cpu on `media`."""
    frames, _, still = read_frames(str(media), max_frames=max_frames, timestamps="mediapipe")
    graph = Graph(str(graph_file))
    plan = plan_streams(graph.spec.input_streams, graph.spec.output_streams)
    side = {"model_complexity": COMPLEXITY[model], "use_prev_landmarks": not still, "smooth_landmarks": not still,
            "enable_segmentation": False, "smooth_segmentation": False}
    side = {k: v for k, v in side.items() if k in graph.spec.input_side_packets}
    result = run_on_frames(graph, frames, plan, side)
    return result


def compare(media: Path, model: str, max_frames: int | None = None) -> Comparison:
    ref = read_jsonl(REFERENCE / f"{media.name}.{model}.jsonl")
    if max_frames is not None:
        ref = ref[:max_frames]
    result = run(media, model, max_frames)
    assert result.frames == len(ref), (media.name, result.frames, len(ref))
    agree = identical = 0
    max_abs = world_max = 0.0
    dists, visible = [], []
    for rec in ref:
        ts = rec.timestamp_us if rec.extra.get("mode") == "image" else solution_timestamp(rec.frame)
        ours = result.landmarks.get(ts)
        agree += (ours is not None) == bool(rec.poses)
        if ours is None or not rec.poses:
            continue
        theirs = rec.poses[0].landmarks
        # presence: MediaPipe's Python solution clears it (pose.py), the graph itself outputs it
        diff = np.abs(np.asarray(ours, dtype=np.float32)[:, :4] - theirs[:, :4])
        identical += bool(diff.max() == 0)
        max_abs = max(max_abs, float(diff.max()))
        d = np.hypot((ours[:, 0] - theirs[:, 0]) * rec.width, (ours[:, 1] - theirs[:, 1]) * rec.height)
        dists.append(d / math.hypot(rec.width, rec.height) * 100)
        visible.append(dists[-1][theirs[:, 3] >= 0.5])
        world = result.world_landmarks.get(ts)
        if world is not None and rec.poses[0].world_landmarks is not None:
            world_max = max(world_max, float(np.abs(world[:, :3] - rec.poses[0].world_landmarks).max()))
    all_d = np.concatenate(dists) if dists else np.zeros(1)
    vis_d = np.concatenate(visible) if visible else np.zeros(1)
    return Comparison(media.name, len(ref), agree, identical, max_abs, float(all_d.mean()), float(all_d.max()),
                      world_max, float(vis_d.mean()) if vis_d.size else 0.0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=tuple(COMPLEXITY), action="append")
    parser.add_argument("--only", action="append", help="media file names (default: every shared file)")
    parser.add_argument("--max-frames", type=int)
    args = parser.parse_args(argv)
    files = sorted(p for p in MEDIA.iterdir() if (REFERENCE / f"{p.name}.lite.jsonl").exists())
    if args.only:
        files = [p for p in files if p.name in args.only]
    print(f"{'media':45} {'model':5} {'frames':>6} {'agree':>5} {'ident':>5} {'max|d|':>10} {'mean%':>8} "
          f"{'max%':>8} {'world':>9} {'vis mean%':>9}")
    for model in args.model or ["lite", "full"]:
        for media in files:
            c = compare(media, model, args.max_frames)
            print(f"{c.name:45} {model:5} {c.frames:6d} {c.agree:5d} {c.identical:5d} {c.max_abs:10.3g} "
                  f"{c.mean_pct:8.5f} {c.max_pct:8.5f} {c.world_max_abs:9.3g} {c.visible_mean_pct:9.5f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
