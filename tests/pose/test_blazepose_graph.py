"""The shipped BlazePose graphs against MediaPipe's own outputs on every shared media file (same model files):
bit-identical landmarks and world landmarks on every image and video frame (MediaPipe Tasks 1.2.2)."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.io.jsonl import read_jsonl
from posegraph.solutions import PoseTracker

pytestmark = pytest.mark.timeout(300)

IMAGES = ["figure_skater_seq_00001.jpg", "figure_skater_seq_00020.jpg", "figure_skater_seq_00104.jpg",
          "fitness_squat.bmp", "negative_cat.bmp", "negative_dogs.jpg", "people_several_closeup_partial.jpg",
          "people_small_far_beach_kites.jpg", "people_two_partial_body.jpg", "people_two_walking_snow.bmp",
          "person_partial_upper_body_grace_hopper.bmp", "person_partial_upper_body_portrait.jpg",
          "person_single_fullbody_man_casual.jpg", "person_single_fullbody_man_suit.jpeg",
          "person_single_fullbody_woman_standing.png", "yoga_tree_pose.jpeg", "yoga_warrior2_beach.jpg"]
VIDEOS = ["video_dance_single_synthetic.mp4", "video_man_dancing_fullbody.mp4", "video_squats_woman.mp4",
          "video_upper_body_selfie.mp4"]


def run_graph(media, tmp_path, **side):
    out = tmp_path / "poses.jsonl"
    graph = Graph("pose_tracking_cpu")
    graph.start({"input_path": str(media), "landmarks_path": str(out), **side})
    graph.wait_until_done(timeout=250)
    return read_jsonl(out)


def assert_bit_identical(ours, ref) -> None:
    """Every frame: the same poses, landmarks (x, y, z, visibility, presence) and world landmarks to the bit."""
    assert [r.timestamp_us for r in ours] == [r.timestamp_us for r in ref]
    for i, (a, b) in enumerate(zip(ours, ref)):
        assert len(a.poses) == len(b.poses), i
        for p, q in zip(a.poses, b.poses):
            assert np.array_equal(np.float32(p.landmarks), np.float32(q.landmarks)), i
            assert np.array_equal(np.float32(p.world_landmarks)[:, :3], np.float32(q.world_landmarks)[:, :3]), i


@pytest.mark.parametrize("name", IMAGES)
def test_static_images_match_mediapipe(name, media, reference, tmp_path):
    ours = run_graph(media / name, tmp_path, use_prev_landmarks=False)
    ref = read_jsonl(reference / f"{name}.jsonl")
    assert_bit_identical(ours, ref)
    if name.startswith("negative"):
        assert ours[0].poses == []


@pytest.mark.parametrize("name", VIDEOS)
def test_tracking_videos_match_mediapipe(name, media, reference, tmp_path):
    ours = run_graph(media / name, tmp_path)
    ref = read_jsonl(reference / f"{name}.jsonl")
    assert_bit_identical(ours, ref)


def test_warrior_against_upstream_ground_truth(media, tmp_path):
    truth = json.loads((media / "ground_truth" / "tfjs_yoga_warrior2_beach_blazepose_expected.json").read_text())
    expected = np.array(truth["EXPECTED_LANDMARKS"], dtype=np.float64)
    ours = run_graph(media / "yoga_warrior2_beach.jpg", tmp_path, use_prev_landmarks=False)[0]
    got = ours.poses[0].landmarks[:, :2] * [ours.width, ours.height]
    error = np.linalg.norm(got - expected[:, :2], axis=1)
    assert error.max() <= 10.0, error.max()


def test_pose_tracker_matches_the_graph_run(media, reference):
    ref = read_jsonl(reference / "video_squats_woman.mp4.jsonl")
    capture = cv2.VideoCapture(str(media / "video_squats_woman.mp4"))
    with PoseTracker() as tracker:
        for record in ref[:20]:
            ok, bgr = capture.read()
            assert ok
            result = tracker.process(bgr, record.timestamp_us, bgr=True)
            assert result.found
            assert result.landmarks.shape == (33, 5) and result.world_landmarks.shape == (33, 3)
            assert np.array_equal(np.float32(result.landmarks), np.float32(record.poses[0].landmarks))


def test_pose_tracker_static_mode_and_no_person(media):
    rgb = cv2.cvtColor(cv2.imread(str(media / "negative_cat.bmp")), cv2.COLOR_BGR2RGB)
    with PoseTracker(static_image_mode=True) as tracker:
        assert not tracker.process(rgb).found
        person = cv2.cvtColor(cv2.imread(str(media / "yoga_tree_pose.jpeg")), cv2.COLOR_BGR2RGB)
        assert tracker.process(person).found
    with pytest.raises(ValueError, match="min_detection_confidence"):
        PoseTracker(min_detection_confidence=1.5)


def test_cli_run_writes_landmarks_and_video(media, tmp_path):
    landmarks, video = tmp_path / "out.jsonl", tmp_path / "out.mp4"
    done = subprocess.run([sys.executable, "-m", "posegraph.cli", "run", "pose_tracking_cpu", "--input",
                           str(media / "video_dance_single_synthetic.mp4"), "--landmarks", str(landmarks),
                           "--output", str(video), "--max-frames", "12"], capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stderr
    lines = landmarks.read_text().splitlines()
    assert len(lines) == 12
    assert json.loads(lines[0])["poses"][0]["topology"] == "blazepose33"
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    assert "frames/s" in done.stderr  # the summary line; stdout stays clean
