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

    @classmethod
    def coerce(cls, value: object, *, bgr: bool = False, source: str = "", index: int = 0) -> "ImageFrame":
        """An `ImageFrame` from what apps hand over: an ImageFrame (returned as is) or a uint8 numpy array,
        H x W x 3 RGB (BGR with `bgr=True`, as OpenCV reads), H x W x 4 RGBA/BGRA or H x W gray.

        Anything else raises one TypeError that says what is expected, rather than failing deep in a calculator:
        float images in particular are refused, since 0-1 and 0-255 floats cannot be told apart.
        """
        if isinstance(value, cls):
            return value
        expected = ("expected an ImageFrame or a numpy uint8 array H x W x 3 (RGB; BGR with bgr=True), H x W x 4 or "
                    "H x W")
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{expected}; got {type(value).__module__}.{type(value).__qualname__}")
        if value.dtype != np.uint8:
            hint = (" (floats in 0-1: (img * 255).round().astype(np.uint8); in 0-255: img.astype(np.uint8))"
                    if value.dtype.kind == "f" else " (convert with img.astype(np.uint8) after scaling to 0-255)")
            raise TypeError(f"{expected}; got dtype {value.dtype}{hint}")
        if value.ndim not in (2, 3) or (value.ndim == 3 and value.shape[2] not in (1, 3, 4)):
            raise TypeError(f"{expected}; got shape {value.shape} (channel-first arrays must be transposed)")
        from .io.images import to_rgb
        return cls(to_rgb(value, bgr=bgr), source, index)

    __posegraph_coerce__ = coerce  # graph input streams whose consumers take ImageFrame accept arrays too

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
