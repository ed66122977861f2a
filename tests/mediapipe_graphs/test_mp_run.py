"""MediaPipe's pose graphs run unchanged and give what MediaPipe's legacy solution gives (mediapipe 0.10.21's
mp.solutions.pose, which runs these very files; ../shared/reference/mediapipe_legacy)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.io.jsonl import read_jsonl
from posegraph.calculators.mediapipe.runner import plan_streams, read_frames, run_on_frames, solution_timestamp
from posegraph.errors import PosegraphError
from posegraph.models import ModelNotFoundError

POSE_LANDMARK = "modules/pose_landmark/pose_landmark_cpu.pbtxt"
POSE_TRACKING = "graphs/pose_tracking/pose_tracking_cpu.pbtxt"


def run_pose_landmark(mp_graphs, media, complexity, still, max_frames=None, **extra):
    frames, _, _ = read_frames(str(media), max_frames=max_frames, timestamps="mediapipe")
    graph = Graph(str(mp_graphs / POSE_LANDMARK))
    side = {"model_complexity": complexity, "use_prev_landmarks": not still, "smooth_landmarks": not still,
            "enable_segmentation": False, **extra}
    return run_on_frames(graph, frames, plan_streams(graph.spec.input_streams, graph.spec.output_streams), side)


@pytest.mark.parametrize("name,model", [("yoga_warrior2_beach.jpg", "lite"), ("fitness_squat.bmp", "lite"),
                                        ("person_partial_upper_body_grace_hopper.bmp", "full"),
                                        ("figure_skater_seq_00001.jpg", "full"), ("negative_cat.bmp", "lite")])
def test_images_are_bit_identical_to_the_legacy_solution(mp_graphs, legacy, media, name, model):
    record = read_jsonl(legacy / f"{name}.{model}.jsonl")[0]
    result = run_pose_landmark(mp_graphs, media / name, {"lite": 0, "full": 1}[model], still=True)
    ours = result.landmarks.get(0)
    assert (ours is not None) == bool(record.poses)
    if ours is None:
        return
    # x, y, z, visibility (MediaPipe's Python solution clears presence; the graph outputs it)
    assert np.array_equal(ours[:, :4], record.poses[0].landmarks[:, :4])
    assert np.array_equal(result.world_landmarks[0][:, :3], record.poses[0].world_landmarks)


def test_video_prefix_tracks_and_smooths_like_the_legacy_solution(mp_graphs, legacy, media):
    name, n = "video_dance_single_synthetic.mp4", 20
    records = read_jsonl(legacy / f"{name}.lite.jsonl")[:n]
    result = run_pose_landmark(mp_graphs, media / name, 0, still=False, max_frames=n)
    assert result.outputs["pose_detection"] < n  # tracking: the detector runs only when the pose is lost
    for record in records:
        # the solution feeds frame i at (i + 1) * 33333 us (its records say i * 33333)
        ours = result.landmarks.get(solution_timestamp(record.frame))
        assert (ours is not None) == bool(record.poses)
        if ours is not None:
            assert np.array_equal(ours[:, :4], record.poses[0].landmarks[:, :4]), record.frame


def test_pose_tracking_graph_gives_pose_landmark_cpu_full_frame_for_frame(mp_graphs, media):
    video, n = media / "video_squats_woman.mp4", 4
    expected = run_pose_landmark(mp_graphs, video, 1, still=False, max_frames=n)
    graph = Graph(str(mp_graphs / POSE_TRACKING))
    plan = plan_streams(graph.spec.input_streams, graph.spec.output_streams)
    assert (plan.image_input, plan.image_output, plan.landmarks) == ("input_video", "output_video", "pose_landmarks")
    frames, _, _ = read_frames(str(video), max_frames=n, timestamps="mediapipe")
    images = []
    result = run_on_frames(graph, frames, plan, {}, on_image=lambda ts, image: images.append(ts))
    assert result.frames == n and len(images) == n  # file input waits for the graph: nothing dropped
    assert sorted(result.landmarks) == sorted(expected.landmarks)
    for ts, ours in result.landmarks.items():
        assert np.array_equal(ours, expected.landmarks[ts])


def test_live_input_is_flow_limited(mp_graphs, media):
    graph = Graph(str(mp_graphs / POSE_TRACKING))
    plan = plan_streams(graph.spec.input_streams, graph.spec.output_streams)
    frames, _, _ = read_frames(str(media / "video_squats_woman.mp4"), max_frames=12, timestamps="mediapipe")
    frames = list(frames)  # decoded up front: they arrive faster than the graph runs, as from a camera
    result = run_on_frames(graph, frames, plan, {}, wait_for_graph=False)
    rendered = result.outputs["output_video"]
    assert 1 <= rendered < len(frames)  # the flow limiter dropped the frames that came while the graph was busy
    assert result.outputs["pose_landmarks"] <= rendered


def test_missing_model_gives_the_usual_error(mp_graphs, media):
    with pytest.raises((ModelNotFoundError, PosegraphError)) as err:  # heavy is not in the shared models
        run_pose_landmark(mp_graphs, media / "fitness_squat.bmp", 2, still=True)
    assert "pose_landmark_heavy.tflite" in str(err.value)


def test_cli_runs_a_mediapipe_graph_file(mp_graphs, legacy, media, tmp_path):
    out = tmp_path / "out.jsonl"
    image = tmp_path / "out.png"
    cmd = [sys.executable, "-m", "posegraph.cli", "run", str(mp_graphs / POSE_TRACKING), "--input",
           str(media / "fitness_squat.bmp"), "--output", str(image), "--landmarks", str(out), "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr
    assert image.stat().st_size > 0
    line = json.loads(out.read_text().splitlines()[0])
    assert line["source"] == "fitness_squat.bmp" and len(line["poses"][0]["landmarks"]) == 33
    cmd = [sys.executable, "-m", "posegraph.cli", "run", str(mp_graphs / POSE_LANDMARK), "--input",
           str(media / "fitness_squat.bmp"), "--landmarks", str(out), "--side", "model_complexity=0", "--static",
           "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr
    ours = read_jsonl(out)[0].poses[0]
    ref = read_jsonl(legacy / "fitness_squat.bmp.lite.jsonl")[0].poses[0]
    assert np.array_equal(ours.landmarks[:, :4], ref.landmarks[:, :4])
    assert ours.world_landmarks is not None


@pytest.mark.parametrize("flag, name", [("--output", "out.mp4"), ("--landmarks", "out.jsonl")])
def test_cli_refuses_an_unwritable_output_before_the_first_frame(mp_graphs, media, tmp_path, capsys, flag, name):
    from posegraph.cli import main

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    code = main(["run", str(mp_graphs / POSE_TRACKING), "--input", str(media / "video_squats_woman.mp4"), flag,
                 f"{blocker}/{name}"])
    err = capsys.readouterr().err
    assert code != 0 and f"cannot write {blocker}/{name}" in err and "frames in" not in err


def test_segmentation_mask_covers_the_person(mp_graphs, media):
    frames, _, _ = read_frames(str(media / "fitness_squat.bmp"))
    graph = Graph(str(mp_graphs / POSE_LANDMARK))
    masks = {}
    graph.observe_output("segmentation_mask", lambda packet: masks.__setitem__(packet.timestamp, packet.value))
    result = run_on_frames(graph, frames, plan_streams(graph.spec.input_streams, graph.spec.output_streams),
                           {"model_complexity": 0, "use_prev_landmarks": False, "smooth_landmarks": False,
                            "enable_segmentation": True, "smooth_segmentation": False})
    mask, landmarks = masks[0], result.landmarks[0]
    h, w = mask.shape
    assert (w, h) == (500, 610) and mask.dtype == np.float32
    for i in (11, 12, 23, 24):  # shoulders and hips lie inside the person
        x, y = int(landmarks[i, 0] * w), int(landmarks[i, 1] * h)
        assert mask[y, x] > 0.9
    assert mask[:20, :20].max() < 0.1 and 0.08 < (mask > 0.5).mean() < 0.4


def test_a_folder_of_images_runs_image_by_image(mp_graphs, media, tmp_path):
    import shutil

    from posegraph.calculators.mediapipe.runner import run_graph_file

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("fitness_squat.bmp", "negative_cat.bmp"):
        shutil.copy(media / name, folder / name)
    out = tmp_path / "out.jsonl"
    graph = Graph(str(mp_graphs / POSE_LANDMARK))
    result = run_graph_file(graph, input_path=str(folder), landmarks_path=str(out),
                            side={"model_complexity": 0, "use_prev_landmarks": False})
    assert result.frames == 2
    records = read_jsonl(out)
    assert [r.source for r in records] == ["fitness_squat.bmp", "negative_cat.bmp"]
    assert len(records[0].poses) == 1 and records[1].poses == []


def test_landmark_lines_are_written_once_each_frame_is_complete():
    """Camera mode (no waiting per frame): a frame's line goes out once both landmark streams have passed its
    timestamp (a frame with no pose has no packet), so nothing waits for the end of the run; after a failure the
    frames not known complete are left out rather than written as poseless."""
    from posegraph.calculators.mediapipe.runner import SourceFrame, StreamPlan, _LandmarkLines
    from posegraph.calculators.types import ImageFrame

    class Recorder:
        def __init__(self):
            self.lines, self.closed = [], False

        def write_frame(self, source, index, ts, width, height, poses):
            self.lines.append((index, len(poses)))

        def close(self):
            self.closed = True

    landmarks = np.zeros((33, 5), np.float32)
    for completed in (True, False):
        out = Recorder()
        lines = _LandmarkLines(out, StreamPlan("image", None, "pose_landmarks", "pose_world_landmarks"))
        for i in range(4):
            lines.fed(SourceFrame(i, i * 100, ImageFrame(np.zeros((4, 4, 3), np.uint8), "cam", i)))
        lines.packet("pose_landmarks", 100, landmarks)
        assert out.lines == []                      # frame 1's world landmarks have not come yet
        lines.packet("pose_world_landmarks", 100, landmarks[:, :3])
        assert out.lines == [(0, 0), (1, 1)]        # frame 0 had no pose: complete too
        lines.packet("pose_landmarks", 300, landmarks)
        assert out.lines == [(0, 0), (1, 1)]
        lines.close(completed)
        assert out.closed
        assert out.lines == ([(0, 0), (1, 1), (2, 0), (3, 1)] if completed else [(0, 0), (1, 1)])
