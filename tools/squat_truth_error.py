"""Landmark error on video_squats_woman.mp4 against the upstream (tfjs-models) full-model ground truth.

    python tools/squat_truth_error.py [--model-complexity 1]

Runs pose_tracking_cpu (tracking + smoothing) and prints the pixel error of posegraph's landmarks and of MediaPipe's
reference outputs (../shared/reference/mediapipe{,_full}/) against
../shared/media/ground_truth/tfjs_video_squats_woman_blazepose_full_xyz.json: the median of the per-frame mean
errors, and the mean and max over all 65 x 33 landmarks.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from posegraph import Graph
from posegraph.calculators.io.jsonl import read_jsonl

SHARED = Path(__file__).resolve().parents[2] / "shared"
VIDEO = SHARED / "media" / "video_squats_woman.mp4"
TRUTH = SHARED / "media" / "ground_truth" / "tfjs_video_squats_woman_blazepose_full_xyz.json"
REFERENCES = {0: SHARED / "reference" / "mediapipe", 1: SHARED / "reference" / "mediapipe_full"}


def errors(records, truth: np.ndarray) -> np.ndarray:
    """frames x 33 pixel distances (NaN where no pose)."""
    out = np.full(truth.shape[:2], np.nan)
    for i, rec in enumerate(records):
        if rec.poses:
            px = rec.poses[0].landmarks[:, :2] * [rec.width, rec.height]
            out[i] = np.hypot(*(px - truth[i, :, :2]).T)
    return out


def summary(err: np.ndarray) -> str:
    return (f"per-frame mean error median {np.nanmedian(np.nanmean(err, axis=1)):.2f} px; all landmarks mean "
            f"{np.nanmean(err):.2f} px, max {np.nanmax(err):.1f} px; frames with a pose {int((~np.isnan(err[:, 0])).sum())}")


def run(model_complexity: int) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        graph = Graph("pose_tracking_cpu")
        graph.start({"input_path": str(VIDEO), "landmarks_path": str(out), "model_complexity": model_complexity})
        graph.wait_until_done(timeout=600)
        return read_jsonl(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-complexity", type=int, choices=sorted(REFERENCES), default=1)
    args = parser.parse_args()
    truth = np.array(json.loads(TRUTH.read_text()), dtype=np.float64)
    print("posegraph:", summary(errors(run(args.model_complexity), truth)))
    print("MediaPipe:", summary(errors(read_jsonl(REFERENCES[args.model_complexity] / f"{VIDEO.name}.jsonl"), truth)))


if __name__ == "__main__":
    main()
