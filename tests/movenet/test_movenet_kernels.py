"""MoveNet kernels on hand-made keypoints: decoding through the crop matrix and the smart-crop rules."""

from __future__ import annotations

import numpy as np
import pytest

from posegraph.calculators.image.transforms import PixelRoi, crop_matrix
from posegraph.calculators.movenet.kernels import (LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER,
                                                   crop_region_from_keypoints, decode_movenet, init_crop_region,
                                                   pose_score)

pytestmark = pytest.mark.timeout(60)


def standing_person(width=400, height=600, score=0.9) -> np.ndarray:
    """17 x 5 landmarks (normalised) of an upright person centred at x = 200 px, hips at y = 300 px."""
    px = np.array([
        (200, 100), (210, 90), (190, 90), (220, 95), (180, 95),      # face
        (240, 150), (160, 150), (250, 220), (150, 220), (255, 290), (145, 290),  # arms
        (220, 300), (180, 300), (222, 400), (178, 400), (224, 500), (176, 500),  # legs
    ], dtype=np.float64)
    lm = np.zeros((17, 5), np.float32)
    lm[:, 0] = px[:, 0] / width
    lm[:, 1] = px[:, 1] / height
    lm[:, 3] = lm[:, 4] = score
    return lm


def test_init_crop_is_the_frame_padded_to_a_centred_square():
    np.testing.assert_allclose(init_crop_region(640, 480), [0.5, 0.5, 1.0, 640 / 480])
    np.testing.assert_allclose(init_crop_region(300, 500), [0.5, 0.5, 500 / 300, 1.0])


def test_decode_maps_crop_coordinates_through_the_matrix():
    # a 200 x 200 px crop centred at (300, 250) of a 600 x 500 image
    matrix = crop_matrix(PixelRoi(300.0, 250.0, 200.0, 200.0), 600, 500).astype(np.float64)
    raw = np.array([[0.0, 0.0, 0.3], [1.0, 1.0, 0.7], [0.25, 0.5, 0.5]] + [[0.5, 0.5, 1.0]] * 14, np.float32)
    lm = decode_movenet(raw, matrix)
    assert lm.shape == (17, 5) and lm.dtype == np.float32
    np.testing.assert_allclose(lm[0, :2], [200 / 600, 150 / 500], atol=1e-6)   # crop top-left
    np.testing.assert_allclose(lm[1, :2], [400 / 600, 350 / 500], atol=1e-6)   # crop bottom-right
    np.testing.assert_allclose(lm[2, :2], [300 / 600, 200 / 500], atol=1e-6)   # (y, x) order of the model
    np.testing.assert_array_equal(lm[:, 2], 0)
    np.testing.assert_array_equal(lm[:, 3], raw[:, 2])
    np.testing.assert_array_equal(lm[:, 4], raw[:, 2])
    assert pose_score(lm) == pytest.approx(raw[:, 2].mean(), abs=1e-6)


def test_crop_is_a_hip_centred_square_from_the_body_range():
    w, h = 400, 600
    lm = standing_person(w, h)
    cx, cy, cw, ch = crop_region_from_keypoints(lm, w, h, 0.2, 1.9, 1.2)
    assert (cx * w, cy * h) == pytest.approx((200, 300))
    assert cw * w == pytest.approx(ch * h)  # square in pixels
    # torso range: 150 px (shoulders) * 1.9 = 285; body range: 200 px (ankles) * 1.2 = 240 -> half side 285
    assert cw * w / 2 == pytest.approx(285)


def test_body_range_covers_every_confident_joint_not_only_the_torso():
    # A raised wrist far above the head: with the reference example's bug (body loop measuring the last torso
    # joint) the crop would ignore it; here it sets the half side.
    w, h = 1200, 1200
    lm = standing_person(w, h)
    lm[:, :2] += 240 / 1200  # hips at (440, 540) px
    lm[9, 1] = (540 - 450) / h  # left wrist 450 px above the hips
    half = crop_region_from_keypoints(lm, w, h, 0.2, 1.9, 1.2)[2] * w / 2
    assert half == pytest.approx(450 * 1.2)
    lm[9, 3] = 0.1  # the same wrist below the score threshold no longer counts
    half = crop_region_from_keypoints(lm, w, h, 0.2, 1.9, 1.2)[2] * w / 2
    assert half == pytest.approx(150 * 1.9)


@pytest.mark.parametrize("hidden", [(LEFT_HIP, RIGHT_HIP), (LEFT_SHOULDER, RIGHT_SHOULDER)])
def test_no_visible_torso_falls_back_to_the_padded_frame(hidden):
    w, h = 400, 600
    lm = standing_person(w, h)
    lm[list(hidden), 3] = 0.1
    np.testing.assert_allclose(crop_region_from_keypoints(lm, w, h, 0.2, 1.9, 1.2), init_crop_region(w, h))
    lm[hidden[0], 3] = 0.5  # one hip (or one shoulder) is enough
    assert not np.allclose(crop_region_from_keypoints(lm, w, h, 0.2, 1.9, 1.2), init_crop_region(w, h))


def test_crop_larger_than_the_frame_falls_back_to_the_padded_frame():
    w, h = 400, 600
    lm = standing_person(w, h)
    # half side 150 * 3 = 450 > 600 / 2: the padded frame (the border clamp cannot bring it below that)
    np.testing.assert_allclose(crop_region_from_keypoints(lm, w, h, 0.2, 3.0, 1.2), init_crop_region(w, h))
