"""The full BlazePose landmark model (model_complexity=1) against MediaPipe 1.2.2 Tasks with the same file.

Targets (issue #16): found/not-found agrees on every frame and the mean landmark distance is within the lite
model's bounds (images <= 0.5 % of the diagonal, videos <= 1 %), against ../shared/reference/mediapipe_full/.
Measured: bit-identical landmarks on every image and video frame (the tests check x, y exactly).
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
if "compare_graph_mediapipe" not in sys.modules:
    spec = importlib.util.spec_from_file_location("compare_graph_mediapipe",
                                                  ROOT / "tools" / "compare_graph_mediapipe.py")
    sys.modules["compare_graph_mediapipe"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sys.modules["compare_graph_mediapipe"])
cmp_mod = sys.modules["compare_graph_mediapipe"]

if not cmp_mod.REFERENCES[1].is_dir():
    pytest.skip("shared full-model references not available", allow_module_level=True)


def test_manifest_entry_matches_the_file(models):
    from posegraph.models import resolve_model

    path = resolve_model("blazepose_landmark_full")
    assert path.name == "blazepose_pose_landmark_full.tflite"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == \
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"


@pytest.mark.parametrize("name", ["yoga_warrior2_beach.jpg", "people_several_closeup_partial.jpg",
                                  "negative_dogs.jpg", "person_partial_upper_body_portrait.jpg"])
def test_full_model_images_match_mediapipe(media, name):
    c = cmp_mod.compare(media / name, model_complexity=1)
    assert c.agree == c.frames == 1
    assert c.max_px == 0.0, c  # bit-identical x, y


def test_full_model_video_matches_mediapipe(media):
    c = cmp_mod.compare(media / "video_squats_woman.mp4", model_complexity=1)
    assert c.agree == c.frames == 65
    assert c.max_px == 0.0, c  # bit-identical x, y on every frame


def test_model_complexity_choices():
    from posegraph.calculators.landmarks.model_complexity import landmark_model_for

    assert landmark_model_for(None) == "blazepose_landmark_lite"
    assert landmark_model_for(1) == "blazepose_landmark_full"
    assert landmark_model_for(2, "/x/pose_landmark_heavy.tflite") == "/x/pose_landmark_heavy.tflite"
    with pytest.raises(ValueError, match="heavy"):
        landmark_model_for(2)
    with pytest.raises(ValueError, match="0 \\(lite\\)"):
        landmark_model_for(3)


def test_pose_tracker_model_complexity(media):
    import cv2

    from posegraph.solutions import PoseTracker

    rgb = cv2.cvtColor(cv2.imread(str(media / "yoga_tree_pose.jpeg")), cv2.COLOR_BGR2RGB)
    results = {}
    for complexity in (0, 1):
        with PoseTracker(static_image_mode=True, model_complexity=complexity) as tracker:
            results[complexity] = tracker.process(rgb).landmarks
    ref = cmp_mod.read_jsonl(cmp_mod.REFERENCES[1] / "yoga_tree_pose.jpeg.jsonl")[0].poses[0].landmarks
    np.testing.assert_allclose(results[1], ref, atol=1e-5)
    assert not np.allclose(results[0], results[1], atol=1e-3)
    with pytest.raises(ValueError, match="heavy"):
        PoseTracker(model_complexity=2)


def test_cli_model_complexity(media, tmp_path):
    out = tmp_path / "full.jsonl"
    done = subprocess.run([sys.executable, "-m", "posegraph.cli", "run", "pose_tracking_cpu", "--input",
                           str(media / "fitness_squat.bmp"), "--static", "--model-complexity", "1", "--landmarks",
                           str(out), "--quiet"], capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stderr
    ours = cmp_mod.read_jsonl(out)[0].poses[0].landmarks
    ref = cmp_mod.read_jsonl(cmp_mod.REFERENCES[1] / "fitness_squat.bmp.jsonl")[0].poses[0].landmarks
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    bad = subprocess.run([sys.executable, "-m", "posegraph.cli", "run", "pose_tracking_cpu", "--input",
                          str(media / "fitness_squat.bmp"), "--model-complexity", "2", "--quiet"],
                         capture_output=True, text=True, timeout=200)
    assert bad.returncode != 0 and "landmark_model=PATH" in bad.stderr
