"""Bad input to the flagship graph: a clear message and a non-zero exit where the run cannot go on; nothing already
processed is lost; nobody in the picture is not an error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.timeout(300)


def posegraph(*args: str, timeout: float = 200) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "posegraph.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def run_tracking(input_path, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    return posegraph("run", "pose_tracking_cpu", "--input", str(input_path), "--landmarks",
                     str(tmp_path / "out.jsonl"), *extra)


def test_unknown_model_lists_where_it_looked(media, tmp_path):
    done = run_tracking(media / "yoga_tree_pose.jpeg", tmp_path, "--side", "landmark_model=pose_landmark_ultra")
    assert done.returncode != 0
    assert "pose_landmark_ultra" in done.stderr and "POSEGRAPH_MODELS" in done.stderr


def test_corrupt_model_names_the_file(models, media, tmp_path):
    broken = tmp_path / "truncated.tflite"
    broken.write_bytes((models / "blazepose_pose_landmark_lite.tflite").read_bytes()[:100_000])
    done = run_tracking(media / "yoga_tree_pose.jpeg", tmp_path, "--side", f"landmark_model={broken}")
    assert done.returncode != 0
    assert "truncated.tflite" in done.stderr


def test_wrong_model_for_the_node_names_node_and_shapes(models, media, tmp_path):
    done = run_tracking(media / "yoga_tree_pose.jpeg", tmp_path, "--side",
                        f"landmark_model={models / 'blazepose_pose_detection.tflite'}")
    assert done.returncode != 0
    assert "pose/landmarks/InferenceCalculator" in done.stderr
    assert "[1, 256, 256, 3]" in done.stderr and "[1, 224, 224, 3]" in done.stderr


def test_truncated_video_keeps_the_frames_before_the_damage(media, tmp_path, faststart):
    whole = faststart((media / "video_dance_single_synthetic.mp4").read_bytes())
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(whole[: len(whole) // 2])
    out_video = tmp_path / "annotated.mp4"
    done = run_tracking(damaged, tmp_path, "--output", str(out_video))
    assert done.returncode != 0
    assert "damaged.mp4" in done.stderr
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert 10 <= len(lines) < 120  # every frame before the damage was processed and written
    assert all(json.loads(line)["poses"] for line in lines)
    assert int(cv2.VideoCapture(str(out_video)).get(cv2.CAP_PROP_FRAME_COUNT)) == len(lines)


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    done = run_tracking(tmp_path / "empty", tmp_path)
    assert done.returncode != 0
    assert "no images" in done.stderr


def test_missing_input_is_a_clear_error(tmp_path):
    done = run_tracking(tmp_path / "nope.mp4", tmp_path)
    assert done.returncode != 0 and "nope.mp4" in done.stderr and "does not exist" in done.stderr


def test_folder_with_other_files_and_mixed_sizes(media, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    shutil.copy(media / "yoga_tree_pose.jpeg", folder / "a_tree.jpeg")            # 426 x 640
    shutil.copy(media / "negative_cat.bmp", folder / "b_cat.bmp")                  # 512 x 341, nobody
    shutil.copy(media / "person_single_fullbody_man_suit.jpeg", folder / "c_suit.jpeg")  # 399 x 640
    (folder / "notes.txt").write_text("not an image")
    (folder / "fake.jpg").write_text("not an image either")
    done = run_tracking(folder, tmp_path, "--output", str(tmp_path / "out.mp4"), "--static")
    assert done.returncode == 0, done.stderr
    assert "skipped" in done.stderr and "fake.jpg" in done.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["source"] for r in records] == ["a_tree.jpeg", "b_cat.bmp", "c_suit.jpeg"]
    assert [len(r["poses"]) for r in records] == [1, 0, 1]
    assert [(r["width"], r["height"]) for r in records] == [(426, 640), (512, 341), (399, 640)]
    assert int(cv2.VideoCapture(str(tmp_path / "out.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 3


def test_not_an_image_file_is_a_clear_error(tmp_path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("hello")
    done = run_tracking(fake, tmp_path)
    assert done.returncode != 0 and "photo.jpg" in done.stderr


def test_odd_sizes_and_no_person_are_fine(tmp_path):
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.full((1, 1, 3), 128, np.uint8))
    done = run_tracking(tiny, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.jsonl").read_text())["poses"] == []
