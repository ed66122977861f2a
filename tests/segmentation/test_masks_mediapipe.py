"""BlazePose segmentation masks against MediaPipe Tasks 1.2.2 (output_segmentation_masks=True), same model files.

Targets (issue #16): on every shared image with a person IoU at 0.5 >= 0.99 and mean absolute difference <= 0.01;
on the videos in tracking mode mean IoU >= 0.98 (a prefix of each here, to keep the suite short; the whole videos
are in the README, from tools/compare_masks_mediapipe.py). Measured: images IoU 0.9986-0.9997, MAD <= 0.0003;
videos (landmarks bit-identical, so the same crops) mean IoU 0.9990-0.9996, no frame below 0.9978.
Checked tighter here: images IoU >= 0.998, MAD <= 0.0005; video prefixes >= 0.997.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]


def _load_tool(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


masks = _load_tool("compare_masks_mediapipe")
if not masks.MEDIA.is_dir():
    pytest.skip(f"shared media not available at {masks.MEDIA}", allow_module_level=True)

IMAGES = sorted(p.name for p in masks.MEDIA.iterdir() if p.suffix.lower() in masks.IMAGE_SUFFIXES)


@pytest.mark.parametrize("name", IMAGES)
def test_image_masks_match_mediapipe_lite(name):
    c = masks.compare_image(masks.MEDIA / name, 0)
    assert c.agree == 1, f"{name}: found/not-found differs from MediaPipe"
    if c.compared:
        assert c.mean_iou >= 0.998, c
        assert c.mean_abs_diff <= 0.0005, c


@pytest.mark.parametrize("name", ["yoga_warrior2_beach.jpg", "people_small_far_beach_kites.jpg",
                                  "person_partial_upper_body_portrait.jpg"])
def test_image_masks_match_mediapipe_full(name):
    c = masks.compare_image(masks.MEDIA / name, 1)
    assert c.agree == 1
    if c.compared:
        assert c.mean_iou >= 0.998 and c.mean_abs_diff <= 0.0005, c


@pytest.mark.parametrize("name", ["video_squats_woman.mp4", "video_dance_single_synthetic.mp4"])
def test_video_masks_match_mediapipe_in_tracking_mode(name):
    c = masks.compare_video(masks.MEDIA / name, 0, max_frames=15)
    assert c.agree == c.frames == 15
    assert c.mean_iou >= 0.997, c


def test_selfie_masks_past_the_old_drift():
    """The tracked ROI used to leave MediaPipe's from frame 34 on (glibc's float functions); now IoU stays >= 0.999."""
    c = masks.compare_video(masks.MEDIA / "video_upper_body_selfie.mp4", 0, max_frames=45)
    assert c.agree == c.frames == 45
    assert c.mean_iou >= 0.999 and c.min_iou >= 0.998, c


def test_smoothing_changes_tracked_masks_only_a_little():
    """smooth_segmentation (legacy MediaPipe) blends with the previous mask: different from Tasks, but close."""
    plain = masks.compare_video(masks.MEDIA / "video_squats_woman.mp4", 0, max_frames=6)
    smooth = masks.compare_video(masks.MEDIA / "video_squats_woman.mp4", 0, max_frames=6, smooth=True)
    assert smooth.mean_iou != plain.mean_iou
    assert smooth.mean_iou >= 0.9


def test_tfjs_ground_truth_mask_as_close_as_mediapipe():
    ours, theirs = masks.tfjs_ious(0)
    assert theirs > 0.9
    assert abs(ours - theirs) <= 0.005, (ours, theirs)


def test_no_mask_unless_asked(media):
    from posegraph import Graph
    from posegraph.calculators.types import ImageFrame

    graph = Graph("pose_landmark_cpu")
    graph.start({"use_prev_landmarks": False}, synchronous=True)
    try:
        out = graph.process({"image": ImageFrame(masks.read_rgb(media / "yoga_tree_pose.jpeg"), "x", 0)}, timestamp=0)
    finally:
        graph.close(timeout=30)
    (pose,) = out["poses"]
    assert not any("segmentation" in key for key in pose.extras)
    assert np.asarray(pose.landmarks).shape == (33, 5)
