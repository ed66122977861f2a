"""posegraph's BlazePose segmentation masks against MediaPipe Tasks 1.2.2 (tests/data/mediapipe_masks/).

    python tools/compare_masks_mediapipe.py [--model-complexity 0|1] [--only NAME ...] [--max-frames N] [--smooth]

Images run the pose_landmark_cpu graph in static-image mode, videos in tracking mode with MediaPipe's timestamps.
Prints per file: found/not-found agreement, IoU of the masks thresholded at 0.5 and (images) the mean absolute
difference of the float masks; and the IoU of both against the tfjs-models ground-truth mask of
yoga_warrior2_beach.jpg. The reference data was made by tools/make_mask_reference.py.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from posegraph import Graph
from posegraph.calculators.types import ImageFrame
from posegraph.segmentation_options import segmentation_masks

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MEDIA = SHARED / "media"
MASKS = REPO / "tests" / "data" / "mediapipe_masks"
TFJS_MASK = MEDIA / "ground_truth" / "tfjs_yoga_warrior2_beach_segmentation_mask.png"
BUNDLES = {0: "lite", 1: "full"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


@dataclass
class MaskComparison:
    name: str
    frames: int
    agree: int
    compared: int
    mean_iou: float
    min_iou: float
    mean_abs_diff: float | None  # images only (videos keep binary references)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def reference(name: str, model_complexity: int = 0) -> dict:
    with np.load(MASKS / f"{name}.{BUNDLES[model_complexity]}.npz") as data:
        return {k: data[k] for k in data.files}


def reference_binary(ref: dict, frame: int) -> np.ndarray:
    h, w = (int(v) for v in ref["shape"])
    return np.unpackbits(ref["bits"][frame])[:h * w].reshape(h, w).astype(bool)


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def start_graph(static: bool, model_complexity: int, smooth: bool = False) -> Graph:
    graph = Graph("pose_landmark_cpu")
    graph.start({"use_prev_landmarks": not static, "enable_segmentation": True, "smooth_segmentation": smooth,
                 "model_complexity": model_complexity}, synchronous=True)
    return graph


def image_mask(path: Path, model_complexity: int = 0) -> np.ndarray | None:
    graph = start_graph(True, model_complexity)
    try:
        out = graph.process({"image": ImageFrame(read_rgb(path), path.name, 0)}, timestamp=0)
    finally:
        graph.close(timeout=30)
    masks = segmentation_masks(out.get("poses") or [])
    return masks[0] if masks else None


def compare_image(path: Path, model_complexity: int = 0) -> MaskComparison:
    ref = reference(path.name, model_complexity)
    ours = image_mask(path, model_complexity)
    found = bool(ref["found"])
    if ours is None or not found:
        return MaskComparison(path.name, 1, int((ours is not None) == found), 0, float("nan"), float("nan"), None)
    theirs = ref["mask"].astype(np.float32) / 255.0
    value = iou(ours > 0.5, theirs > 0.5)
    return MaskComparison(path.name, 1, 1, 1, value, value, float(np.abs(ours - theirs).mean()))


def compare_video(path: Path, model_complexity: int = 0, max_frames: int | None = None,
                  smooth: bool = False) -> MaskComparison:
    ref = reference(path.name, model_complexity)
    total = len(ref["found"]) if max_frames is None else min(max_frames, len(ref["found"]))
    graph = start_graph(False, model_complexity, smooth)
    capture = cv2.VideoCapture(str(path))
    agree, ious = 0, []
    try:
        for i in range(total):
            ok, bgr = capture.read()
            if not ok:
                raise RuntimeError(f"{path.name}: frame {i} could not be decoded")
            out = graph.process({"image": ImageFrame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), path.name, i)},
                                timestamp=int(ref["timestamp_us"][i]))
            masks = segmentation_masks(out.get("poses") or [])
            found = bool(ref["found"][i])
            agree += bool(masks) == found
            if masks and found:
                ious.append(iou(masks[0] > 0.5, reference_binary(ref, i)))
    finally:
        capture.release()
        graph.close(timeout=30)
    return MaskComparison(path.name, total, agree, len(ious), float(np.mean(ious)), float(np.min(ious)), None)


def tfjs_truth() -> np.ndarray:
    """The tfjs-models expected mask: person where the blue channel is set (RGB (0, 0, 255) person, red else)."""
    return cv2.imread(str(TFJS_MASK), cv2.IMREAD_COLOR)[:, :, 0] > 127


def tfjs_ious(model_complexity: int = 0) -> tuple[float, float]:
    """(posegraph, MediaPipe) IoU against the tfjs ground-truth mask of yoga_warrior2_beach.jpg."""
    truth = tfjs_truth()
    ours = image_mask(MEDIA / "yoga_warrior2_beach.jpg", model_complexity)
    theirs = reference("yoga_warrior2_beach.jpg", model_complexity)["mask"] > 127
    return iou(ours > 0.5, truth), iou(theirs, truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-complexity", type=int, choices=sorted(BUNDLES), default=0)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--max-frames", type=int)
    parser.add_argument("--smooth", action="store_true", help="smooth_segmentation in tracking mode")
    args = parser.parse_args()
    files = sorted(p for p in MEDIA.iterdir()
                   if (MASKS / f"{p.name}.{BUNDLES[args.model_complexity]}.npz").exists())
    if args.only:
        files = [p for p in files if any(o in p.name for o in args.only)]
    print(f"{'file':44s} {'agree':>9s} {'mean IoU':>9s} {'min IoU':>9s} {'MAD':>8s}")
    for path in files:
        if path.suffix.lower() in IMAGE_SUFFIXES:
            c = compare_image(path, args.model_complexity)
        else:
            c = compare_video(path, args.model_complexity, args.max_frames, args.smooth)
        mad = "-" if c.mean_abs_diff is None else f"{c.mean_abs_diff:8.5f}"
        print(f"{c.name:44s} {c.agree:4d}/{c.frames:<4d} {c.mean_iou:9.5f} {c.min_iou:9.5f} {mad:>8s}", flush=True)
    ours, theirs = tfjs_ious(args.model_complexity)
    print(f"tfjs ground-truth mask (yoga_warrior2_beach): IoU posegraph {ours:.4f}, MediaPipe {theirs:.4f}")


if __name__ == "__main__":
    main()
