"""Pose classification building blocks without a graph: embeddings, k-NN search, EMA smoothing, joint angles,
the repetition counter, the sample file and the yoga classifier's input mapping."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from posegraph.calculators.classify.angles import pose_angles
from posegraph.calculators.classify.embedding import EMBEDDING_PAIRS, layout_for, pose_embedding
from posegraph.calculators.classify.kernels import ema_smooth, knn_votes
from posegraph.calculators.classify.knn import EmaSmoother, KnnPoseClassifier, PoseSampleSet
from posegraph.calculators.classify.model_classifier import classifier_input, coco17_indices
from posegraph.calculators.classify.repetition import Combine, RepetitionCounter, angle_signal
from posegraph.calculators.render.topologies import BLAZEPOSE33, COCO17
from posegraph.calculators.types import Pose

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def squat_reference(media):
    """The published per-frame BlazePose (full) landmarks of video_squats_woman.mp4 (720 x 1280), as 65 x 33 x 5
    normalised landmarks (z scaled like x, visibility = presence = 1)."""
    xyz = np.array(json.loads((media / "ground_truth" / "tfjs_video_squats_woman_blazepose_full_xyz.json")
                              .read_text()), dtype=np.float64)
    assert xyz.shape == (65, 33, 3)
    lm = np.ones((65, 33, 5), np.float32)
    lm[:, :, 0] = xyz[:, :, 0] / 720
    lm[:, :, 1] = xyz[:, :, 1] / 1280
    lm[:, :, 2] = xyz[:, :, 2] / 720
    return lm


def mirror_pose(lm: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The horizontally mirrored pose: x -> 1 - x and left/right keypoints swapped."""
    index = {n: i for i, n in enumerate(names)}
    perm = [index.get(n.replace("left_", "@").replace("right_", "left_").replace("@", "right_"), i)
            for i, n in enumerate(names)]
    out = lm[perm].copy()
    out[:, 0] = 1.0 - out[:, 0]
    return out


def test_embedding_is_translation_and_scale_invariant(squat_reference):
    lm = squat_reference[10]
    base = pose_embedding(lm, "blazepose33", 720, 1280)
    assert base.shape == (len(EMBEDDING_PAIRS), 3) and base.dtype == np.float32
    moved = lm.copy()
    moved[:, :3] = lm[:, :3] * 0.5 + [0.2, 0.1, 0.0]  # half the size, shifted
    np.testing.assert_allclose(pose_embedding(moved, "blazepose33", 720, 1280), base, atol=1e-5)
    # a different pose does differ
    assert np.abs(pose_embedding(squat_reference[22], "blazepose33", 720, 1280) - base).max() > 0.1
    # the pose size is the largest of 2.5 torso lengths and the farthest body joint: every vector is within 2 units
    assert np.abs(base).max() <= 2.0 + 1e-5


def test_embedding_aspect_ratio_matters_and_mirroring_matches_a_mirrored_pose(squat_reference):
    lm = squat_reference[33]
    layout = layout_for("blazepose33", 33)
    direct = layout.embed(lm, 720, 1280, mirror=True)
    mirrored = layout.embed(mirror_pose(lm, BLAZEPOSE33.keypoint_names), 720, 1280)
    np.testing.assert_allclose(direct, mirrored, atol=1e-5)
    assert np.abs(layout.embed(lm, 720, 1280) - layout.embed(lm, 1280, 720)).max() > 0.05


def test_named_embedding_is_the_same_for_coco17_and_blazepose33(squat_reference):
    lm33 = squat_reference[40]
    lm17 = lm33[coco17_indices("blazepose33", 33)]
    np.testing.assert_allclose(pose_embedding(lm17, "coco17", 720, 1280, use_z=False),
                               pose_embedding(lm33, "blazepose33", 720, 1280, use_z=False), atol=1e-6)
    assert layout_for("coco17", 17).named and layout_for("coco18", 18).named
    # an unknown skeleton falls back to every keypoint pair
    generic = layout_for("hand21", 21)
    assert not generic.named and generic.num_pairs == 21 * 20 // 2 and generic.mirrored_pairs is None


def brute_force_votes(query, mirrored, samples, labels, weights, num_classes, top_max, top_mean):
    diff = np.abs(query[None] - samples) * weights
    diff_m = np.abs(mirrored[None] - samples) * weights
    max_d = np.minimum(diff.reshape(len(samples), -1).max(1), diff_m.reshape(len(samples), -1).max(1))
    first = sorted(range(len(samples)), key=lambda s: max_d[s])[:top_max]
    mean_d = {s: min(diff[s].mean(), diff_m[s].mean()) for s in first}
    second = sorted(first, key=lambda s: mean_d[s])[:top_mean]
    return np.bincount(labels[second], minlength=num_classes)


def test_knn_votes_match_a_brute_force_search():
    rng = np.random.default_rng(7)
    samples = rng.normal(size=(200, 21, 3)).astype(np.float32)
    labels = rng.integers(0, 4, 200)
    weights = np.array([1.0, 1.0, 0.2])
    for _ in range(20):
        query = rng.normal(size=(21, 3)).astype(np.float32)
        mirrored = rng.normal(size=(21, 3)).astype(np.float32)
        got = knn_votes(query, mirrored, samples, labels, weights, 4, 30, 10, -1)
        np.testing.assert_array_equal(got, brute_force_votes(query, mirrored, samples, labels, weights, 4, 30, 10))
        assert got.sum() == 10
    # a query equal to a sample finds it first; leaving that sample out removes its vote
    votes = knn_votes(samples[5], samples[5], samples, labels, weights, 4, 1, 1, -1)
    assert votes[labels[5]] == 1
    loo = knn_votes(samples[5], samples[5], samples, labels, weights, 4, 30, 10, 5)
    assert loo.sum() == 10
    np.testing.assert_array_equal(
        loo, brute_force_votes(samples[5], samples[5], np.delete(samples, 5, 0), np.delete(labels, 5), weights, 4,
                               30, 10))


def test_ema_smoothing_weights_recent_frames_more():
    history = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # newest first
    w = np.array([1.0, 0.8, 0.64])
    np.testing.assert_allclose(ema_smooth(history, 0.2), (w @ history) / w.sum())
    smoother = EmaSmoother(2, window=2, alpha=0.5)
    np.testing.assert_allclose(smoother.update(np.array([1.0, 0.0])), [1.0, 0.0])
    np.testing.assert_allclose(smoother.update(None), [1 / 3, 0.0])           # weights 1, 0.5
    np.testing.assert_allclose(smoother.update(np.array([0.0, 1.0])), [0.0, 2 / 3])  # window 2 drops the first
    with pytest.raises(ValueError):
        EmaSmoother(2, window=0)


def pose_from(points: dict[str, tuple[float, float]], topology=COCO17) -> Pose:
    lm = np.zeros((topology.num_keypoints, 5), np.float32)
    lm[:, 3:] = 1.0
    for name, (x, y) in points.items():
        lm[topology.index(name), :2] = (x, y)
    return Pose(lm, topology.name)


def test_joint_angles_known_geometry():
    pose = pose_from({"left_hip": (0.5, 0.5), "left_knee": (0.5, 0.7), "left_ankle": (0.7, 0.7),  # right angle
                      "right_hip": (0.6, 0.5), "right_knee": (0.6, 0.7), "right_ankle": (0.6, 0.9),  # straight
                      "left_shoulder": (0.5, 0.3), "left_elbow": (0.5, 0.3)})  # coincident: undefined
    angles = pose_angles(pose, 100, 100)
    assert angles["left_knee"] == pytest.approx(90.0)
    assert angles["right_knee"] == pytest.approx(180.0)
    assert angles["left_elbow"] is None
    # the aspect ratio is applied before measuring: a 45-degree diagonal in pixels
    diag = pose_from({"left_hip": (0.0, 0.0), "left_knee": (0.5, 0.0), "left_ankle": (0.0, 0.25)})
    assert pose_angles(diag, 200, 400, names=("left_knee",))["left_knee"] == pytest.approx(45.0)
    low = Pose(pose.landmarks.copy(), "coco17")
    low.landmarks[COCO17.index("left_knee"), 3] = 0.1
    assert pose_angles(low, 100, 100, min_visibility=0.5)["left_knee"] is None


def test_knee_angle_of_the_reference_squats(squat_reference):
    """The published landmarks bend the knees three times (below 100 degrees) and stand up (above 160) twice."""
    knee = np.array([angle_signal(pose_angles(Pose(lm, "blazepose33"), 720, 1280), ("left_knee", "right_knee"))
                     for lm in squat_reference])
    assert knee[:3].min() > 165 and knee[8:13].max() < 110 and knee[20:26].min() > 165
    assert knee[32:37].max() < 105 and knee[44:50].min() > 170 and knee[57:62].max() < 100
    counter = RepetitionCounter(120, 150)
    states = [counter.update(v) for v in knee]
    assert states[-1].count == 2 and states[-1].phase == "down"


def test_repetition_counter_hysteresis():
    rising = RepetitionCounter(0.6, 0.4)
    signal = [0.1, 0.59, 0.61, 0.45, 0.62, 0.41, 0.39, 0.5, 0.7, None, float("nan"), 0.3, 0.65]
    states = [rising.update(v) for v in signal]
    assert [s.count for s in states] == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2]
    assert [s.phase for s in states] == ["up", "up", "down", "down", "down", "down", "up", "up", "down", "down",
                                         "down", "up", "down"]
    assert states[9].signal is None and states[8].signal == 0.7
    falling = RepetitionCounter(120, 150, idle_phase="standing", active_phase="squatting")
    counts = [falling.update(a).count for a in (170, 125, 119, 140, 121, 149, 151, 118, 160)]
    assert counts == [0, 0, 0, 0, 0, 0, 1, 1, 2]
    assert falling.phase == "standing"
    with pytest.raises(ValueError, match="differ"):
        RepetitionCounter(0.5, 0.5)
    assert angle_signal({"left_knee": 100.0, "right_knee": None}, ("left_knee", "right_knee")) == 100.0
    assert angle_signal({"left_knee": 100.0, "right_knee": 120.0}, ("left_knee", "right_knee"), Combine.MIN) == 100
    assert angle_signal({}, ("left_knee",)) is None


def test_sample_set_round_trip_and_bad_files(tmp_path, squat_reference):
    labels = np.array([0, 0, 1, 1])
    samples = PoseSampleSet("blazepose33", ("up", "down"), labels, squat_reference[[0, 22, 10, 34]],
                            np.array([[720, 1280]] * 4, float), ("a.jpg", "b.jpg", "c.jpg", "d.jpg"), {"graph": "x"})
    path = samples.save(tmp_path / "set")  # .npz appended
    assert path.name == "set.npz"
    back = PoseSampleSet.load(path)
    assert back.class_names == ("up", "down") and back.sample_names == samples.sample_names
    assert back.info == {"graph": "x"} and back.counts() == {"up": 2, "down": 2}
    np.testing.assert_array_equal(back.landmarks, samples.landmarks.astype(np.float32))
    knn = KnnPoseClassifier(back, top_n_by_max_distance=3, top_n_by_mean_distance=1)
    assert knn.classification(knn.scores(squat_reference[35], "blazepose33", 720, 1280)).label == "down"
    assert knn.classification(knn.scores(squat_reference[47], "blazepose33", 720, 1280)).label == "up"
    # a MoveNet-style COCO-17 query is compared through the named joints
    coco = squat_reference[35][coco17_indices("blazepose33", 33)]
    assert knn.classification(knn.scores(coco, "coco17", 720, 1280)).label == "down"
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a k-NN pose sample file"):
        PoseSampleSet.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a posegraph k-NN"):
        PoseSampleSet.load(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError, match="train-classifier"):
        PoseSampleSet.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="NaN"):
        PoseSampleSet("coco17", ("a",), np.array([0]), np.full((1, 17, 5), np.nan), np.ones((1, 2)))


def test_classifier_input_is_y_x_score_in_pixels_in_coco17_order(squat_reference):
    lm33 = squat_reference[0].copy()
    lm33[:, 3] = np.linspace(0, 1, 33)
    x = classifier_input(lm33, "blazepose33", 720, 1280)
    assert x.shape == (1, 51) and x.dtype == np.float32
    rows = x.reshape(17, 3)
    for k, name in enumerate(COCO17.keypoint_names):
        src = lm33[BLAZEPOSE33.index(name)]
        np.testing.assert_allclose(rows[k], [src[1] * 1280, src[0] * 720, src[3]], rtol=1e-6)
    with pytest.raises(ValueError, match="COCO-17"):
        classifier_input(np.zeros((21, 5)), "hand21", 10, 10)
    assert math.isclose(rows[0, 2], 0.0)  # nose visibility


def test_knn_works_for_an_unknown_topology_but_only_against_itself():
    rng = np.random.default_rng(3)
    base = rng.random((2, 6, 5)).astype(np.float32)
    lm = np.repeat(base, 5, axis=0) + rng.normal(scale=0.01, size=(10, 6, 5)).astype(np.float32)
    samples = PoseSampleSet("custom6", ("a", "b"), np.repeat([0, 1], 5), lm, np.ones((10, 2)))
    knn = KnnPoseClassifier(samples, top_n_by_max_distance=5, top_n_by_mean_distance=3)
    query = base[1] * 2.0 + 0.3  # scaled and moved: the embedding does not care
    assert knn.classification(knn.scores(query, "custom6")).label == "b"
    with pytest.raises(ValueError, match="named body joints"):
        knn.votes(np.zeros((17, 5)), "coco17")


def test_world_landmark_angles(media):
    world = np.array(json.loads((media / "ground_truth" / "tfjs_video_squats_woman_blazepose_full_world3d.json")
                                .read_text()), dtype=np.float32)
    assert world.shape == (65, 33, 3)
    knees = []
    for w in world:
        pose = Pose(np.ones((33, 5), np.float32), "blazepose33", world_landmarks=w)
        knees.append(pose_angles(pose, use_world_landmarks=True, names=("left_knee",))["left_knee"])
    # metric 3-D angles: straight when standing, bent in the squat
    assert min(knees[20:26]) > 150 and max(knees[8:13]) < 120


def test_option_errors_name_the_problem():
    from posegraph import Graph
    from posegraph.errors import GraphConfigError

    text = """
input_stream: "angles"
node { calculator: "RepetitionCounterCalculator" input_stream: "ANGLES:angles" output_stream: "REPETITIONS:n"
       options { [posegraph.RepetitionCounterOptions.ext] { %s } } }
"""
    for options, message in (('angle: "knee" class_name: "down"', "exactly one"),
                             ('angle: "knee"', "needs enter_threshold"),
                             ('angle: "toe" enter_threshold: 1 exit_threshold: 2', "unknown angle"),
                             ('class_name: "down" enter_threshold: 0.5 exit_threshold: 0.5', "differ")):
        with pytest.raises(GraphConfigError, match=message):
            Graph(text % options)
    graph = Graph('output_stream: "n"\noutput_stream: "phase"\n' + text.replace(
        '"REPETITIONS:n"', '"REPETITIONS:n" output_stream: "PHASE:phase"')
        % 'angle: "knee" enter_threshold: 120 exit_threshold: 150')
    seen = [graph.process({"angles": angles}) for angles in (
        {"left_knee": 170.0, "right_knee": 172.0}, {"left_knee": 100.0, "right_knee": 110.0}, {},
        {"left_knee": 160.0, "right_knee": None}, {"left_knee": 119.0, "right_knee": 119.0})]
    graph.close()
    assert [(o["n"], o["phase"]) for o in seen] == [(0, "up"), (0, "down"), (0, "down"), (1, "up"), (1, "down")]
