"""Compare `BlazePoseLoop` with MediaPipe 1.2.2 Tasks PoseLandmarker outputs on the shared media.

Images run in static-image mode, videos in tracking mode with smoothing, decoded with cv2.VideoCapture (BGR -> RGB)
and fed with the exact `timestamp_us` of the reference JSONL. Per file it prints: found/not-found agreement with
the reference, mean and max landmark distance (pixels and % of the image diagonal), and for
yoga_warrior2_beach.jpg the max pixel error against the tfjs-models expected landmarks.

Usage: python tools/compare_mediapipe.py [--media DIR] [--reference DIR] [--only NAME ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

try:
    from blazepose_loop import BlazePoseLoop  # run as a script from tools/
except ImportError:  # pragma: no cover - imported as tools.compare_mediapipe
    from tools.blazepose_loop import BlazePoseLoop

SHARED = Path(os.environ.get("POSEGRAPH_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
MEDIA = SHARED / "media"
REFERENCE = SHARED / "reference" / "mediapipe"
TFJS_EXPECTED = MEDIA / "ground_truth" / "tfjs_yoga_warrior2_beach_blazepose_expected.json"
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp"}
VIDEO_EXT = {".mp4"}


@dataclass
class FileResult:
    """Agreement of one media file with the MediaPipe reference."""

    name: str
    mode: str
    width: int
    height: int
    frames: int = 0
    agree: int = 0
    both_found: int = 0
    ours_only: int = 0
    ref_only: int = 0
    mean_px: float = 0.0
    max_px: float = 0.0
    mean_pct_diag: float = 0.0
    max_pct_diag: float = 0.0
    world_mean_m: float = 0.0
    tfjs_max_px: float | None = None
    ms_per_frame: float = 0.0
    errors_px: list[float] = field(default_factory=list, repr=False)

    @property
    def all_agree(self) -> bool:
        return self.agree == self.frames


def load_reference(path: Path) -> list[dict]:
    """The JSONL reference of one media file, one dict per frame."""
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_image_rgb(path: Path) -> np.ndarray:
    """Decode like the reference: cv2.imread(IMREAD_COLOR) then BGR -> RGB."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot decode {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def iter_video_rgb(path: Path):
    """Frames of a video as RGB uint8, decoded with cv2.VideoCapture."""
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def _accumulate(res: FileResult, ours, ref: dict, world_errs: list[float]) -> None:
    w, h = ref["width"], ref["height"]
    ref_found = bool(ref["poses"])
    found = ours is not None
    res.frames += 1
    res.agree += int(found == ref_found)
    if found and ref_found:
        res.both_found += 1
        ref_lm = np.asarray(ref["poses"][0]["landmarks"], dtype=np.float64)
        d = np.hypot((ours.landmarks[:, 0] - ref_lm[:, 0]) * w, (ours.landmarks[:, 1] - ref_lm[:, 1]) * h)
        res.errors_px.extend(d.tolist())
        ref_w = np.asarray(ref["poses"][0]["world_landmarks"], dtype=np.float64)
        world_errs.extend(np.linalg.norm(ours.world_landmarks[:, :3] - ref_w, axis=1).tolist())
    elif found:
        res.ours_only += 1
    elif ref_found:
        res.ref_only += 1


def _finish(res: FileResult, world_errs: list[float]) -> FileResult:
    diag = math.hypot(res.width, res.height)
    if res.errors_px:
        e = np.asarray(res.errors_px)
        res.mean_px, res.max_px = float(e.mean()), float(e.max())
        res.mean_pct_diag, res.max_pct_diag = 100 * res.mean_px / diag, 100 * res.max_px / diag
    if world_errs:
        res.world_mean_m = float(np.mean(world_errs))
    return res


def tfjs_max_error(pose, width: int, height: int, expected_path: Path = TFJS_EXPECTED) -> float | None:
    """Max Euclidean pixel error of a pose against the tfjs-models EXPECTED_LANDMARKS of yoga_warrior2_beach."""
    if pose is None or not expected_path.exists():
        return None
    data = json.loads(expected_path.read_text())
    key = next(k for k in data if k.lower().startswith("expected_landmarks") or k == "landmarks")
    exp = np.asarray(data[key], dtype=np.float64)[:, :2]
    ours = pose.landmarks[:, :2] * np.array([width, height])
    return float(np.linalg.norm(ours - exp, axis=1).max())


def compare_image(path: Path, ref_path: Path, loop: BlazePoseLoop) -> FileResult:
    ref = load_reference(ref_path)[0]
    rgb = read_image_rgb(path)
    loop.reset()
    t0 = time.perf_counter()
    pose = loop.process(rgb, 0)
    dt = time.perf_counter() - t0
    res = FileResult(path.name, "image", rgb.shape[1], rgb.shape[0], ms_per_frame=dt * 1e3)
    world: list[float] = []
    _accumulate(res, pose, ref, world)
    if path.name == "yoga_warrior2_beach.jpg":
        res.tfjs_max_px = tfjs_max_error(pose, rgb.shape[1], rgb.shape[0])
    return _finish(res, world)


def compare_video(path: Path, ref_path: Path, loop: BlazePoseLoop) -> FileResult:
    refs = load_reference(ref_path)
    loop.reset()
    res = FileResult(path.name, "video", refs[0]["width"], refs[0]["height"])
    world: list[float] = []
    total = 0.0
    for i, rgb in enumerate(iter_video_rgb(path)):
        if i >= len(refs):
            break
        ref = refs[i]
        if ref["frame"] != i:
            raise ValueError(f"{ref_path.name}: frame {ref['frame']} out of order")
        t0 = time.perf_counter()
        pose = loop.process(rgb, int(ref["timestamp_us"]))
        total += time.perf_counter() - t0
        _accumulate(res, pose, ref, world)
    res.ms_per_frame = 1e3 * total / max(res.frames, 1)
    return _finish(res, world)


def run(media: Path = MEDIA, reference: Path = REFERENCE, only: list[str] | None = None,
        num_threads: int = 1, warp_backend: str = "classic") -> list[FileResult]:
    """Compare every media file that has a reference; returns the per-file results."""
    image_loop = BlazePoseLoop(static_image_mode=True, num_threads=num_threads, warp_backend=warp_backend)
    video_loop = BlazePoseLoop(static_image_mode=False, smooth=True, num_threads=num_threads,
                               warp_backend=warp_backend)
    image_loop.warm_up()
    video_loop.warm_up()
    results = []
    for path in sorted(media.iterdir()):
        ext = path.suffix.lower()
        if ext not in IMAGE_EXT | VIDEO_EXT or (only and path.name not in only):
            continue
        ref_path = reference / f"{path.name}.jsonl"
        if not ref_path.exists():
            continue
        if ext in IMAGE_EXT:
            results.append(compare_image(path, ref_path, image_loop))
        else:
            results.append(compare_video(path, ref_path, video_loop))
    return results


def format_table(results: list[FileResult]) -> str:
    head = (f"{'file':44s} {'mode':5s} {'agree':>9s} {'mean px':>9s} {'max px':>8s} {'mean %d':>8s} "
            f"{'max %d':>7s} {'world m':>8s} {'ms':>6s}  notes")
    lines = [head, "-" * len(head)]
    for r in results:
        note = "" if r.all_agree else f"ours-only {r.ours_only}, ref-only {r.ref_only}"
        if r.tfjs_max_px is not None:
            note += f" tfjs max {r.tfjs_max_px:.2f} px"
        lines.append(f"{r.name:44s} {r.mode:5s} {r.agree:4d}/{r.frames:<4d} {r.mean_px:9.4f} {r.max_px:8.3f} "
                     f"{r.mean_pct_diag:8.4f} {r.max_pct_diag:7.3f} {r.world_mean_m:8.5f} {r.ms_per_frame:6.1f}  "
                     f"{note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=MEDIA)
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--only", nargs="*", default=None, help="media file names to compare")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warp", choices=("classic", "opencv"), default="classic")
    parser.add_argument("--json", type=Path, default=None, help="write per-file results as JSON")
    args = parser.parse_args(argv)
    results = run(args.media, args.reference, args.only, args.threads, args.warp)
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in asdict(r).items() if k != "errors_px"}
                                         for r in results], indent=1))
    ok = all(r.all_agree for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
