"""Runs the shipped pose_tracking_cpu graph on shared media and compares with MediaPipe's reference outputs.

    python tools/compare_graph_mediapipe.py [--only NAME ...] [--model-complexity 1]

--model-complexity 1 runs the full landmark model against ../shared/reference/mediapipe_full/.

Images run in static-image mode, videos in tracking mode with smoothing (the graph reads videos itself, so the
timestamps are the reference's). Prints per file: found/not-found agreement, mean and max landmark distance in px
and in % of the image diagonal.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posegraph import Graph
from posegraph.calculators.io.jsonl import read_jsonl

SHARED = Path(__file__).resolve().parents[2] / "shared"
MEDIA = SHARED / "media"
REFERENCE = SHARED / "reference" / "mediapipe"
REFERENCES = {0: REFERENCE, 1: SHARED / "reference" / "mediapipe_full"}
VIDEO_SUFFIXES = {".mp4"}


@dataclass
class Comparison:
    name: str
    frames: int
    agree: int
    mean_px: float
    max_px: float
    mean_pct: float
    max_pct: float
    frame_mean_pct_max: float


def run_graph(media: Path, jsonl: Path, static: bool, model_complexity: int = 0) -> None:
    graph = Graph("pose_tracking_cpu")
    side = {"input_path": str(media), "landmarks_path": str(jsonl), "use_prev_landmarks": not static}
    if model_complexity:
        side["model_complexity"] = model_complexity
    graph.start(side)
    graph.wait_until_done(timeout=600)


def compare(media: Path, model_complexity: int = 0) -> Comparison:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        run_graph(media, out, static=media.suffix.lower() not in VIDEO_SUFFIXES, model_complexity=model_complexity)
        ours = read_jsonl(out)
    ref = read_jsonl(REFERENCES[model_complexity] / f"{media.name}.jsonl")
    assert len(ours) == len(ref), (media.name, len(ours), len(ref))
    agree, dists, frame_means = 0, [], []
    diag = 0.0
    for a, b in zip(ours, ref):
        assert a.timestamp_us == b.timestamp_us, (a.timestamp_us, b.timestamp_us)
        diag = math.hypot(b.width, b.height)
        agree += bool(a.poses) == bool(b.poses)
        if a.poses and b.poses:
            pa = a.poses[0].landmarks[:, :2] * [b.width, b.height]
            pb = b.poses[0].landmarks[:, :2] * [b.width, b.height]
            d = np.hypot(*(pa - pb).T)
            dists.append(d)
            frame_means.append(d.mean())
    flat = np.concatenate(dists) if dists else np.zeros(1)
    return Comparison(media.name, len(ref), agree, float(flat.mean()), float(flat.max()),
                      100 * float(flat.mean()) / diag, 100 * float(flat.max()) / diag,
                      100 * float(max(frame_means, default=0)) / diag)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--model-complexity", type=int, choices=sorted(REFERENCES), default=0)
    args = parser.parse_args()
    reference = REFERENCES[args.model_complexity]
    files = sorted(p for p in MEDIA.iterdir() if p.is_file() and (reference / f"{p.name}.jsonl").exists())
    if args.only:
        files = [p for p in files if any(o in p.name for o in args.only)]
    print(f"{'file':44s} {'agree':>9s} {'mean px':>8s} {'max px':>8s} {'mean %d':>8s} {'max %d':>8s}")
    for media in files:
        c = compare(media, args.model_complexity)
        print(f"{c.name:44s} {c.agree:4d}/{c.frames:<4d} {c.mean_px:8.3f} {c.max_px:8.2f} {c.mean_pct:8.4f} "
              f"{c.max_pct:8.3f}")


if __name__ == "__main__":
    main()
