"""`posegraph train-classifier` on class folders built from the shared media, then the k-NN calculator with the
file it writes: messy folders are reported (not a crash), outliers are found, and a classifier trained on the first
squat of video_squats_woman.mp4 counts the video's 2 completed squats."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.classify.knn import PoseSampleSet
from posegraph.apps.train_classifier import train_classifier
from posegraph.calculators.io.jsonl import read_jsonl
from posegraph.cli import main as cli_main

pytestmark = pytest.mark.timeout(300)

# Frames of the first squat only (the second and third are left for the counting test).
UP_FRAMES = (0, 1, 2, 3, 18, 19, 20, 21, 22, 23, 24, 25, 26)
DOWN_FRAMES = (7, 8, 9, 10, 11, 12, 13, 14)


def video_frames(path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


@pytest.fixture(scope="module")
def dataset(media, tmp_path_factory):
    """up/ and down/ from the first squat plus still photos, with the usual mess: a text file named .jpg, a
    truncated JPEG, a photo without a person, a mislabelled photo, an empty class, a class of junk only and a file
    outside any class folder."""
    root = tmp_path_factory.mktemp("poses")
    frames = video_frames(media / "video_squats_woman.mp4")
    assert len(frames) == 65
    for name, indices in (("up", UP_FRAMES), ("down", DOWN_FRAMES)):
        (root / name).mkdir()
        for i in indices:
            cv2.imwrite(str(root / name / f"squat_{i:02d}.jpg"), frames[i])
    shutil.copy(media / "person_single_fullbody_woman_standing.png", root / "up")
    shutil.copy(media / "person_single_fullbody_man_suit.jpeg", root / "up")
    shutil.copy(media / "fitness_squat.bmp", root / "down")
    shutil.copy(media / "negative_cat.bmp", root / "down")  # nobody there
    shutil.copy(media / "person_single_fullbody_man_casual.jpg", root / "down" / "mislabelled_standing.jpg")
    (root / "down" / "notes.jpg").write_text("this is a text file, not a photo")
    (root / "down" / "broken.jpg").write_bytes((media / "yoga_tree_pose.jpeg").read_bytes()[:700])
    (root / "empty_class").mkdir()
    (root / "junk_only").mkdir()
    (root / "junk_only" / "readme.png").write_text("not an image")
    (root / "README.txt").write_text("classes are folders")
    return root


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained") / "classifier.npz"
    return train_classifier(dataset, out) + (out,)


def test_cli_reports_every_problem_and_writes_the_file(dataset, tmp_path, capsys):
    out = tmp_path / "squats.npz"
    assert cli_main(["train-classifier", str(dataset), "-o", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "notes.jpg: not an image" in text
    assert "readme.png: not an image" in text
    assert "broken.jpg: unreadable" in text
    assert "negative_cat.bmp: no person found" in text
    assert "README.txt: not in a class folder" in text
    assert "class 'empty_class': no usable samples" in text and "class 'junk_only': no usable samples" in text
    assert "down/mislabelled_standing.jpg [down] -> up" in text
    assert f"wrote {out}" in text
    samples = PoseSampleSet.load(out)
    assert samples.class_names == ("down", "up") and samples.topology == "blazepose33"
    assert samples.counts() == {"down": len(DOWN_FRAMES) + 2, "up": len(UP_FRAMES) + 2}
    assert samples.landmarks.shape == (len(samples), 33, 5)
    assert "down/fitness_squat.bmp" in samples.sample_names
    assert tuple(samples.image_sizes[samples.sample_names.index("down/fitness_squat.bmp")]) == (500, 610)


def test_report_and_outlier_dropping(dataset, trained, tmp_path):
    samples, report, _ = trained
    assert [o.path for o in report.outliers] == ["down/mislabelled_standing.jpg"]
    assert report.outliers[0].predicted == ["up"]
    assert {s.path.rsplit("/", 1)[-1] for s in report.skipped} == {"notes.jpg", "broken.jpg", "negative_cat.bmp",
                                                                  "readme.png", "README.txt"}
    assert report.empty_classes == ["empty_class", "junk_only"]
    cleaned, report2 = train_classifier(dataset, tmp_path / "clean.npz", drop_outliers=True)
    assert report2.dropped_outliers == 1 and len(cleaned) == len(samples) - 1
    assert "down/mislabelled_standing.jpg" not in PoseSampleSet.load(tmp_path / "clean.npz").sample_names


def test_no_person_anywhere_is_an_error_without_output(media, tmp_path, capsys):
    (tmp_path / "dogs").mkdir()
    shutil.copy(media / "negative_dogs.jpg", tmp_path / "dogs")
    assert cli_main(["train-classifier", str(tmp_path), "-o", str(tmp_path / "x.npz"), "--quiet"]) == 1
    assert "negative_dogs.jpg: no person found" in capsys.readouterr().out
    assert not (tmp_path / "x.npz").exists()
    (tmp_path / "flat").mkdir()
    shutil.copy(media / "negative_dogs.jpg", tmp_path / "flat")
    assert cli_main(["train-classifier", str(tmp_path / "flat"), "-o", str(tmp_path / "y.npz")]) == 1
    assert "no class sub-folders" in capsys.readouterr().err


def test_any_pose_graph_can_extract_the_landmarks(media, tmp_path):
    for name, image in (("tree", "yoga_tree_pose.jpeg"), ("warrior", "yoga_warrior2_beach.jpg"),
                        ("squat", "fitness_squat.bmp")):
        (tmp_path / name).mkdir()
        shutil.copy(media / image, tmp_path / name)
    samples, report = train_classifier(tmp_path, tmp_path / "coco.npz", graph="movenet_singlepose")
    assert samples.topology == "coco17" and samples.landmarks.shape == (3, 17, 5)
    assert report.samples_per_class == {"squat": 1, "tree": 1, "warrior": 1}


KNN_COUNTER = """
input_side_packet: "input_path"
input_side_packet: "classifier_path"
output_stream: "classification"
output_stream: "repetitions"
output_stream: "phase"
node { calculator: "MediaSourceCalculator" input_side_packet: "INPUT_PATH:input_path" output_stream: "IMAGE:frames" }
node { calculator: "PoseLandmarkCpu" input_stream: "IMAGE:frames" output_stream: "POSES:poses" }
node { calculator: "KnnPoseClassifierCalculator" input_stream: "POSES:poses" input_stream: "IMAGE:frames"
       input_side_packet: "CLASSIFIER:classifier_path" output_stream: "CLASSIFICATION:classification" }
node { calculator: "RepetitionCounterCalculator" input_stream: "CLASSIFICATION:classification"
       output_stream: "REPETITIONS:repetitions" output_stream: "PHASE:phase"
       options { [posegraph.RepetitionCounterOptions.ext] { class_name: "down" enter_threshold: 0.6
                                                            exit_threshold: 0.4 } } }
"""


def test_knn_classifier_counts_the_squats(media, trained):
    _, _, path = trained
    g = Graph(KNN_COUNTER)
    out = {"classification": [], "repetitions": [], "phase": []}
    for stream, values in out.items():
        g.observe_output(stream, lambda p, values=values: values.append(p.value))
    g.start({"input_path": str(media / "video_squats_woman.mp4"), "classifier_path": str(path)})
    g.wait_until_done(timeout=180)
    labels = [c.label for c in out["classification"]]
    assert len(labels) == 65
    # smoothed (EMA) labels: standing at the start and between squats, down at each squat's bottom
    assert set(labels[:4]) == {"up"} and set(labels[22:28]) == {"up"} and set(labels[45:52]) == {"up"}
    assert set(labels[10:16]) == {"down"} and set(labels[34:39]) == {"down"} and set(labels[59:65]) == {"down"}
    assert all(sum(c.scores.values()) == pytest.approx(1.0) for c in out["classification"])
    assert out["repetitions"][-1] == 2 and out["phase"][-1] == "down"


def test_squat_counter_graph_with_a_classifier(media, trained, tmp_path):
    _, _, path = trained
    jsonl = tmp_path / "squats.jsonl"
    g = Graph("squat_counter")
    g.start({"input_path": str(media / "video_squats_woman.mp4"), "classifier_path": str(path),
             "landmarks_path": str(jsonl), "max_frames": 12})
    g.wait_until_done(timeout=120)
    records = read_jsonl(jsonl)
    assert len(records) == 12
    assert records[0].extra["classification"]["label"] == "up"
    assert records[11].extra["classification"]["label"] == "down"
    assert set(records[11].extra["classification"]["scores"]) == {"down", "up"}
