"""The fast classic warp (fixed-point maps + cv2.remap, separable maps, zero-border window) gives the same bits as
the Numba re-implementation of OpenCV <= 4.10's warpPerspective, on every crop shape the graphs use."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posegraph.calculators.image import transforms as T
from posegraph.calculators.image import warp_kernels as K
from posegraph.calculators.types import NormalizedRect


def _reference(image, rect, width, height, keep, value_range, border):
    """image_to_tensor through the Numba kernel only."""
    roi, _ = T.pad_roi(T.roi_in_pixels(rect, image.shape[1], image.shape[0]), width, height, keep)
    minv = cv2.invert(T.perspective_transform(roi, width, height), flags=cv2.DECOMP_LU)[1]
    u8 = np.empty((height, width, image.shape[2]), np.uint8)
    K.warp_classic_kernel(image, minv, border == "replicate", 1.0, 0.0, u8, np.empty((height, width, 0), np.float32),
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


def test_remap_check_catches_a_changed_remap(monkeypatch):
    """An OpenCV whose fixed-point remap rounds one pixel differently fails the check (the Numba kernel is used)."""
    real = cv2.remap

    def off_by_one(*args, **kwargs):
        out = real(*args, **kwargs).copy()
        out[5, 7] ^= 1
        return out

    monkeypatch.setattr(T, "_remap_checked", None)
    monkeypatch.setattr(T.cv2, "remap", off_by_one)
    assert T._remap_is_classic() is False


def test_axis_aligned_maps_are_the_kernels_maps():
    """The numpy per-axis maps against the Numba maps kernel, on exact scalings + shifts and on the matrices of
    unrotated crops (with cv2's ~1e-17 residuals), whole outputs and windows; rotated crops are declined."""
    rng = np.random.default_rng(11)
    used = 0
    for k in range(300):
        out_w, out_h = (int(v) for v in rng.integers(1, 300, 2))
        if k % 2:
            minv = np.array([[rng.uniform(-3, 3), 0.0, rng.uniform(-500, 500)],
                             [0.0, rng.uniform(-3, 3), rng.uniform(-500, 500)], [0.0, 0.0, 1.0]])
        else:
            rect = next(r for r in _rects(rng, 1) if r is not None and r.rotation == 0.0)
            roi, _ = T.pad_roi(T.roi_in_pixels(rect, 640, 360), out_w, out_h, bool(k % 4))
            minv = cv2.invert(T.perspective_transform(roi, out_w, out_h), flags=cv2.DECOMP_LU)[1]
        row0, col0 = int(rng.integers(0, out_h)), int(rng.integers(0, out_w))
        win_h, win_w = int(rng.integers(1, out_h - row0 + 1)), int(rng.integers(1, out_w - col0 + 1))
        got_xy, want_xy = np.empty((2, win_h, win_w), np.int32)
        got_alpha, want_alpha = np.empty((2, win_h, win_w), np.uint16)
        K.fixed_point_maps(minv, out_w, out_h, row0, col0, want_xy, want_alpha)
        if T._axis_aligned_maps(minv, out_w, out_h, row0, col0, got_xy, got_alpha):
            used += 1
            assert got_xy.tobytes() == want_xy.tobytes() and got_alpha.tobytes() == want_alpha.tobytes()
    assert used >= 290
    rotated = T.perspective_transform(T.PixelRoi(300.0, 200.0, 150.0, 150.0, 0.3), 64, 64)
    assert not T._axis_aligned_maps(cv2.invert(rotated)[1], 64, 64, 0, 0, np.empty((64, 64), np.int32),
                                    np.empty((64, 64), np.uint16))


# Matrices of real MoveNet crops (the squat and dance videos) whose per-axis tables land too close to a rounding
# boundary to prove: they once sent a MoveNet run to the Numba kernel (and its ~110 MB) a few times a minute.
UNPROVABLE = [
    ([[5.00329335530599, -1.252764089586997e-16, -142.2281494140625],
      [1.0124337938595617e-16, 5.00329335530599, 77.046875],
      [-9.637353052530975e-20, 8.67361737988404e-19, 1.0]], (192, 192, 0, 27, 192, 148)),
    ([[4.006805419921875, 9.212750063974471e-17, -105.86840820312503],
      [-2.1358274578196087e-16, 4.006805419921875, 277.02465820312506],
      [-7.709882115452477e-19, 9.637352644315597e-20, 1.0]], (192, 192, 0, 24, 192, 168)),
    ([[1.5849157969156897, 7.580043372076187e-17, 136.02276611328122],
      [-1.3020231346693144e-16, 1.5849157969156897, 168.87716674804688],
      [-7.709882630917439e-19, -3.6873406681730394e-35, 0.9999999999999999]], (192, 192, 0, 0, 192, 192)),
]


@pytest.mark.parametrize("minv, window", UNPROVABLE)
def test_unrotated_crops_too_close_to_call_stay_in_numpy_and_exact(minv, window):
    out_h, out_w, row0, col0, win_h, win_w = window
    minv = np.array(minv)
    got_xy, want_xy = np.empty((2, win_h, win_w), np.int32)
    got_alpha, want_alpha = np.empty((2, win_h, win_w), np.uint16)
    K.fixed_point_maps(minv, out_w, out_h, row0, col0, want_xy, want_alpha)
    assert T._axis_aligned_maps(minv, out_w, out_h, row0, col0, got_xy, got_alpha)
    assert got_xy.tobytes() == want_xy.tobytes() and got_alpha.tobytes() == want_alpha.tobytes()


def test_per_pixel_maps_are_the_kernels_maps():
    """The numpy per-pixel fallback against the kernel on near-axis-aligned matrices, including projective residuals."""
    rng = np.random.default_rng(5)
    for _ in range(100):
        s = rng.uniform(0.3, 6)
        minv = np.array([[s, rng.normal() * 1e-16, rng.uniform(-300, 300)],
                         [rng.normal() * 1e-16, s * (1 + rng.normal() * 1e-9), rng.uniform(-300, 300)],
                         [rng.normal() * 1e-18, rng.normal() * 1e-18, 1 + rng.normal() * 1e-16]])
        out_w, out_h = (int(v) for v in rng.integers(16, 300, 2))
        got_xy, want_xy = np.empty((2, out_h, out_w), np.int32)
        got_alpha, want_alpha = np.empty((2, out_h, out_w), np.uint16)
        K.fixed_point_maps(minv, out_w, out_h, 0, 0, want_xy, want_alpha)
        T._per_pixel_maps(minv, out_w, out_h, 0, 0, got_xy, got_alpha)
        assert got_xy.tobytes() == want_xy.tobytes() and got_alpha.tobytes() == want_alpha.tobytes()


def test_empty_roi_with_keep_aspect_ratio_is_an_error():
    with pytest.raises(ValueError, match="must be > 0"):
        T._crop_setup(NormalizedRect(0.5, 0.5, 0.0, 0.2, 0.0), 100, 100, 64, 64, True, "direct")
