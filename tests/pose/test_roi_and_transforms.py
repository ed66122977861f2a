"""ROI math (alignment points, rect transformation, association) and rotated-ROI crops."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from posegraph.calculators.detection.roi import (alignment_points_to_rect, associate_rects,
                                                 detection_letterbox_removal, landmarks_to_rect,
                                                 landmarks_to_roi_rect, normalize_radians, pose_roi_from_detection,
                                                 pose_roi_from_landmarks, rect_iou, rows_to_detections,
                                                 transform_rect)
from posegraph.calculators.image.transforms import (crop_matrix, image_to_tensor, pad_roi, perspective_transform,
                                                    remove_letterbox, roi_in_pixels, value_range_transform,
                                                    warp_perspective_classic)
from posegraph.calculators.types import Detection, LetterboxPadding, NormalizedRect

pytestmark = pytest.mark.timeout(120)


def test_normalize_radians():
    assert normalize_radians(0.0) == 0.0
    assert normalize_radians(3 * math.pi / 2) == pytest.approx(-math.pi / 2, abs=1e-6)
    assert normalize_radians(-3 * math.pi / 2) == pytest.approx(math.pi / 2, abs=1e-6)


def test_alignment_rect_upright_person():
    # Hip centre at (0.5, 0.6), scale point straight above: no rotation; side = 2 * distance in pixels.
    rect = alignment_points_to_rect((0.5, 0.6), (0.5, 0.4), 200, 100)
    assert rect.x_center == pytest.approx(0.5) and rect.y_center == pytest.approx(0.6)
    assert rect.width == pytest.approx(2 * 20 / 200) and rect.height == pytest.approx(2 * 20 / 100)
    assert rect.rotation == pytest.approx(0.0, abs=1e-7)
    # Scale point to the right (person lying, head right): rotate by +90 degrees (clockwise in image space).
    rect = alignment_points_to_rect((0.5, 0.5), (0.6, 0.5), 100, 100)
    assert rect.rotation == pytest.approx(math.pi / 2, abs=1e-6)


def test_transform_rect_square_long_and_shift():
    rect = NormalizedRect(0.5, 0.5, 0.2, 0.5, 0.0)
    out = transform_rect(rect, 400, 100, scale_x=1.25, scale_y=1.25, square_long=True)
    # Long side in pixels: max(0.2 * 400, 0.5 * 100) = 80 px.
    assert out.width == pytest.approx(80 / 400 * 1.25) and out.height == pytest.approx(80 / 100 * 1.25)
    shifted = transform_rect(NormalizedRect(0.5, 0.5, 0.2, 0.2, math.pi / 2), 100, 100, shift_y=0.5)
    # Shift along the rotated y axis: +90 degrees maps +y to -x.
    assert shifted.x_center == pytest.approx(0.5 - 0.1, abs=1e-6)
    assert shifted.y_center == pytest.approx(0.5, abs=1e-6)


def test_pose_roi_from_detection_and_landmarks_agree():
    det = Detection(score=0.9, box=np.float32([0.3, 0.2, 0.4, 0.6]),
                    keypoints=np.float32([[0.5, 0.55], [0.52, 0.25], [0, 0], [0, 0]]))
    roi = pose_roi_from_detection(det, 640, 480)
    lms = np.zeros((2, 5), np.float32)
    lms[:, :2] = det.keypoints[:2]
    assert roi == pose_roi_from_landmarks(lms, 640, 480)
    side_px = 2 * math.hypot(0.02 * 640, 0.30 * 480) * 1.25
    assert roi.width * 640 == pytest.approx(side_px, rel=1e-5)
    assert roi.height * 480 == pytest.approx(side_px, rel=1e-5)


def test_landmarks_to_roi_rect_is_landmarks_to_rect_then_transform_rect_bit_for_bit():
    rng = np.random.default_rng(4)
    for _ in range(500):
        lms = rng.uniform(-0.5, 1.5, (4, 5)).astype(np.float32)
        w, h = (int(v) for v in rng.integers(1, 3000, 2))
        start, end = (int(v) for v in rng.choice(4, 2, replace=False))
        angle, scale = float(rng.uniform(-180, 180)), float(rng.uniform(0.5, 2.0))
        square = bool(rng.integers(2))
        for exact in (True, False):
            two_steps = transform_rect(landmarks_to_rect(lms, w, h, start, end, angle, exact_math=exact), w, h,
                                       scale_x=scale, scale_y=scale * 1.1, square_long=square, exact_math=exact)
            assert landmarks_to_roi_rect(lms, w, h, start, end, angle, scale_x=scale, scale_y=scale * 1.1,
                                         square_long=square, exact_math=exact) == two_steps


def test_detection_letterbox_removal():
    rows = np.float32([[0.1, 0.25, 0.2, 0.5, 0.5, 0.5]])
    pad = LetterboxPadding(0.0, 0.125, 0.0, 0.125)
    out = detection_letterbox_removal(rows, pad)
    np.testing.assert_allclose(out[0], [0.1, (0.25 - 0.125) / 0.75, 0.2, 0.5 / 0.75, 0.5, 0.5], rtol=1e-6)
    det = rows_to_detections(out, np.float32([0.7]))[0]
    assert det.keypoints.shape == (1, 2) and det.score == pytest.approx(0.7)


def test_association_later_rect_wins():
    a = NormalizedRect(0.5, 0.5, 0.4, 0.4)
    b = NormalizedRect(0.52, 0.5, 0.4, 0.4)  # overlaps a
    c = NormalizedRect(0.1, 0.1, 0.1, 0.1)
    assert rect_iou(a, a) == 1.0
    assert associate_rects([[], [a, c, b]], 0.5) == [c, b]
    assert associate_rects([[a], []], 0.5) == [a]
    assert associate_rects([[a], [b]], 0.5) == [b]
    assert associate_rects([[a], [c]], 0.5) == [a, c]


def test_pad_roi_and_value_range():
    roi = roi_in_pixels(None, 640, 480)
    padded, pad = pad_roi(roi, 224, 224, keep_aspect_ratio=True)
    assert (padded.width, padded.height) == (640.0, 640.0)
    assert pad == LetterboxPadding(0.0, 0.125, 0.0, 0.125)
    assert value_range_transform(-1.0, 1.0) == (pytest.approx(2 / 255), -1.0)
    pts = remove_letterbox(np.float32([[0.5, 0.125], [0.5, 0.875]]), pad)
    np.testing.assert_allclose(pts, [[0.5, 0.0], [0.5, 1.0]])


def _random_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_axis_aligned_crop_is_exact_copy():
    img = _random_image(60, 80)
    # A 32 x 32 ROI centred on pixel corners maps tensor pixel (i, j) onto image pixel (top + i, left + j).
    rect = NormalizedRect((20 + 16) / 80, (10 + 16) / 60, 32 / 80, 32 / 60, 0.0)
    res = image_to_tensor(img, rect, 32, 32, keep_aspect_ratio=False, value_range=(0.0, 255.0))
    np.testing.assert_array_equal(res.tensor, img[10:42, 20:52].astype(np.float32))
    # The matrix maps normalised tensor corners to normalised image corners.
    tl = res.matrix @ np.array([0.0, 0.0, 1.0])
    br = res.matrix @ np.array([1.0, 1.0, 1.0])
    np.testing.assert_allclose(tl[:2], [20 / 80, 10 / 60], atol=1e-6)
    np.testing.assert_allclose(br[:2], [52 / 80, 42 / 60], atol=1e-6)


@pytest.mark.parametrize("border", ["zero", "replicate"])
def test_classic_warp_matches_opencv_fixed_point(border):
    """The classic kernel equals cv2 wherever cv2 still uses the pre-4.11 fixed-point path (integer shifts), and
    follows OpenCV's border rules outside the image."""
    img = _random_image(40, 50, seed=1)
    m = np.float64([[1, 0, -7], [0, 1, 5], [0, 0, 1]])  # pure integer translation: exact sampling
    ours = warp_perspective_classic(img, m, 30, 30, border)
    ref = cv2.warpPerspective(img, m, (30, 30), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE if border == "replicate" else cv2.BORDER_CONSTANT)
    np.testing.assert_array_equal(ours, ref)


def test_rotated_crop_close_to_opencv_and_rgba():
    img = _random_image(120, 160, seed=2)
    img = cv2.GaussianBlur(img, (0, 0), 3)  # smooth, so that 1/32-pixel grid differences stay tiny
    rect = NormalizedRect(0.45, 0.55, 0.5, 0.6, 0.4)
    ours = image_to_tensor(img, rect, 64, 64, keep_aspect_ratio=True, value_range=(0.0, 1.0), border="replicate")
    cvres = image_to_tensor(img, rect, 64, 64, keep_aspect_ratio=True, value_range=(0.0, 1.0), border="replicate",
                            backend="opencv")
    assert np.abs(ours.tensor - cvres.tensor).max() <= 2 / 255 + 1e-6
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    four = image_to_tensor(rgba, rect, 64, 64, keep_aspect_ratio=True, value_range=(0.0, 1.0), border="replicate")
    np.testing.assert_array_equal(four.tensor, ours.tensor)


def test_crop_matrix_inverts_perspective_transform():
    roi = roi_in_pixels(NormalizedRect(0.4, 0.6, 0.3, 0.45, -0.7), 300, 200)
    fwd = perspective_transform(roi, 128, 128)
    m = crop_matrix(roi, 300, 200)
    for u, v in [(0.0, 0.0), (1.0, 0.0), (0.3, 0.8)]:
        img_xy = m @ np.array([u, v, 1.0])
        px = np.array([img_xy[0] * 300, img_xy[1] * 200, 1.0])
        t = fwd @ px
        np.testing.assert_allclose(t[:2] / t[2], [u * 128, v * 128], atol=1e-3)


def test_reflected_corners_mirror_the_first_two_through_the_centre():
    """OpenCV 4.10's corner form (mediapipe 0.10.x): corners 2 and 3 are 2 * centre minus corners 0 and 1, in
    float32; the direct form (newer OpenCV) agrees to within float rounding but not always bit for bit."""
    from posegraph.calculators.image.transforms import PixelRoi, box_points

    differ = 0
    for rot in np.linspace(-3.0, 3.0, 61, dtype=np.float32):
        roi = PixelRoi(301.37, 188.91, 173.3, 173.3, float(rot))
        reflected, direct = box_points(roi, "reflected"), box_points(roi, "direct")
        centre = np.float32([roi.center_x, roi.center_y])
        assert np.array_equal(reflected[:2], direct[:2])
        assert np.array_equal(reflected[2:], np.float32(2.0) * centre - reflected[:2])
        assert np.abs(reflected - direct).max() < 1e-3
        differ += not np.array_equal(reflected, direct)
    assert differ > 0


def test_rotation_atan2f_correctly_rounded_as_mediapipe_tasks():
    # The BlazePose detection (hip centre, scale point) of anchor 653 on people_several_closeup_partial.jpg
    # (512 x 355): MediaPipe Tasks 1.2.2, whose atan2f is LLVM libc's, gives the ROI rotation -0.14396513 (read back
    # through a landmark model with constant outputs). The float64 atan2 rounded once reproduces it.
    rect = alignment_points_to_rect((0.6960099, 1.2282158), (0.57829374, 0.05708522), 512, 355)
    assert np.float32(rect.rotation) == np.float32(-0.14396513)
    x0, y0, x1, y1 = (np.float32(v) * np.float32(s) for v, s in ((0.6960099, 512), (1.2282158, 355),
                                                                   (0.57829374, 512), (0.05708522, 355)))
    target = np.float32(math.pi * 90.0 / 180.0)
    assert np.float32(rect.rotation) == target - np.float32(math.atan2(float(-(y1 - y0)), float(x1 - x0)))
