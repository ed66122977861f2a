"""Detections as payloads (a list of `Detection`) and as rows for the kernels (xmin, ymin, w, h, keypoints...)."""

from __future__ import annotations

import numpy as np

from ..types import Detection


def detections_to_rows(detections: list[Detection]) -> tuple[np.ndarray, np.ndarray]:
    """(rows N x (4 + 2K) float32, scores N float32); an empty list gives empty arrays."""
    if not detections:
        return np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.float32)
    rows = np.stack([np.concatenate([d.box, d.keypoints.reshape(-1)]) for d in detections]).astype(np.float32)
    return rows, np.array([d.score for d in detections], dtype=np.float32)
