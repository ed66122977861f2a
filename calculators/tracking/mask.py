"""MaskPeople: paint over the people already found, so that the detector, run again, finds the others.

The BlazePose detector, run on a whole image, reports one person for two people standing close together
(people_two_walking_snow.bmp: no anchor above 0.3 on the second one) and misses people partly hidden behind a
prominent one. With the found people painted over (skeleton limbs as thick lines, the torso polygon and the head as
a disc, in the image's mean colour) the same detector, at the same scale, finds them with high scores (0.95 for the
second walker) while images without people stay without detections: unlike zooming into windows, which lifts
animals and textures above the threshold, masking adds no new false positives. What is left of a masked person
(hair around the head disc, a hand) is sometimes detected again: the painted region goes out as MASK, and a
detection whose hip centre falls inside it is ignored downstream (PoseTrackAssignment); a pose that still lies
mostly on a painted person is dropped by the tracker (PoseTrackUpdate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..render.topologies import BLAZEPOSE33
from ..types import ImageFrame
from .matching import roi_side_pixels
from .types import TrackedPerson

__all__ = ["MaskPeopleCalculator", "image_fill_colour", "mask_people", "paint_bounds", "paint_people"]

_TORSO = (11, 12, 24, 23)
_NOSE, _LEFT_EAR, _RIGHT_EAR = 0, 7, 8


def image_fill_colour(pixels: np.ndarray) -> tuple[int, int, int]:
    """The mean colour of an image (from every 4th row and column), as a neutral fill."""
    sample = pixels[::4, ::4].reshape(-1, pixels.shape[2])
    return tuple(int(round(v)) for v in sample.mean(axis=0)[:3])


def paint_people(canvas: np.ndarray, people: Sequence[tuple[np.ndarray, float]], colour,
                 thickness: float = 0.06, min_visibility: float = 0.5,
                 connections: Sequence[tuple[int, int]] = BLAZEPOSE33.connections) -> np.ndarray:
    """Paint each person over `canvas` (H x W or H x W x C, in place) in `colour`; returns `canvas`.

    `people` are (landmarks N x 5 normalised BlazePose-33, ROI side in pixels). Limbs are lines `thickness` x the
    ROI side thick between landmarks both visible above `min_visibility` (an occluded limb lies on whoever hides
    it); the torso polygon (shoulders, hips) and a head disc are always painted.
    """
    h, w = canvas.shape[:2]
    for landmarks, side in people:
        lm = np.asarray(landmarks, dtype=np.float64)
        pts = np.round(lm[:, :2] * (w, h)).astype(np.int32)
        # cv2 wants coordinates it can shift: keep them in a sane range around the image.
        pts = np.clip(pts, -4 * max(w, h), 5 * max(w, h))
        vis = lm[:, 3] >= min_visibility
        th = max(2, int(round(thickness * side)))
        # Every visible limb in one call: a two-point open polyline is drawn as cv2.line draws it (same thick-line
        # routine, both ends capped), and one colour makes the drawing order irrelevant.
        limbs = [pts[[a, b]] for a, b in connections if vis[a] and vis[b]]
        if limbs:
            cv2.polylines(canvas, limbs, False, colour, th, cv2.LINE_8)
        cv2.fillConvexPoly(canvas, cv2.convexHull(pts[list(_TORSO)]), colour)
        ears = float(np.hypot(*(pts[_LEFT_EAR] - pts[_RIGHT_EAR])))
        radius = int(round(max(0.6 * ears, 0.05 * side, th / 2)))
        cv2.circle(canvas, (int(pts[_NOSE, 0]), int(pts[_NOSE, 1])), radius, colour, -1)
    return canvas


def paint_bounds(landmarks: np.ndarray, side: float, width: int, height: int,
                 thickness: float = 0.06) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), inclusive: a box on a width x height canvas that holds every pixel `paint_people` can
    paint for this person (every landmark, whether drawn or not, grown by the line thickness and the head disc's
    radius, plus two pixels), so that a point outside it is known unpainted without painting."""
    lm = np.asarray(landmarks, dtype=np.float64)
    pts = np.clip(np.round(lm[:, :2] * (width, height)).astype(np.int32), -4 * max(width, height),
                  5 * max(width, height))
    th = max(2, int(round(thickness * side)))
    ears = float(np.hypot(*(pts[_LEFT_EAR] - pts[_RIGHT_EAR])))
    radius = int(round(max(0.6 * ears, 0.05 * side, th / 2)))
    margin = th + radius + 2
    low, high = pts.min(axis=0) - margin, pts.max(axis=0) + margin
    return int(low[0]), int(low[1]), int(high[0]), int(high[1])


def mask_people(pixels: np.ndarray, people: Sequence[tuple[np.ndarray, float]], fill: Sequence[int],
                thickness: float = 0.06, min_visibility: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A copy of `pixels` (H x W x 3 uint8) with each person painted over in `fill` (see `paint_people`), and the
    painted region as an H x W bool mask."""
    out = paint_people(np.array(pixels, copy=True), people, tuple(int(c) for c in fill), thickness, min_visibility)
    region = paint_people(np.zeros(pixels.shape[:2], dtype=np.uint8), people, 255, thickness, min_visibility)
    return out, region.astype(bool)


@dataclass
class MaskPeopleOptions:
    # Limb thickness as a fraction of the person's ROI side.
    thickness: float = 0.06
    min_visibility: float = 0.5

    def __post_init__(self):
        if not 0.0 < self.thickness < 1.0:
            raise ValueError(f"thickness must be in (0, 1), got {self.thickness}")


@calculator("MaskPeopleCalculator")
class MaskPeopleCalculator(Calculator):
    """Paints the people found over (limbs, torso, head) so that the detector, run again, finds the others.

    IMAGE + PERSONS (list[TrackedPerson]) -> IMAGE with every found person painted over, and MASK (H x W bool,
    the painted region), only where ENABLE is true (nothing elsewhere, so a detector below runs only then). With
    nobody found the image passes unchanged (and MASK is all false)."""

    IMAGE = Input[ImageFrame]("IMAGE")
    PERSONS = Input[list]("PERSONS", optional=True)
    ENABLE = Input[bool]("ENABLE", optional=True)
    OUT = Output[ImageFrame]("IMAGE")
    MASK = Output[np.ndarray]("MASK", optional=True)
    Options = MaskPeopleOptions

    def process(self, ctx):
        frame: ImageFrame = ctx[self.IMAGE]
        if frame is None or (ctx.connected(self.ENABLE) and not ctx[self.ENABLE]):
            return
        persons: list[TrackedPerson] = [p for p in (ctx[self.PERSONS] or []) if p.found]
        if not persons:
            ctx.send(self.OUT, frame)
            ctx.send(self.MASK, np.zeros((frame.height, frame.width), dtype=bool))
            return
        people = [(p.landmarks, roi_side_pixels(p.next_roi or p.track.roi, frame.width, frame.height))
                  for p in persons]
        pixels, region = mask_people(frame.pixels, people, image_fill_colour(frame.pixels), self.options.thickness,
                                     self.options.min_visibility)
        ctx.send(self.OUT, ImageFrame(pixels, frame.source, frame.index))
        ctx.send(self.MASK, region)
