"""PoseNet decoding kernels (pure functions, arrays in, arrays out).

PoseNet (PersonLab-style; the Coral / TF Lite MobileNetV1 models) outputs, per cell of an output-stride grid:

- heatmaps [H, W, 17]: keypoint logits (score = sigmoid);
- short offsets [H, W, 34]: 17 y offsets then 17 x offsets, in input pixels, from the cell to the keypoint;
- mid-range displacements [H, W, 64]: four blocks of 16 edges: forward y, forward x, backward y, backward x, in input
  pixels, from a keypoint to its neighbour along the skeleton (forward = parent to child, backward = child to parent).

A keypoint at cell (i, j) sits at (i * stride + dy, j * stride + dx) input pixels.

Single pose: per keypoint, the cell with the largest logit, refined by its short offset.

Multi pose: see multi_pose.py (a search along the skeleton from local-maximum roots). No PoseNet decoding uses
Numba.

Outputs are in input-tensor pixels (y, x) like the Coral decoder's (block coordinates times the stride, so the
range is [0, (H - 1) * stride] x [0, (W - 1) * stride]).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "EDGES",
    "NUM_KEYPOINTS",
    "decode_single_pose",
    "dequantize",
]

NUM_KEYPOINTS = 17
# Parent -> child edges of the PoseNet skeleton tree (COCO-17 ids), rooted at the nose. Edge e's forward
# displacement goes parent -> child; its backward displacement child -> parent.
EDGES = np.array([
    (0, 1), (1, 3), (0, 2), (2, 4), (0, 5), (5, 7), (7, 9), (5, 11), (11, 13), (13, 15),
    (0, 6), (6, 8), (8, 10), (6, 12), (12, 14), (14, 16),
], dtype=np.int64)
NUM_EDGES = EDGES.shape[0]


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """(q - zero_point) * scale as float32 (two float32 roundings), any shape; float input is returned as float32
    (scale 0 = not quantised)."""
    values = np.asarray(q).astype(np.float32)
    if scale == 0.0:
        return values
    values -= np.float32(zero_point)
    values *= np.float32(scale)
    return values


def decode_single_pose(heatmaps: np.ndarray, offsets: np.ndarray, stride: int) -> np.ndarray:
    """Per keypoint argmax (the first cell in row-major order among equals) + short offset: K x 3 (y, x, score) in
    input pixels; heatmaps are logits, score = sigmoid in double. Positions are summed in double and rounded once
    to float32."""
    h, w, k = heatmaps.shape
    parts = np.arange(k)
    best = heatmaps.reshape(h * w, k).argmax(axis=0)
    bi, bj = best // w, best % w
    out = np.empty((k, 3), dtype=np.float32)
    out[:, 0] = (bi * stride).astype(np.float64) + offsets[bi, bj, parts].astype(np.float64)
    out[:, 1] = (bj * stride).astype(np.float64) + offsets[bi, bj, k + parts].astype(np.float64)
    out[:, 2] = [1.0 / (1.0 + math.exp(-v)) for v in heatmaps[bi, bj, parts].tolist()]
    return out
