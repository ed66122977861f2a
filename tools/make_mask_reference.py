"""Make the MediaPipe segmentation-mask test data (tests/data/mediapipe_masks/*.npz).

Runs MediaPipe Tasks' PoseLandmarker (mediapipe==1.2.2 from PyPI) with ``output_segmentation_masks=True`` on every
shared media file, with the settings of ../shared/reference/mediapipe/README.md: the 2021 .task bundles kept in
../shared/models/reference/, OpenCV decoding (BGR -> RGB, ``mp.Image(SRGB)``), IMAGE mode for images (``detect``),
VIDEO mode for videos (a fresh landmarker per video, frame ``i`` at ``ts_ms = round(i * 1000 / fps)``), all other
options MediaPipe's defaults (num_poses=1, confidences 0.5).

It needs MediaPipe, which posegraph does not depend on; run it from a separate environment:

    python3 -m venv /tmp/mpenv && /tmp/mpenv/bin/pip install mediapipe==1.2.2 opencv-python-headless
    /tmp/mpenv/bin/python tools/make_mask_reference.py --bundle lite --out tests/data/mediapipe_masks

Stored per media file, ``<media name>.<bundle>.npz`` (compressed):

- images: ``mask`` uint8 H x W = round(mask * 255) of MediaPipe's float mask (absent when no pose was found),
  ``found`` (bool);
- videos: ``bits`` = np.packbits(mask > 0.5) per frame (frames x ceil(H*W/8), uint8; all zeros where no pose was
  found), ``found`` (bool per frame), ``timestamp_us`` (int64 per frame), ``shape`` (H, W), and
  ``mean`` (float32 per frame: the float mask's mean, to check smoothing and quantisation are not hiding a drift).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
VIDEO_SUFFIXES = {".mp4"}
BUNDLES = {"lite": "mediapipe_pose_landmarker_lite_2021.task", "full": "mediapipe_pose_landmarker_full_2021.task"}


def _landmarker(bundle: Path, video: bool):
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    options = PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(bundle)),
                                    running_mode=RunningMode.VIDEO if video else RunningMode.IMAGE,
                                    output_segmentation_masks=True)
    return mp, PoseLandmarker.create_from_options(options)


def _mask(result) -> np.ndarray | None:
    masks = result.segmentation_masks or []
    if not masks:
        return None
    return np.array(masks[0].numpy_view(), dtype=np.float32).reshape(masks[0].height, masks[0].width)


def image_reference(path: Path, bundle: Path) -> dict:
    import cv2

    mp, landmarker = _landmarker(bundle, video=False)
    with landmarker:
        rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        mask = _mask(landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)))
    if mask is None:
        return {"found": np.bool_(False), "shape": np.array(rgb.shape[:2])}
    return {"found": np.bool_(True), "shape": np.array(rgb.shape[:2]),
            "mask": np.clip(np.rint(mask * 255.0), 0, 255).astype(np.uint8)}


def video_reference(path: Path, bundle: Path) -> dict:
    import cv2

    mp, landmarker = _landmarker(bundle, video=True)
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    bits, found, stamps, means, shape = [], [], [], [], None
    with landmarker:
        index = 0
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            shape = rgb.shape[:2]
            ts_ms = round(index * 1000 / fps)
            mask = _mask(landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), ts_ms))
            binary = np.zeros(shape, bool) if mask is None else mask > 0.5
            bits.append(np.packbits(binary.ravel()))
            found.append(mask is not None)
            stamps.append(ts_ms * 1000)
            means.append(0.0 if mask is None else float(mask.mean()))
            index += 1
    capture.release()
    return {"bits": np.stack(bits), "found": np.array(found), "timestamp_us": np.array(stamps, np.int64),
            "shape": np.array(shape), "mean": np.array(means, np.float32)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    parser.add_argument("--bundle", choices=sorted(BUNDLES), default="lite")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "tests/data/mediapipe_masks")
    parser.add_argument("--only", nargs="*", help="media file names (default: all)")
    parser.add_argument("--images-only", action="store_true")
    args = parser.parse_args(argv)
    bundle = args.shared / "models/reference" / BUNDLES[args.bundle]
    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted((args.shared / "media").iterdir()):
        suffix = path.suffix.lower()
        if args.only and path.name not in args.only:
            continue
        if suffix in IMAGE_SUFFIXES:
            data = image_reference(path, bundle)
        elif suffix in VIDEO_SUFFIXES and not args.images_only:
            data = video_reference(path, bundle)
        else:
            continue
        target = args.out / f"{path.name}.{args.bundle}.npz"
        np.savez_compressed(target, **data)
        print(f"{path.name}: found {np.asarray(data['found']).sum()} -> {target} ({target.stat().st_size} bytes)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
