"""graphs/openpose_multipose.pbtxt on the real model and media."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.io.images import read_image
from posegraph.calculators.types import Pose
from posegraph.errors import CalculatorError

pytestmark = pytest.mark.timeout(120)


def run_graph(side: dict) -> list[list[Pose]]:
    g = Graph("openpose_multipose")
    out: list[list[Pose]] = []
    g.observe_output("poses", lambda p: out.append(p.value))
    g.start(side)
    g.wait_until_done(timeout=60)
    return out


def test_two_walkers_match_the_posenet_reference(media):
    """Both people found, each close to Coral's PoseNet pose of the same person: mean distance of the keypoints
    both models give under 3% of the image diagonal (measured: 0.6% and 1.2%)."""
    image = media / "people_two_walking_snow.bmp"
    h, w = read_image(image).shape[:2]
    diagonal = np.hypot(w, h)
    with open(media / "ground_truth" / "coral_posenet_353x481_reference_people_two_walking_snow.csv") as f:
        rows = list(csv.DictReader(f))
    poses = run_graph({"input_path": str(image)})[0]
    assert len(poses) == 2
    matched = set()
    for pid in (0, 1):
        mine = sorted((r for r in rows if int(r["pose_id"]) == pid), key=lambda r: int(r["keypoint_id"]))
        ref = np.array([[float(r["keypoint_x"]) * w, float(r["keypoint_y"]) * h] for r in mine])
        mean_dist = []
        for pose in poses:
            present = pose.landmarks[:, 3] > 0
            d = np.hypot(*(pose.landmarks[present, :2] * [w, h] - ref[present]).T)
            mean_dist.append(d.mean() / diagonal)
        best = int(np.argmin(mean_dist))
        matched.add(best)
        assert mean_dist[best] < 0.03
        assert (poses[best].landmarks[:, 3] > 0).sum() >= 12  # keypoints on each person
    assert matched == {0, 1}
    for pose in poses:
        assert pose.topology == "coco17" and pose.landmarks.shape == (17, 5)
        missing = pose.landmarks[:, 3] == 0
        assert (pose.landmarks[missing, :2] == 0).all()
        assert "neck" in pose.extras and pose.extras["paf_score"] > 0.4


@pytest.mark.parametrize("image", ["negative_cat.bmp", "negative_dogs.jpg"])
def test_nobody_on_negatives(media, image):
    assert run_graph({"input_path": str(media / image)}) == [[]]


def test_several_people_in_a_closeup(media):
    # two people in front, two behind them, mostly faces and shoulders (measured: 4)
    poses = run_graph({"input_path": str(media / "people_several_closeup_partial.jpg")})[0]
    assert len(poses) >= 3
    scores = [p.score for p in poses]
    assert scores == sorted(scores, reverse=True)
    noses = np.array([p.landmarks[0, :2] for p in poses if p.landmarks[0, 3] > 0])
    assert len(noses) >= 3
    # distinct people: no two noses within 5% of the image width
    d = np.hypot(*(noses[:, None] - noses[None]).transpose(2, 0, 1))
    assert (d[np.triu_indices(len(noses), 1)] > 0.05).all()


def test_a_model_that_does_not_fit_is_refused_naming_node_and_shapes(media):
    with pytest.raises(CalculatorError) as info:
        run_graph({"input_path": str(media / "fitness_squat.bmp"), "model": "posenet"})
    message = str(info.value)
    assert "openpose_decoder" in message and "[1, H, W, 57]" in message and "[1, 23, 31, 64]" in message


def test_cli_runs_the_graph_file_with_landmarks_and_annotated_output(media, tmp_path):
    from pathlib import Path

    import posegraph.graphs
    from posegraph.calculators.io.jsonl import read_jsonl
    from posegraph.cli import main as cli_main

    graph = Path(posegraph.graphs.__file__).parent / "openpose_multipose.pbtxt"
    landmarks, annotated = tmp_path / "poses.jsonl", tmp_path / "annotated.png"
    rc = cli_main(["run", str(graph), "--input", str(media / "people_two_walking_snow.bmp"),
                   "--landmarks", str(landmarks), "--output", str(annotated), "--quiet"])
    assert rc == 0
    records = read_jsonl(landmarks)
    assert len(records) == 1 and len(records[0].poses) == 2
    assert annotated.stat().st_size > 0
    drawn, original = read_image(annotated), read_image(media / "people_two_walking_snow.bmp")
    assert drawn.shape == original.shape and (drawn != original).any()  # skeletons drawn
