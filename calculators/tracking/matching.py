"""Similarity of people between ROIs, detections and poses, as pure functions (arrays in, numbers out).

Two measures, as the multi-person graph uses them:

- ROI IoU (`rect_iou`, MediaPipe's axis-aligned IoU of two NormalizedRects, rotation ignored);
- keypoint similarity, an OKS-style score in [0, 1]: the mean over corresponding points of
  ``exp(-d^2 / (2 (k * scale)^2))``, distances and scale in pixels. For a detection against a track the points
  are the two alignment points both carry (BlazePose detector keypoints 0/1 = auxiliary landmarks 33/34: hip
  centre and scale point) and the scale is the body radius (distance between them); for two poses they are the
  landmarks visible in both, and the scale is the size of the box around them.

Everything here is a handful of points per person and a few people per frame: plain numpy, except the tracker's
all-pairs duplicate test (`similar_pose_pairs`), one compiled kernel instead of a dozen numpy calls per pair.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .._numba import jit
from ..detection.roi import rect_iou
from ..types import NormalizedRect

__all__ = [
    "alignment_points_similarity",
    "greedy_unique",
    "landmark_similarity",
    "points_to_pixels",
    "rect_iou",
    "roi_side_pixels",
    "similar_pose_pairs",
]


def points_to_pixels(points: np.ndarray, image_width: int, image_height: int) -> np.ndarray:
    """Normalised (x, y, ...) rows -> K x 2 float64 pixel coordinates."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    return p * np.array([image_width, image_height], dtype=np.float64)


def roi_side_pixels(rect: NormalizedRect, image_width: int, image_height: int) -> float:
    """The mean side of a ROI in pixels (BlazePose ROIs are square in pixels)."""
    return 0.5 * (abs(rect.width) * image_width + abs(rect.height) * image_height)


def alignment_points_similarity(a: np.ndarray, b: np.ndarray, image_width: int, image_height: int,
                                k: float = 0.5) -> float:
    """Keypoint similarity of two (hip centre, scale point) pairs (2 x 2 normalised): 1 when they coincide, 0.61
    when each point is off by `k` body radii. The radius is the larger of the two pairs' centre->scale distances
    (a partial, smaller detection of a tracked person still matches it)."""
    pa = points_to_pixels(a, image_width, image_height)
    pb = points_to_pixels(b, image_width, image_height)
    radius = max(float(np.hypot(*(pa[1] - pa[0]))), float(np.hypot(*(pb[1] - pb[0]))))
    if radius <= 0.0:
        return 0.0
    d2 = np.sum((pa - pb) ** 2, axis=1)
    return float(np.mean(np.exp(-d2 / (2.0 * (k * radius) ** 2))))


def landmark_similarity(a: np.ndarray, b: np.ndarray, image_width: int, image_height: int, k: float = 0.1,
                        min_visibility: float = 0.5) -> float:
    """OKS-style similarity of two poses (N x 5 normalised landmarks; column 3 visibility).

    Points visible in both poses (visibility > `min_visibility`) count; when fewer than 3 are, all points count.
    The scale is the square root of the area of the box around those points in either pose (as OKS uses the
    object's area): a close-up head-and-shoulders pose and a full-body pose are judged at their own size. 1 for
    identical poses; two people side by side (a shoulder width apart) score near 0.
    """
    pa = points_to_pixels(a, image_width, image_height)
    pb = points_to_pixels(b, image_width, image_height)
    both = (np.asarray(a)[:, 3] > min_visibility) & (np.asarray(b)[:, 3] > min_visibility)
    if int(both.sum()) < 3:
        both = np.ones(pa.shape[0], dtype=bool)
    pts = np.concatenate([pa[both], pb[both]])
    extent = pts.max(axis=0) - pts.min(axis=0)
    scale = float(np.sqrt(max(extent[0], 1.0) * max(extent[1], 1.0)))
    d2 = np.sum((pa[both] - pb[both]) ** 2, axis=1)
    return float(np.mean(np.exp(-d2 / (2.0 * (k * scale) ** 2))))


@jit
def _similarity_kernel(poses: np.ndarray, width: float, height: float, k: float, min_visibility: float,
                       threshold: float, same: np.ndarray, near: np.ndarray) -> int:
    """same[i, j] = landmark_similarity(poses[i], poses[j]) > threshold for i != j (the same steps, summed in
    order); near[i, j] where the value lies within 1e-9 of the threshold. Returns how many pairs are near."""
    n, count = poses.shape[0], poses.shape[1]
    close = 0
    for i in range(n):
        for j in range(i + 1, n):
            both = 0
            for m in range(count):
                if poses[i, m, 3] > min_visibility and poses[j, m, 3] > min_visibility:
                    both += 1
            every = both < 3
            lo_x = lo_y = math.inf
            hi_x = hi_y = -math.inf
            for m in range(count):
                if every or (poses[i, m, 3] > min_visibility and poses[j, m, 3] > min_visibility):
                    for p in (i, j):
                        x = np.float64(poses[p, m, 0]) * width
                        y = np.float64(poses[p, m, 1]) * height
                        lo_x, hi_x = min(lo_x, x), max(hi_x, x)
                        lo_y, hi_y = min(lo_y, y), max(hi_y, y)
            scale = math.sqrt(max(hi_x - lo_x, 1.0) * max(hi_y - lo_y, 1.0))
            spread = 2.0 * (k * scale) * (k * scale)
            total = 0.0
            used = 0
            for m in range(count):
                if every or (poses[i, m, 3] > min_visibility and poses[j, m, 3] > min_visibility):
                    dx = np.float64(poses[i, m, 0]) * width - np.float64(poses[j, m, 0]) * width
                    dy = np.float64(poses[i, m, 1]) * height - np.float64(poses[j, m, 1]) * height
                    total += math.exp(-(dx * dx + dy * dy) / spread)
                    used += 1
            value = total / used
            same[i, j] = same[j, i] = value > threshold
            if abs(value - threshold) <= 1e-9:
                near[i, j] = near[j, i] = True
                close += 1
    return close


def similar_pose_pairs(poses: Sequence[np.ndarray], image_width: int, image_height: int, k: float,
                       threshold: float, min_visibility: float = 0.5) -> np.ndarray:
    """n x n bool: landmark_similarity(poses[i], poses[j], ...) > threshold, for every pair (diagonal False).

    One kernel computes every pair; it differs from `landmark_similarity` only in the last bits (libm exp, a
    plain sum where numpy sums pairwise), so a pair whose value lies within 1e-9 of the threshold is decided by
    `landmark_similarity` itself: the answers are always the same."""
    n = len(poses)
    same = np.zeros((n, n), dtype=bool)
    if n < 2:
        return same
    near = np.zeros((n, n), dtype=bool)
    stacked = np.stack(poses)
    if stacked.dtype not in (np.float32, np.float64):
        stacked = stacked.astype(np.float64)
    if _similarity_kernel(stacked, float(image_width), float(image_height), float(k), float(min_visibility),
                          float(threshold), same, near):
        for i, j in zip(*np.nonzero(near)):
            same[i, j] = landmark_similarity(poses[i], poses[j], image_width, image_height, k,
                                             min_visibility) > threshold
    return same


def greedy_unique(count: int, same: Callable[[int, int], bool], order: Sequence[int] | None = None) -> list[int]:
    """Indices kept by a greedy pass in `order` (default 0..count-1): an item is kept unless `same(kept, item)`
    holds for an item kept before it. Returns kept indices in that order."""
    kept: list[int] = []
    for i in (range(count) if order is None else order):
        if not any(same(j, i) for j in kept):
            kept.append(i)
    return kept
