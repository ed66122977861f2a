"""Where masks go: PNG folders, mask videos, the JSONL mask key, the renderer overlay, PoseTracker."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from posegraph.calculators.render.mask_overlay import apply_mask_overlay

pytestmark = pytest.mark.timeout(300)


def posegraph(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "posegraph.cli", "run", "pose_tracking_cpu", "--quiet", *args],
                          capture_output=True, text=True, timeout=250)


def test_masks_folder_and_jsonl_key(media, tmp_path):
    masks, jsonl = tmp_path / "masks", tmp_path / "poses.jsonl"
    done = posegraph("--input", str(media / "video_squats_woman.mp4"), "--max-frames", "3", "--masks", str(masks),
                     "--landmarks", str(jsonl))
    assert done.returncode == 0, done.stderr
    files = sorted(masks.iterdir())
    assert [f.name for f in files] == ["mask_000000.png", "mask_000001.png", "mask_000002.png"]
    first = cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED)
    assert first.dtype == np.uint8 and first.shape == (1280, 720)
    assert 0.05 < (first > 127).mean() < 0.6          # a person, not everything or nothing
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [line["mask"] for line in lines] == [str(f) for f in files]


def test_no_mask_key_without_masks(media, tmp_path):
    jsonl = tmp_path / "poses.jsonl"
    assert posegraph("--input", str(media / "yoga_tree_pose.jpeg"), "--landmarks", str(jsonl)).returncode == 0
    assert "mask" not in json.loads(jsonl.read_text())


def test_mask_video_and_overlay(media, tmp_path):
    video, overlay = tmp_path / "masks.mp4", tmp_path / "overlay.mp4"
    done = posegraph("--input", str(media / "video_dance_single_synthetic.mp4"), "--max-frames", "4", "--masks",
                     str(video), "--output", str(overlay), "--side", "mask_overlay=tint")
    assert done.returncode == 0, done.stderr
    capture = cv2.VideoCapture(str(video))
    frames = 0
    while capture.read()[0]:
        frames += 1
    assert frames == 4
    assert overlay.stat().st_size > 0


def test_bad_overlay_name_is_a_clear_error(media, tmp_path):
    done = posegraph("--input", str(media / "yoga_tree_pose.jpeg"), "--output", str(tmp_path / "o.png"),
                     "--side", "mask_overlay=sparkle")
    assert done.returncode != 0 and "mask_overlay must be one of blur, tint" in done.stderr


def test_overlay_keeps_the_person_and_changes_the_background():
    rgb = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    mask = np.zeros((40, 60), np.float32)
    mask[10:30, 20:40] = 1.0
    for kind in ("blur", "tint"):
        out = apply_mask_overlay(rgb, mask, kind)
        assert np.array_equal(out[10:30, 20:40], rgb[10:30, 20:40])
        assert not np.array_equal(out[:5], rgb[:5])
    with pytest.raises(ValueError):
        apply_mask_overlay(rgb, mask, "sparkle")


def test_pose_tracker_segmentation(media):
    from posegraph.solutions import PoseTracker

    capture = cv2.VideoCapture(str(media / "video_squats_woman.mp4"))
    with PoseTracker(segmentation=True, smooth_segmentation=True) as tracker:
        for _ in range(3):
            ok, bgr = capture.read()
            result = tracker.process(bgr, bgr=True)
            mask = result.segmentation_mask
            assert mask is not None and mask.dtype == np.float32 and mask.shape == (1280, 720)
            assert 0.0 <= float(mask.min()) and float(mask.max()) <= 1.0
            assert len(result.segmentation_masks) == len(result.poses) == 1
    with PoseTracker() as tracker:
        assert tracker.process(np.zeros((64, 64, 3), np.uint8)).segmentation_mask is None


def test_multi_person_one_mask_per_tracked_person(media):
    from posegraph.solutions import PoseTracker

    rgb = cv2.cvtColor(cv2.imread(str(media / "people_two_walking_snow.bmp")), cv2.COLOR_BGR2RGB)
    with PoseTracker(static_image_mode=True, segmentation=True, max_poses=4) as tracker:
        result = tracker.process(rgb)
    assert len(result.poses) == 2 and len(result.segmentation_masks) == 2
    first, second = (m > 0.5 for m in result.segmentation_masks)
    assert first.any() and second.any()
    # Each mask is its own person's: the two overlap little.
    assert (first & second).sum() < 0.5 * min(first.sum(), second.sum())
