"""Numeric kernels of the segmentation calculators, written to match MediaPipe's CPU (OpenCV) code paths."""

from __future__ import annotations

import cv2
import numpy as np

from .._numba import jit


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """``1.0 / (std::exp(-x) + 1.0)`` as MediaPipe writes it: exp in float, the division in double, stored float."""
    with np.errstate(over="ignore"):  # exp(88+) is inf in float, and 1 / (inf + 1) = 0 as in C++
        e = np.exp(-np.asarray(logits, dtype=np.float32)).astype(np.float64)
    return (1.0 / (e + 1.0)).astype(np.float32)


def softmax(pixel0: np.ndarray, pixel1: np.ndarray, index: int) -> np.ndarray:
    """Two-channel softmax, channel `index` (MediaPipe's SOFTMAX activation)."""
    p0, p1 = np.asarray(pixel0, np.float32), np.asarray(pixel1, np.float32)
    hi, lo = np.maximum(p0, p1), np.minimum(p0, p1)
    chosen = p1 if index == 1 else p0
    return (np.exp(chosen - hi) / (np.float32(1.0) + np.exp(lo - hi))).astype(np.float32)


# Uncertainty polynomial of MediaPipe's SegmentationSmoothingCalculator (approximates the squared binary entropy).
_C1, _C2, _C3, _C4, _C5 = 5.68842, -0.748699, -57.8051, 291.309, -624.717


@jit
def smooth_masks(current: np.ndarray, previous: np.ndarray, ratio: float, out: np.ndarray) -> None:
    """out = new + (prev - new) * uncertainty(new) * ratio, per pixel, in float32 (MediaPipe's blending_fn)."""
    c1, c2, c3, c4, c5 = np.float32(_C1), np.float32(_C2), np.float32(_C3), np.float32(_C4), np.float32(_C5)
    r = np.float32(ratio)
    one = np.float32(1.0)
    half = np.float32(0.5)
    for i in range(current.shape[0]):
        for j in range(current.shape[1]):
            new = current[i, j]
            t = new - half
            x = t * t
            uncertainty = one - min(one, x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * c5)))))
            out[i, j] = new + (previous[i, j] - new) * (uncertainty * r)


def warp_matrix(matrix: np.ndarray, src_width: int, src_height: int, dst_width: int, dst_height: int) -> np.ndarray:
    """The 2x3 pixel matrix MediaPipe's OpenCV runner hands to ``cv::warpAffine(..., WARP_INVERSE_MAP)``.

    `matrix` maps normalised destination coordinates to normalised source coordinates (3x3 or 4x4, row-major);
    as in MediaPipe (``kOpenCvCompatibility``) there is no half-pixel shift: scale_src * matrix * normalize_dst.
    """
    m = np.asarray(matrix, dtype=np.float32)
    if m.ndim == 1 and m.size in (9, 16):  # MediaPipe passes std::array<float, 16>, row-major
        m = m.reshape(3, 3) if m.size == 9 else m.reshape(4, 4)
    if m.shape == (3, 3):
        full = np.eye(4, dtype=np.float32)
        full[:2, :2], full[:2, 3] = m[:2, :2], m[:2, 2]
        m = full
    if m.shape != (4, 4):
        raise ValueError(f"MATRIX must be 3x3 or 4x4, got {m.shape}")
    normalize_dst = np.diag(np.array([1.0 / dst_width, 1.0 / dst_height, 1.0, 1.0], np.float32))
    scale_src = np.diag(np.array([src_width, src_height, 1.0, 1.0], np.float32))
    absolute = (scale_src @ m @ normalize_dst).astype(np.float32)
    return np.array([[absolute[0, 0], absolute[0, 1], absolute[0, 3]],
                     [absolute[1, 0], absolute[1, 1], absolute[1, 3]]], dtype=np.float32)


INTERPOLATIONS = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "nearest": cv2.INTER_NEAREST}


def warp_affine(pixels: np.ndarray, matrix: np.ndarray, width: int, height: int, *, border_zero: bool,
                interpolation: str = "linear") -> np.ndarray:
    """`pixels` (H x W or H x W x C) warped to `width` x `height` with MediaPipe's WarpAffine (CPU) arithmetic."""
    affine = warp_matrix(matrix, pixels.shape[1], pixels.shape[0], width, height)
    border = cv2.BORDER_CONSTANT if border_zero else cv2.BORDER_REPLICATE
    return cv2.warpAffine(pixels, affine, (int(width), int(height)),
                          flags=INTERPOLATIONS[interpolation] | cv2.WARP_INVERSE_MAP, borderMode=border,
                          borderValue=0)
