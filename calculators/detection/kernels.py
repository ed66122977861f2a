"""Numba kernels for SSD detection post-processing: anchor decoding, IoU, (weighted) non-max suppression.

They reproduce MediaPipe's CPU `TensorsToDetectionsCalculator` and `NonMaxSuppressionCalculator` in float32, in the
same order of operations, so that decoded boxes and keypoints agree to the last bit with the C++ (up to `expf`).

Detection rows are float32 arrays laid out as MediaPipe's relative `LocationData`:
`[xmin, ymin, width, height, kp0_x, kp0_y, kp1_x, kp1_y, ...]`, width = xmax - xmin in float32 (NMS recomputes
xmax = xmin + width, exactly as MediaPipe's `Rectangle_f` does).

Cost on 2 cores: decode of 2254 BlazePose anchors ~10 us, weighted NMS of a handful of candidates ~1-3 us.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._numba import jit
from ..float32_math import expf, sigmoidf

__all__ = [
    "DecodeOptions",
    "decode_boxes",
    "iou",
    "non_max_suppression",
    "weighted_non_max_suppression",
    "pose_detection_decode_options",
]


@dataclass(frozen=True)
class DecodeOptions:
    """The fields of `TensorsToDetectionsCalculatorOptions` used by the CPU decoder."""

    num_coords: int
    num_keypoints: int
    x_scale: float
    y_scale: float
    w_scale: float
    h_scale: float
    box_coord_offset: int = 0
    keypoint_coord_offset: int = 4
    num_values_per_keypoint: int = 2
    reverse_output_order: bool = False
    apply_exponential_on_box_size: bool = False
    sigmoid_score: bool = False
    score_clipping_thresh: float | None = None
    min_score_thresh: float | None = None
    # Correctly rounded expf (MediaPipe Tasks 1.x) rather than the C library's (mediapipe 0.10.x): see float32_math.
    exact_math: bool = True


def pose_detection_decode_options(min_score_thresh: float = 0.5) -> DecodeOptions:
    """BlazePose detector decoding (pose_detection_cpu.pbtxt; Tasks: min_score_thresh = min_detection_confidence)."""
    return DecodeOptions(num_coords=12, num_keypoints=4, x_scale=224.0, y_scale=224.0, w_scale=224.0, h_scale=224.0,
                         box_coord_offset=0, keypoint_coord_offset=4, num_values_per_keypoint=2,
                         reverse_output_order=True, sigmoid_score=True, score_clipping_thresh=100.0,
                         min_score_thresh=min_score_thresh)


@jit
def _decode_kernel(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, num_keypoints: int,
                   box_off: int, kp_off: int, kp_vals: int, xywh: bool, apply_exp: bool, x_scale: float,
                   y_scale: float, w_scale: float, h_scale: float, sigmoid: bool, has_clip: bool, clip: float,
                   has_min: bool, min_score: float, exact: bool, out_rows: np.ndarray, out_scores: np.ndarray,
                   out_classes: np.ndarray) -> int:
    n = raw_boxes.shape[0]
    num_classes = raw_scores.shape[1]
    xs = np.float32(x_scale)
    ys = np.float32(y_scale)
    ws = np.float32(w_scale)
    hs = np.float32(h_scale)
    clip32 = np.float32(clip)
    min32 = np.float32(min_score)
    two = np.float32(2.0)
    count = 0
    for i in range(n):
        # Best class (sigmoid applied per class, as the C++ does before the max).
        best = np.float32(-3.4028234663852886e38)
        best_cls = -1
        for c in range(num_classes):
            s = raw_scores[i, c]
            if sigmoid:
                if has_clip:
                    if s < -clip32:
                        s = -clip32
                    if s > clip32:
                        s = clip32
                s = sigmoidf(s, exact)
            if best < s:
                best = s
                best_cls = c
        if has_min and best < min32:
            continue
        b = box_off
        if xywh:
            xc = raw_boxes[i, b]
            yc = raw_boxes[i, b + 1]
            w = raw_boxes[i, b + 2]
            h = raw_boxes[i, b + 3]
        else:
            yc = raw_boxes[i, b]
            xc = raw_boxes[i, b + 1]
            h = raw_boxes[i, b + 2]
            w = raw_boxes[i, b + 3]
        ax = anchors[i, 0]
        ay = anchors[i, 1]
        aw = anchors[i, 2]
        ah = anchors[i, 3]
        xc = xc / xs * aw + ax
        yc = yc / ys * ah + ay
        if apply_exp:
            h = expf(h / hs, exact) * ah
            w = expf(w / ws, exact) * aw
        else:
            h = h / hs * ah
            w = w / ws * aw
        ymin = yc - h / two
        xmin = xc - w / two
        ymax = yc + h / two
        xmax = xc + w / two
        width = xmax - xmin
        height = ymax - ymin
        # Boxes with negative or NaN size are dropped (MediaPipe b/171391719).
        if not (width >= 0) or not (height >= 0):
            continue
        out_rows[count, 0] = xmin
        out_rows[count, 1] = ymin
        out_rows[count, 2] = width
        out_rows[count, 3] = height
        for k in range(num_keypoints):
            o = kp_off + k * kp_vals
            if xywh:
                kx = raw_boxes[i, o]
                ky = raw_boxes[i, o + 1]
            else:
                ky = raw_boxes[i, o]
                kx = raw_boxes[i, o + 1]
            out_rows[count, 4 + 2 * k] = kx / xs * aw + ax
            out_rows[count, 5 + 2 * k] = ky / ys * ah + ay
        out_scores[count] = best
        out_classes[count] = best_cls
        count += 1
    return count


def decode_boxes(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                 options: DecodeOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode raw SSD outputs relative to `anchors` (N x 4: x_center, y_center, w, h) into detection rows.

    `raw_boxes` is N x num_coords (a leading batch dimension is dropped), `raw_scores` N x num_classes. Returns
    (rows M x (4 + 2K), scores M, class ids M) for the boxes whose best score passes `min_score_thresh`, in anchor
    order.
    """
    boxes = np.ascontiguousarray(np.asarray(raw_boxes, dtype=np.float32).reshape(-1, options.num_coords))
    n = boxes.shape[0]
    scores = np.ascontiguousarray(np.asarray(raw_scores, dtype=np.float32).reshape(n, -1))
    if anchors.shape[0] != n:
        raise ValueError(f"{anchors.shape[0]} anchors for {n} boxes")
    if options.num_values_per_keypoint != 2:
        raise ValueError("only 2 values per keypoint are supported (as in MediaPipe)")
    width = 4 + 2 * options.num_keypoints
    rows = np.empty((n, width), dtype=np.float32)
    out_scores = np.empty(n, dtype=np.float32)
    classes = np.empty(n, dtype=np.int32)
    count = _decode_kernel(
        boxes, scores, np.ascontiguousarray(anchors, dtype=np.float32), options.num_keypoints,
        options.box_coord_offset, options.keypoint_coord_offset, options.num_values_per_keypoint,
        options.reverse_output_order, options.apply_exponential_on_box_size, options.x_scale, options.y_scale,
        options.w_scale, options.h_scale, options.sigmoid_score, options.score_clipping_thresh is not None,
        options.score_clipping_thresh or 0.0, options.min_score_thresh is not None, options.min_score_thresh or 0.0,
        options.exact_math, rows, out_scores, classes)
    return rows[:count], out_scores[:count], classes[:count]


@jit
def _iou(ax: np.float32, ay: np.float32, aw: np.float32, ah: np.float32, bx: np.float32, by: np.float32,
         bw: np.float32, bh: np.float32) -> np.float32:
    """MediaPipe `OverlapSimilarity(INTERSECTION_OVER_UNION, rect1=a, rect2=b)` on Rectangle_f(xmin, ymin, w, h)."""
    zero = np.float32(0.0)
    a_xmax = ax + aw
    a_ymax = ay + ah
    b_xmax = bx + bw
    b_ymax = by + bh
    # Rectangle_f::Intersects: neither empty and they overlap or touch.
    if ax > a_xmax or ay > a_ymax or bx > b_xmax or by > b_ymax:
        return zero
    if b_xmax < ax or a_xmax < bx or b_ymax < ay or a_ymax < by:
        return zero
    ix0 = max(ax, bx)
    iy0 = max(ay, by)
    ix1 = min(a_xmax, b_xmax)
    iy1 = min(a_ymax, b_ymax)
    if ix0 > ix1 or iy0 > iy1:
        inter = zero
    else:
        inter = (ix1 - ix0) * (iy1 - iy0)
    area_a = (a_xmax - ax) * (a_ymax - ay)
    area_b = (b_xmax - bx) * (b_ymax - by)
    norm = area_a + area_b - inter
    if norm > zero:
        return inter / norm
    return zero


@jit
def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boxes given as (xmin, ymin, width, height), float32 like MediaPipe's Rectangle_f."""
    return _iou(np.float32(a[0]), np.float32(a[1]), np.float32(a[2]), np.float32(a[3]),
                np.float32(b[0]), np.float32(b[1]), np.float32(b[2]), np.float32(b[3]))


@jit
def _weighted_nms_kernel(rows: np.ndarray, scores: np.ndarray, order: np.ndarray, threshold: float,
                         min_score: float, out_rows: np.ndarray, out_scores: np.ndarray) -> int:
    n = order.shape[0]
    width = rows.shape[1]
    thr = np.float32(threshold)
    min32 = np.float32(min_score)
    remained = order.copy()
    n_remained = n
    nxt = np.empty(n, dtype=np.int64)
    cand = np.empty(n, dtype=np.int64)
    acc = np.empty(width, dtype=np.float32)
    count = 0
    while n_remained > 0:
        top = remained[0]
        if min32 > 0 and scores[top] < min32:
            break
        n_next = 0
        n_cand = 0
        tx = rows[top, 0]
        ty = rows[top, 1]
        tw = rows[top, 2]
        th = rows[top, 3]
        for j in range(n_remained):
            idx = remained[j]
            sim = _iou(rows[idx, 0], rows[idx, 1], rows[idx, 2], rows[idx, 3], tx, ty, tw, th)
            if sim > thr:
                cand[n_cand] = idx
                n_cand += 1
            else:
                nxt[n_next] = idx
                n_next += 1
        for c in range(width):
            out_rows[count, c] = rows[top, c]
        if n_cand > 0:
            for c in range(width):
                acc[c] = np.float32(0.0)
            total = np.float32(0.0)
            for j in range(n_cand):
                idx = cand[j]
                s = scores[idx]
                total += s
                acc[0] += rows[idx, 0] * s
                acc[1] += rows[idx, 1] * s
                acc[2] += (rows[idx, 0] + rows[idx, 2]) * s
                acc[3] += (rows[idx, 1] + rows[idx, 3]) * s
                for c in range(4, width):
                    acc[c] += rows[idx, c] * s
            xmin = acc[0] / total
            ymin = acc[1] / total
            out_rows[count, 0] = xmin
            out_rows[count, 1] = ymin
            out_rows[count, 2] = acc[2] / total - xmin
            out_rows[count, 3] = acc[3] / total - ymin
            for c in range(4, width):
                out_rows[count, c] = acc[c] / total
        out_scores[count] = scores[top]
        count += 1
        if n_next == n_remained:
            break
        for j in range(n_next):
            remained[j] = nxt[j]
        n_remained = n_next
    return count


@jit
def _hard_nms_kernel(rows: np.ndarray, scores: np.ndarray, order: np.ndarray, threshold: float, min_score: float,
                     max_out: int, out_rows: np.ndarray, out_scores: np.ndarray) -> int:
    thr = np.float32(threshold)
    min32 = np.float32(min_score)
    kept = np.empty(order.shape[0], dtype=np.int64)
    count = 0
    for j in range(order.shape[0]):
        idx = order[j]
        if min32 > 0 and scores[idx] < min32:
            break
        suppressed = False
        for k in range(count):
            r = kept[k]
            # MediaPipe: OverlapSimilarity(retained_location, location).
            if _iou(rows[r, 0], rows[r, 1], rows[r, 2], rows[r, 3],
                    rows[idx, 0], rows[idx, 1], rows[idx, 2], rows[idx, 3]) > thr:
                suppressed = True
                break
        if not suppressed:
            kept[count] = idx
            for c in range(rows.shape[1]):
                out_rows[count, c] = rows[idx, c]
            out_scores[count] = scores[idx]
            count += 1
        if count >= max_out:
            break
    return count


def _score_order(scores: np.ndarray) -> np.ndarray:
    # Descending score; ties keep input (anchor) order. std::sort is not stable, so exact ties are the one place
    # where MediaPipe's order is unspecified.
    return np.argsort(-scores, kind="stable").astype(np.int64)


def weighted_non_max_suppression(rows: np.ndarray, scores: np.ndarray, iou_threshold: float,
                                 min_score: float = 0.0, max_detections: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe WEIGHTED NMS (BlazeFace/BlazePose): each kept box is the score-weighted mean of the boxes (and
    keypoints) that overlap the best remaining one by IoU > threshold; the kept score is the best one's.

    Returns (rows K x D, scores K) in decreasing score order. MediaPipe's weighted mode ignores
    `max_num_detections`; `max_detections` > 0 truncates afterwards.
    """
    rows32 = np.ascontiguousarray(rows, dtype=np.float32)
    sc32 = np.ascontiguousarray(scores, dtype=np.float32)
    n = rows32.shape[0]
    out_rows = np.empty_like(rows32)
    out_scores = np.empty(n, dtype=np.float32)
    if n == 0:
        return out_rows, out_scores
    count = _weighted_nms_kernel(rows32, sc32, _score_order(sc32), iou_threshold, min_score, out_rows, out_scores)
    if max_detections > 0:
        count = min(count, max_detections)
    return out_rows[:count], out_scores[:count]


def non_max_suppression(rows: np.ndarray, scores: np.ndarray, iou_threshold: float, min_score: float = 0.0,
                        max_detections: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe DEFAULT (hard) NMS: greedy by score, drop boxes whose IoU with a kept one exceeds the threshold."""
    rows32 = np.ascontiguousarray(rows, dtype=np.float32)
    sc32 = np.ascontiguousarray(scores, dtype=np.float32)
    n = rows32.shape[0]
    out_rows = np.empty_like(rows32)
    out_scores = np.empty(n, dtype=np.float32)
    if n == 0:
        return out_rows, out_scores
    max_out = n if max_detections < 0 else max_detections
    count = _hard_nms_kernel(rows32, sc32, _score_order(sc32), iou_threshold, min_score, max_out, out_rows,
                             out_scores)
    return out_rows[:count], out_scores[:count]
