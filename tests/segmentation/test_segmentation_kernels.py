"""The segmentation calculators' arithmetic against MediaPipe's formulas (no models needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posegraph.calculators.image.transforms import crop_matrix, roi_in_pixels
from posegraph.calculators.segmentation.kernels import sigmoid, smooth_masks, softmax, warp_affine, warp_matrix
from posegraph.calculators.segmentation.segmentation_smoothing import SegmentationSmoothingCalculatorOptions
from posegraph.calculators.segmentation.warp_affine import WarpAffineCalculatorOptions
from posegraph.calculators.types import NormalizedRect

pytestmark = pytest.mark.timeout(60)


def test_sigmoid_is_mediapipes_formula_and_saturates_without_nan():
    x = np.array([-200.0, -5.0, 0.0, 0.3, 5.0, 200.0], np.float32)
    got = sigmoid(x)
    want = [1.0 / (math.exp(-float(v)) + 1.0) if v > -80 else 0.0 for v in x]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-30)
    assert got[2] == np.float32(0.5)


def test_softmax_picks_the_channel():
    a, b = np.array([[0.0, 2.0]], np.float32), np.array([[1.0, 0.0]], np.float32)
    np.testing.assert_allclose(softmax(a, b, 1), [[1 / (1 + math.e ** -1), 1 / (1 + math.e ** 2)]], rtol=1e-6)
    np.testing.assert_allclose(softmax(a, b, 0) + softmax(a, b, 1), 1.0, rtol=1e-6)


def _blend(new: float, prev: float, ratio: float) -> float:
    c = (5.68842, -0.748699, -57.8051, 291.309, -624.717)
    x = (new - 0.5) ** 2
    uncertainty = 1.0 - min(1.0, x * (c[0] + x * (c[1] + x * (c[2] + x * (c[3] + x * c[4])))))
    return new + (prev - new) * uncertainty * ratio


def test_smoothing_blends_uncertain_pixels_only():
    new = np.array([[0.0, 0.5, 0.9, 1.0, 0.45]], np.float32)
    prev = np.array([[1.0, 0.0, 0.0, 0.0, 1.0]], np.float32)
    out = np.empty_like(new)
    smooth_masks(new, prev, 0.7, out)
    np.testing.assert_allclose(out[0], [_blend(n, p, 0.7) for n, p in zip(new[0], prev[0])], rtol=1e-5, atol=1e-6)
    assert out[0, 0] < 1e-4 and out[0, 3] > 1 - 1e-4       # certain pixels keep (almost) their value
    assert out[0, 1] == pytest.approx(0.5 * 0.3)          # fully uncertain: 70 % of the previous mask


def test_options_validate():
    with pytest.raises(ValueError):
        SegmentationSmoothingCalculatorOptions(combine_with_previous_ratio=1.5)
    assert WarpAffineCalculatorOptions().border_mode.name == "BORDER_UNSPECIFIED"


def test_warp_identity_and_zero_border():
    mask = np.random.default_rng(0).random((8, 8), dtype=np.float32)
    same = warp_affine(mask, np.eye(3, dtype=np.float32), 8, 8, border_zero=True)
    np.testing.assert_allclose(same, mask, atol=1e-6)
    # The destination is twice as large and maps onto the source's top-left quarter... of a 2x zoom-out:
    shrink = np.diag([2.0, 2.0, 1.0]).astype(np.float32)   # output normalised (u, v) -> input (2u, 2v)
    out = warp_affine(mask, shrink, 8, 8, border_zero=True)
    assert np.all(out[5:, :] == 0) and np.all(out[:, 5:] == 0)   # beyond the source: zeros (BORDER_ZERO)


def test_warp_back_puts_the_crop_where_it_came_from():
    """A mask that is 1 on the whole crop lands on the ROI's pixels of the image (rotated square)."""
    rect = NormalizedRect(0.5, 0.4, 0.3, 0.45, rotation=0.4)
    roi = roi_in_pixels(rect, 200, 300)
    forward = crop_matrix(roi, 200, 300)                 # crop-normalised -> image-normalised
    crop = np.ones((64, 64), np.float32)
    back = warp_affine(crop, np.linalg.inv(forward), 200, 300, border_zero=True)
    cx, cy = int(0.5 * 200), int(0.4 * 300)
    assert back.shape == (300, 200) and back[cy, cx] == pytest.approx(1.0)
    area = float((back > 0.5).sum())
    assert area == pytest.approx(roi.width * roi.height, rel=0.05)
    assert back[0, 0] == 0.0


def test_warp_matrix_accepts_4x4():
    m3 = np.array([[0.5, 0.1, 0.2], [0.0, 0.7, 0.1], [0, 0, 1]], np.float32)
    m4 = np.eye(4, dtype=np.float32)
    m4[:2, :2], m4[:2, 3] = m3[:2, :2], m3[:2, 2]
    np.testing.assert_array_equal(warp_matrix(m3, 10, 20, 30, 40), warp_matrix(m4, 10, 20, 30, 40))
    np.testing.assert_array_equal(warp_matrix(m4.ravel(), 10, 20, 30, 40), warp_matrix(m3, 10, 20, 30, 40))
