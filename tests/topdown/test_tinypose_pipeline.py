"""graphs/tinypose_topdown.pbtxt on the real models and media: accuracy against ground truth (DARK vs argmax),
people counts, negatives, max_poses, and the CLI (JSONL + annotated images, a pose list on every frame)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posegraph.calculators.types import Pose
from posegraph.cli import main as posegraph_main

from .helpers import COCO17, GRAPH_FILE, load_frame, needs_openvino, truth

pytestmark = [pytest.mark.timeout(180), needs_openvino]

TOLERANCE_PX = 25.0
# (image, truth row): tfexamples_pose_landmark_truth.csv row 1 = woman_standing, row 2 = man_suit.
TRUTH_IMAGES = (("person_single_fullbody_woman_standing.png", 1), ("person_single_fullbody_man_suit.jpeg", 2))
# The one keypoint PP-TinyPose 128x96 misses: in man_suit the arms are crossed and the left hand is hidden under the
# right forearm; the model puts the left wrist on the visible hands 40-45 px away (for every crop margin from 0 to
# 0.4 and with flip averaging too). It is checked separately: it must be the least confident keypoint of the pose.
KNOWN_MISSES = {("person_single_fullbody_man_suit.jpeg", "left_wrist")}


def pixel_errors(pose: Pose, frame, row: int, media) -> np.ndarray:
    points = pose.landmarks[:, :2] * [frame.width, frame.height]
    return np.linalg.norm(points - truth(media, row), axis=1)


@pytest.fixture(scope="module")
def truth_results(media, run_frames):
    frames = [load_frame(media, name) for name, _ in TRUTH_IMAGES]
    results = {}
    for method in ("dark", "argmax"):
        outputs = run_frames(frames, {"HeatmapPoseDecodeCalculator": {"method": method}})
        for (name, row), frame, out in zip(TRUTH_IMAGES, frames, outputs):
            assert len(out["poses"]) == 1, f"{name}: expected one person, got {len(out['poses'])}"
            results[method, name] = (out["poses"][0], pixel_errors(out["poses"][0], frame, row, media))
    return results


@pytest.mark.parametrize("name", [name for name, _ in TRUTH_IMAGES])
def test_keypoints_within_25_px_of_the_ground_truth(truth_results, name):
    pose, errors = truth_results["dark", name]
    assert pose.topology == "coco17" and pose.landmarks.shape == (17, 5)
    report = ", ".join(f"{k} {e:.1f}" for k, e in zip(COCO17, errors))
    for keypoint, error in zip(COCO17, errors):
        if (name, keypoint) in KNOWN_MISSES:
            scores = pose.landmarks[:, 3]
            assert scores[COCO17.index(keypoint)] == scores.min(), f"{keypoint} is not the least confident"
            continue
        assert error <= TOLERANCE_PX, f"{name}: {keypoint} is {error:.1f} px off ({report})"
    print(f"\n{name} (DARK): mean {errors.mean():.2f} px, max {errors.max():.2f} px; {report}")


def test_dark_beats_argmax_decoding(truth_results):
    lines = []
    for name, _ in TRUTH_IMAGES:
        dark = truth_results["dark", name][1]
        plain = truth_results["argmax", name][1]
        lines.append(f"{name}: mean error DARK {dark.mean():.2f} px vs argmax {plain.mean():.2f} px; "
                     f"median {np.median(dark):.2f} vs {np.median(plain):.2f}")
        assert dark.mean() < plain.mean() - 2.0, lines[-1]
        assert np.median(dark) < np.median(plain), lines[-1]
    print("\n" + "\n".join(lines))


def test_two_walkers_in_the_snow(media, run_frames):
    frame = load_frame(media, "people_two_walking_snow.bmp")
    out = run_frames([frame], outputs=("poses", "detections"))[0]
    poses, detections = out["poses"], out["detections"]
    assert len(detections) == 2 and len(poses) == 2
    for pose, detection in zip(poses, detections):
        landmarks = pose.landmarks
        assert pose.topology == "coco17" and landmarks.shape == (17, 5) and landmarks.dtype == np.float32
        assert np.all(landmarks[:, 2] == 0) and np.array_equal(landmarks[:, 3], landmarks[:, 4])
        assert np.all((landmarks[:, 3] >= 0) & (landmarks[:, 3] <= 1)) and landmarks[:, 3].mean() > 0.6
        assert pose.score == pytest.approx(detection.score) and pose.score > 0.85
        xmin, ymin, w, h = detection.box
        inside = ((landmarks[:, 0] >= xmin - 0.02) & (landmarks[:, 0] <= xmin + w + 0.02)
                  & (landmarks[:, 1] >= ymin - 0.02) & (landmarks[:, 1] <= ymin + h + 0.02))
        assert inside.mean() >= 0.9  # the keypoints belong to the person of that box
        assert pose.roi is not None and abs(pose.roi.width * frame.width / (pose.roi.height * frame.height) - 0.75) < 1e-6
    centres = sorted(float(p.landmarks[:, 0].mean()) for p in poses)
    assert centres[1] - centres[0] > 0.1  # two different people, not one twice


def test_small_far_people_found_as_paddledetection_finds_them(media, run_frames):
    """PaddleDetection's own pipeline (cv2 bicubic resize, threshold 0.5) finds two people on the kites beach with
    scores 0.66 and 0.60; the graph does the same preprocessing and gives the same scores."""
    frame = load_frame(media, "people_small_far_beach_kites.jpg")
    out = run_frames([frame], outputs=("poses", "detections"))[0]
    assert [round(d.score, 2) for d in out["detections"]] == [0.66, 0.60]
    assert len(out["poses"]) == 2
    for detection in out["detections"]:
        xmin, ymin, w, h = detection.box
        assert ymin > 0.6 and h < 0.25 and w < 0.06  # small standing people in the lower left
    assert abs(out["detections"][0].box[0] - out["detections"][1].box[0]) > 0.05  # two different people


def test_bicubic_preprocessing_is_what_keeps_the_cat_out(media, run_frames):
    """The cat's best box: 0.458 with PaddleDetection's bicubic resize (the one PicoDet was trained with), 0.51 with
    a bilinear warp, which a 0.5 threshold would report as a person."""
    frame = load_frame(media, "negative_cat.bmp")
    best = {}
    for interpolation in ("cubic", "linear"):
        out = run_frames([frame], {"ImageToTensorCalculator": {"interpolation": interpolation}},
                         outputs=("detector_output",))[0]
        best[interpolation] = float(np.max(out["detector_output"][1]))
    assert best["cubic"] == pytest.approx(0.458, abs=0.005) and best["linear"] > 0.5, best


@pytest.mark.parametrize("name", ["negative_cat.bmp", "negative_dogs.jpg"])
def test_nobody_on_the_negatives(media, run_frames, name):
    out = run_frames([load_frame(media, name)], outputs=("poses", "detections", "detector_output"))[0]
    assert out["poses"] == [] and out["detections"] == []
    # and the threshold is not a hair's breadth away: the best raw box stays well below it
    assert float(np.max(out["detector_output"][1])) < 0.6


def test_max_poses_keeps_the_best_people_and_counts_the_rest_as_dropped(media, run_frames):
    frame = load_frame(media, "people_two_walking_snow.bmp")
    graphs: list = []
    both = run_frames([frame], outputs=("poses", "detections"))[0]
    one = run_frames([frame, frame], {"PicoDetDecodeCalculator": {"max_poses": 1}}, graph_out=graphs)
    assert [len(o["poses"]) for o in one] == [1, 1]
    assert one[0]["poses"][0].score == pytest.approx(max(d.score for d in both["detections"]))
    np.testing.assert_allclose(one[0]["poses"][0].landmarks, both["poses"][0].landmarks, atol=1e-6)
    stats = {s.calculator: s for s in graphs[0].node_stats()}
    assert stats["PicoDetDecodeCalculator"].dropped == 2  # one per frame


@pytest.mark.filterwarnings("ignore:.*resizing to fit")
def test_cli_writes_a_pose_list_for_every_frame(media, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, name in enumerate(["people_two_walking_snow.bmp", "negative_cat.bmp", "person_single_fullbody_man_suit.jpeg"]):
        (folder / f"{i}_{name}").write_bytes((media / name).read_bytes())
    landmarks = tmp_path / "out.jsonl"
    annotated = tmp_path / "annotated.png"
    code = posegraph_main(["run", str(GRAPH_FILE), "--input", str(folder), "--landmarks", str(landmarks),
                           "--output", str(annotated), "--quiet"])
    assert code == 0
    lines = [json.loads(line) for line in landmarks.read_text().splitlines()]
    assert [len(line["poses"]) for line in lines] == [2, 0, 1]
    assert all(p["topology"] == "coco17" and len(p["landmarks"]) == 17 for line in lines for p in line["poses"])
    assert sorted(path.name for path in tmp_path.glob("annotated_*.png")) == [
        "annotated_00000.png", "annotated_00001.png", "annotated_00002.png"]


def test_cli_on_a_video_gives_one_line_per_frame(media, tmp_path):
    landmarks = tmp_path / "video.jsonl"
    code = posegraph_main(["run", str(GRAPH_FILE), "--input", str(media / "video_dance_single_synthetic.mp4"),
                           "--max-frames", "6", "--landmarks", str(landmarks), "--quiet"])
    assert code == 0
    lines = [json.loads(line) for line in landmarks.read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(6))
    assert all(len(line["poses"]) == 1 for line in lines)
