"""Pure kernels of the top-down (detector -> per-person crop -> heatmap model) pipeline, PicoDet + PP-TinyPose.

Arrays in, arrays out, no graph: the calculators of this family, the tests and tools/bench_topdown.py call these.
The loops are Numba kernels (`from .._numba import jit`: nogil, cached); the geometry helpers are a few scalar
lines of NumPy.

Coordinates
-----------
Normalised coordinates follow MediaPipe (and the rest of posegraph): x = 0 is the left edge of the image, x = 1 the
right edge, so pixel column j covers [j, j + 1) / W. OpenCV's warp functions use pixel *centres* at integers
(column j is at x = j); the helpers below convert (a shift of half a pixel), and the two half pixels cancel when a
keypoint goes through the crop and back.

UDP (Huang et al., "The Devil is in the Details: Delving into Unbiased Data Processing for Human Pose Estimation",
CVPR 2020): a crop of size w x h (pixels, continuous) maps onto the W_in x H_in model input so that the crop's
edges land on the *centres* of the first and last input pixels: scale (W_in - 1) / w, not W_in / w. PP-TinyPose was
trained with this warp (``TopDownAffine: use_udp: true``), and the inverse below uses the same (W_in - 1) scale, so
image -> input -> image is the identity (no half-pixel drift that grows with the crop size).

Heatmap -> input: PP-TinyPose's training targets (``ToHeatmapsTopDown_DARK``) put a keypoint at input pixel x_in at
heatmap position x_in / stride with stride = W_in / W_hm (= 4). ``heatmap_scale="udp"`` uses UDP's
(W_in - 1) / (W_hm - 1) instead (the convention of ``ToHeatmapsTopDown_UDP`` models).

DARK (Zhang et al., "Distribution-Aware Coordinate Representation for Human Pose Estimation", CVPR 2020): the
heatmap is smoothed with a Gaussian (so that it is close to the Gaussian the model was trained to produce), its
logarithm (a quadratic for a Gaussian) is expanded to second order around the arg-max, and one Newton step
x* = m - H^-1 g gives the sub-cell maximum. Only the 3 x 3 neighbourhood of the maximum is needed, so the smoothing
is evaluated there only (9 small convolutions per keypoint instead of a full blur).
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import jit

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "HEATMAP_SCALES",
    "normalize_to_nchw", "decode_picodet", "non_max_suppression", "iou_xyxy",
    "person_crop_rect", "udp_crop_matrix", "crop_person",
    "gaussian_kernel_1d", "argmax_heatmaps", "dark_heatmaps", "heatmaps_to_image", "decode_heatmaps",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HEATMAP_SCALES = ("stride", "udp")


# -- preprocessing -----------------------------------------------------------------------------------------------
@jit
def _normalize_kernel(src, scale, mean, inv_std, out):  # pragma: no cover - compiled
    height, width, channels = src.shape
    for y in range(height):
        for x in range(width):
            for c in range(channels):
                out[c, y, x] = (np.float32(src[y, x, c]) * scale - mean[c]) * inv_std[c]


def normalize_to_nchw(image: np.ndarray, mean=IMAGENET_MEAN, std=IMAGENET_STD, scale: float = 1.0) -> np.ndarray:
    """(H, W, C) or (1, H, W, C), any numeric dtype -> (1, C, H, W) float32 of ``(image * scale - mean) / std``.

    PaddleDetection's NormalizeImage (is_scale) + Permute: RGB/255 then ImageNet mean/std is ``scale=1/255`` on a
    uint8 image, or ``scale=1`` on a float image already in [0, 1].
    """
    array = np.asarray(image)
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise ValueError(f"expected one image (batch 1), got shape {array.shape}")
        array = array[0]
    if array.ndim != 3:
        raise ValueError(f"expected an H x W x C image, got shape {array.shape}")
    channels = array.shape[2]
    mean_a = np.asarray(mean, dtype=np.float32)
    std_a = np.asarray(std, dtype=np.float32)
    if mean_a.shape != (channels,) or std_a.shape != (channels,):
        raise ValueError(f"mean and std need {channels} values each, got {mean_a.size} and {std_a.size}")
    if np.any(std_a <= 0):
        raise ValueError(f"std values must be positive, got {std_a.tolist()}")
    if array.dtype == np.float64 or array.dtype.kind not in "uif":
        array = array.astype(np.float32)
    out = np.empty((1, channels, array.shape[0], array.shape[1]), dtype=np.float32)
    _normalize_kernel(array, np.float32(scale), mean_a, (1.0 / std_a).astype(np.float32), out[0])
    return out


# -- PicoDet: threshold + greedy NMS over decoded boxes ------------------------------------------------------------
@jit
def _iou(a, b):  # pragma: no cover - compiled
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0.0 or iy <= 0.0:
        return 0.0
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0.0 else 0.0


@jit
def _nms_kernel(boxes, scores, score_threshold, iou_threshold, max_candidates):  # pragma: no cover - compiled
    n = scores.shape[0]
    candidates = np.empty(n, dtype=np.int64)
    count = 0
    for i in range(n):
        b = boxes[i]
        if scores[i] >= score_threshold and b[2] > b[0] and b[3] > b[1]:
            candidates[count] = i
            count += 1
    candidates = candidates[:count]
    # Highest score first; stable, so equal scores keep the model's order (deterministic across runs).
    order = candidates[np.argsort(-scores[candidates], kind="mergesort")]
    if max_candidates > 0 and order.shape[0] > max_candidates:
        order = order[:max_candidates]
    m = order.shape[0]
    suppressed = np.zeros(m, dtype=np.bool_)
    keep = np.empty(m, dtype=np.int64)
    kept = 0
    for i in range(m):
        if suppressed[i]:
            continue
        keep[kept] = order[i]
        kept += 1
        bi = boxes[order[i]]
        for j in range(i + 1, m):
            if not suppressed[j] and _iou(bi, boxes[order[j]]) > iou_threshold:
                suppressed[j] = True
    return keep[:kept]


def iou_xyxy(a, b) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes (0 when either is empty)."""
    return float(_iou(np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)))


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, score_threshold: float, iou_threshold: float,
                        max_candidates: int = 1000) -> np.ndarray:
    """Indices of the boxes kept by greedy (hard) NMS, highest score first.

    `boxes` is N x 4 (x1, y1, x2, y2), `scores` N. Boxes scoring below `score_threshold` or empty are ignored;
    of the rest, the `max_candidates` best (0 = all) are visited in score order and every later box whose IoU with a
    kept box exceeds `iou_threshold` is suppressed.
    """
    boxes = np.ascontiguousarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.ascontiguousarray(scores, dtype=np.float32).reshape(-1)
    if boxes.shape[0] != scores.shape[0]:
        raise ValueError(f"{boxes.shape[0]} boxes but {scores.shape[0]} scores")
    return _nms_kernel(boxes, scores, np.float32(score_threshold), np.float32(iou_threshold), int(max_candidates))


def decode_picodet(boxes: np.ndarray, scores: np.ndarray, input_width: int, input_height: int, *,
                   score_threshold: float = 0.5, iou_threshold: float = 0.6,
                   max_candidates: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """PicoDet outputs (boxes [1, N, 4] x1,y1,x2,y2 in input pixels; scores [1, 1, N]) -> (scores [K],
    boxes [K, 4] normalised xmin, ymin, width, height, clipped to the input), highest score first after NMS.

    The normalisation divides by the input size, which is the image's normalised frame when the whole image was
    resized (stretched) into the input, as PaddleDetection's ``Resize(keep_ratio=False)`` does.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    keep = non_max_suppression(boxes, scores, score_threshold, iou_threshold, max_candidates)
    kept = boxes[keep].astype(np.float64)
    size = np.array([input_width, input_height, input_width, input_height], dtype=np.float64)
    kept = np.clip(kept / size, 0.0, 1.0)
    out = np.stack([kept[:, 0], kept[:, 1], kept[:, 2] - kept[:, 0], kept[:, 3] - kept[:, 1]], axis=1)
    return scores[keep].astype(np.float32), out.astype(np.float32)


# -- person crops ------------------------------------------------------------------------------------------------
def person_crop_rect(box_xyxy, expand_ratio: float = 0.3, aspect: float = 0.75) -> tuple[float, float, float, float]:
    """A detector box (x1, y1, x2, y2) -> the crop (cx, cy, w, h) for a top-down pose model, same units.

    Both sides grow by `expand_ratio` (PaddleDetection's ``expand_crop`` margin, 0.3), then the shorter side (relative
    to `aspect` = width / height of the model input, 96 / 128 = 3:4) grows until the crop has exactly that aspect, so
    the warp never distorts the person. Unlike ``expand_crop`` the crop is not clipped to the image: what lies
    outside is padded (black), as in training.
    """
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    if not (aspect > 0.0 and expand_ratio > -1.0):
        raise ValueError(f"aspect must be positive and expand_ratio > -1, got {aspect}, {expand_ratio}")
    w = max(x2 - x1, 0.0) * (1.0 + expand_ratio)
    h = max(y2 - y1, 0.0) * (1.0 + expand_ratio)
    if h * aspect > w:
        w = h * aspect
    else:
        h = w / aspect
    return (x1 + x2) * 0.5, (y1 + y2) * 0.5, w, h


def udp_crop_matrix(cx: float, cy: float, w: float, h: float, out_width: int, out_height: int) -> np.ndarray:
    """2 x 3 affine for cv2.warpAffine (image pixel centres -> model input pixel centres) of the crop centred at
    (cx, cy) (edge-based pixel coordinates, i.e. normalised x W) with size w x h, UDP style: the crop's left edge
    lands on input column 0 and its right edge on column out_width - 1."""
    if w <= 0.0 or h <= 0.0:
        raise ValueError(f"crop size must be positive, got {w} x {h}")
    sx = (out_width - 1.0) / w
    sy = (out_height - 1.0) / h
    # cv2 x of the crop's left edge = (cx - w/2) - 0.5 (pixel centres at integers)
    x0 = cx - 0.5 * w - 0.5
    y0 = cy - 0.5 * h - 0.5
    return np.array([[sx, 0.0, -sx * x0], [0.0, sy, -sy * y0]], dtype=np.float64)


def crop_person(rgb: np.ndarray, rect_px: tuple[float, float, float, float], out_width: int, out_height: int,
                mean=IMAGENET_MEAN, std=IMAGENET_STD) -> np.ndarray:
    """The UDP crop `rect_px` (cx, cy, w, h in edge-based pixels) of an H x W x 3 uint8 RGB image -> the model input
    (1, 3, out_height, out_width) float32, RGB/255 normalised by mean/std; zero (black) outside the image."""
    import cv2  # local: the kernels module stays importable without OpenCV for pure-array users

    matrix = udp_crop_matrix(*rect_px, out_width, out_height)
    patch = cv2.warpAffine(rgb, matrix, (int(out_width), int(out_height)), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return normalize_to_nchw(patch, mean, std, scale=1.0 / 255.0)


# -- heatmap decoding -----------------------------------------------------------------------------------------------
# OpenCV's fixed kernels for sizes <= 7 when sigma <= 0 (cv2.getGaussianKernel), which PaddleDetection's DARK blur
# (cv2.GaussianBlur(hm, (k, k), 0)) therefore uses.
_SMALL_GAUSSIANS = {
    1: (1.0,),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
}
_KERNELS: dict[int, np.ndarray] = {}


def gaussian_kernel_1d(ksize: int) -> np.ndarray:
    """The normalised 1-D Gaussian of odd size `ksize` that OpenCV uses for sigma 0 (read-only): fixed binomial
    coefficients up to 7, else sigma = 0.3 ((k - 1) / 2 - 1) + 0.8."""
    if ksize < 1 or ksize % 2 == 0:
        raise ValueError(f"kernel size must be odd and positive, got {ksize}")
    kernel = _KERNELS.get(ksize)
    if kernel is None:
        if ksize in _SMALL_GAUSSIANS:
            kernel = np.array(_SMALL_GAUSSIANS[ksize], dtype=np.float64)
        else:
            sigma = 0.3 * ((ksize - 1) * 0.5 - 1.0) + 0.8
            d = np.arange(ksize, dtype=np.float64) - ksize // 2
            kernel = np.exp(-(d * d) / (2.0 * sigma * sigma))
            kernel /= kernel.sum()
        kernel.setflags(write=False)
        _KERNELS[ksize] = kernel
    return kernel


@jit
def _argmax_2d(hm):  # pragma: no cover - compiled
    height, width = hm.shape
    best = hm[0, 0]
    bx = 0
    by = 0
    for y in range(height):
        for x in range(width):
            if hm[y, x] > best:
                best = hm[y, x]
                bx = x
                by = y
    return bx, by, best


@jit
def _blurred_at(hm, g, x, y):  # pragma: no cover - compiled
    """The zero-padded Gaussian blur of `hm` at (x, y) (separable kernel g)."""
    height, width = hm.shape
    radius = g.shape[0] // 2
    total = 0.0
    for j in range(g.shape[0]):
        yy = y + j - radius
        if yy < 0 or yy >= height:
            continue
        row = 0.0
        for i in range(g.shape[0]):
            xx = x + i - radius
            if 0 <= xx < width:
                row += g[i] * hm[yy, xx]
        total += g[j] * row
    return total


@jit
def _decode_kernel(heatmaps, g, use_dark, coords, scores):  # pragma: no cover - compiled
    joints, height, width = heatmaps.shape
    logv = np.empty((3, 3), dtype=np.float64)
    for k in range(joints):
        hm = heatmaps[k]
        px, py, best = _argmax_2d(hm)
        scores[k] = best
        cx = float(px)
        cy = float(py)
        if use_dark and 1 <= px <= width - 2 and 1 <= py <= height - 2:
            for dy in range(3):
                for dx in range(3):
                    value = _blurred_at(hm, g, px + dx - 1, py + dy - 1)
                    logv[dy, dx] = math.log(max(value, 1e-10))
            gx = 0.5 * (logv[1, 2] - logv[1, 0])
            gy = 0.5 * (logv[2, 1] - logv[0, 1])
            hxx = logv[1, 2] - 2.0 * logv[1, 1] + logv[1, 0]
            hyy = logv[2, 1] - 2.0 * logv[1, 1] + logv[0, 1]
            hxy = 0.25 * (logv[2, 2] - logv[2, 0] - logv[0, 2] + logv[0, 0])
            det = hxx * hyy - hxy * hxy
            # A Newton step only at a true (negative definite) maximum; elsewhere it would walk away from it.
            if det > 1e-12 and hxx < 0.0:
                ox = -(hyy * gx - hxy * gy) / det
                oy = -(hxx * gy - hxy * gx) / det
                cx += min(1.0, max(-1.0, ox))
                cy += min(1.0, max(-1.0, oy))
        coords[k, 0] = cx
        coords[k, 1] = cy


def _check_heatmaps(heatmaps: np.ndarray) -> np.ndarray:
    hm = np.asarray(heatmaps)
    if hm.ndim == 4:
        if hm.shape[0] != 1:
            raise ValueError(f"expected the heatmaps of one person (batch 1), got shape {hm.shape}")
        hm = hm[0]
    if hm.ndim != 3 or hm.shape[1] < 1 or hm.shape[2] < 1:
        raise ValueError(f"expected heatmaps K x H x W (or 1 x K x H x W), got shape {np.shape(heatmaps)}")
    return np.ascontiguousarray(hm, dtype=np.float32)


_NO_BLUR = np.ones(1, dtype=np.float64)


def argmax_heatmaps(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain decoding: (coords K x 2 = integer arg-max cell (x, y) as float64, scores K = the maxima)."""
    hm = _check_heatmaps(heatmaps)
    coords = np.empty((hm.shape[0], 2), dtype=np.float64)
    scores = np.empty(hm.shape[0], dtype=np.float32)
    _decode_kernel(hm, _NO_BLUR, False, coords, scores)
    return coords, scores


def dark_heatmaps(heatmaps: np.ndarray, kernel_size: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """DARK decoding: (coords K x 2 sub-cell (x, y) in heatmap cells, scores K = the raw maxima).

    Gaussian smoothing of size `kernel_size` (1 = none), log, second-order Taylor expansion at the arg-max, one
    Newton step (limited to one cell, and only where the log-heatmap is a proper maximum). Keypoints whose arg-max
    lies on the heatmap border keep the integer cell.
    """
    hm = _check_heatmaps(heatmaps)
    coords = np.empty((hm.shape[0], 2), dtype=np.float64)
    scores = np.empty(hm.shape[0], dtype=np.float32)
    _decode_kernel(hm, gaussian_kernel_1d(kernel_size), True, coords, scores)
    return coords, scores


@jit
def _to_image_kernel(coords, x0, y0, sx, sy, out):  # pragma: no cover - compiled
    for k in range(coords.shape[0]):
        out[k, 0] = x0 + coords[k, 0] * sx
        out[k, 1] = y0 + coords[k, 1] * sy


def _udp_factors(rect, input_size, heatmap_size, heatmap_scale) -> tuple[float, float, float, float]:
    """(x0, y0, sx, sy): image = (x0, y0) + heatmap cell * (sx, sy) for the UDP crop `rect`."""
    if heatmap_scale not in HEATMAP_SCALES:
        raise ValueError(f"heatmap_scale must be one of {HEATMAP_SCALES}, got {heatmap_scale!r}")
    cx, cy, w, h = (float(v) for v in rect)
    in_w, in_h = input_size
    hm_w, hm_h = heatmap_size
    if heatmap_scale == "udp":
        kx = (in_w - 1.0) / max(hm_w - 1.0, 1.0)
        ky = (in_h - 1.0) / max(hm_h - 1.0, 1.0)
    else:
        kx = in_w / hm_w
        ky = in_h / hm_h
    # heatmap -> input (k), input -> crop (UDP: crop size / (input size - 1)), crop -> image (its top-left corner)
    return cx - 0.5 * w, cy - 0.5 * h, kx * w / (in_w - 1.0), ky * h / (in_h - 1.0)


def heatmaps_to_image(coords: np.ndarray, rect: tuple[float, float, float, float], input_size: tuple[int, int],
                      heatmap_size: tuple[int, int], heatmap_scale: str = "stride") -> np.ndarray:
    """Heatmap cells (K x 2, x y) -> normalised image coordinates through the UDP crop `rect`.

    `rect` = (cx, cy, w, h) of the crop, normalised (any consistent unit works: the result is in that unit);
    `input_size` and `heatmap_size` are (width, height). Heatmap -> input scale per `heatmap_scale` (see the module
    docstring), input -> crop scale w / (W_in - 1) (UDP).
    """
    x0, y0, sx, sy = _udp_factors(rect, input_size, heatmap_size, heatmap_scale)
    c = np.ascontiguousarray(coords, dtype=np.float64).reshape(-1, 2)
    out = np.empty_like(c)
    _to_image_kernel(c, x0, y0, sx, sy, out)
    return out


@jit
def _landmarks_kernel(heatmaps, g, use_dark, x0, y0, sx, sy, out):  # pragma: no cover - compiled
    joints = heatmaps.shape[0]
    coords = np.empty((joints, 2), dtype=np.float64)
    scores = np.empty(joints, dtype=np.float32)
    _decode_kernel(heatmaps, g, use_dark, coords, scores)
    for k in range(joints):
        score = min(1.0, max(0.0, scores[k]))
        out[k, 0] = x0 + coords[k, 0] * sx
        out[k, 1] = y0 + coords[k, 1] * sy
        out[k, 2] = 0.0
        out[k, 3] = score
        out[k, 4] = score


def decode_heatmaps(heatmaps: np.ndarray, rect: tuple[float, float, float, float], input_size: tuple[int, int], *,
                    method: str = "dark", kernel_size: int = 3, heatmap_scale: str = "stride") -> np.ndarray:
    """Heatmaps of one person -> landmarks K x 5 (x, y, z = 0, visibility = presence = score), normalised.

    `method` is "dark" or "argmax"; scores are the heatmap maxima clipped to [0, 1]. One Numba call: arg-max,
    DARK refinement and the UDP transform back through `rect` (see `heatmaps_to_image`).
    """
    hm = _check_heatmaps(heatmaps)
    if method not in ("dark", "argmax"):
        raise ValueError(f"method must be 'dark' or 'argmax', got {method!r}")
    x0, y0, sx, sy = _udp_factors(rect, input_size, (hm.shape[2], hm.shape[1]), heatmap_scale)
    g = gaussian_kernel_1d(kernel_size) if method == "dark" else _NO_BLUR
    landmarks = np.empty((hm.shape[0], 5), dtype=np.float32)
    _landmarks_kernel(hm, g, method == "dark", x0, y0, sx, sy, landmarks)
    return landmarks
