"""Landmark decoding, heatmap refinement, projection, and the smoothing filters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posegraph.calculators.landmarks.kernels import (decode_landmarks, decode_refined_landmarks,
                                                     decode_world_landmarks, landmarks_to_roi, project_landmarks,
                                                     project_landmarks_and_world, project_world_landmarks,
                                                     refine_landmarks_from_heatmap, sigmoid)
from posegraph.calculators.landmarks.smoothing import (TASKS_POSE, OneEuroFilter, OneEuroParams,
                                                       PoseLandmarkSmoother, RelativeVelocityFilter,
                                                       VisibilityFilter, object_scale_from_rect)
from posegraph.calculators.types import NormalizedRect

pytestmark = pytest.mark.timeout(120)


def test_decode_landmarks_scales_and_sigmoids():
    raw = np.zeros((39, 5), np.float32)
    raw[:, 0] = 128.0
    raw[:, 1] = 64.0
    raw[:, 2] = -25.6
    raw[:, 3] = 2.0
    raw[:, 4] = -1.0
    out = decode_landmarks(raw.reshape(1, -1), 39, 256, 256)
    assert out.shape == (39, 5)
    np.testing.assert_allclose(out[0], [0.5, 0.25, -0.1, 1 / (1 + math.exp(-2)), 1 / (1 + math.exp(1))],
                               rtol=1e-6)
    world = decode_world_landmarks(np.arange(117, dtype=np.float32))
    assert world.shape == (39, 3) and world[1, 0] == 3.0
    np.testing.assert_allclose(sigmoid(np.float32([0.0, 100.0])), [0.5, 1.0])


def _peaked_heatmap(n: int, rows: list[int], cols: list[int]) -> np.ndarray:
    hm = np.full((64, 64, n), -20.0, np.float32)
    for i, (r, c) in enumerate(zip(rows, cols)):
        hm[r, c, i] = 5.0
        hm[r, c + 1, i] = 5.0  # two equal peaks: the weighted mean sits between them
    return hm


def test_refine_from_heatmap():
    lms = np.zeros((3, 5), np.float32)
    lms[0, :2] = (20.2 / 64, 30.3 / 64)  # near the peaks at row 30, cols 20-21
    lms[1, :2] = (-0.2, 0.5)  # outside the crop: untouched
    lms[2, :2] = (40 / 64, 10 / 64)
    hm = _peaked_heatmap(3, [30, 30, 10], [20, 5, 50])  # landmark 2: peak outside its 7x7 window
    out = refine_landmarks_from_heatmap(lms, hm[None], kernel_size=7)
    sig_hi, sig_lo = 1 / (1 + math.exp(-5)), 1 / (1 + math.exp(20))
    wsum = 2 * sig_hi + 47 * sig_lo
    exp_col = (20 * sig_hi + 21 * sig_hi + sig_lo * (sum(range(17, 24)) * 7 - 20 - 21)) / wsum
    assert out[0, 0] == pytest.approx(exp_col / 64, rel=1e-4)
    assert out[0, 1] == pytest.approx(30 / 64, rel=1e-4)
    np.testing.assert_array_equal(out[1], lms[1])
    np.testing.assert_array_equal(out[2], lms[2])  # max confidence in window < 0.5: not refined
    with pytest.raises(ValueError):
        refine_landmarks_from_heatmap(lms, hm[:, :, :2])


def test_projection_through_rotated_roi():
    rect = NormalizedRect(0.5, 0.4, 0.2, 0.3, math.pi / 2)
    lms = np.float32([[0.5, 0.5, 0.1, 0.9, 0.8], [1.0, 0.5, 0.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.0, 0.0]])
    out = project_landmarks(lms, rect)
    np.testing.assert_allclose(out[0], [0.5, 0.4, 0.1 * 0.2, 0.9, 0.8], atol=1e-6)
    # +x in the crop (0.5 to the right) rotated by +90 degrees points down in the image.
    np.testing.assert_allclose(out[1, :2], [0.5, 0.4 + 0.5 * 0.3], atol=1e-6)
    np.testing.assert_allclose(out[2, :2], [0.5 + 0.5 * 0.2, 0.4], atol=1e-6)
    world = project_world_landmarks(np.float32([[1.0, 0.0, 2.0]]), rect)
    np.testing.assert_allclose(world, [[0.0, 1.0, 2.0]], atol=1e-6)
    roi = landmarks_to_roi(np.float32([[0.5, 0.5, 0, 0, 0], [0.5, 0.3, 0, 0, 0]]), 100, 100)
    assert roi.width == pytest.approx(0.4 * 1.25) and roi.rotation == pytest.approx(0.0, abs=1e-7)


def test_one_euro_first_values_and_constant_signal():
    f = OneEuroFilter(OneEuroParams(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0))
    v = np.float32([[100.0, 200.0, 5.0]])
    np.testing.assert_array_equal(f.apply(v, 0, 100.0), v)  # t = 0 initialises (current MediaPipe)
    np.testing.assert_array_equal(f.apply(v, 33_333, 100.0), v)
    for k in range(2, 10):
        np.testing.assert_allclose(f.apply(v, 33_333 * k, 100.0), v, rtol=1e-6)
    # A non-increasing timestamp returns the input unchanged.
    w = v + 50
    np.testing.assert_array_equal(f.apply(w, 33_333 * 5, 100.0), w)


def test_one_euro_step_response_and_reset():
    f = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=0.0, derivate_cutoff=1.0))
    zero, one = np.zeros((1, 3), np.float32), np.ones((1, 3), np.float32)
    f.apply(zero, 0, 1.0)
    out = f.apply(one, 33_333, 1.0)
    # beta = 0: plain low-pass with alpha = 1 / (1 + 30 / (2 pi)) at the default 30 Hz.
    alpha = 1 / (1 + 30 / (2 * math.pi))
    np.testing.assert_allclose(out, alpha * one, rtol=1e-6)
    # Faster motion (large beta) follows the signal more closely.
    g = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=10.0, derivate_cutoff=1.0))
    g.apply(zero, 0, 1.0)
    assert g.apply(one, 33_333, 1.0)[0, 0] > out[0, 0]
    f.reset()
    np.testing.assert_array_equal(f.apply(one * 7, 66_666, 1.0), one * 7)


def test_one_euro_small_object_scale_passes_through():
    f = OneEuroFilter(OneEuroParams(min_cutoff=0.05, beta=80.0))
    v = np.float32([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(f.apply(v, 0, 1e-9), v)
    np.testing.assert_array_equal(f.apply(v + 1, 33_333, 1e-9), v + 1)


def test_relative_velocity_filter():
    f = RelativeVelocityFilter(window_size=5, velocity_scale=10.0)
    zero, one = np.zeros((1, 3), np.float32), np.ones((1, 3), np.float32)
    np.testing.assert_array_equal(f.apply(zero, 0, 1.0), zero)
    out = f.apply(one, 33_333, 1.0)
    # velocity = 1 / 33.333 ms = 30 units/s -> alpha = 1 - 1 / (1 + 10 * 30).
    alpha = 1 - 1 / (1 + 10 * 1 / 0.033333)
    np.testing.assert_allclose(out, alpha * one, rtol=1e-5)
    np.testing.assert_array_equal(f.apply(one * 3, 33_333, 1.0), one * 3)  # stale timestamp


def test_visibility_filter_and_pose_smoother():
    vis = VisibilityFilter(0.1)
    np.testing.assert_array_equal(vis.apply(np.float32([1.0, 0.0])), [1.0, 0.0])
    np.testing.assert_allclose(vis.apply(np.float32([0.0, 1.0])), [0.9, 0.1], rtol=1e-6)
    sm = PoseLandmarkSmoother(TASKS_POSE)
    lms = np.random.default_rng(0).random((33, 5)).astype(np.float32)
    world = np.random.default_rng(1).random((33, 3)).astype(np.float32)
    roi = NormalizedRect(0.5, 0.5, 0.5, 0.6, 0.0)
    assert object_scale_from_rect(roi, 640, 480) == pytest.approx((320 + 288) / 2)
    first = sm.smooth_landmarks(lms, 640, 480, 0, roi)
    np.testing.assert_allclose(first, lms, rtol=1e-6)
    second = sm.smooth_landmarks(lms + 0.01, 640, 480, 33_000, roi)
    assert np.all(second[:, :2] > lms[:, :2]) and np.all(second[:, :2] < lms[:, :2] + 0.01 + 1e-6)
    np.testing.assert_array_equal(second[:, 4], lms[:, 4] + np.float32(0.01))  # presence is not smoothed
    np.testing.assert_allclose(sm.smooth_world(world, 0), world)
    sm.reset()
    np.testing.assert_allclose(sm.smooth_landmarks(lms + 0.5, 640, 480, 66_000, roi), lms + 0.5, rtol=1e-6)


def test_decode_refined_landmarks_is_decode_then_refine_bit_for_bit():
    rng = np.random.default_rng(6)
    for _ in range(50):
        raw = rng.normal(0.0, 100.0, (1, 195)).astype(np.float32)
        raw[0, 0::5] = rng.uniform(-20, 280, 39)
        raw[0, 1::5] = rng.uniform(-20, 280, 39)
        heatmap = rng.normal(0.0, 3.0, (1, 64, 64, 39)).astype(np.float32)
        expected = refine_landmarks_from_heatmap(decode_landmarks(raw), heatmap, kernel_size=7)
        np.testing.assert_array_equal(decode_refined_landmarks(raw, heatmap), expected)
        np.testing.assert_array_equal(decode_refined_landmarks(raw, None), decode_landmarks(raw))
        np.testing.assert_array_equal(decode_refined_landmarks(raw, heatmap, kernel_size=0), decode_landmarks(raw))


def test_project_landmarks_and_world_is_both_projections_bit_for_bit():
    rng = np.random.default_rng(7)
    for _ in range(100):
        lms = rng.uniform(-0.2, 1.2, (39, 5)).astype(np.float32)
        world = rng.normal(0.0, 0.5, (39, 3)).astype(np.float32)
        rect = NormalizedRect(*(float(v) for v in rng.uniform((0, 0, 0.1, 0.1, -3.2), (1, 1, 1.5, 1.5, 3.2))))
        for exact in (True, False):
            projected, rotated = project_landmarks_and_world(lms, world, rect, exact_math=exact)
            np.testing.assert_array_equal(projected, project_landmarks(lms, rect, exact_math=exact))
            np.testing.assert_array_equal(rotated, project_world_landmarks(world, rect, exact_math=exact))
