"""Per-frame cost of pose classification: the yoga classifier model and k-NN search with a 500-sample set.

    python tools/bench_classify.py [--samples 500] [--repeat 20]

Poses: the published BlazePose landmarks of video_squats_woman.mp4 (65 frames, ../shared/media/ground_truth). The
k-NN set is built from them by random jitter and mirroring (labels from the knee angle), the size MediaPipe's
fitness sample uses per exercise. Each timing is one frame's work as the calculator does it: embedding, search,
EMA smoothing and the Classification; for the model: mapping to COCO-17, one invoke, the Classification.
Target: under 0.5 ms each. Timings on a shared machine are noisy: compare numbers from one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from posegraph.calculators.classify.angles import pose_angles
from posegraph.calculators.classify.kernels import knn_votes
from posegraph.calculators.classify.knn import EmaSmoother, KnnPoseClassifier, PoseSampleSet
from posegraph.calculators.classify.model_classifier import PoseClassifierModel, coco17_indices
from posegraph.calculators.classify.repetition import RepetitionCounter, angle_signal
from posegraph.calculators.types import Pose

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
TARGET_MS = 0.5
W, H = 720, 1280


def load_poses(media: Path) -> np.ndarray:
    xyz = np.array(json.loads((media / "ground_truth" / "tfjs_video_squats_woman_blazepose_full_xyz.json")
                              .read_text()), dtype=np.float64)
    lm = np.ones((len(xyz), 33, 5), np.float32)
    lm[:, :, 0] = xyz[:, :, 0] / W
    lm[:, :, 1] = xyz[:, :, 1] / H
    lm[:, :, 2] = xyz[:, :, 2] / W
    return lm


def make_sample_set(poses: np.ndarray, count: int, rng: np.random.Generator) -> PoseSampleSet:
    knees = np.array([angle_signal(pose_angles(Pose(p, "blazepose33"), W, H), ("left_knee", "right_knee"))
                      for p in poses])
    picks = rng.integers(0, len(poses), count)
    lm = poses[picks].copy()
    lm[:, :, :3] += rng.normal(scale=0.01, size=lm[:, :, :3].shape).astype(np.float32)
    mirror = rng.random(count) < 0.5
    lm[mirror, :, 0] = 1.0 - lm[mirror, :, 0]
    labels = np.digitize(knees[picks], [110.0, 150.0])  # 0 down, 1 half, 2 up
    return PoseSampleSet("blazepose33", ("down", "half", "up"), labels.astype(np.int64), lm,
                         np.tile([W, H], (count, 1)).astype(np.float64))


def time_per_call(fn, items, repeat: int) -> list[float]:
    for item in items[:5]:
        fn(item)  # warm up (compilation, caches)
    out = []
    for _ in range(repeat):
        for item in items:
            start = time.perf_counter_ns()
            fn(item)
            out.append((time.perf_counter_ns() - start) / 1e6)
    return out


def report(name: str, ms: list[float]) -> float:
    ms_sorted = sorted(ms)
    median = statistics.median(ms_sorted)
    p90 = ms_sorted[int(0.9 * (len(ms_sorted) - 1))]
    verdict = "OK" if median < TARGET_MS else "OVER TARGET"
    print(f"{name:<46} median {median:7.4f} ms  p90 {p90:7.4f} ms  mean {statistics.fmean(ms):7.4f} ms  "
          f"target/median {TARGET_MS / median:5.1f}x  {verdict}")
    return median


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args(argv)
    media = args.shared / "media"
    if not media.is_dir():
        print(f"shared media not found at {media}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(0)
    poses = load_poses(media)
    samples = make_sample_set(poses, args.samples, rng)
    print(f"{len(poses)} query poses x {args.repeat} repeats; k-NN set: {len(samples)} samples "
          f"({samples.counts()}), top 30 by max distance, top 10 by mean distance")

    knn = KnnPoseClassifier(samples)
    smoother = EmaSmoother(len(samples.class_names))

    def knn_frame(lm):
        return knn.classification(smoother.update(knn.scores(lm, "blazepose33", W, H)))

    coco = [p[coco17_indices("blazepose33", 33)] for p in poses]

    def knn_frame_coco(lm):
        return knn.classification(smoother.update(knn.scores(lm, "coco17", W, H)))

    model = PoseClassifierModel()
    frames33 = [Pose(p, "blazepose33") for p in poses]
    frames17 = [Pose(p, "coco17") for p in coco]
    counter = RepetitionCounter(120, 150)

    def angles_and_count(pose):
        return counter.update(angle_signal(pose_angles(pose, W, H), ("left_knee", "right_knee")))

    results = {
        "k-NN (blazepose33 query, 500 samples)": report("k-NN blazepose33 query (embed+search+EMA)",
                                                        time_per_call(knn_frame, list(poses), args.repeat)),
        "k-NN (coco17 query)": report("k-NN coco17 query vs blazepose33 set",
                                      time_per_call(knn_frame_coco, coco, args.repeat)),
        "model (coco17)": report("yoga classifier model, coco17 pose",
                                 time_per_call(lambda p: model.classify(p, W, H), frames17, args.repeat)),
        "model (blazepose33)": report("yoga classifier model, blazepose33 pose",
                                      time_per_call(lambda p: model.classify(p, W, H), frames33, args.repeat)),
    }
    report("joint angles + repetition counter", time_per_call(angles_and_count, frames33, args.repeat))
    # Search alone, to show how the cost splits between the kernel and the Python around it.
    _, prepared, _ = knn._prepare("blazepose33", 33)
    query, mirrored = knn.embeddings(poses[10], "blazepose33", W, H)
    report("  of which the search kernel alone", time_per_call(
        lambda _: knn_votes(query, mirrored, prepared, knn._labels, knn.weights, 3, 30, 10, -1),
        list(range(65)), args.repeat))
    ratio = results["k-NN (blazepose33 query, 500 samples)"] / results["model (coco17)"]
    print(f"ratio k-NN / model (median): {ratio:.2f}")
    return 0 if all(v < TARGET_MS for v in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
