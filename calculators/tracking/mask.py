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

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from posegraph import Calculator, Input, Output, calculator

from .._numba import jit
from ..render.topologies import BLAZEPOSE33
from ..types import ImageFrame
from .matching import roi_side_pixels
from .types import TrackedPerson

__all__ = ["ContainmentGeometry", "MaskPeopleCalculator", "containment_geometry", "image_fill_colour", "mask_people",
           "paint_people"]

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


@jit
def _containment_kernel(lms: np.ndarray, cw_f, ch_f, cw: int, ch: int, sides: np.ndarray, thickness: float,
                        xs: np.ndarray, ys: np.ndarray, usable: np.ndarray, visible: np.ndarray, boxes: np.ndarray,
                        reaches: np.ndarray) -> None:
    n, count = lms.shape[0], lms.shape[1]
    far = 4 * max(cw, ch)
    for p in range(n):
        # The canvas pixel of each landmark (floor(x * width) in the landmarks' dtype), whether it is visible and
        # on the canvas: the points PoseTrackUpdate tests.
        for m in range(count):
            x = np.int64(np.floor(lms[p, m, 0] * cw_f))
            y = np.int64(np.floor(lms[p, m, 1] * ch_f))
            xs[p, m], ys[p, m] = x, y
            vis = lms[p, m, 3] > 0.5
            visible[p] += vis
            usable[p, m] = vis and 0 <= x < cw and 0 <= y < ch
        # A box holding everything paint_people paints for this person: its points as it rounds and clips them,
        # grown by the line thickness and the head disc's radius, plus two pixels (the whole canvas should a point
        # be too far out to round as it does).
        lo_x = lo_y = np.int64(1 << 62)
        hi_x = hi_y = -np.int64(1 << 62)
        wild = False
        for m in range(count):
            px = np.rint(np.float64(lms[p, m, 0]) * cw)
            py = np.rint(np.float64(lms[p, m, 1]) * ch)
            if not (abs(px) < 2.0 ** 30 and abs(py) < 2.0 ** 30):
                wild = True
                break
            ix = min(max(np.int64(px), -far), 5 * max(cw, ch))
            iy = min(max(np.int64(py), -far), 5 * max(cw, ch))
            lo_x, hi_x, lo_y, hi_y = min(lo_x, ix), max(hi_x, ix), min(lo_y, iy), max(hi_y, iy)
        th = max(2, np.int64(np.rint(thickness * sides[p])))
        if wild or count <= _RIGHT_EAR:
            boxes[p, 0], boxes[p, 1], boxes[p, 2], boxes[p, 3] = -(1 << 62), -(1 << 62), 1 << 62, 1 << 62
        else:
            ex = min(max(np.int64(np.rint(np.float64(lms[p, _LEFT_EAR, 0]) * cw)), -far), 5 * max(cw, ch))
            ey = min(max(np.int64(np.rint(np.float64(lms[p, _LEFT_EAR, 1]) * ch)), -far), 5 * max(cw, ch))
            fx = min(max(np.int64(np.rint(np.float64(lms[p, _RIGHT_EAR, 0]) * cw)), -far), 5 * max(cw, ch))
            fy = min(max(np.int64(np.rint(np.float64(lms[p, _RIGHT_EAR, 1]) * ch)), -far), 5 * max(cw, ch))
            ears = math.hypot(np.float64(ex - fx), np.float64(ey - fy))
            radius = np.int64(np.rint(max(0.6 * ears, 0.05 * sides[p], th / 2)))
            margin = th + radius + 2
            boxes[p, 0], boxes[p, 1], boxes[p, 2], boxes[p, 3] = lo_x - margin, lo_y - margin, hi_x + margin, \
                hi_y + margin
    for p in range(n):
        for q in range(p):
            for m in range(count):
                if usable[p, m] and boxes[q, 0] <= xs[p, m] <= boxes[q, 2] and boxes[q, 1] <= ys[p, m] <= boxes[q, 3]:
                    reaches[p, q] = True
                    break


@dataclass(frozen=True)
class ContainmentGeometry:
    """What PoseTrackUpdate's containment test needs of n people, from one compiled call: `xs`, `ys` (n x K int64:
    each landmark's canvas pixel), `usable` (n x K: visible and on the canvas), `visible` (visible landmarks per
    person), `boxes` (n x 4 inclusive x0, y0, x1, y1 holding every pixel `paint_people` can paint for the person)
    and `reaches` (n x n: reaches[p, q] when a usable point of p lies in q's box, for q < p)."""

    xs: np.ndarray
    ys: np.ndarray
    usable: np.ndarray
    visible: np.ndarray
    boxes: np.ndarray
    reaches: np.ndarray


def containment_geometry(landmarks: Sequence[np.ndarray], sides: Sequence[float], width: int, height: int,
                         thickness: float = 0.06) -> ContainmentGeometry:
    """The canvas points and paint boxes of each person (landmarks N x 5, ROI side in canvas pixels) on a
    width x height canvas (see ContainmentGeometry)."""
    lms = np.stack([np.asarray(lm) for lm in landmarks])
    if lms.dtype not in (np.float32, np.float64):
        lms = lms.astype(np.float64)
    n, count = lms.shape[0], lms.shape[1]
    geometry = ContainmentGeometry(np.empty((n, count), np.int64), np.empty((n, count), np.int64),
                                   np.empty((n, count), bool), np.zeros(n, np.int64), np.empty((n, 4), np.int64),
                                   np.zeros((n, n), bool))
    _containment_kernel(lms, lms.dtype.type(width), lms.dtype.type(height), int(width), int(height),
                        np.asarray(sides, dtype=np.float64), float(thickness), geometry.xs, geometry.ys,
                        geometry.usable, geometry.visible, geometry.boxes, geometry.reaches)
    return geometry


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
