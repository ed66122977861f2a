"""The fast classic warp (fixed-point maps + cv2.remap, separable maps, zero-border window) gives the same bits as
the Numba re-implementation of OpenCV <= 4.10's warpPerspective, on every crop shape the graphs use."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posegraph.calculators.image import transforms as T
from posegraph.calculators.types import NormalizedRect


def _reference(image, rect, width, height, keep, value_range, border):
    """image_to_tensor through the Numba kernel only."""
    roi, _ = T.pad_roi(T.roi_in_pixels(rect, image.shape[1], image.shape[0]), width, height, keep)
    minv = cv2.invert(T.perspective_transform(roi, width, height), flags=cv2.DECOMP_LU)[1]
    u8 = np.empty((height, width, image.shape[2]), np.uint8)
    T._warp_classic_kernel(image, minv, border == "replicate", 1.0, 0.0, u8, np.empty((height, width, 0), np.float32),
                           True, False)
    scale, offset = T.value_range_transform(*value_range)
    return u8[:, :, :3].astype(np.float32) * np.float32(scale) + np.float32(offset)


def _rects(rng, n):
    yield None
    yield NormalizedRect(0.5, 0.5, 1.0, 1.0, 0.0)
    for _ in range(n):
        cx, cy = rng.uniform(-0.2, 1.2, 2)
        w = rng.uniform(0.05, 1.5)
        yield NormalizedRect(float(cx), float(cy), float(w), float(w * rng.uniform(0.5, 2.0)),
                             float(rng.choice([0.0, rng.uniform(-3.2, 3.2)])))


@pytest.mark.parametrize("use_remap", [True, False])
@pytest.mark.parametrize("shape", [(61, 83, 3), (90, 40, 4)])
def test_fast_warp_is_bit_identical(shape, use_remap, monkeypatch):
    """Both paths: remap (this OpenCV) and the Numba-only fallback (an OpenCV whose remap changed)."""
    assert T._remap_is_classic()
    monkeypatch.setattr(T, "_remap_checked", use_remap)
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (0, 0), 1.5)
    configs = [(32, 32, False, (0.0, 1.0), "replicate"), (28, 28, True, (-1.0, 1.0), "zero"),
               (24, 24, False, (0.0, 255.0), "zero"), (41, 30, True, (0.0, 255.0), "zero")]
    for rect in _rects(rng, 12):
        for width, height, keep, value_range, border in configs:
            got = T.image_to_tensor(image, rect, width, height, keep_aspect_ratio=keep, value_range=value_range,
                                    border=border).tensor
            want = _reference(image, rect, width, height, keep, value_range, border)
            assert got.tobytes() == want.tobytes(), (rect, width, height, border)


def test_uint8_tensor_is_the_float_tensor_rounded_trip_free():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    rect = NormalizedRect(0.4, 0.6, 0.9, 1.2, 0.0)
    f = T.image_to_tensor(image, rect, 24, 24, keep_aspect_ratio=False, value_range=(0.0, 255.0)).tensor
    u = T.image_to_tensor(image, rect, 24, 24, keep_aspect_ratio=False, value_range=(0.0, 255.0),
                          dtype=np.uint8).tensor
    assert u.dtype == np.uint8
    np.testing.assert_array_equal(u, f.astype(np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        T.image_to_tensor(image, rect, 24, 24, keep_aspect_ratio=False, value_range=(0.0, 1.0), dtype=np.uint8)


def test_remap_check_runs_once_and_holds_here():
    """On the OpenCV this project pins (5.x), remap's fixed-point path is the classic one, so the fast path is on."""
    assert T._remap_is_classic() is True
    assert T._remap_checked is True


def test_crop_geometry_kernel_gives_the_python_steps_bits():
    """image_to_tensor's compiled geometry (_crop_setup) against roi_in_pixels, pad_roi, perspective_transform and
    crop_matrix, bit for bit."""
    rng = np.random.default_rng(8)
    for rect in _rects(rng, 400):
        iw, ih = (int(v) for v in rng.integers(1, 2500, 2))
        tw, th = (int(v) for v in rng.choice([192, 224, 256, 257], 2))
        for keep in (False, True):
            for corners in ("direct", "reflected"):
                roi, padding = T.pad_roi(T.roi_in_pixels(rect, iw, ih), tw, th, keep)
                got_roi, got_padding, fwd, matrix = T._crop_setup(rect, iw, ih, tw, th, keep, corners)
                assert (got_roi, got_padding) == (roi, padding)
                np.testing.assert_array_equal(fwd, T.perspective_transform(roi, tw, th, corners))
                np.testing.assert_array_equal(matrix, T.crop_matrix(roi, iw, ih))
                assert matrix.dtype == np.float32
    with pytest.raises(ValueError, match="must be > 0"):
        T._crop_setup(NormalizedRect(0.5, 0.5, 0.0, 0.2, 0.0), 100, 100, 64, 64, True, "direct")
