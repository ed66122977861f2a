"""BlazePose's MediaPipe-style options (model_complexity, segmentation) as the shipped graphs' side packets.

Kept apart from solutions.py so that the trackers only pass values through; the graphs do the work.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def blazepose_side_packets(model_complexity: int, segmentation: bool, smooth_segmentation: bool,
                           landmark_model: str | None = None) -> dict[str, Any]:
    """Side packets for model_complexity / segmentation, after checking them (a clear error, before the graph)."""
    if isinstance(model_complexity, bool) or model_complexity not in (0, 1, 2):
        raise ValueError(f"model_complexity must be 0 (lite), 1 (full) or 2 (heavy), got {model_complexity!r}")
    if model_complexity == 2 and not landmark_model:
        raise ValueError("model_complexity=2 (heavy) needs the heavy model file: pass "
                         "landmark_model='PATH/pose_landmark_heavy.tflite'")
    side: dict[str, Any] = {"model_complexity": int(model_complexity)}
    if segmentation:
        side["enable_segmentation"] = True
        side["smooth_segmentation"] = bool(smooth_segmentation)
    return side


def pose_mask(pose: Any) -> np.ndarray | None:
    """The person's mask (float32 H x W in [0, 1]) a BlazePose graph attached to a pose, or None."""
    from .calculators.landmarks.pose_result import SEGMENTATION_MASK_KEY  # lazily: the calculators are heavy

    return (getattr(pose, "extras", None) or {}).get(SEGMENTATION_MASK_KEY)


def segmentation_masks(poses: list) -> list[np.ndarray]:
    """Each pose's mask, for the poses that carry one."""
    return [mask for mask in map(pose_mask, poses) if mask is not None]
