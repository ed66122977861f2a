"""Pose classification kernels as pure functions (arrays in, arrays out), for calculators, tools and tests.

k-NN pose classification after MediaPipe's fitness repetition-counting sample (public Colab "Pose classification"):

- embedding: landmarks in pixels (x * W, y * H, z * W) are translated so that the hip midpoint is the origin and
  divided by the pose size = max(torso size * 2.5, largest distance from the hip midpoint to a body joint); the
  embedding is the list of 3-D difference vectors between pairs of (possibly midpoint) joints, M x 3. It is
  translation and scale invariant, and with the pairs resolved by joint *name* it is the same for every topology
  that has the joints (COCO-17, BlazePose-33, COCO-18).
- search: for every sample, the distance is the largest weighted absolute difference (max distance, axis weights
  (1, 1, 0.2) damp the noisy z), also against the horizontally mirrored query (left and right swapped), keeping the
  smaller; the `top_max` nearest by max distance are re-ranked by the mean weighted absolute difference (mean
  distance) and the `top_mean` nearest vote for their class.
- EMA smoothing of the per-class vote fractions over the last `window` frames (weights (1 - alpha)^age).
- joint angles: the angle at a joint between its two neighbours, in degrees.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit

__all__ = [
    "embed",
    "embed_many",
    "ema_smooth",
    "joint_angles",
    "knn_votes",
    "knn_votes_many",
    "to_pixels",
]


def to_pixels(landmarks: np.ndarray, width: float, height: float, use_z: bool = True) -> np.ndarray:
    """N x >=3 normalised landmarks -> N x 3 float64 (x * W, y * H, z * W); z = 0 when `use_z` is false."""
    lm = np.asarray(landmarks, dtype=np.float64)
    out = np.empty((lm.shape[0], 3), np.float64)
    out[:, 0] = lm[:, 0] * width
    out[:, 1] = lm[:, 1] * height
    out[:, 2] = lm[:, 2] * width if use_z and lm.shape[1] > 2 else 0.0
    return out


@jit
def _mean_point(points: np.ndarray, idx: np.ndarray) -> tuple[float, float, float]:
    x = 0.0
    y = 0.0
    z = 0.0
    for k in range(idx.shape[0]):
        x += points[idx[k], 0]
        y += points[idx[k], 1]
        z += points[idx[k], 2]
    n = max(idx.shape[0], 1)
    return x / n, y / n, z / n


@jit
def embed(points: np.ndarray, pairs: np.ndarray, norm_points: np.ndarray, centre: np.ndarray, torso: np.ndarray,
          torso_multiplier: float, mirror: bool) -> np.ndarray:
    """One pose embedding, M x 3 float32.

    points: K x 3 pixel coordinates. pairs: M x 4 int (from_a, from_b, to_a, to_b): each end of a pair is the
    midpoint of two keypoints (a == b for a single keypoint); `mirror` swaps the two ends' roles by using the
    mirrored pair table instead, which the caller passes, and negates x. norm_points: keypoints whose distance to the
    centre bounds the pose size. centre: keypoints whose mean is the origin (the hips). torso: keypoints whose mean
    gives the torso size as its distance to the centre (the shoulders); empty disables the torso term.
    """
    cx, cy, cz = _mean_point(points, centre)
    size = 0.0
    if torso.shape[0] > 0:
        tx, ty, tz = _mean_point(points, torso)
        tx -= cx
        ty -= cy
        tz -= cz
        size = np.sqrt(tx * tx + ty * ty + tz * tz) * torso_multiplier
    for k in range(norm_points.shape[0]):
        i = norm_points[k]
        dx = points[i, 0] - cx
        dy = points[i, 1] - cy
        dz = points[i, 2] - cz
        d = np.sqrt(dx * dx + dy * dy + dz * dz)
        if d > size:
            size = d
    if not size > 1e-9:  # degenerate (all joints on one spot) or NaN
        size = 1.0
    scale = 1.0 / size
    sign = -1.0 if mirror else 1.0
    m = pairs.shape[0]
    out = np.empty((m, 3), np.float32)
    for p in range(m):
        fa, fb, ta, tb = pairs[p, 0], pairs[p, 1], pairs[p, 2], pairs[p, 3]
        for c in range(3):
            v = 0.5 * (points[ta, c] + points[tb, c]) - 0.5 * (points[fa, c] + points[fb, c])
            if c == 0:
                v *= sign
            out[p, c] = v * scale
    return out


def embed_many(points: np.ndarray, pairs: np.ndarray, norm_points: np.ndarray, centre: np.ndarray,
               torso: np.ndarray, torso_multiplier: float = 2.5) -> np.ndarray:
    """S x K x 3 pixel poses -> S x M x 3 embeddings (not mirrored)."""
    out = np.empty((points.shape[0], pairs.shape[0], 3), np.float32)
    for s in range(points.shape[0]):
        out[s] = embed(np.ascontiguousarray(points[s], dtype=np.float64), pairs, norm_points, centre, torso,
                       torso_multiplier, False)
    return out


@jit
def knn_votes(query: np.ndarray, query_mirrored: np.ndarray, samples: np.ndarray, labels: np.ndarray,
              weights: np.ndarray, num_classes: int, top_max: int, top_mean: int, exclude: int) -> np.ndarray:
    """Votes per class (int64, sums to min(top_mean, samples)) of the nearest samples to one query embedding.

    query, query_mirrored: M x 3; samples: S x M x 3; labels: S ints in [0, num_classes); weights: 3 axis weights.
    Ranking by max distance keeps `top_max`, then mean distance keeps `top_mean` (stable: ties keep sample order).
    `exclude` >= 0 leaves that sample out (leave-one-out outlier search).
    """
    s_count = samples.shape[0]
    m = samples.shape[1]
    max_d = np.empty(s_count, np.float64)
    for s in range(s_count):
        best_a = 0.0
        best_b = 0.0
        for p in range(m):
            for c in range(3):
                w = weights[c]
                da = abs(query[p, c] - samples[s, p, c]) * w
                db = abs(query_mirrored[p, c] - samples[s, p, c]) * w
                if da > best_a:
                    best_a = da
                if db > best_b:
                    best_b = db
        max_d[s] = min(best_a, best_b)
    if exclude >= 0 and exclude < s_count:
        max_d[exclude] = np.inf
    order = np.argsort(max_d, kind="mergesort")
    keep = min(top_max, s_count - (1 if 0 <= exclude < s_count else 0))
    mean_d = np.empty(keep, np.float64)
    for r in range(keep):
        s = order[r]
        sum_a = 0.0
        sum_b = 0.0
        for p in range(m):
            for c in range(3):
                w = weights[c]
                sum_a += abs(query[p, c] - samples[s, p, c]) * w
                sum_b += abs(query_mirrored[p, c] - samples[s, p, c]) * w
        mean_d[r] = min(sum_a, sum_b) / (m * 3)
    order2 = np.argsort(mean_d, kind="mergesort")
    votes = np.zeros(num_classes, np.int64)
    for r in range(min(top_mean, keep)):
        votes[labels[order[order2[r]]]] += 1
    return votes


def knn_votes_many(queries: np.ndarray, queries_mirrored: np.ndarray, samples: np.ndarray, labels: np.ndarray,
                   weights: np.ndarray, num_classes: int, top_max: int, top_mean: int,
                   leave_one_out: bool = False) -> np.ndarray:
    """Q x C votes; with `leave_one_out` query i is sample i and is excluded from its own search."""
    out = np.empty((queries.shape[0], num_classes), np.int64)
    for q in range(queries.shape[0]):
        out[q] = knn_votes(queries[q], queries_mirrored[q], samples, labels, weights, num_classes, top_max,
                           top_mean, q if leave_one_out else -1)
    return out


def ema_smooth(history: np.ndarray, alpha: float) -> np.ndarray:
    """EMA over a window: history is W x C with the newest row first; weights (1 - alpha)^age, normalised."""
    h = np.asarray(history, dtype=np.float64)
    weights = (1.0 - alpha) ** np.arange(h.shape[0])
    return (weights @ h) / weights.sum()


@jit
def joint_angles(points: np.ndarray, triples: np.ndarray, visibility: np.ndarray, min_visibility: float) -> np.ndarray:
    """Angles in degrees at triples[i, 1] between triples[i, 0] and triples[i, 2] (T x 3 keypoint indices, -1 =
    missing), NaN when a keypoint is missing, below `min_visibility`, or two points coincide."""
    out = np.empty(triples.shape[0], np.float64)
    for t in range(triples.shape[0]):
        a, b, c = triples[t, 0], triples[t, 1], triples[t, 2]
        if a < 0 or b < 0 or c < 0 or visibility[a] < min_visibility or visibility[b] < min_visibility \
                or visibility[c] < min_visibility:
            out[t] = np.nan
            continue
        ux = points[a, 0] - points[b, 0]
        uy = points[a, 1] - points[b, 1]
        uz = points[a, 2] - points[b, 2]
        vx = points[c, 0] - points[b, 0]
        vy = points[c, 1] - points[b, 1]
        vz = points[c, 2] - points[b, 2]
        nu = np.sqrt(ux * ux + uy * uy + uz * uz)
        nv = np.sqrt(vx * vx + vy * vy + vz * vz)
        if nu < 1e-12 or nv < 1e-12:
            out[t] = np.nan
            continue
        cos = (ux * vx + uy * vy + uz * vz) / (nu * nv)
        cos = min(1.0, max(-1.0, cos))
        out[t] = np.degrees(np.arccos(cos))
    return out
