"""Multi-person BlazePose (graphs/pose_landmark_multi_cpu.pbtxt, pose_tracking_multi_cpu.pbtxt) on the shared media.

Static images: every person found (two side by side, several in a close-up), nobody on the negatives, max_poses
honoured and counted. Videos: single-person videos keep one track with a constant id and give exactly the single-
person graph's landmarks; two shared videos tiled side by side keep two stable ids; a person who vanishes for a few
frames gets their id back. The CLI runs the graph with its side packets and writes ids to JSONL.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.types import ImageFrame

pytestmark = pytest.mark.timeout(300)

MULTI = "pose_landmark_multi_cpu"


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_video(path: Path, size: int | None = None, limit: int | None = None) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while limit is None or len(frames) < limit:
        ok, bgr = cap.read()
        if not ok:
            break
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if size is not None:
            rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
        frames.append(rgb)
    cap.release()
    return frames


def tiled(left: list[np.ndarray], right: list[np.ndarray]) -> list[np.ndarray]:
    return [np.ascontiguousarray(np.hstack([a, b])) for a, b in zip(left, right)]


def hip_x(pose) -> float:
    return float(pose.landmarks[[23, 24], 0].mean())


@pytest.fixture(scope="module")
def static_graph(shared):
    graph = Graph(MULTI)
    graph.start({"use_prev_landmarks": False}, synchronous=True)
    counter = iter(range(10**6))

    def run(name: str) -> dict:
        rgb = read_rgb(shared / "media" / name)
        return graph.process({"image": ImageFrame(rgb, name, 0)}, timestamp=next(counter))

    yield run
    graph.close()


def run_static(shared, name: str, **side) -> tuple[dict, Graph]:
    graph = Graph(MULTI)
    graph.start({"use_prev_landmarks": False, **side}, synchronous=True)
    out = graph.process({"image": ImageFrame(read_rgb(shared / "media" / name), name, 0)}, timestamp=0)
    graph.close()
    return out, graph


# -- images (static-image mode) ------------------------------------------------------------------------------------

def test_two_people_walking_side_by_side_give_two_poses(static_graph):
    poses = static_graph("people_two_walking_snow.bmp")["poses"]
    assert [p.track_id for p in poses] == [0, 1]
    assert all(p.topology == "blazepose33" and p.landmarks.shape == (33, 5) and p.score > 0.9 for p in poses)
    # Two different people: the man (left, hips near x 0.41) and the woman (right, hips near x 0.58).
    assert sorted(round(hip_x(p), 1) for p in poses) == [0.4, 0.6]


def test_several_people_in_a_close_up(static_graph):
    poses = static_graph("people_several_closeup_partial.jpg")["poses"]
    assert len(poses) >= 2
    xs = sorted(float(p.landmarks[0, 0]) for p in poses)  # noses
    assert min(np.diff(xs)) > 0.1  # distinct people, not one person twice


def test_two_people_cut_at_the_thighs(static_graph):
    poses = static_graph("people_two_partial_body.jpg")["poses"]
    assert len(poses) == 2
    assert abs(hip_x(poses[0]) - hip_x(poses[1])) > 0.15


@pytest.mark.parametrize("name", ["negative_cat.bmp", "negative_dogs.jpg"])
def test_no_pose_on_negatives(static_graph, name):
    out = static_graph(name)
    assert out["poses"] == [] and out["detections"] == []


@pytest.mark.parametrize("name", ["person_single_fullbody_woman_standing.png", "yoga_warrior2_beach.jpg",
                                  "person_single_fullbody_man_casual.jpg", "fitness_squat.bmp",
                                  "person_partial_upper_body_portrait.jpg"])
def test_one_person_gives_one_pose(static_graph, name):
    # The search (people painted over, detector again) often finds what is left of the person (hair around the
    # head disc, a hand): those detections must not become a second person.
    assert [p.track_id for p in static_graph(name)["poses"]] == [0]


def test_max_poses_keeps_the_highest_scoring_and_counts_the_dropped(shared):
    name = "people_two_partial_body.jpg"  # both people found by the first detector run (0.96 and 0.94)
    both, _ = run_static(shared, name, max_poses=2)
    best = max(both["poses"], key=lambda p: p.extras["_detection_score"])
    one, graph = run_static(shared, name, max_poses=1)
    assert len(one["poses"]) == 1
    np.testing.assert_array_equal(one["poses"][0].landmarks, best.landmarks)
    # Counted where it happened: the first assignment node (both people came from the first detector run).
    assert {s.name: s.dropped for s in graph.node_stats() if s.dropped} == {"assignment": 1}


def test_max_poses_one_on_people_side_by_side_counts_the_person_found_by_the_search(shared):
    both, _ = run_static(shared, "people_two_walking_snow.bmp", max_poses=2)
    one, graph = run_static(shared, "people_two_walking_snow.bmp", max_poses=1)
    assert len(both["poses"]) == 2 and len(one["poses"]) == 1
    kept = one["poses"][0]
    first = both["poses"][0]  # found by the first detector run, before the search
    assert first.extras["_detection_score"] >= both["poses"][1].extras["_detection_score"]
    np.testing.assert_array_equal(kept.landmarks, first.landmarks)
    assert {s.name: s.dropped for s in graph.node_stats() if s.dropped} == {"search_assignment": 1}


# -- videos (tracking) ---------------------------------------------------------------------------------------------

def _timestamps(path: Path, n: int) -> list[int]:
    fps = cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS)
    return [round(i * 1000 / fps) * 1000 for i in range(n)]


def test_single_person_video_keeps_one_id_and_matches_the_single_person_graph(shared):
    path = shared / "media" / "video_squats_woman.mp4"
    frames = read_video(path)
    multi, single = Graph(MULTI), Graph("pose_landmark_cpu")
    multi.start({}, synchronous=True)
    single.start({}, synchronous=True)
    for i, (rgb, ts) in enumerate(zip(frames, _timestamps(path, len(frames)))):
        image = ImageFrame(rgb, path.name, i)
        got = multi.process({"image": image}, timestamp=ts)["poses"]
        want = single.process({"image": image}, timestamp=ts)["poses"]
        assert [p.track_id for p in got] == [0], f"frame {i}"
        # Same detector, ROI, landmark model, tracking and smoothing: the same numbers, bit for bit.
        np.testing.assert_array_equal(got[0].landmarks, want[0].landmarks)
        np.testing.assert_array_equal(got[0].world_landmarks, want[0].world_landmarks)
    multi.close()
    single.close()
    searches = next(n.calculator.searches for n in multi._nodes if n.name == "search_schedule")
    assert 0 < searches < len(frames) // 5  # the search ran, now and then


def test_dancing_video_keeps_one_track(shared):
    path = shared / "media" / "video_man_dancing_fullbody.mp4"
    frames = read_video(path)
    graph = Graph(MULTI)
    ids = []
    graph.observe_output("poses", lambda packet: ids.append(tuple(p.track_id for p in packet.value)))
    graph.start({})
    for i, (rgb, ts) in enumerate(zip(frames, _timestamps(path, len(frames)))):
        graph.add_packet("image", ImageFrame(rgb, path.name, i), ts)
    graph.close(timeout=120)
    assert ids == [(0,)] * len(frames)


def test_two_videos_side_by_side_keep_two_stable_ids(shared):
    media = shared / "media"
    frames = tiled(read_video(media / "video_dance_single_synthetic.mp4", 320),
                   read_video(media / "video_man_dancing_fullbody.mp4", 320))
    graph = Graph(MULTI)
    results = []
    graph.observe_output("poses", lambda packet: results.append(packet.value))
    graph.start({"max_poses": 4})
    for i, rgb in enumerate(frames):
        graph.add_packet("image", ImageFrame(rgb, "tiled", i), i * 33_333)
    graph.close(timeout=180)
    assert len(results) == len(frames) == 102
    sides = {(p.track_id, hip_x(p) < 0.5) for poses in results for p in poses}
    assert all(len(poses) == 2 for poses in results)
    assert len(sides) == 2 and {tid for tid, _ in sides} == {0, 1}  # each id always on the same side
    smoother = next(n.calculator for n in graph._nodes if n.name == "landmark_smoothing")
    assert smoother.track_ids == [0, 1]


def test_a_person_who_vanishes_gets_their_id_back_and_cli_writes_ids(shared, tmp_path):
    media = shared / "media"
    left = read_video(media / "video_dance_single_synthetic.mp4", 256, limit=40)
    right = read_video(media / "video_man_dancing_fullbody.mp4", 256, limit=40)
    for i in range(12, 16):  # the right person is gone for 4 frames
        right[i] = np.zeros_like(right[i])
    video = tmp_path / "tiled.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (512, 256))
    assert writer.isOpened()
    for rgb in tiled(left, right):
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()

    from posegraph.cli import main
    out = tmp_path / "poses.jsonl"
    rendered = tmp_path / "annotated.mp4"
    assert main(["run", "pose_tracking_multi_cpu", "--input", str(video), "--landmarks", str(out), "--output",
                 str(rendered), "--side", "max_poses=3", "--side", "detection_interval=2",
                 "--side", "min_detection_confidence=0.5", "--side", "min_tracking_confidence=0.5",
                 "--quiet"]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 40 and rendered.stat().st_size > 0
    per_frame = [{(pose["id"], np.mean([pose["landmarks"][23][0], pose["landmarks"][24][0]]) < 0.5)
                  for pose in line["poses"]} for line in lines]
    left_ids = {tid for frame in per_frame for tid, is_left in frame if is_left}
    right_ids = {tid for frame in per_frame for tid, is_left in frame if not is_left}
    assert len(left_ids) == 1 and len(right_ids) == 1 and left_ids != right_ids
    assert all(not any(not is_left for _, is_left in per_frame[i]) for i in range(13, 16))  # gone there
    assert all(len(per_frame[i]) == 2 for i in list(range(0, 12)) + list(range(22, 40)))  # and back, same id


def test_cli_static_image_writes_one_id_per_person(shared, tmp_path):
    from posegraph.cli import main
    out = tmp_path / "poses.jsonl"
    assert main(["run", "pose_tracking_multi_cpu", "--input", str(shared / "media" / "people_two_walking_snow.bmp"),
                 "--landmarks", str(out), "--static", "--quiet"]) == 0
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert [p["id"] for p in line["poses"]] == [0, 1]


# -- PoseTracker ---------------------------------------------------------------------------------------------------

def test_pose_tracker_with_max_poses_returns_every_person(shared):
    from posegraph.solutions import PoseTracker
    rgb = read_rgb(shared / "media" / "people_two_walking_snow.bmp")
    with PoseTracker(static_image_mode=True, max_poses=3) as tracker:
        result = tracker.process(rgb)
        assert tracker._graph.spec.nodes and any(n.calculator == "PoseTrackUpdateCalculator"
                                                 for n in tracker._graph.spec.nodes)
    assert [p.track_id for p in result.poses] == [0, 1]
    np.testing.assert_array_equal(result.landmarks, result.poses[0].landmarks)
    with PoseTracker(static_image_mode=True) as tracker:  # max_poses=1: the single-person graph, unchanged
        result = tracker.process(rgb)
        assert tracker._graph.spec.nodes and not any(n.calculator == "PoseTrackUpdateCalculator"
                                                     for n in tracker._graph.spec.nodes)
    assert len(result.poses) == 1 and result.poses[0].track_id is None
    with pytest.raises(ValueError):
        PoseTracker(max_poses=0)
