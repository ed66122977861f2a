"""PoseNet multi-pose decoding (Numba). Maps and units: see kernels.py.

Multi pose (the Coral decoder's algorithm; written here from its description): all work is in *block space*
(pixels / stride) with bilinear sampling of the maps.

1. Candidates: cells whose logit is >= logit(score_threshold) and maximal in their 3x3 window (local_max_radius),
   each moved by its short offset; taken in decreasing score order as pose roots.
2. A root closer than nms_radius to the same keypoint of an already decoded pose is skipped.
3. Greedy decoding along the skeleton tree (17 keypoints, 16 edges, both directions), best score first: a
   neighbour is placed at the current point + the mid-range displacement of the edge, then refined
   `refine_steps` times by the short offsets at its own position; its score is the sigmoid of the bilinearly
   sampled logit there.
4. Instance score = mean keypoint score; keep the pose when >= score_threshold (at most max_poses).
5. Soft keypoint NMS: re-score each pose (in decreasing score order) leaving out keypoints that lie within
   nms_radius of the same keypoint of a higher-scoring pose; drop poses that fall below score_threshold.

Every backward edge reads the backward displacement block, as Coral's decoder does. (One 2020 libcoral release
read the first backward edge from the forward block through an off-by-one test; earlier and later releases do not,
and on Coral's own test image both give the same poses.)
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import jit
from .kernels import EDGES

__all__ = ["decode_multi_pose"]


@jit
def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@jit
def _sample(maps: np.ndarray, y: float, x: float, c: int) -> float:
    """Bilinear sample of maps[:, :, c] at block coordinates (y, x), clamped to the grid."""
    h, w = maps.shape[0], maps.shape[1]
    yc = min(max(y, 0.0), h - 1.0)
    xc = min(max(x, 0.0), w - 1.0)
    y0 = int(math.floor(yc))
    x0 = int(math.floor(xc))
    y1 = min(y0 + 1, h - 1)
    x1 = min(x0 + 1, w - 1)
    ly = yc - y0
    lx = xc - x0
    top = (1.0 - lx) * maps[y0, x0, c] + lx * maps[y0, x1, c]
    bottom = (1.0 - lx) * maps[y1, x0, c] + lx * maps[y1, x1, c]
    return (1.0 - ly) * top + ly * bottom


@jit
def _edge_table(num_keypoints: int):
    """Adjacency as arrays: for keypoint p, neighbours nb[p, :cnt[p]], the edge id, and the y/x channels of the
    displacement to follow (forward block for parent->child, backward block for child->parent)."""
    nb = np.full((num_keypoints, 4), -1, dtype=np.int64)
    ych = np.zeros((num_keypoints, 4), dtype=np.int64)
    xch = np.zeros((num_keypoints, 4), dtype=np.int64)
    cnt = np.zeros(num_keypoints, dtype=np.int64)
    ne = EDGES.shape[0]
    for e in range(ne):
        parent = EDGES[e, 0]
        child = EDGES[e, 1]
        nb[parent, cnt[parent]] = child
        ych[parent, cnt[parent]] = e
        xch[parent, cnt[parent]] = ne + e
        cnt[parent] += 1
        nb[child, cnt[child]] = parent
        ych[child, cnt[child]] = 2 * ne + e
        xch[child, cnt[child]] = 3 * ne + e
        cnt[child] += 1
    return nb, ych, xch, cnt


@jit
def decode_multi_pose(heatmaps: np.ndarray, offsets: np.ndarray, displacements: np.ndarray, stride: int,
                      max_poses: int = 10, score_threshold: float = 0.5, nms_radius: float = 20.0,
                      local_max_radius: int = 1, refine_steps: int = 5):
    """Multi-person decoding (see the module docstring).

    heatmaps [H, W, 17] logits; offsets [H, W, 34] and displacements [H, W, 64] in input pixels (float32).
    Returns (keypoints P x 17 x 3 (y, x, score) in input pixels, pose scores P), best first.
    """
    h, w, k = heatmaps.shape
    inv = 1.0 / stride
    r2 = (nms_radius * inv) ** 2
    min_logit = -math.log(1.0 / (score_threshold + 1e-6) - 1.0)

    # 1. candidates: local maxima above the threshold, moved by their short offsets (block units)
    n_cand = 0
    cand_y = np.empty(h * w * k, dtype=np.float64)
    cand_x = np.empty(h * w * k, dtype=np.float64)
    cand_p = np.empty(h * w * k, dtype=np.int64)
    cand_s = np.empty(h * w * k, dtype=np.float64)
    for i in range(h):
        for j in range(w):
            for p in range(k):
                s = heatmaps[i, j, p]
                if s < min_logit:
                    continue
                is_max = True
                for a in range(max(i - local_max_radius, 0), min(i + local_max_radius + 1, h)):
                    for b in range(max(j - local_max_radius, 0), min(j + local_max_radius + 1, w)):
                        if heatmaps[a, b, p] > s:
                            is_max = False
                            break
                    if not is_max:
                        break
                if not is_max:
                    continue
                cand_y[n_cand] = min(max(i + offsets[i, j, p] * inv, 0.0), h - 1.0)
                cand_x[n_cand] = min(max(j + offsets[i, j, k + p] * inv, 0.0), w - 1.0)
                cand_p[n_cand] = p
                cand_s[n_cand] = s
                n_cand += 1
    order = np.argsort(-cand_s[:n_cand], kind="mergesort")

    nb, ych, xch, cnt = _edge_table(k)
    poses_y = np.zeros((max_poses, k), dtype=np.float64)
    poses_x = np.zeros((max_poses, k), dtype=np.float64)
    poses_s = np.zeros((max_poses, k), dtype=np.float64)
    scores = np.zeros(max_poses, dtype=np.float64)
    n_poses = 0

    # priority queue (tiny: at most 17 live entries) as flat arrays, popped by linear max search
    q_y = np.empty(4 * k + 1, dtype=np.float64)
    q_x = np.empty(4 * k + 1, dtype=np.float64)
    q_p = np.empty(4 * k + 1, dtype=np.int64)
    q_s = np.empty(4 * k + 1, dtype=np.float64)
    decoded = np.zeros(k, dtype=np.bool_)

    for c in order:
        if n_poses >= max_poses:
            break
        ry = cand_y[c]
        rx = cand_x[c]
        rp = cand_p[c]
        # 2. NMS of the root against the same keypoint of previous poses
        suppressed = False
        for q in range(n_poses):
            dy = poses_y[q, rp] - ry
            dx = poses_x[q, rp] - rx
            if dy * dy + dx * dx <= r2:
                suppressed = True
                break
        if suppressed:
            continue
        # 3. greedy best-first decoding along the tree
        decoded[:] = False
        q_n = 1
        q_y[0] = ry
        q_x[0] = rx
        q_p[0] = rp
        q_s[0] = _sample(heatmaps, ry, rx, rp)
        while q_n > 0:
            best = 0
            for t in range(1, q_n):
                if q_s[t] > q_s[best]:
                    best = t
            cy = q_y[best]
            cx = q_x[best]
            cp = q_p[best]
            cs = q_s[best]
            q_n -= 1
            q_y[best] = q_y[q_n]
            q_x[best] = q_x[q_n]
            q_p[best] = q_p[q_n]
            q_s[best] = q_s[q_n]
            if decoded[cp]:
                continue
            decoded[cp] = True
            poses_y[n_poses, cp] = cy
            poses_x[n_poses, cp] = cx
            poses_s[n_poses, cp] = cs
            for t in range(cnt[cp]):
                child = nb[cp, t]
                if decoded[child]:
                    continue
                ty = min(max(cy + _sample(displacements, cy, cx, ych[cp, t]) * inv, 0.0), h - 1.0)
                tx = min(max(cx + _sample(displacements, cy, cx, xch[cp, t]) * inv, 0.0), w - 1.0)
                for _ in range(refine_steps):
                    oy = _sample(offsets, ty, tx, child) * inv
                    ox = _sample(offsets, ty, tx, k + child) * inv
                    ty = min(max(ty + oy, 0.0), h - 1.0)
                    tx = min(max(tx + ox, 0.0), w - 1.0)
                q_y[q_n] = ty
                q_x[q_n] = tx
                q_p[q_n] = child
                q_s[q_n] = _sample(heatmaps, ty, tx, child)
                q_n += 1
        # 4. instance score
        total = 0.0
        for p in range(k):
            poses_s[n_poses, p] = _sigmoid(poses_s[n_poses, p])
            total += poses_s[n_poses, p]
        score = total / k
        if score >= score_threshold:
            scores[n_poses] = score
            n_poses += 1

    # 5. soft keypoint NMS re-scoring, in decreasing order of the initial scores
    first = np.argsort(-scores[:n_poses], kind="mergesort")
    rescored = np.zeros(n_poses, dtype=np.float64)
    for a in range(n_poses):
        i = first[a]
        total = 0.0
        for p in range(k):
            occluded = False
            for b in range(a):
                j = first[b]
                dy = poses_y[i, p] - poses_y[j, p]
                dx = poses_x[i, p] - poses_x[j, p]
                if dy * dy + dx * dx <= r2:
                    occluded = True
                    break
            if not occluded:
                total += poses_s[i, p]
        rescored[i] = total / k
    final = np.argsort(-rescored, kind="mergesort")
    n_out = 0
    for a in range(n_poses):
        if rescored[final[a]] >= score_threshold:
            n_out += 1
    keypoints = np.empty((n_out, k, 3), dtype=np.float32)
    out_scores = np.empty(n_out, dtype=np.float32)
    n = 0
    for a in range(n_poses):
        i = final[a]
        if rescored[i] < score_threshold:
            continue
        for p in range(k):
            keypoints[n, p, 0] = poses_y[i, p] * stride
            keypoints[n, p, 1] = poses_x[i, p] * stride
            keypoints[n, p, 2] = poses_s[i, p]
        out_scores[n] = rescored[i]
        n += 1
    return keypoints, out_scores
