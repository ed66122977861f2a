"""PoseNet multi-pose decoding (numpy + plain Python, no Numba). Maps and units: see kernels.py.

Multi pose (the Coral decoder's algorithm; written here from its description): all work is in *block space*
(pixels / stride) with bilinear sampling of the maps.

1. Candidates: cells whose logit is >= logit(score_threshold) and maximal in their 3x3 window (local_max_radius),
   each moved by its short offset; taken in decreasing score order as pose roots.
2. A root closer than nms_radius to the same keypoint of an already decoded pose is skipped.
3. Decoding along the skeleton tree (17 keypoints, 16 edges, both directions) outwards from the root: a
   neighbour is placed at the current point + the mid-range displacement of the edge, then refined
   `refine_steps` times by the short offsets at its own position; its score is the sigmoid of the bilinearly
   sampled logit there.
4. Instance score = mean keypoint score; keep the pose when >= score_threshold (at most max_poses).
5. Soft keypoint NMS: re-score each pose (in decreasing score order) leaving out keypoints that lie within
   nms_radius of the same keypoint of a higher-scoring pose; drop poses that fall below score_threshold.

Every backward edge reads the backward displacement block, as Coral's decoder does. (One 2020 libcoral release
read the first backward edge from the forward block through an off-by-one test; earlier and later releases do not,
and on Coral's own test image both give the same poses.)

Why no Numba: loading it costs a graph ~120 MB of memory. Step 1 touches the whole grid and is a few numpy
operations; step 3 takes ~113 bilinear samples per decoded pose, read as Python floats through one memoryview per
channel (numpy scalars would be several times slower): ~70 us per decoded pose, ~0.15 ms per frame with one person.
All arithmetic is in double, in the order of the formulas above, as the former Numba kernel did (same bytes out).
"""

from __future__ import annotations

import math
from typing import Callable

import cv2
import numpy as np

from .kernels import EDGES

__all__ = ["decode_multi_pose"]


def _traversals(num_keypoints: int) -> list[list[tuple[int, int, int, int]]]:
    """For each root keypoint: the steps (parent, child, y channel, x channel of the displacement to follow) in
    breadth-first order from the root (forward block for parent->child edges, backward block for child->parent)."""
    neighbours: list[list[tuple[int, int, int]]] = [[] for _ in range(num_keypoints)]
    ne = len(EDGES)
    for e, (parent, child) in enumerate(EDGES.tolist()):
        neighbours[parent].append((child, e, ne + e))
        neighbours[child].append((parent, 2 * ne + e, 3 * ne + e))
    out = []
    for root in range(num_keypoints):
        steps, seen, level = [], {root}, [root]
        while level:
            nxt = []
            for p in level:
                for child, ych, xch in neighbours[p]:
                    if child not in seen:
                        seen.add(child)
                        steps.append((p, child, ych, xch))
                        nxt.append(child)
            level = nxt
        out.append(steps)
    return out


_STEPS = _traversals(17)


def _candidates(heatmaps: np.ndarray, offsets: np.ndarray, inv: float, min_logit: float,
                radius: int) -> tuple[list[float], list[float], list[int]]:
    """Step 1: roots (y, x, keypoint) in block units, best logit first (row-major order among equal logits).

    A cell is a local maximum when no cell of its window (clipped to the grid) is larger: it equals the window's
    max, a grey dilation (cv2.dilate's default border never wins)."""
    h, w, k = heatmaps.shape
    size = 2 * radius + 1
    window_max = cv2.dilate(heatmaps, np.ones((size, size), np.uint8)).reshape(-1)
    flat = heatmaps.reshape(-1)
    idx = np.flatnonzero(flat >= window_max)
    logits = flat[idx].astype(np.float64)
    keep = logits >= min_logit
    idx, logits = idx[keep], logits[keep]
    order = np.argsort(-logits, kind="stable")
    idx = idx[order]
    cell, part = np.divmod(idx, k)
    i, j = np.divmod(cell, w)
    off = offsets.reshape(h * w, -1)
    ys = np.clip(i + off[cell, part].astype(np.float64) * inv, 0.0, h - 1.0)
    xs = np.clip(j + off[cell, k + part].astype(np.float64) * inv, 0.0, w - 1.0)
    return ys.tolist(), xs.tolist(), part.tolist()


def _sigmoid(x: float) -> float:
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:  # exp(-x) = inf
        return 0.0


def _channels(maps: np.ndarray) -> list[memoryview]:
    """One flat view per channel of an [H, W, C] map, indexed by cell (y * W + x); items read as Python floats."""
    flat = memoryview(maps.reshape(-1))  # contiguous
    c = maps.shape[2]
    return [flat[i::c] for i in range(c)]


def _pose_decoder(heatmaps: np.ndarray, offsets: np.ndarray, displacements: np.ndarray, inv: float,
                  refine_steps: int) -> Callable[[float, float, int], tuple[list[float], list[float], list[float]]]:
    """Step 3 as a function of the root (y, x, keypoint) -> (y, x, logit) per keypoint.

    On a tree each keypoint is reached once, from its neighbour on the path to the root, so its position does not
    depend on the best-first order in which Coral's decoder visits keypoints: a fixed breadth-first order gives the
    same poses. Bilinear sampling is plain Python over memoryviews (numpy scalars would be ~10x slower); one call
    samples both components of a vector; points are already clamped to the grid, so truncation is floor.
    """
    h, w, k = heatmaps.shape
    heat, offs, disp = _channels(heatmaps), _channels(offsets), _channels(displacements)
    h1, w1 = h - 1, w - 1
    fh1, fw1 = float(h1), float(w1)

    def sample(v: memoryview, ty: float, tx: float) -> float:
        """Channel `v` at (ty, tx), bilinear."""
        y0, x0 = int(ty), int(tx)
        ly, lx = ty - y0, tx - x0
        c00 = y0 * w + x0
        c01 = c00 + 1 if x0 < w1 else c00
        c10 = c00 + w if y0 < h1 else c00
        c11 = c10 + 1 if x0 < w1 else c10
        return (1.0 - ly) * ((1.0 - lx) * v[c00] + lx * v[c01]) + ly * ((1.0 - lx) * v[c10] + lx * v[c11])

    def step(ty: float, tx: float, v: memoryview, u: memoryview) -> tuple[float, float]:
        """(ty, tx) moved by the (y, x) vector that channels v, u hold there (bilinear, both from one set of
        weights), in cells, clamped to the grid."""
        y0, x0 = int(ty), int(tx)
        ly, lx = ty - y0, tx - x0
        my, mx = 1.0 - ly, 1.0 - lx
        c00 = y0 * w + x0
        c01 = c00 + 1 if x0 < w1 else c00
        c10 = c00 + w if y0 < h1 else c00
        c11 = c10 + 1 if x0 < w1 else c10
        dy = my * (mx * v[c00] + lx * v[c01]) + ly * (mx * v[c10] + lx * v[c11])
        dx = my * (mx * u[c00] + lx * u[c01]) + ly * (mx * u[c10] + lx * u[c11])
        ty += dy * inv
        ty = 0.0 if ty < 0.0 else fh1 if ty > fh1 else ty
        tx += dx * inv
        tx = 0.0 if tx < 0.0 else fw1 if tx > fw1 else tx
        return ty, tx

    def decode(ry: float, rx: float, rp: int) -> tuple[list[float], list[float], list[float]]:
        ys = [0.0] * k
        xs = [0.0] * k
        ss = [0.0] * k
        ys[rp] = ry
        xs[rp] = rx
        ss[rp] = sample(heat[rp], ry, rx)
        for parent, child, ych, xch in _STEPS[rp]:
            ty, tx = step(ys[parent], xs[parent], disp[ych], disp[xch])  # the edge's displacement at the parent
            v, u = offs[child], offs[k + child]
            for _ in range(refine_steps):  # refinement by the child's short offsets
                ty, tx = step(ty, tx, v, u)
            ys[child] = ty
            xs[child] = tx
            ss[child] = sample(heat[child], ty, tx)  # the child's logit
        return ys, xs, ss

    return decode


def _near(poses: list[tuple[list[float], list[float], list[float]]], p: int, y: float, x: float, r2: float) -> bool:
    """Whether keypoint p of one of `poses` lies within sqrt(r2) of (y, x)."""
    for ys, xs, _ in poses:
        dy = ys[p] - y
        dx = xs[p] - x
        if dy * dy + dx * dx <= r2:
            return True
    return False


def decode_multi_pose(heatmaps: np.ndarray, offsets: np.ndarray, displacements: np.ndarray, stride: int,
                      max_poses: int = 10, score_threshold: float = 0.5, nms_radius: float = 20.0,
                      local_max_radius: int = 1, refine_steps: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Multi-person decoding (see the module docstring).

    heatmaps [H, W, 17] logits; offsets [H, W, 34] and displacements [H, W, 64] in input pixels (float32).
    Returns (keypoints P x 17 x 3 (y, x, score) in input pixels, pose scores P), best first.
    """
    h, w, k = heatmaps.shape
    inv = 1.0 / stride
    r = nms_radius * inv
    r2 = r * r
    min_logit = -math.log(1.0 / (score_threshold + 1e-6) - 1.0)
    heatmaps, offsets, displacements = (np.ascontiguousarray(m) for m in (heatmaps, offsets, displacements))
    decode = _pose_decoder(heatmaps, offsets, displacements, inv, refine_steps)

    poses: list[tuple[list[float], list[float], list[float]]] = []
    scores: list[float] = []
    for ry, rx, rp in zip(*_candidates(heatmaps, offsets, inv, min_logit, local_max_radius)):
        if len(poses) >= max_poses:
            break
        # 2. NMS of the root against the same keypoint of previous poses
        if _near(poses, rp, ry, rx, r2):
            continue
        ys, xs, ss = decode(ry, rx, rp)
        # 4. instance score (summed in keypoint order)
        total = 0.0
        for p in range(k):
            ss[p] = _sigmoid(ss[p])
            total += ss[p]
        score = total / k
        if score >= score_threshold:
            poses.append((ys, xs, ss))
            scores.append(score)

    # 5. soft keypoint NMS re-scoring, in decreasing order of the initial scores (stable among equals)
    first = sorted(range(len(poses)), key=lambda i: -scores[i])
    rescored = [0.0] * len(poses)
    for a, i in enumerate(first):
        ys, xs, ss = poses[i]
        total = 0.0
        for p in range(k):
            y, x = ys[p], xs[p]
            for j in first[:a]:
                dy = y - poses[j][0][p]
                dx = x - poses[j][1][p]
                if dy * dy + dx * dx <= r2:
                    break
            else:
                total += ss[p]
        rescored[i] = total / k
    final = [i for i in sorted(range(len(poses)), key=lambda i: -rescored[i]) if rescored[i] >= score_threshold]
    keypoints = np.array([[(y * stride, x * stride, s) for y, x, s in zip(*poses[i])] for i in final],
                         dtype=np.float32).reshape(len(final), k, 3)
    return keypoints, np.array([rescored[i] for i in final], dtype=np.float32)
