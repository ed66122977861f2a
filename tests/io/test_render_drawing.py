"""Drawing smoke tests: pixels change where landmarks, connections, ROIs and boxes are, and nowhere else."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from posegraph.calculators.render.drawing import DEFAULT_STYLE, draw_detections, draw_poses, draw_text_lines, \
    track_color
from posegraph.calculators.render.topologies import BLAZEPOSE33, COCO17, COCO18, TOPOLOGIES, get_topology
from posegraph.calculators.types import Detection, NormalizedRect, Pose

pytestmark = pytest.mark.timeout(60)

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
REFERENCE = SHARED / "reference" / "mediapipe"
MEDIA = SHARED / "media"


def _coco_pose(visibility: float = 0.9, **kwargs) -> Pose:
    """A simple standing COCO-17 figure in a 200 x 300 frame."""
    xy = np.array([
        (0.50, 0.15), (0.47, 0.13), (0.53, 0.13), (0.44, 0.14), (0.56, 0.14), (0.40, 0.30), (0.60, 0.30),
        (0.35, 0.45), (0.65, 0.45), (0.33, 0.58), (0.67, 0.58), (0.44, 0.60), (0.56, 0.60), (0.43, 0.75),
        (0.57, 0.75), (0.42, 0.90), (0.58, 0.90),
    ])
    landmarks = np.zeros((17, 5), np.float32)
    landmarks[:, :2] = xy
    landmarks[:, 3:] = visibility
    return Pose(landmarks=landmarks, topology="coco17", **kwargs)


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return (before != after).any(axis=2)


def _pixel(pose: Pose, i: int, width: int, height: int) -> tuple[int, int]:
    x, y = pose.landmarks[i, :2]
    return int(round(float(y) * height)), int(round(float(x) * width))  # row, column


def test_topologies_are_consistent():
    assert set(TOPOLOGIES) == {"blazepose33", "coco17", "coco18"}
    for topology, count, edges in ((BLAZEPOSE33, 33, 35), (COCO17, 17, 18), (COCO18, 18, 17)):
        assert topology.num_keypoints == count and len(topology.connections) == edges
        assert len(set(topology.keypoint_names)) == count
        assert len({tuple(sorted(c)) for c in topology.connections}) == edges
        assert topology.sides.count("L") == topology.sides.count("R")
    assert BLAZEPOSE33.index("left_hip") == 23 and COCO17.index("right_ankle") == 16 and COCO18.index("neck") == 1
    assert (11, 12) in BLAZEPOSE33.connections and (27, 31) in BLAZEPOSE33.connections
    assert get_topology("coco17") is COCO17
    with pytest.raises(KeyError, match="known: blazepose33, coco17, coco18"):
        get_topology("hand21")
    with pytest.raises(ValueError, match="has no keypoint 'tail'"):
        COCO17.index("tail")


def test_landmarks_and_connections_are_drawn_and_the_input_is_untouched():
    frame = np.zeros((300, 200, 3), np.uint8)
    pose = _coco_pose()
    out = draw_poses(frame, [pose])
    assert out is not frame and out.shape == frame.shape and out.dtype == np.uint8 and out.flags.c_contiguous
    assert not frame.any(), "input frame must not be modified"
    changed = _changed(frame, out)
    for i in range(17):
        assert changed[_pixel(pose, i, 200, 300)], f"landmark {i} not drawn"
    # Midpoint of the left forearm (7 -> 9) and of the hips (11 -> 12).
    for a, b in ((7, 9), (11, 12)):
        mid = (pose.landmarks[a, :2] + pose.landmarks[b, :2]) / 2
        assert changed[int(round(mid[1] * 300)), int(round(mid[0] * 200))], f"connection {a}-{b} not drawn"
    assert not changed[:20, :].any() and not changed[-10:, :].any(), "nothing drawn far from the pose"
    assert not changed[:, :40].any() and not changed[:, -40:].any()
    # Side colours: a left point is orange, a right point cyan (centre pixel of the dot).
    np.testing.assert_array_equal(out[_pixel(pose, 9, 200, 300)], DEFAULT_STYLE.left)
    np.testing.assert_array_equal(out[_pixel(pose, 10, 200, 300)], DEFAULT_STYLE.right)


def test_low_visibility_landmarks_are_hidden_or_dimmed():
    frame = np.zeros((300, 200, 3), np.uint8)
    pose = _coco_pose()
    pose.landmarks[9, 3] = 0.1  # left wrist: low visibility
    pose.landmarks[10, 4] = 0.2  # right wrist: low presence
    hidden = draw_poses(frame, [pose])
    for i in (9, 10):
        assert not _changed(frame, hidden)[_pixel(pose, i, 200, 300)]
    dimmed = draw_poses(frame, [pose], low_visibility="dim")
    np.testing.assert_array_equal(dimmed[_pixel(pose, 9, 200, 300)], DEFAULT_STYLE.dimmed)
    shown = draw_poses(frame, [pose], visibility_threshold=0.05)
    assert _changed(frame, shown)[_pixel(pose, 9, 200, 300)]
    with pytest.raises(ValueError, match="low_visibility"):
        draw_poses(frame, [pose], low_visibility="grey")  # type: ignore[arg-type]


def test_batched_drawing_gives_the_pixels_of_one_call_per_element():
    """Connections go to OpenCV as runs of two-point polylines: the picture must be exactly that of one cv2.line
    per connection and two cv2.circle per point, in topology order, also with dimmed (other-coloured) runs."""
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 255, (300, 200, 3), dtype=np.uint8)
    pose = _coco_pose()
    pose.landmarks[[3, 9, 14], 3] = 0.1
    out = draw_poses(frame, [pose], low_visibility="dim")
    expected = frame.copy()
    one = 16
    xy = [(int(round(x * 200 * one)), int(round(y * 300 * one))) for x, y in pose.landmarks[:, :2].tolist()]
    confident = pose.landmarks[:, 3] >= 0.5
    for a, b in COCO17.connections:
        color = DEFAULT_STYLE.connection if confident[a] and confident[b] else DEFAULT_STYLE.dimmed
        cv2.line(expected, xy[a], xy[b], color, 1, cv2.LINE_AA, 4)
    for i, (x, y) in enumerate(xy):
        side = {"L": DEFAULT_STYLE.left, "R": DEFAULT_STYLE.right}.get(COCO17.sides[i], DEFAULT_STYLE.center)
        color = side if confident[i] else DEFAULT_STYLE.dimmed
        cv2.circle(expected, (x, y), int(2.0 * one), color, -1, cv2.LINE_AA, 4)
        cv2.circle(expected, (x, y), int(2.0 * one), (0, 0, 0), 1, cv2.LINE_AA, 4)
    np.testing.assert_array_equal(out, expected)


def test_track_id_colours_the_whole_skeleton():
    frame = np.zeros((300, 200, 3), np.uint8)
    pose = _coco_pose(track_id=5)
    out = draw_poses(frame, [pose], draw_ids=False)
    color = track_color(5)
    for i in (0, 9, 10, 15):
        np.testing.assert_array_equal(out[_pixel(pose, i, 200, 300)], color)
    assert track_color(5) != track_color(6)
    assert track_color(5) == track_color(5)


def test_rotated_roi_is_drawn_rotated():
    frame = np.zeros((400, 400, 3), np.uint8)
    roi = NormalizedRect(x_center=0.5, y_center=0.5, width=0.5, height=0.5, rotation=math.pi / 4)
    pose = Pose(landmarks=np.full((33, 5), np.nan, np.float32), topology="blazepose33", roi=roi)
    changed = _changed(frame, draw_poses(frame, [pose]))
    half_diagonal = 100 * math.sqrt(2)  # a 200-px square turned 45 degrees has corners on the axes
    assert changed[200, int(200 + half_diagonal) - 1] and changed[int(200 - half_diagonal) + 1, 200]
    assert not changed[100, 100], "the unrotated corner must stay empty"
    assert not _changed(frame, draw_poses(frame, [pose], draw_roi=False)).any()


def test_detections_and_text_lines():
    frame = np.zeros((240, 320, 3), np.uint8)
    detection = Detection(score=0.9, box=np.array([0.25, 0.25, 0.5, 0.5]), keypoints=np.array([[0.5, 0.5]]))
    out = draw_poses(frame, [], detections=[detection], text_lines=["tree 0.97", "reps: 3"])
    changed = _changed(frame, out)
    assert changed[60, 160] and changed[180, 160] and changed[120, 80] and changed[120, 240]  # box edges
    assert changed[120, 160]  # keypoint
    assert changed[8:40, 8:60].any()  # text block top-left
    assert not changed[100:110, 100:110].any()  # inside the box, away from the keypoint
    only_boxes = draw_detections(frame, [detection])
    assert _changed(frame, only_boxes)[60, 160] and not frame.any()
    assert _changed(frame, draw_text_lines(frame, ["hello"]))[10:30, 10:40].any()


def test_sizes_scale_with_the_image():
    small = np.zeros((300, 200, 3), np.uint8)
    large = np.zeros((1200, 800, 3), np.uint8)
    pose = _coco_pose()
    small_count = _changed(small, draw_poses(small, [pose])).sum()
    large_count = _changed(large, draw_poses(large, [pose])).sum()
    assert large_count > 8 * small_count  # 4x the size: lines 4x longer and thicker


def test_odd_inputs_do_not_crash():
    gray = np.zeros((50, 70), np.uint8)
    nan_pose = Pose(landmarks=np.full((33, 5), np.nan, np.float32), topology="blazepose33")
    far_pose = Pose(landmarks=np.array([[1e9, -1e9, 0, 1, 1]] * 17, np.float32), topology="coco17")
    unknown = Pose(landmarks=np.array([[0.5, 0.5, 0, 1, 1]] * 4, np.float32), topology="hand4")
    two_d = Pose(landmarks=np.array([[0.2, 0.2]] * 17, np.float32), topology="coco17")  # x, y only
    out = draw_poses(gray, [nan_pose, far_pose, unknown, two_d])
    assert out.shape == (50, 70, 3)
    assert _changed(np.zeros((50, 70, 3), np.uint8), out)[25, 35]  # the unknown topology's points
    assert _changed(np.zeros((50, 35, 3), np.uint8), draw_poses(gray[:, ::2], [unknown])).any()


def test_reference_pose_on_the_real_photo():
    if not REFERENCE.is_dir() or not MEDIA.is_dir():
        pytest.skip(f"shared material not found at {SHARED}")
    from posegraph.calculators.io.images import read_image
    from posegraph.calculators.io.jsonl import read_jsonl

    image = read_image(MEDIA / "yoga_warrior2_beach.jpg")
    (record,) = read_jsonl(REFERENCE / "yoga_warrior2_beach.jpg.jsonl")
    pose = record.poses[0]
    out = draw_poses(image, [pose])
    changed = _changed(image, out)
    height, width = image.shape[:2]
    visible = (pose.landmarks[:, 3] >= 0.5) & (pose.landmarks[:, 4] >= 0.5)
    assert visible.sum() > 25
    for i in np.flatnonzero(visible):
        assert changed[_pixel(pose, int(i), width, height)], f"landmark {i} not drawn"
