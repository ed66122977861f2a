"""The classification graphs on the real models and media: movenet_classify (yoga classifier: the tree pose comes
out as `tree`), the yoga classifier on BlazePose poses, and squat_counter on video_squats_woman.mp4.

The true squat count of video_squats_woman.mp4 is 2 completed repetitions, with a third squat under way when the
video ends. Established by looking at every frame (a contact sheet of the 65 frames): the woman stands (frames 0-3),
squats (deepest about frames 9-11), stands again (18-27), squats (32-37), stands (43-50), squats (57-62) and is
still bent at the last frame (64, knees about 120-135 degrees). The knee angle of the published BlazePose-full
landmarks (ground_truth/tfjs_video_squats_woman_blazepose_full_xyz.json) shows the same three dips below 100
degrees and two returns above 165 (see test_classify_kernels.py::test_knee_angle_of_the_reference_squats).
"""

from __future__ import annotations

import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.classify.types import Classification
from posegraph.calculators.io.jsonl import read_jsonl
from posegraph.calculators.io.video import VideoReader

pytestmark = pytest.mark.timeout(240)

TRUE_SQUATS = 2


def run(graph: str, side: dict, streams: tuple[str, ...]) -> dict[str, list]:
    g = Graph(graph)
    out: dict[str, list] = {s: [] for s in streams}
    for s in streams:
        g.observe_output(s, lambda p, s=s: out[s].append((p.timestamp, p.value)))
    g.start(side)
    g.wait_until_done(timeout=180)
    return {s: [v for _, v in sorted(values, key=lambda tv: tv[0])] for s, values in out.items()}


def test_movenet_classify_tree_pose(media, tmp_path):
    jsonl = tmp_path / "tree.jsonl"
    out = run("movenet_classify", {"input_path": str(media / "yoga_tree_pose.jpeg"), "landmarks_path": str(jsonl),
                                   "output_video_path": str(tmp_path / "tree.png"), "use_prev_landmarks": False},
              ("poses", "classification"))
    (classification,) = out["classification"]
    assert isinstance(classification, Classification)
    assert classification.label == "tree" and classification.scores["tree"] > 0.9
    assert list(classification.scores) == ["chair", "cobra", "dog", "tree", "warrior"]
    assert sum(classification.scores.values()) == pytest.approx(1.0, abs=1e-4)
    (record,) = read_jsonl(jsonl)
    assert set(record.extra) == {"classification"} and record.extra["classification"]["label"] == "tree"
    assert set(record.extra["classification"]["scores"]) == set(classification.scores)
    assert record.poses[0].topology == "coco17"
    assert (tmp_path / "tree.png").is_file()


def test_movenet_classify_without_a_person_gives_null(media, tmp_path):
    jsonl = tmp_path / "cat.jsonl"
    out = run("movenet_classify", {"input_path": str(media / "negative_cat.bmp"), "landmarks_path": str(jsonl)},
              ("poses", "classification"))
    if out["poses"][0]:
        pytest.skip("MoveNet reports a pose on the cat image")
    assert out["classification"] == [None]
    assert read_jsonl(jsonl)[0].extra["classification"] is None


BLAZEPOSE_CLASSIFY = """
input_side_packet: "input_path"
output_stream: "classification"
node { calculator: "MediaSourceCalculator" input_side_packet: "INPUT_PATH:input_path" output_stream: "IMAGE:frames" }
node { calculator: "PoseLandmarkCpu" input_stream: "IMAGE:frames" output_stream: "POSES:poses" }
node { calculator: "PoseClassifierCalculator" input_stream: "IMAGE:frames" input_stream: "POSES:poses"
       output_stream: "CLASSIFICATION:classification" }
"""


def test_yoga_classifier_accepts_blazepose33(media):
    out = run(BLAZEPOSE_CLASSIFY, {"input_path": str(media / "yoga_tree_pose.jpeg")}, ("classification",))
    assert out["classification"][0].label == "tree"


@pytest.fixture(scope="module")
def squat_run(media, tmp_path_factory):
    folder = tmp_path_factory.mktemp("squats")
    side = {"input_path": str(media / "video_squats_woman.mp4"), "landmarks_path": str(folder / "squats.jsonl"),
            "output_video_path": str(folder / "squats.mp4")}
    out = run("squat_counter", side, ("poses", "angles", "repetitions", "phase", "classification"))
    return out, folder


def test_squat_counter_counts_the_true_number_of_squats(squat_run):
    out, _ = squat_run
    reps, phases = out["repetitions"], out["phase"]
    assert len(reps) == len(phases) == 65 and all(len(p) == 1 for p in out["poses"])
    assert reps[-1] == TRUE_SQUATS
    assert all(isinstance(r, int) for r in reps) and reps == sorted(reps)
    # each completed squat is counted when she is back up: after the first dip (frames 8-12), after the second (32-37)
    first, second = reps.index(1), reps.index(2)
    assert 13 <= first <= 19 and 38 <= second <= 43
    # three descents: the third is under way when the video ends
    entries = sum(1 for a, b in zip(["up"] + phases, phases) if a == "up" and b == "down")
    assert entries == 3 and phases[-1] == "down" and phases[0] == "up"
    knees = np.array([np.nanmean([a["left_knee"], a["right_knee"]]) for a in out["angles"]])
    assert knees[8:13].max() < 120 and knees[20:26].min() > 160 and knees[57:62].max() < 110
    assert out["classification"] == [None] * 65  # no classifier_path given


def test_squat_counter_jsonl_and_video(squat_run, media):
    out, folder = squat_run
    records = read_jsonl(folder / "squats.jsonl")
    assert len(records) == 65
    assert [r.extra["repetitions"] for r in records] == out["repetitions"]
    assert [r.extra["phase"] for r in records] == out["phase"]
    assert set(records[0].extra) == {"classification", "angles", "repetitions", "phase"}
    assert set(records[10].extra["angles"]) >= {"left_knee", "right_knee", "left_hip", "right_hip", "left_elbow",
                                                "right_elbow"}
    assert records[10].extra["angles"]["left_knee"] == pytest.approx(out["angles"][10]["left_knee"], abs=1e-3)
    # the count and phase are drawn top left: the text box differs from the frame, and between counts
    with VideoReader(folder / "squats.mp4") as annotated, VideoReader(media / "video_squats_woman.mp4") as source:
        frames = [f.rgb for f in annotated]
        originals = [f.rgb for f in source]
    assert len(frames) == len(originals) == 65
    box = (slice(0, 60), slice(0, 220))
    for i in (5, 30, 60):
        diff = np.abs(frames[i][box].astype(int) - originals[i][box].astype(int)).mean()
        assert diff > 20, (i, diff)
    # "squats: 0  (up)" at frame 2 and "squats: 2  (up)" at frame 47 differ in the text box only
    text_change = np.abs(frames[2][box].astype(int) - frames[47][box].astype(int)).mean()
    frame_change = np.abs(originals[2][box].astype(int) - originals[47][box].astype(int)).mean()
    assert text_change > frame_change + 1, (text_change, frame_change)
