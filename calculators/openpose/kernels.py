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
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import jit

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


@jit
def find_peaks(heatmaps: np.ndarray, num_parts: int = 18, threshold: float = 0.1) -> np.ndarray:
    """Peaks of the first `num_parts` channels of heatmaps [H, W, C]: N x 4 float32 (part, x, y, score), x and y in
    grid cells (cell centres at integers), sorted by part. Plateaus give one peak (the first cell in scan order)."""
    h, w = heatmaps.shape[0], heatmaps.shape[1]
    out = np.empty((h * w * num_parts // 4 + 16, 4), dtype=np.float32)
    n = 0
    for p in range(num_parts):
        for y in range(h):
            for x in range(w):
                v = heatmaps[y, x, p]
                if v <= threshold:
                    continue
                is_peak = True
                for dy in range(-1, 2):
                    yy = y + dy
                    if yy < 0 or yy >= h:
                        continue
                    for dx in range(-1, 2):
                        xx = x + dx
                        if (dy == 0 and dx == 0) or xx < 0 or xx >= w:
                            continue
                        u = heatmaps[yy, xx, p]
                        # strictly greater than later neighbours, >= earlier ones: one peak per plateau
                        if u > v or (u == v and (dy < 0 or (dy == 0 and dx < 0))):
                            is_peak = False
                            break
                    if not is_peak:
                        break
                if not is_peak:
                    continue
                fx = float(x)
                fy = float(y)
                if 0 < x < w - 1:
                    l = heatmaps[y, x - 1, p]
                    r = heatmaps[y, x + 1, p]
                    den = l - 2.0 * v + r
                    if den < 0.0:
                        fx += min(max(0.5 * (l - r) / den, -0.5), 0.5)
                if 0 < y < h - 1:
                    t = heatmaps[y - 1, x, p]
                    b = heatmaps[y + 1, x, p]
                    den = t - 2.0 * v + b
                    if den < 0.0:
                        fy += min(max(0.5 * (t - b) / den, -0.5), 0.5)
                if n == out.shape[0]:
                    bigger = np.empty((out.shape[0] * 2, 4), dtype=np.float32)
                    bigger[:n] = out[:n]
                    out = bigger
                out[n, 0] = p
                out[n, 1] = fx
                out[n, 2] = fy
                out[n, 3] = v
                n += 1
    return out[:n].copy()


@jit
def _bilinear(maps: np.ndarray, y: float, x: float, c: int) -> float:
    h, w = maps.shape[0], maps.shape[1]
    yc = min(max(y, 0.0), h - 1.0)
    xc = min(max(x, 0.0), w - 1.0)
    y0 = int(yc)
    x0 = int(xc)
    y1 = min(y0 + 1, h - 1)
    x1 = min(x0 + 1, w - 1)
    ly = yc - y0
    lx = xc - x0
    return ((1.0 - ly) * ((1.0 - lx) * maps[y0, x0, c] + lx * maps[y0, x1, c])
            + ly * ((1.0 - lx) * maps[y1, x0, c] + lx * maps[y1, x1, c]))


@jit
def connect_limbs(peaks: np.ndarray, pafs: np.ndarray, limb_parts: np.ndarray, limb_channels: np.ndarray,
                  steps: int = 10, min_vec_score: float = 0.05, min_hit_ratio: float = 0.6) -> np.ndarray:
    """Limbs between peaks scored by PAF line integrals, greedily matched per limb type.

    peaks: N x 4 (part, x, y, score) from `find_peaks` (sorted by part); pafs [H, W, 38]. Returns M x 4 float32
    (limb type, peak index a, peak index b, limb score), grouped by limb type in table order.
    """
    n = peaks.shape[0]
    num_parts = 0
    for i in range(n):
        num_parts = max(num_parts, int(peaks[i, 0]) + 1)
    num_parts = max(num_parts, int(limb_parts.max()) + 1)
    start = np.zeros(num_parts + 1, dtype=np.int64)
    for i in range(n):
        start[int(peaks[i, 0]) + 1] += 1
    for p in range(num_parts):
        start[p + 1] += start[p]
    grid_h = pafs.shape[0]
    out = np.empty((64, 4), dtype=np.float32)
    m = 0
    for limb in range(limb_parts.shape[0]):
        pa = limb_parts[limb, 0]
        pb = limb_parts[limb, 1]
        a0, a1 = start[pa], start[pa + 1]
        b0, b1 = start[pb], start[pb + 1]
        if a1 == a0 or b1 == b0:
            continue
        cx = limb_channels[limb, 0]
        cy = limb_channels[limb, 1]
        nc = (a1 - a0) * (b1 - b0)
        cand_a = np.empty(nc, dtype=np.int64)
        cand_b = np.empty(nc, dtype=np.int64)
        cand_s = np.empty(nc, dtype=np.float64)
        k = 0
        for ia in range(a0, a1):
            xa = peaks[ia, 1]
            ya = peaks[ia, 2]
            for ib in range(b0, b1):
                dx = peaks[ib, 1] - xa
                dy = peaks[ib, 2] - ya
                norm = math.sqrt(dx * dx + dy * dy)
                if norm < 1e-6:
                    continue
                ux = dx / norm
                uy = dy / norm
                total = 0.0
                hits = 0
                for s in range(steps):
                    t = (s + 0.5) / steps
                    sx = xa + t * dx
                    sy = ya + t * dy
                    d = ux * _bilinear(pafs, sy, sx, cx) + uy * _bilinear(pafs, sy, sx, cy)
                    total += d
                    if d > min_vec_score:
                        hits += 1
                score = total / steps + min(0.0, 0.5 * grid_h / norm - 1.0)
                if score > 0.0 and hits > min_hit_ratio * steps:
                    cand_a[k] = ia
                    cand_b[k] = ib
                    cand_s[k] = score
                    k += 1
        if k == 0:
            continue
        order = np.argsort(-cand_s[:k], kind="mergesort")
        used_a = np.zeros(a1 - a0, dtype=np.bool_)
        used_b = np.zeros(b1 - b0, dtype=np.bool_)
        for c in order:
            ia = cand_a[c]
            ib = cand_b[c]
            if used_a[ia - a0] or used_b[ib - b0]:
                continue
            used_a[ia - a0] = True
            used_b[ib - b0] = True
            if m == out.shape[0]:
                bigger = np.empty((out.shape[0] * 2, 4), dtype=np.float32)
                bigger[:m] = out[:m]
                out = bigger
            out[m, 0] = limb
            out[m, 1] = ia
            out[m, 2] = ib
            out[m, 3] = cand_s[c]
            m += 1
    return out[:m].copy()


@jit
def assemble_people(peaks: np.ndarray, connections: np.ndarray, limb_parts: np.ndarray, num_parts: int = 18,
                    num_seed_limbs: int = 17, min_parts: int = 4, min_person_score: float = 0.4):
    """Greedy assembly of limbs into people.

    Returns (parts P x num_parts int64: peak index or -1, scores P float32: mean (part + limb score) per part),
    people in order of creation.
    """
    cap = connections.shape[0] + 1
    parts = np.full((cap, num_parts), -1, dtype=np.int64)
    total = np.zeros(cap, dtype=np.float64)
    count = np.zeros(cap, dtype=np.int64)
    alive = np.zeros(cap, dtype=np.bool_)
    n = 0
    for c in range(connections.shape[0]):
        limb = int(connections[c, 0])
        a = int(connections[c, 1])
        b = int(connections[c, 2])
        s = float(connections[c, 3])
        pa = limb_parts[limb, 0]
        pb = limb_parts[limb, 1]
        with_a = -1
        with_b = -1
        for q in range(n):
            if not alive[q]:
                continue
            if parts[q, pa] == a:
                with_a = q
            if parts[q, pb] == b:
                with_b = q
        if with_a >= 0 and with_b >= 0:
            if with_a == with_b:
                continue
            overlap = False
            for p in range(num_parts):
                if parts[with_a, p] >= 0 and parts[with_b, p] >= 0:
                    overlap = True
                    break
            if overlap:
                continue
            for p in range(num_parts):
                if parts[with_b, p] >= 0:
                    parts[with_a, p] = parts[with_b, p]
            total[with_a] += total[with_b] + s
            count[with_a] += count[with_b]
            alive[with_b] = False
        elif with_a >= 0:
            if parts[with_a, pb] < 0:
                parts[with_a, pb] = b
                total[with_a] += peaks[b, 3] + s
                count[with_a] += 1
        elif with_b >= 0:
            if parts[with_b, pa] < 0:
                parts[with_b, pa] = a
                total[with_b] += peaks[a, 3] + s
                count[with_b] += 1
        elif limb < num_seed_limbs:
            parts[n, pa] = a
            parts[n, pb] = b
            total[n] = peaks[a, 3] + peaks[b, 3] + s
            count[n] = 2
            alive[n] = True
            n += 1
    kept = 0
    for q in range(n):
        if alive[q] and count[q] >= min_parts and total[q] / count[q] >= min_person_score:
            kept += 1
    out_parts = np.empty((kept, num_parts), dtype=np.int64)
    out_scores = np.empty(kept, dtype=np.float32)
    k = 0
    for q in range(n):
        if alive[q] and count[q] >= min_parts and total[q] / count[q] >= min_person_score:
            out_parts[k] = parts[q]
            out_scores[k] = total[q] / count[q]
            k += 1
    return out_parts, out_scores


@jit
def group_people(peaks: np.ndarray, pafs: np.ndarray, steps: int = 10, min_vec_score: float = 0.05,
                 min_hit_ratio: float = 0.6, min_parts: int = 4, min_person_score: float = 0.4):
    """`connect_limbs` + `assemble_people` with the COCO-18 tables: (parts P x 18, scores P)."""
    connections = connect_limbs(peaks, pafs, LIMB_PARTS, LIMB_PAF_CHANNELS, steps, min_vec_score, min_hit_ratio)
    return assemble_people(peaks, connections, LIMB_PARTS, NUM_PARTS, NUM_SEED_LIMBS, min_parts, min_person_score)


@jit
def people_to_coco17(peaks: np.ndarray, parts: np.ndarray, grid_w: int, grid_h: int) -> np.ndarray:
    """P x 17 x 3 (u, v, score): COCO-17 keypoints normalised to the model input (cell centre = (x + 0.5) / W);
    parts the person lacks get (0, 0, 0)."""
    num = parts.shape[0]
    out = np.zeros((num, 17, 3), dtype=np.float32)
    for q in range(num):
        for k in range(17):
            i = parts[q, COCO18_TO_COCO17[k]]
            if i < 0:
                continue
            out[q, k, 0] = (peaks[i, 1] + 0.5) / grid_w
            out[q, k, 1] = (peaks[i, 2] + 0.5) / grid_h
            out[q, k, 2] = peaks[i, 3]
    return out
