"""Person-mask effects for the renderer: the background blurred or tinted, the person left as is."""

from __future__ import annotations

import cv2
import numpy as np

OVERLAYS = ("blur", "tint")
TINT_RGB = np.array([0, 160, 255], np.float32)  # the background tint, RGB


def apply_mask_overlay(rgb: np.ndarray, mask: np.ndarray, kind: str, *, tint_strength: float = 0.6) -> np.ndarray:
    """`rgb` (H x W x 3 uint8) with its background (mask -> 0) blurred or tinted; the mask blends softly."""
    if kind not in OVERLAYS:
        raise ValueError(f"mask overlay must be one of {', '.join(OVERLAYS)}, not {kind!r}")
    alpha = np.clip(np.asarray(mask, np.float32), 0.0, 1.0)[:, :, None]
    image = rgb.astype(np.float32)
    if kind == "blur":
        k = max(3, (min(rgb.shape[:2]) // 30) | 1)
        background = cv2.GaussianBlur(rgb, (k, k), 0).astype(np.float32)
    else:
        background = image * (1.0 - tint_strength) + TINT_RGB * tint_strength
    return np.clip(np.rint(alpha * image + (1.0 - alpha) * background), 0, 255).astype(np.uint8)
