"""Draw poses, ROIs, detections and text onto an RGB frame with OpenCV.

Pure functions: the input frame is never modified; a new RGB uint8 array is returned. Line widths, point radii and
text size scale with the image so that a 4K frame and a 256-px crop both stay legible. Coordinates are drawn with
sub-pixel precision (OpenCV's `shift`), so small crops are not distorted by rounding.

Landmarks below `visibility_threshold` (visibility or presence, as MediaPipe's drawing_utils does) are hidden,
or drawn grey with `low_visibility="dim"`; a connection is drawn only when both of its ends are shown.
Points are coloured by body side (left orange, right cyan, centre white, like MediaPipe's pose style) unless the
pose has a track id, in which case the whole skeleton takes that track's stable colour.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Literal, Sequence

import cv2
import numpy as np

from ..io.images import to_rgb
from ..types import Detection, NormalizedRect, Pose
from .topologies import TOPOLOGIES

__all__ = ["DEFAULT_STYLE", "DrawStyle", "draw_detections", "draw_poses", "draw_text_lines", "track_color"]

Color = tuple[int, int, int]
_SHIFT = 4  # fractional bits for cv2 drawing coordinates
_ONE = 1 << _SHIFT


@dataclass(frozen=True, slots=True)
class DrawStyle:
    """Colours (RGB) used by the drawing functions."""

    left: Color = (255, 138, 0)
    right: Color = (0, 217, 231)
    center: Color = (255, 255, 255)
    connection: Color = (224, 224, 224)
    dimmed: Color = (128, 128, 128)
    roi: Color = (0, 255, 0)
    detection: Color = (255, 255, 0)
    text: Color = (255, 255, 255)
    text_background: Color = (0, 0, 0)


DEFAULT_STYLE = DrawStyle()


def track_color(track_id: int) -> Color:
    """A stable, well-separated colour per track id (golden-ratio hue steps)."""
    hue = (int(track_id) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.8, 1.0)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


@dataclass(frozen=True, slots=True)
class _Scale:
    thickness: int
    radius: float
    font_scale: float
    font_thickness: int

    @staticmethod
    def for_image(height: int, width: int, thickness: int | None, radius: float | None) -> "_Scale":
        s = max(height, width) / 640.0
        return _Scale(
            thickness=thickness if thickness is not None else max(1, round(2 * s)),
            radius=radius if radius is not None else max(2.0, 4.0 * s),
            font_scale=max(0.4, 0.6 * s),
            font_thickness=max(1, round(1.5 * s)),
        )


def _fixed(x: float, y: float, width: int, height: int) -> tuple[int, int]:
    """Pixel coordinates as OpenCV fixed-point ints, clamped far outside the frame to avoid int overflow."""
    x = min(max(x, -4.0 * width), 5.0 * width)
    y = min(max(y, -4.0 * height), 5.0 * height)
    return int(round(x * _ONE)), int(round(y * _ONE))


def _pixel_points(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)[:, :2].copy()
    points[:, 0] *= width
    points[:, 1] *= height
    return points


def _draw_rotated_rect(image: np.ndarray, rect: NormalizedRect, color: Color, thickness: int) -> None:
    """Outline a normalised rotated rectangle in place (rotation clockwise in image space, as in MediaPipe)."""
    height, width = image.shape[:2]
    cx, cy = rect.x_center * width, rect.y_center * height
    half_w, half_h = rect.width * width / 2.0, rect.height * height / 2.0
    cos, sin = math.cos(rect.rotation), math.sin(rect.rotation)
    corners = []
    for dx, dy in ((-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)):
        corners.append(_fixed(cx + dx * cos - dy * sin, cy + dx * sin + dy * cos, width, height))
    cv2.polylines(image, [np.array(corners, dtype=np.int32)], True, color, thickness, cv2.LINE_AA, _SHIFT)
    # Mark the top edge's midpoint so the rotation is visible.
    top = corners[0][0] + corners[1][0], corners[0][1] + corners[1][1]
    cv2.circle(image, (top[0] // 2, top[1] // 2), max(2, thickness) * _ONE, color, -1, cv2.LINE_AA, _SHIFT)


def draw_detections(image: np.ndarray, detections: Sequence[Detection], *, style: DrawStyle = DEFAULT_STYLE,
                    thickness: int | None = None) -> np.ndarray:
    """Return a copy of `image` with detection boxes, keypoints and scores drawn."""
    out = np.array(to_rgb(image), copy=True)
    scale = _Scale.for_image(out.shape[0], out.shape[1], thickness, None)
    _draw_detections(out, detections, style, scale)
    return out


def _draw_detections(image: np.ndarray, detections: Sequence[Detection], style: DrawStyle, scale: _Scale) -> None:
    height, width = image.shape[:2]
    for detection in detections:
        xmin, ymin, box_w, box_h = (float(v) for v in np.asarray(detection.box, dtype=np.float64)[:4])
        if not all(math.isfinite(v) for v in (xmin, ymin, box_w, box_h)):
            continue
        p1 = _fixed(xmin * width, ymin * height, width, height)
        p2 = _fixed((xmin + box_w) * width, (ymin + box_h) * height, width, height)
        cv2.rectangle(image, p1, p2, style.detection, scale.thickness, cv2.LINE_AA, _SHIFT)
        keypoints = np.asarray(detection.keypoints, dtype=np.float64).reshape(-1, 2)
        for kx, ky in keypoints:
            if math.isfinite(kx) and math.isfinite(ky):
                cv2.circle(image, _fixed(kx * width, ky * height, width, height), int(scale.radius * _ONE),
                           style.detection, -1, cv2.LINE_AA, _SHIFT)
        label = f"{float(detection.score):.2f}"
        org = (int(p1[0] / _ONE), int(p1[1] / _ONE) - scale.thickness - 2)
        cv2.putText(image, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale.font_scale * 0.8, style.detection,
                    scale.font_thickness, cv2.LINE_AA)


def draw_text_lines(image: np.ndarray, lines: Sequence[str], *, style: DrawStyle = DEFAULT_STYLE,
                    origin: tuple[int, int] = (8, 8)) -> np.ndarray:
    """Return a copy of `image` with text lines drawn top-left on a dark background (labels, counts, fps)."""
    out = np.array(to_rgb(image), copy=True)
    scale = _Scale.for_image(out.shape[0], out.shape[1], None, None)
    _draw_text_lines(out, lines, style, scale, origin)
    return out


def _draw_text_lines(image: np.ndarray, lines: Sequence[str], style: DrawStyle, scale: _Scale,
                     origin: tuple[int, int]) -> None:
    x, y = origin
    font = cv2.FONT_HERSHEY_SIMPLEX
    for line in lines:
        (text_w, text_h), baseline = cv2.getTextSize(line, font, scale.font_scale, scale.font_thickness)
        pad = max(2, text_h // 4)
        cv2.rectangle(image, (x, y), (x + text_w + 2 * pad, y + text_h + baseline + 2 * pad),
                      style.text_background, -1)
        cv2.putText(image, line, (x + pad, y + pad + text_h), font, scale.font_scale, style.text,
                    scale.font_thickness, cv2.LINE_AA)
        y += text_h + baseline + 2 * pad + 2


def _fixed_points(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """`_fixed` of every row of an N x 2 array at once, as int32 (NaN rows become (0, 0): the caller skips them)."""
    low, high = (-4.0 * width, -4.0 * height), (5.0 * width, 5.0 * height)
    return np.rint(np.clip(np.nan_to_num(points, nan=0.0), low, high) * _ONE).astype(np.int32)


def _point_colors(topology, confident: np.ndarray, track: Color | None, style: DrawStyle) -> list[Color]:
    """Each landmark's colour: dimmed when not confident, else its track's colour, else its body side's."""
    if track is not None:
        return [track if ok else style.dimmed for ok in confident.tolist()]
    sides = topology.sides[:topology.num_keypoints] if topology is not None else ""
    by_side = {"L": style.left, "R": style.right}
    return [by_side.get(sides[i] if i < len(sides) else "C", style.center) if ok else style.dimmed
            for i, ok in enumerate(confident.tolist())]


def _draw_pose(image: np.ndarray, pose: Pose, *, visibility_threshold: float, low_visibility: str,
               draw_roi: bool, draw_ids: bool, style: DrawStyle, scale: _Scale) -> None:
    height, width = image.shape[:2]
    landmarks = np.asarray(pose.landmarks, dtype=np.float64)
    if landmarks.ndim != 2 or landmarks.shape[1] < 2:
        raise ValueError(f"Pose.landmarks must be N x 5 (at least x, y), got shape {landmarks.shape}")
    topology = TOPOLOGIES.get(pose.topology)
    track = track_color(pose.track_id) if pose.track_id is not None else None
    if draw_roi and pose.roi is not None:
        _draw_rotated_rect(image, pose.roi, track or style.roi, scale.thickness)
    points = _pixel_points(landmarks, width, height)
    finite = np.isfinite(points).all(axis=1)
    confidence = np.ones(len(landmarks))
    for column in (3, 4):  # visibility, presence
        if landmarks.shape[1] > column:
            confidence = np.minimum(confidence, np.nan_to_num(landmarks[:, column], nan=0.0))
    confident = confidence >= visibility_threshold
    shown = finite & (confident | (low_visibility == "dim"))
    fixed = _fixed_points(points, width, height)
    shown_list, confident_list = shown.tolist(), confident.tolist()
    count = len(fixed)
    pairs = [(a, b) for a, b in (topology.connections if topology is not None else ())
             if a < count and b < count and shown_list[a] and shown_list[b]]
    if pairs:
        # One polylines call per run of same-coloured connections instead of one cv2.line each: the same pixels
        # (an open two-point polyline is drawn exactly as a line), in the same order.
        segments = fixed[np.array(pairs)]
        colors = [(track or style.connection) if confident_list[a] and confident_list[b] else style.dimmed
                  for a, b in pairs]
        start = 0
        for end in range(1, len(pairs) + 1):
            if end == len(pairs) or colors[end] != colors[start]:
                cv2.polylines(image, list(segments[start:end]), False, colors[start], scale.thickness,
                              cv2.LINE_AA, _SHIFT)
                start = end
    radius = int(scale.radius * _ONE)
    colors = _point_colors(topology, confident, track, style)
    centers = fixed.tolist()
    for i in np.flatnonzero(shown).tolist():
        center = centers[i]
        cv2.circle(image, center, radius, colors[i], -1, cv2.LINE_AA, _SHIFT)
        cv2.circle(image, center, radius, (0, 0, 0), 1, cv2.LINE_AA, _SHIFT)
    if draw_ids and pose.track_id is not None and shown.any():
        top = points[shown][np.argmin(points[shown][:, 1])]
        org = (int(min(max(top[0], 0), width - 1)), int(min(max(top[1] - 3 * scale.radius, 12), height - 1)))
        cv2.putText(image, f"id {pose.track_id}", org, cv2.FONT_HERSHEY_SIMPLEX, scale.font_scale,
                    track or style.text, scale.font_thickness, cv2.LINE_AA)


def draw_poses(rgb: np.ndarray, poses: Sequence[Pose], *, visibility_threshold: float = 0.5,
               low_visibility: Literal["hide", "dim"] = "hide", draw_roi: bool = True, draw_ids: bool = True,
               detections: Sequence[Detection] = (), text_lines: Sequence[str] = (),
               thickness: int | None = None, radius: float | None = None,
               style: DrawStyle = DEFAULT_STYLE) -> np.ndarray:
    """Return a new RGB uint8 frame with the poses (and optional ROIs, detections, text lines) drawn on `rgb`.

    Unknown topologies are drawn as points only. `thickness`/`radius` override the size-based defaults.
    """
    if low_visibility not in ("hide", "dim"):
        raise ValueError(f"low_visibility must be 'hide' or 'dim', got {low_visibility!r}")
    out = np.array(to_rgb(rgb), copy=True)
    scale = _Scale.for_image(out.shape[0], out.shape[1], thickness, radius)
    if detections:
        _draw_detections(out, detections, style, scale)
    for pose in poses:
        _draw_pose(out, pose, visibility_threshold=visibility_threshold, low_visibility=low_visibility,
                   draw_roi=draw_roi, draw_ids=draw_ids, style=style, scale=scale)
    if text_lines:
        _draw_text_lines(out, text_lines, style, scale, (8, 8))
    return out
