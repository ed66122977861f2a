"""Payload types that pose calculators exchange.

Every pose model, whatever its decoder, ends in the same `Pose` so that renderers, sinks, classifiers and tools
work unchanged when a graph swaps models. Coordinates follow MediaPipe: x and y normalised to [0, 1] by the image
width and height (they may fall outside when a joint is out of frame), z in the same scale as x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class ImageFrame:
    """An RGB uint8 image (H x W x 3, C-contiguous) with where it came from."""

    pixels: np.ndarray
    source: str = ""
    index: int = 0

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected object: a box and keypoints, normalised to the image it was found in.

    `box` is (xmin, ymin, width, height); `keypoints` is K x 2 (x, y).
    """

    score: float
    box: np.ndarray
    keypoints: np.ndarray
    label: int = 0


@dataclass(frozen=True, slots=True)
class NormalizedRect:
    """A rotated rectangle in normalised image coordinates; rotation in radians, clockwise in image space."""

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float = 0.0


@dataclass(frozen=True, slots=True)
class LetterboxPadding:
    """Fractions of the model input that are padding: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True, slots=True)
class Pose:
    """One person's pose, the single result type of every pose graph.

    `landmarks` is N x 5: x, y, z, visibility, presence (2-D models set z = 0 and visibility = presence = the
    keypoint score). `world_landmarks` is N x 3 in metres (hip-centred) when the model gives them.
    """

    landmarks: np.ndarray
    topology: str
    score: float = 1.0
    world_landmarks: np.ndarray | None = None
    track_id: int | None = None
    roi: NormalizedRect | None = None
    extras: dict = field(default_factory=dict)
