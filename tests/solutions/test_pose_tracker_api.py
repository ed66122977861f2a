"""The Python API as a new user meets it: frame types, running modes, typed results, drawing, Graph.add_packet."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.types import ImageFrame
from posegraph.solutions import DetectedPose, PoseTracker, PoseTrackerResult, RunningMode, draw_landmarks

MEDIA = Path(__file__).resolve().parents[2].parent / "shared" / "media"
pytestmark = pytest.mark.skipif(not MEDIA.is_dir(), reason="needs ../shared/media")


@pytest.fixture(scope="module")
def bgr():
    return cv2.imread(str(MEDIA / "yoga_tree_pose.jpeg"))


def test_numpy_rgb_bgr_and_image_frame_give_the_same_pose(bgr):
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    with PoseTracker(running_mode="image") as tracker:
        a = tracker.detect(rgb)
        b = tracker.detect(bgr, bgr=True)
        c = tracker.detect(ImageFrame(rgb))
    assert a.found and b.found and c.found
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    np.testing.assert_array_equal(a.landmarks, c.landmarks)
    pose = a.poses[0]
    assert isinstance(a, PoseTrackerResult) and isinstance(pose, DetectedPose)
    assert pose.landmarks.shape == (33, 5) and pose.world_landmarks.shape == (33, 3)
    assert pose.topology == "blazepose33" and 0 < pose.score <= 1 and pose.segmentation_mask is None
    assert a.image_size == (rgb.shape[1], rgb.shape[0])


@pytest.mark.parametrize("bad, says", [
    (np.zeros((64, 64, 3), np.float64) + 200.0, "got dtype float64"),
    (np.zeros((3, 64, 64), np.uint8), "channel-first"),
    ([[0, 0, 0]], "got builtins.list"),
    ("person.jpg", "got builtins.str"),
])
def test_anything_else_is_one_clear_error(bad, says):
    with PoseTracker(running_mode="image") as tracker:
        with pytest.raises(TypeError, match="expected an ImageFrame or a numpy uint8 array") as info:
            tracker.detect(bad)
    assert says in str(info.value)


def test_running_modes(bgr):
    with PoseTracker(running_mode=RunningMode.VIDEO) as tracker:
        first = tracker.detect_for_video(bgr, 0, bgr=True)
        second = tracker.detect_for_video(bgr, 33, bgr=True)
        assert first.timestamp_us == 0 and second.timestamp_us == 33_000 and second.found
        with pytest.raises(ValueError, match="needs running_mode='image'"):
            tracker.detect(bgr, bgr=True)
    with pytest.raises(ValueError, match="result_callback"):
        PoseTracker(running_mode="live_stream")
    results, done = [], threading.Event()

    def on_result(result, image, timestamp_ms):
        results.append((result.found, timestamp_ms, image.shape))
        done.set()

    with PoseTracker(running_mode="live_stream", result_callback=on_result) as tracker:
        tracker.detect_async(bgr, 0, bgr=True)
        assert done.wait(60)
        with pytest.raises(ValueError, match="timestamps must increase"):
            tracker.detect_async(bgr, 0, bgr=True)
        tracker.detect_async(bgr, 40, bgr=True)
    assert results[0] == (True, 0, bgr.shape)
    assert len(results) + tracker.dropped_frames == 2


def test_draw_landmarks_keeps_the_channel_order(bgr):
    with PoseTracker(static_image_mode=True) as tracker:
        result = tracker.process(bgr, bgr=True)
    drawn = draw_landmarks(bgr, result, bgr=True)
    assert drawn.shape == bgr.shape and drawn.dtype == np.uint8
    assert (drawn != bgr).any() and (bgr == cv2.imread(str(MEDIA / "yoga_tree_pose.jpeg"))).all()


def test_graph_add_packet_takes_numpy_frames_and_refuses_floats(bgr):
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    graph = Graph("pose_landmark_cpu")
    poses = []
    graph.observe_output("poses", lambda packet: poses.append(packet.value))
    graph.start({"use_prev_landmarks": False})
    graph.add_packet("image", rgb, timestamp=0)
    with pytest.raises(TypeError, match="got dtype float64"):
        graph.add_packet("image", rgb.astype(np.float64), timestamp=1)
    graph.close()
    assert len(poses) == 1 and len(poses[0]) == 1


def test_package_is_typed():
    import posegraph
    assert (Path(posegraph.__file__).parent / "py.typed").is_file()
