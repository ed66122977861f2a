"""The sequential BlazePose loop against MediaPipe 1.2.2 Tasks PoseLandmarker outputs on the shared media.

Targets (from the issue): the same found / not-found decision as MediaPipe on every image and video frame; mean
landmark distance <= 0.5 % of the image diagonal on images and <= 1 % on videos (tracking + smoothing);
yoga_warrior2_beach max error <= 10 px against the tfjs-models expected landmarks; no pose on the negatives.
Measured here: bit-identical landmarks on every image and video frame.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]


def _load_tool(name: str):
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "tools"))
    return module


loop_mod = _load_tool("blazepose_loop")
cmp_mod = _load_tool("compare_mediapipe")

_missing = [p for p in (loop_mod.DEFAULT_DETECTOR, loop_mod.DEFAULT_LANDMARKER, cmp_mod.MEDIA, cmp_mod.REFERENCE)
            if not Path(p).exists()]
if _missing:
    pytest.skip(f"shared models/media/reference not available: {_missing}", allow_module_level=True)


@pytest.fixture(scope="module")
def image_loop():
    return loop_mod.BlazePoseLoop(static_image_mode=True)


@pytest.mark.parametrize("name", ["yoga_warrior2_beach.jpg", "fitness_squat.bmp",
                                  "person_single_fullbody_woman_standing.png", "people_two_partial_body.jpg"])
def test_images_match_mediapipe(image_loop, name):
    res = cmp_mod.compare_image(cmp_mod.MEDIA / name, cmp_mod.REFERENCE / f"{name}.jsonl", image_loop)
    assert res.all_agree and res.both_found == 1
    assert res.mean_pct_diag <= 0.5
    # The exact-numerics work (crop, conversion, NMS, correctly rounded float functions) makes them bit-identical.
    ref = np.asarray(cmp_mod.load_reference(cmp_mod.REFERENCE / f"{name}.jsonl")[0]["poses"][0]["landmarks"],
                     dtype=np.float32)
    pose = image_loop.process(cmp_mod.read_image_rgb(cmp_mod.MEDIA / name))
    assert np.array_equal(np.float32(pose.landmarks), ref)
    if name == "yoga_warrior2_beach.jpg":
        assert res.tfjs_max_px is not None and res.tfjs_max_px <= 10.0
        assert res.world_mean_m < 1e-3


@pytest.mark.parametrize("name", ["negative_cat.bmp", "negative_dogs.jpg"])
def test_no_pose_on_negatives(image_loop, name):
    rgb = cmp_mod.read_image_rgb(cmp_mod.MEDIA / name)
    assert image_loop.process(rgb) is None
    res = cmp_mod.compare_image(cmp_mod.MEDIA / name, cmp_mod.REFERENCE / f"{name}.jsonl", image_loop)
    assert res.all_agree


def test_video_tracking_with_smoothing():
    name = "video_squats_woman.mp4"
    loop = loop_mod.BlazePoseLoop(static_image_mode=False, smooth=True)
    res = cmp_mod.compare_video(cmp_mod.MEDIA / name, cmp_mod.REFERENCE / f"{name}.jsonl", loop)
    assert res.frames == 65
    assert res.all_agree
    assert res.mean_pct_diag <= 1.0


def test_video_bit_exact():
    """Tracking + smoothing reproduce MediaPipe bit for bit on every frame (the ROI tracked from each frame's
    landmarks used to drift away from frame 34 on, through glibc's atan2f/cosf/sinf/expf)."""
    name = "video_upper_body_selfie.mp4"
    refs = cmp_mod.load_reference(cmp_mod.REFERENCE / f"{name}.jsonl")
    loop = loop_mod.BlazePoseLoop(static_image_mode=False, smooth=True)
    for i, rgb in enumerate(cmp_mod.iter_video_rgb(cmp_mod.MEDIA / name)):
        pose = loop.process(rgb, refs[i]["timestamp_us"])
        ref = np.asarray(refs[i]["poses"][0]["landmarks"], dtype=np.float32)
        assert pose is not None
        assert np.array_equal(np.float32(pose.landmarks), ref), i
    assert i == len(refs) - 1
