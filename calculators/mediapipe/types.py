"""MediaPipe packet shapes as posegraph values, and converters where MediaPipe's calculators meet posegraph's.

| MediaPipe type | posegraph value |
|---|---|
| ``NormalizedLandmarkList`` | N x 5 float32 array: x, y (normalised to the image), z (x's scale), visibility, presence |
| ``LandmarkList`` (world) | N x 5 float32 array: x, y, z in metres, visibility, presence (0 where unset) |
| ``Detection`` / ``std::vector<Detection>`` | ``calculators.types.Detection`` / ``list`` of them |
| ``NormalizedRect`` | ``calculators.types.NormalizedRect`` |
| ``std::pair<int, int>`` image size | ``(width, height)`` tuple |
| ``ImageFrame`` / ``Image`` | ``calculators.types.ImageFrame`` (RGB uint8); a mask: H x W float32 array |
| ``std::vector<Tensor>`` | ``list`` of numpy arrays |
| ``RenderData`` | ``RenderData`` below (a list of drawing primitives) |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..types import NormalizedRect, Pose

NormalizedLandmarkList = np.ndarray
LandmarkList = np.ndarray
ImageSize = tuple

BLAZEPOSE_TOPOLOGY = "blazepose33"

# mediapipe 0.10.x evaluates expf, atan2f, cosf and sinf with the C library's float functions (glibc), where
# MediaPipe Tasks 1.x and posegraph's own calculators round them correctly (see calculators/float32_math.py):
# with correctly rounded atan2f, AlignmentPointsRects' ROI rotations leave 0.10.21's legacy landmarks.
RELEASED_EXACT_MATH = False


def landmark_list(values: np.ndarray | None) -> np.ndarray:
    """Any N x D (D >= 2) landmark array as an N x 5 float32 landmark list (missing columns 0)."""
    v = np.asarray(values, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"a landmark list is N x 5, got shape {v.shape}")
    if v.shape[1] == 5:
        return v
    out = np.zeros((v.shape[0], 5), dtype=np.float32)
    out[:, : min(5, v.shape[1])] = v[:, :5]
    return out


def to_pose(landmarks: np.ndarray, world_landmarks: np.ndarray | None = None,
            roi: NormalizedRect | None = None, topology: str = BLAZEPOSE_TOPOLOGY) -> Pose:
    """A MediaPipe pose (NormalizedLandmarkList + world LandmarkList) as posegraph's ``Pose``, for the renderer,
    the JSONL sink and the classifiers."""
    lm = landmark_list(landmarks)
    world = None if world_landmarks is None else landmark_list(world_landmarks)[:, :3].copy()
    return Pose(landmarks=lm.copy(), topology=topology, score=1.0, world_landmarks=world, roi=roi)


@dataclass(frozen=True)
class FileContents:
    """MediaPipe's file-contents side packet (a string of bytes), with where it was read from, so that a model
    interpreter can open the file itself instead of a copy of its bytes."""

    data: bytes
    path: Path | None = None


@dataclass(frozen=True)
class TfliteModelRef:
    """MediaPipe's ``TfLiteModelPtr`` side packet: the model an InferenceCalculator loads (path or contents)."""

    path: Path | None
    data: bytes | None = None


@dataclass(frozen=True)
class Color:
    r: int = 0
    g: int = 0
    b: int = 0


@dataclass
class RenderData:
    """MediaPipe's RenderData: primitives in normalised coordinates, drawn by AnnotationOverlayCalculator.

    Each primitive is a tuple: ("point", x, y, color, thickness), ("line", x0, y0, x1, y1, color, thickness),
    ("rect" or "oval", left, top, right, bottom, rotation, color, thickness, filled): the fields of MediaPipe's
    RenderAnnotation, rect edges as float32 as its protos hold them.
    """

    primitives: list = field(default_factory=list)
