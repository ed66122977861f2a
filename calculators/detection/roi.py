"""Detections and alignment points -> rotated ROIs, MediaPipe-exact (float32, libm float functions).

Covers `AlignmentPointsRectsCalculator` (centre keypoint + scale keypoint -> square box of twice their distance,
rotated so that centre->scale points at the target angle), `RectTransformationCalculator` (shift, scale,
square_long/short), `DetectionLetterboxRemovalCalculator`, and the IoU association that MediaPipe Tasks applies to
ROIs in stream mode (`AssociationNormRectCalculator`).

BlazePose: detector keypoint 0 (hip centre) and 1 (scale point), or auxiliary landmarks 33 and 34 of the previous
frame; target angle 90 degrees; then x1.25 and square_long. All in float32, in the C++ order of operations: the ROI
decides the crop, and a 1-ulp change of it can move every landmark by a little.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .._numba import jit
from ..float32_math import atan2f, cosf, sinf
from ..types import Detection, LetterboxPadding, NormalizedRect

__all__ = [
    "alignment_points_to_rect",
    "associate_rects",
    "detection_letterbox_removal",
    "detection_to_rect",
    "landmarks_to_rect",
    "landmarks_to_roi_rect",
    "normalize_radians",
    "pose_roi_from_detection",
    "pose_roi_from_landmarks",
    "rect_iou",
    "rows_to_detections",
    "transform_rect",
]

_F32 = np.float32


@jit
def _normalize_radians(angle: float) -> float:
    # C++: angle - 2 * M_PI * floor((angle - (-M_PI)) / (2 * M_PI)), double math, float result.
    a = np.float64(angle)
    return np.float32(a - 2.0 * math.pi * math.floor((a + math.pi) / (2.0 * math.pi)))


def normalize_radians(angle: float) -> float:
    """Wrap an angle to [-pi, pi) as MediaPipe's `NormalizeRadians` (double math, float32 result)."""
    return float(_normalize_radians(angle))


@jit
def _alignment_rect(x0n: float, y0n: float, x1n: float, y1n: float, width: int, height: int,
                    target_angle: float, exact: bool) -> tuple:
    w = np.float32(width)
    h = np.float32(height)
    x_center = np.float32(x0n) * w
    y_center = np.float32(y0n) * h
    x_scale = np.float32(x1n) * w
    y_scale = np.float32(y1n) * h
    dx = x_scale - x_center
    dy = y_scale - y_center
    box_size = np.float32(np.sqrt(dx * dx + dy * dy) * np.float32(2.0))
    rot = np.float32(target_angle) - atan2f(-(y_scale - y_center), x_scale - x_center, exact)
    return (x_center / w, y_center / h, box_size / w, box_size / h, _normalize_radians(rot))


def alignment_points_to_rect(center: Sequence[float], scale_point: Sequence[float], image_width: int,
                             image_height: int, target_angle_degrees: float = 90.0, *,
                             exact_math: bool = True) -> NormalizedRect:
    """MediaPipe `AlignmentPointsRectsCalculator` + `DetectionsToRects` rotation for one pair of points.

    `center` and `scale_point` are normalised (x, y). The rect is centred on `center`, its side is twice the pixel
    distance to `scale_point`, and its rotation turns the centre->scale vector to `target_angle_degrees`
    (counter-clockwise, y up). `exact_math`: the rotation's atan2f correctly rounded (MediaPipe Tasks 1.x) or
    the C library's (mediapipe 0.10.x), see `float32_math`.
    """
    target = float(_F32(math.pi * float(_F32(target_angle_degrees)) / float(_F32(180.0))))
    xc, yc, w, h, rot = _alignment_rect(float(center[0]), float(center[1]), float(scale_point[0]),
                                        float(scale_point[1]), int(image_width), int(image_height), target,
                                        exact_math)
    return NormalizedRect(float(xc), float(yc), float(w), float(h), float(rot))


def detection_to_rect(detection: Detection, image_width: int, image_height: int, start_keypoint: int = 0,
                      end_keypoint: int = 1, target_angle_degrees: float = 90.0, *,
                      exact_math: bool = True) -> NormalizedRect:
    """ROI of a detection from two of its keypoints (BlazePose: 0 = hip centre, 1 = scale point)."""
    kps = detection.keypoints
    return alignment_points_to_rect(kps[start_keypoint], kps[end_keypoint], image_width, image_height,
                                    target_angle_degrees, exact_math=exact_math)


@jit
def _transform_rect(xc: float, yc: float, w: float, h: float, rot: float, image_width: int, image_height: int,
                    scale_x: float, scale_y: float, shift_x: float, shift_y: float, square_long: bool,
                    square_short: bool, has_rotation: bool, extra_rotation: float, exact: bool) -> tuple:
    iw = np.float32(image_width)
    ih = np.float32(image_height)
    x = np.float32(xc)
    y = np.float32(yc)
    width = np.float32(w)
    height = np.float32(h)
    rotation = np.float32(rot)
    sx = np.float32(shift_x)
    sy = np.float32(shift_y)
    if has_rotation:
        rotation = _normalize_radians(rotation + np.float32(extra_rotation))
    if rotation == np.float32(0.0):
        x = x + width * sx
        y = y + height * sy
    else:
        c = cosf(rotation, exact)
        s = sinf(rotation, exact)
        x_shift = (iw * width * sx * c - ih * height * sy * s) / iw
        y_shift = (iw * width * sx * s + ih * height * sy * c) / ih
        x = x + x_shift
        y = y + y_shift
    if square_long:
        side = max(width * iw, height * ih)
        width = side / iw
        height = side / ih
    elif square_short:
        side = min(width * iw, height * ih)
        width = side / iw
        height = side / ih
    return (x, y, width * np.float32(scale_x), height * np.float32(scale_y), rotation)


def transform_rect(rect: NormalizedRect, image_width: int, image_height: int, *, scale_x: float = 1.0,
                   scale_y: float = 1.0, shift_x: float = 0.0, shift_y: float = 0.0, square_long: bool = False,
                   square_short: bool = False, rotation: float | None = None,
                   exact_math: bool = True) -> NormalizedRect:
    """MediaPipe `RectTransformationCalculator` for a NormalizedRect (shift along the rotated axes, square in
    pixels, then scale)."""
    if square_long and square_short:
        raise ValueError("square_long and square_short are exclusive")
    out = _transform_rect(rect.x_center, rect.y_center, rect.width, rect.height, rect.rotation, int(image_width),
                          int(image_height), scale_x, scale_y, shift_x, shift_y, square_long, square_short,
                          rotation is not None, 0.0 if rotation is None else rotation, exact_math)
    return NormalizedRect(*(float(v) for v in out))


def pose_roi_from_detection(detection: Detection, image_width: int, image_height: int,
                            scale: float = 1.25) -> NormalizedRect:
    """BlazePose detection -> landmark ROI: keypoints 0/1, 90 degrees, x1.25, square_long (pose_detection_to_roi)."""
    rect = detection_to_rect(detection, image_width, image_height, 0, 1, 90.0)
    return transform_rect(rect, image_width, image_height, scale_x=scale, scale_y=scale, square_long=True)


def landmarks_to_rect(landmarks: np.ndarray, image_width: int, image_height: int, start: int = 0, end: int = 1,
                      target_angle_degrees: float = 90.0, *, exact_math: bool = True) -> NormalizedRect:
    """`LandmarksToDetection` + `AlignmentPointsRects`: ROI from two normalised landmarks (rows x, y, ...)."""
    return alignment_points_to_rect(landmarks[start, :2], landmarks[end, :2], image_width, image_height,
                                    target_angle_degrees, exact_math=exact_math)


@jit
def _landmarks_roi(landmarks: np.ndarray, start: int, end: int, image_width: int, image_height: int, target: float,
                   scale_x: float, scale_y: float, square_long: bool, exact: bool) -> tuple:
    xc, yc, w, h, rot = _alignment_rect(landmarks[start, 0], landmarks[start, 1], landmarks[end, 0],
                                        landmarks[end, 1], image_width, image_height, target, exact)
    return _transform_rect(xc, yc, w, h, rot, image_width, image_height, scale_x, scale_y, 0.0, 0.0, square_long,
                           False, False, 0.0, exact)


def landmarks_to_roi_rect(landmarks: np.ndarray, image_width: int, image_height: int, start: int = 0, end: int = 1,
                          target_angle_degrees: float = 90.0, *, scale_x: float = 1.0, scale_y: float = 1.0,
                          square_long: bool = False, exact_math: bool = True) -> NormalizedRect:
    """`landmarks_to_rect` then `transform_rect` (scale, square_long), the same numbers from one compiled call
    (LandmarksToRoiCalculator runs it for every person on every frame)."""
    target = float(_F32(math.pi * float(_F32(target_angle_degrees)) / float(_F32(180.0))))
    out = _landmarks_roi(np.asarray(landmarks, dtype=np.float32), int(start), int(end), int(image_width),
                         int(image_height), target, float(scale_x), float(scale_y), bool(square_long),
                         bool(exact_math))
    return NormalizedRect(*(float(v) for v in out))


def pose_roi_from_landmarks(aux_landmarks: np.ndarray, image_width: int, image_height: int,
                            scale: float = 1.25) -> NormalizedRect:
    """BlazePose next-frame ROI from the two auxiliary landmarks (33 hip centre, 34 scale point), x1.25,
    square_long (pose_landmarks_to_roi; Tasks uses the raw, unsmoothed auxiliary landmarks)."""
    rect = landmarks_to_rect(aux_landmarks, image_width, image_height, 0, 1, 90.0)
    return transform_rect(rect, image_width, image_height, scale_x=scale, scale_y=scale, square_long=True)


def detection_letterbox_removal(rows: np.ndarray, padding: LetterboxPadding) -> np.ndarray:
    """MediaPipe `DetectionLetterboxRemovalCalculator` on detection rows [xmin, ymin, w, h, kp x, kp y, ...]."""
    out = np.array(rows, dtype=np.float32, copy=True)
    left, top = _F32(padding.left), _F32(padding.top)
    sx = _F32(1.0) - (_F32(padding.left) + _F32(padding.right))
    sy = _F32(1.0) - (_F32(padding.top) + _F32(padding.bottom))
    out[:, 0] = (out[:, 0] - left) / sx
    out[:, 1] = (out[:, 1] - top) / sy
    out[:, 2] = out[:, 2] / sx
    out[:, 3] = out[:, 3] / sy
    out[:, 4::2] = (out[:, 4::2] - left) / sx
    out[:, 5::2] = (out[:, 5::2] - top) / sy
    return out


def rows_to_detections(rows: np.ndarray, scores: np.ndarray, labels: np.ndarray | None = None) -> list[Detection]:
    """Detection rows (xmin, ymin, w, h, keypoints...) -> `Detection` payloads."""
    out = []
    for i in range(rows.shape[0]):
        out.append(Detection(score=float(scores[i]), box=rows[i, :4].copy(),
                             keypoints=rows[i, 4:].reshape(-1, 2).copy(),
                             label=0 if labels is None else int(labels[i])))
    return out


def _rect_box(rect: NormalizedRect) -> tuple[np.float32, np.float32, np.float32, np.float32]:
    w, h = _F32(rect.width), _F32(rect.height)
    xmin = _F32(float(_F32(rect.x_center)) - float(w) / 2.0)
    ymin = _F32(float(_F32(rect.y_center)) - float(h) / 2.0)
    return xmin, ymin, w, h


def rect_iou(a: NormalizedRect, b: NormalizedRect) -> float:
    """IoU of two NormalizedRects ignoring rotation (MediaPipe `CalculateIou` of the axis-aligned boxes)."""
    from .kernels import _iou
    return float(_iou(*_rect_box(a), *_rect_box(b)))


def associate_rects(rect_lists: Sequence[Sequence[NormalizedRect]], min_similarity: float) -> list[NormalizedRect]:
    """MediaPipe `AssociationNormRectCalculator`: merge lists, later lists (and later items) win on overlap.

    The first non-empty list seeds the result (its own items are associated among themselves too); every further
    rect removes the rects it overlaps by IoU > `min_similarity` and is appended. In the Tasks PoseLandmarker the
    inputs are (previous-frame ROIs, detector ROIs), so a detector ROI can replace another one it overlaps and the
    order of detections can change before the list is clipped to `num_poses`.
    """
    result: list[NormalizedRect] = []
    seeded = False
    for rects in rect_lists:
        if not rects:
            continue
        for i, rect in enumerate(rects):
            if not seeded and i == 0:
                result.append(rect)
                continue
            result = [r for r in result if not rect_iou(rect, r) > min_similarity]
            result.append(rect)
        seeded = True
    return result
