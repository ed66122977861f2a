"""Detections as payloads (a list of `Detection`) and as rows for the kernels (xmin, ymin, w, h, keypoints...)."""

from __future__ import annotations

import numpy as np

from ..types import Detection


def sample_detections(count: int = 2, num_keypoints: int = 4) -> list[Detection]:
    """Overlapping detections of plausible values, for calculators to run their kernels on in open(): Numba loads
    a kernel from its cache on the kernel's first call (5-8 ms each), which would otherwise land in the first
    frame."""
    keypoints = np.tile(np.array([[0.5, 0.6], [0.5, 0.3]], dtype=np.float32), ((num_keypoints + 1) // 2, 1))
    return [Detection(score=0.9 - 0.1 * i, box=np.array([0.3 + 0.01 * i, 0.2, 0.4, 0.6], dtype=np.float32),
                      keypoints=keypoints[:max(num_keypoints, 0)].copy()) for i in range(count)]


def detections_to_rows(detections: list[Detection]) -> tuple[np.ndarray, np.ndarray]:
    """(rows N x (4 + 2K) float32, scores N float32); an empty list gives empty arrays."""
    if not detections:
        return np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.float32)
    rows = np.stack([np.concatenate([d.box, d.keypoints.reshape(-1)]) for d in detections]).astype(np.float32)
    return rows, np.array([d.score for d in detections], dtype=np.float32)
