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


# -- against an independent reference of the upstream decoder (tf-pose-estimation, as shipped since 2019) ---------
RAW_OUTPUT = """
input_stream: "frames"  output_stream: "raw"  output_stream: "matrix"  output_stream: "poses"
node { calculator: "ImageToTensorCalculator" input_stream: "IMAGE:frames" output_stream: "TENSORS:t"
       output_stream: "MATRIX:matrix"
       options { [posegraph.ImageToTensorOptions.ext] { output_tensor_width: 432 output_tensor_height: 368
                 keep_aspect_ratio: true range_min: 0 range_max: 255 bgr: true } } }
node { calculator: "InferenceCalculator" input_stream: "TENSORS:t" output_stream: "TENSORS:raw"
       options { [posegraph.InferenceOptions.ext] { model: "openpose_mobilenet_v2" } } }
node { calculator: "OpenPoseDecoderCalculator" input_stream: "TENSORS:raw" input_stream: "MATRIX:matrix"
       output_stream: "POSES:poses" options { [posegraph.OpenPoseDecoderOptions.ext] { @OPTIONS@ } } }
"""
# image: (people upstream finds, mean keypoint distance bound in px; measured 1.72, 1.84, 9.77, 6.95)
UPSTREAM_CASES = {"people_two_walking_snow.bmp": (2, 2.5), "people_several_closeup_partial.jpg": (4, 2.5),
                  "people_two_partial_body.jpg": (2, 12.0), "people_small_far_beach_kites.jpg": (1, 9.0)}


def decode_against_upstream(media, image: str, options: str = "") -> tuple[list[Pose], list[np.ndarray]]:
    """The graph's poses and the upstream reference's people (17 x 2 image pixels, NaN where missing)."""
    from posegraph.calculators.openpose.kernels import COCO18_TO_COCO17
    from posegraph.calculators.types import ImageFrame

    from .pafprocess_reference import decode

    pixels = read_image(media / image)
    h, w = pixels.shape[:2]
    g = Graph(RAW_OUTPUT.replace("@OPTIONS@", options))
    got: dict = {}
    for stream in ("raw", "matrix", "poses"):
        g.observe_output(stream, lambda p, s=stream: got.__setitem__(s, p.value))
    g.start()
    g.add_packet("frames", ImageFrame(pixels, image), 0)
    g.close()
    out = np.asarray(got["raw"][0], np.float32)[0]
    m = np.asarray(got["matrix"], np.float64)
    grid_h, grid_w = out.shape[:2]
    people = []
    for parts, _ in decode(out[:, :, :19], out[:, :, 19:]):
        coco = parts[COCO18_TO_COCO17]
        u, v = coco[:, 0] / grid_w, coco[:, 1] / grid_h
        xy = np.stack([(m[0, 0] * u + m[0, 1] * v + m[0, 2]) * w, (m[1, 0] * u + m[1, 1] * v + m[1, 2]) * h], -1)
        xy[coco[:, 2] <= 0] = np.nan
        people.append(xy)
    return got["poses"], people


@pytest.mark.timeout(180)
@pytest.mark.parametrize("image", list(UPSTREAM_CASES))
def test_people_and_keypoints_match_the_upstream_decoder(media, image):
    """Every person the upstream decoder finds is found, with the same parts within a few pixels; the counts agree
    except on the kites beach, where one extra small figure (score 0.62) is found."""
    poses, people = decode_against_upstream(media, image)
    expected, bound = UPSTREAM_CASES[image]
    assert len(people) == expected
    h, w = read_image(media / image).shape[:2]
    distances = []
    for ref in people:
        best = None
        for pose in poses:
            both = (pose.landmarks[:, 3] > 0) & ~np.isnan(ref[:, 0])
            if both.sum() < 3:
                continue
            d = np.hypot(*(pose.landmarks[both, :2] * [w, h] - ref[both]).T)
            if best is None or d.mean() < best.mean():
                best = d
        assert best is not None, f"{image}: an upstream person has no match"
        distances.extend(best.tolist())
    assert np.mean(distances) < bound, np.mean(distances)
    assert len(poses) == expected + (1 if image == "people_small_far_beach_kites.jpg" else 0)


@pytest.mark.timeout(180)
def test_person_score_0_3_would_add_fragments_upstream_does_not_report(media):
    """Why min_person_score stays 0.4 (the 2018 value) while the hit count follows the 2019 pafprocess: at 0.3 the
    kites beach gives 4 people against upstream's 1."""
    image = "people_small_far_beach_kites.jpg"
    loose, people = decode_against_upstream(media, image, "min_person_score: 0.3")
    assert len(people) == 1 and len(loose) == 4
    strict_hits, _ = decode_against_upstream(media, image, "min_hit_ratio: 0.8")
    assert len(strict_hits) == 2  # the hit count makes no difference here
