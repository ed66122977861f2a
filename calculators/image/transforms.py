"""Rotated-ROI crops to model tensors, exactly as MediaPipe's CPU `ImageToTensorCalculator` makes them.

MediaPipe's OpenCV converter (`image_to_tensor_converter_opencv.cc`, `image_to_tensor_utils.cc`) does, per frame:

1. ROI in pixels from the NormalizedRect (`GetRoi`): centre = x_center * W, size = width * W, height * H, all in
   float32; the whole image when no rect is given.
2. `PadRoi` when keep_aspect_ratio: the ROI grows along one axis to the tensor's aspect ratio; the fraction added on
   each side is the letterbox padding (left, top, right, bottom; left == right, top == bottom).
3. `RotatedRect(centre, size, rotation in degrees).points()` -> 4 source corners (see `box_points`), mapped to
   the tensor corners (bottom-left, top-left, top-right, bottom-right) with `cv::getPerspectiveTransform`.
4. `cv::warpPerspective(INTER_LINEAR, BORDER_CONSTANT(0) or BORDER_REPLICATE)` on the *uint8* image: the crop is
   rounded to uint8 before the value-range conversion.
5. `convertTo(float, scale, offset)` with scale = (b - a) / 255, offset = a: uint8 [0, 255] -> [a, b], computed
   as two float32 operations (product rounded, then sum rounded; verified against MediaPipe's landmarks, an FMA
   here shifts them by ~0.01 px).

Which graph uses what (MediaPipe Tasks, the reference here):
- pose detector: 224x224, keep_aspect_ratio, BORDER_ZERO, [-1, 1] (from the model metadata: mean = std = 127.5);
- pose landmarks: 256x256, no keep_aspect_ratio (the ROI is already square in pixels), BORDER_REPLICATE (the
  calculator default), [0, 1] (mean 0, std 255).

Two warp back ends give the uint8 crop:
- "classic" (default): a Numba re-implementation of OpenCV <= 4.10's fixed-point warpPerspective (1/32-pixel
  coordinate grid, 15-bit bilinear weights, the same 64x16 blocks), which is what MediaPipe's bundled OpenCV runs:
  with it, BlazePose landmarks match MediaPipe's to the last bit on most images. OpenCV >= 4.11 rewrote the warp
  kernels in floating point; `cv2.warpPerspective` of opencv-python 5.0 differs by up to 3-4 grey levels on
  thousands of pixels, which moves landmarks by up to ~100 px on hard images.
- "opencv": `cv2.warpPerspective` of the installed OpenCV (a little faster; exact only with OpenCV <= 4.10).

How "classic" runs fast: OpenCV <= 4.10's warpPerspective was two steps, fixed-point maps (source pixel as int16
x, y and the 1/32 fractions) computed per 64x16 block, then `remap` on them. Only the first step changed in 4.11;
`cv2.remap` with those CV_16SC2 + CV_16UC1 maps still runs the integer bilinear path. So the maps are computed here
and handed to `cv2.remap`: for an axis-aligned crop (letterboxes, MoveNet's crops) one table per axis in numpy
(`_axis_aligned_maps`), for a rotated or projective one a vectorised Numba kernel (warp_kernels.py); with a zero
border only the window that reads the image is remapped. Once per process `_remap_is_classic` checks `cv2.remap`
on random maps (inside, across the edges of and far outside the image; 1, 3 and 4 channels, both borders) against
a numpy statement of the classic integer bilinear (`_bilinear_reference`) and, should an OpenCV release ever change
remap, falls back to the all-Numba kernel. Numba is imported only when a crop needs it (a rotated crop, a float
tensor of another range than [0, 255], that fallback): axis-aligned uint8 crops (MoveNet, PoseNet) and [0, 255]
float letterboxes (OpenPose) run without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ..types import LetterboxPadding, NormalizedRect

__all__ = [
    "BorderMode",
    "CornerForm",
    "CropResult",
    "PixelRoi",
    "WarpBackend",
    "box_points",
    "crop_matrix",
    "image_to_tensor",
    "pad_roi",
    "perspective_transform",
    "remove_letterbox",
    "roi_in_pixels",
    "value_range_transform",
    "warp_perspective_classic",
]

BorderMode = Literal["zero", "replicate"]
WarpBackend = Literal["classic", "opencv"]
Interpolation = Literal["linear", "cubic"]
# How the last two corners of a rotated rect are computed (see `box_points`): "direct" as newer OpenCV (5.x; what
# MediaPipe Tasks 1.x crops with), "reflected" as OpenCV 4.10 (the form of the OpenCV in mediapipe 0.10.x).
CornerForm = Literal["direct", "reflected"]

_F32 = np.float32


@dataclass(frozen=True, slots=True)
class PixelRoi:
    """A rotated rectangle in image pixels (MediaPipe's `RotatedRect`), float32 values; rotation in radians."""

    center_x: float
    center_y: float
    width: float
    height: float
    rotation: float = 0.0


@dataclass(frozen=True, slots=True)
class CropResult:
    """What `image_to_tensor` produced.

    `tensor` is H x W x 3 float32. `matrix` is the 3x3 affine that maps *normalised tensor* coordinates (u, v in
    [0, 1]) to *normalised image* coordinates: the x/y part of MediaPipe's MATRIX output; z in the tensor scales by
    `z_scale` (= ROI width / image width). `roi` is the padded pixel ROI that was sampled.
    """

    tensor: np.ndarray
    padding: LetterboxPadding
    matrix: np.ndarray
    roi: PixelRoi
    z_scale: float


def roi_in_pixels(rect: NormalizedRect | None, image_width: int, image_height: int) -> PixelRoi:
    """MediaPipe `GetRoi`: the NormalizedRect scaled to pixels in float32 (the whole image when rect is None)."""
    w, h = _F32(image_width), _F32(image_height)
    if rect is None:
        return PixelRoi(float(_F32(0.5) * w), float(_F32(0.5) * h), float(w), float(h), 0.0)
    return PixelRoi(
        float(_F32(rect.x_center) * w),
        float(_F32(rect.y_center) * h),
        float(_F32(rect.width) * w),
        float(_F32(rect.height) * h),
        float(_F32(rect.rotation)),
    )


def pad_roi(roi: PixelRoi, tensor_width: int, tensor_height: int,
            keep_aspect_ratio: bool) -> tuple[PixelRoi, LetterboxPadding]:
    """MediaPipe `PadRoi`: grow the ROI to the tensor aspect ratio and return the letterbox fractions.

    Done in float32 like the C++ so that the crop (and the padding removed later) match bit for bit.
    """
    if not keep_aspect_ratio:
        return roi, LetterboxPadding(0.0, 0.0, 0.0, 0.0)
    if roi.width <= 0 or roi.height <= 0:
        raise ValueError("ROI width and height must be > 0")
    one, two = _F32(1.0), _F32(2.0)
    tensor_aspect = _F32(tensor_height) / _F32(tensor_width)
    rw, rh = _F32(roi.width), _F32(roi.height)
    roi_aspect = rh / rw
    vpad = hpad = _F32(0.0)
    if tensor_aspect > roi_aspect:
        new_w, new_h = rw, rw * tensor_aspect
        vpad = (one - roi_aspect / tensor_aspect) / two
    else:
        new_w, new_h = rh / tensor_aspect, rh
        hpad = (one - tensor_aspect / roi_aspect) / two
    padded = PixelRoi(roi.center_x, roi.center_y, float(new_w), float(new_h), roi.rotation)
    return padded, LetterboxPadding(float(hpad), float(vpad), float(hpad), float(vpad))


def value_range_transform(range_min: float, range_max: float) -> tuple[float, float]:
    """MediaPipe `GetValueRangeTransformation` from [0, 255]: (scale, offset), float32."""
    if not range_min < range_max:
        raise ValueError("invalid value range: min >= max")
    scale = (_F32(range_max) - _F32(range_min)) / _F32(255.0)
    offset = _F32(range_min) - _F32(0.0) * scale
    return float(scale), float(offset)


def box_points(roi: PixelRoi, corners: CornerForm = "direct") -> np.ndarray:
    """The 4 corners of a rotated rect as `cv::RotatedRect::points` computes them (bottom-left, top-left,
    top-right, bottom-right for rotation 0), float32.

    The angle goes through float32 degrees like MediaPipe's `roi.rotation * 180.f / M_PI`; cos/sin in double,
    rounded to float, halved. The first two corners are computed from the centre. The last two differ between
    OpenCV releases, in the last bit and so, through the 1/32-pixel sampling grid, in a few crop pixels:
    "direct" computes them from the centre too (newer OpenCV, e.g. 5.x's `cv2.boxPoints`; it reproduces MediaPipe
    Tasks 1.x's crops); "reflected" takes 2 * centre - the opposite corner (OpenCV 4.10's `cv2.boxPoints`, and the
    OpenCV inside mediapipe 0.10.x: measured to reproduce 0.10.21's crops exactly, where "direct" differs by 1-2 grey levels
    in a few pixels).
    """
    f = _F32
    angle = f(float(f(roi.rotation) * f(180.0)) / math.pi)
    rad = float(angle) * math.pi / 180.0
    b = f(f(math.cos(rad)) * f(0.5))
    a = f(f(math.sin(rad)) * f(0.5))
    cx, cy, w, h = f(roi.center_x), f(roi.center_y), f(roi.width), f(roi.height)
    p0 = (cx - a * h - b * w, cy + b * h - a * w)
    p1 = (cx + a * h - b * w, cy - b * h - a * w)
    if corners == "reflected":
        p2 = (f(2.0) * cx - p0[0], f(2.0) * cy - p0[1])
        p3 = (f(2.0) * cx - p1[0], f(2.0) * cy - p1[1])
    else:
        p2 = (cx + a * h + b * w, cy - b * h + a * w)
        p3 = (cx - a * h + b * w, cy + b * h + a * w)
    return np.array([p0, p1, p2, p3], dtype=np.float32)


def perspective_transform(roi: PixelRoi, tensor_width: int, tensor_height: int,
                          corners: CornerForm = "direct") -> np.ndarray:
    """The 3x3 image-pixel -> tensor-pixel matrix MediaPipe hands to `cv::warpPerspective`.

    `box_points` of the rotated rect mapped to the tensor corners (bottom-left first) with
    `cv::getPerspectiveTransform` (an 8x8 LU solve in double; its last-bit details do not change the crops).
    """
    dst = _TENSOR_CORNERS.get((tensor_width, tensor_height))
    if dst is None:
        dst = _TENSOR_CORNERS[(tensor_width, tensor_height)] = np.array(
            [[0.0, tensor_height], [0.0, 0.0], [tensor_width, 0.0], [tensor_width, tensor_height]], dtype=np.float32)
    return cv2.getPerspectiveTransform(box_points(roi, corners), dst)


_TENSOR_CORNERS: dict[tuple[int, int], np.ndarray] = {}  # per tensor size: its corners, bottom-left first


def crop_matrix(roi: PixelRoi, image_width: int, image_height: int, flip_horizontally: bool = False) -> np.ndarray:
    """MediaPipe `GetRotatedSubRectToRectTransformMatrix` (x/y part): normalised crop -> normalised image, 3x3."""
    a, b = _F32(roi.width), _F32(roi.height)
    flip = _F32(-1.0 if flip_horizontally else 1.0)
    c, d = _F32(math.cos(_F32(roi.rotation))), _F32(math.sin(_F32(roi.rotation)))
    e, f = _F32(roi.center_x), _F32(roi.center_y)
    g, h = _F32(1.0) / _F32(image_width), _F32(1.0) / _F32(image_height)
    half = _F32(0.5)
    m = np.zeros((3, 3), dtype=np.float32)
    m[0, 0] = a * c * flip * g
    m[0, 1] = -b * d * g
    m[0, 2] = (-half * a * c * flip + half * b * d + e) * g
    m[1, 0] = a * d * flip * h
    m[1, 1] = b * c * h
    m[1, 2] = (-half * b * c - half * a * d * flip + f) * h
    m[2, 2] = 1.0
    return m


def _crop_setup(rect: NormalizedRect | None, image_width: int, image_height: int, tensor_width: int,
                tensor_height: int, keep_aspect_ratio: bool,
                corners: CornerForm) -> tuple[PixelRoi, LetterboxPadding, np.ndarray, np.ndarray]:
    """(padded pixel ROI, padding, forward perspective matrix, crop matrix): `roi_in_pixels`, `pad_roi`,
    `perspective_transform` and `crop_matrix`."""
    roi, padding = pad_roi(roi_in_pixels(rect, image_width, image_height), tensor_width, tensor_height,
                           keep_aspect_ratio)
    fwd = perspective_transform(roi, tensor_width, tensor_height, corners)
    return roi, padding, fwd, crop_matrix(roi, image_width, image_height)


# ---------------------------------------------------------------------------------------------------------------
# Classic OpenCV warpPerspective (fixed point): maps + cv2.remap, or the Numba kernel (warp_kernels.py).
# ---------------------------------------------------------------------------------------------------------------

def _kernels():
    """The Numba kernels, imported on first use (see warp_kernels.py: axis-aligned uint8 crops never need them)."""
    from . import warp_kernels
    return warp_kernels


_U = 2.0 ** -53  # unit roundoff of a double


def _axis_aligned_maps(minv: np.ndarray, out_w: int, out_h: int, row0: int, col0: int, xy: np.ndarray,
                       alpha: np.ndarray) -> bool:
    """`warp_kernels.fixed_point_maps` for a scaling + shift (letterboxes, unrotated crops such as MoveNet's), in
    numpy: one table per axis, from the same doubles in the same order (X0 at the first column of the pixel's 64x16
    block, plus M0 * x1; `_fixed_point` rounds as the kernel does), so every pixel gets the kernel's bits.

    `cv2.getPerspectiveTransform` + `cv2.invert` leave residuals of ~1e-17 where an unrotated crop's matrix has
    zeros (and ~1e-16 around its 1), which the kernel's per-pixel loop carries along. The tables are then used only
    when they provably round every pixel as that loop does: each value is farther from a rounding boundary (k + 1/2)
    than a bound on what the residuals and the loop's extra roundings can move it; where one is too close to call
    (~1 in 50 of MoveNet's crops), `_per_pixel_maps` repeats the loop's doubles in numpy. Returns False (maps
    untouched) for a rotated or projective crop."""
    (m0, m1, m2), (m3, m4, m5), (m6, m7, m8) = minv.tolist()
    exact = m1 == 0.0 and m3 == 0.0 and m6 == 0.0 and m7 == 0.0 and m8 == 1.0
    win_h, win_w = alpha.shape
    bh0 = min(16, out_h)
    bw0 = min(1024 // bh0, out_w)
    xx = np.arange(col0, col0 + win_w)
    x = xx - xx % bw0
    fx = (m0 * x + m2 + m0 * (xx - x)) * 32.0  # the kernel's (m0 * x + m1 * y + m2 + m0 * x1) * 32 / w, m1 = 0, w = 1
    yy = np.arange(row0, row0 + win_h)
    fy = (m4 * yy + m5) * 32.0
    if not exact:
        y_max = row0 + win_h
        w_err = abs(m6) * out_w + abs(m7) * y_max + abs(m8 - 1.0) + 4 * _U  # |w - 1| in the kernel
        x_mag = 32.0 * (abs(m0) * out_w + abs(m1) * y_max + abs(m2)) + 1.0  # bounds every intermediate value
        y_mag = 32.0 * (abs(m3) * out_w + abs(m4) * y_max + abs(m5)) + 1.0
        if w_err > 1e-6 or max(x_mag, y_mag) > 2.0 ** 30:
            return False
        x_tol = 2.0 * (32.0 * abs(m1) * y_max * 1.01 + 2.0 * w_err * x_mag + 16 * _U * x_mag)
        y_tol = 2.0 * (32.0 * abs(m3) * out_w * 1.01 + 2.0 * w_err * y_mag + 16 * _U * y_mag)
        if (np.abs(fx - np.floor(fx) - 0.5).min() <= x_tol or np.abs(fy - np.floor(fy) - 0.5).min() <= y_tol):
            if abs(m1) > 1e-9 or abs(m3) > 1e-9:
                return False  # rotated or sheared: the Numba kernel
            # An unrotated crop too close to call (~1 in 50 of MoveNet's): the kernel's per-pixel doubles in numpy
            _per_pixel_maps(minv, out_w, out_h, row0, col0, xy, alpha)
            return True
    ix = _fixed_point(fx)
    iy = _fixed_point(fy)
    sx = np.minimum(np.maximum(ix >> 5, -32768), 32767) & 0xFFFF
    sy = np.minimum(np.maximum(iy >> 5, -32768), 32767) << 16
    np.add(sy[:, None], sx[None, :], out=xy)  # == sx | sy (the low 16 bits of sy are 0); numpy adds faster
    np.add(((iy & 31) * 32).astype(np.uint16)[:, None], (ix & 31).astype(np.uint16)[None, :], out=alpha)
    return True


def _per_pixel_maps(minv: np.ndarray, out_w: int, out_h: int, row0: int, col0: int, xy: np.ndarray,
                    alpha: np.ndarray) -> None:
    """`warp_kernels.fixed_point_maps` in numpy, pixel by pixel: the same doubles combined in the same order, so
    the same bits (~0.3 ms for 192 x 192; only for the unrotated crops `_axis_aligned_maps` cannot prove, so that
    graphs of unrotated crops never load Numba)."""
    (m0, m1, m2), (m3, m4, m5), (m6, m7, m8) = minv.tolist()
    win_h, win_w = alpha.shape
    bh0 = min(16, out_h)
    bw0 = min(1024 // bh0, out_w)
    xx = np.arange(col0, col0 + win_w)
    x = (xx - xx % bw0).astype(np.float64)
    x1 = (xx - x).astype(np.float64)
    yy = np.arange(row0, row0 + win_h, dtype=np.float64)[:, None]
    x0 = m0 * x + m1 * yy + m2
    y0 = m3 * x + m4 * yy + m5
    w = m6 * x + m7 * yy + m8 + m6 * x1
    w = np.divide(32.0, w, out=np.zeros_like(w), where=w != 0.0)
    ix = _fixed_point((x0 + m0 * x1) * w)
    iy = _fixed_point((y0 + m3 * x1) * w)
    sx = np.minimum(np.maximum(ix >> 5, -32768), 32767) & 0xFFFF
    sy = np.minimum(np.maximum(iy >> 5, -32768), 32767) << 16
    np.add(sy, sx, out=xy)
    np.add((iy & 31) * 32, ix & 31, out=alpha, casting="unsafe")


def _fixed_point(v: np.ndarray) -> np.ndarray:
    """Doubles (a new array, changed in place) -> int32 as the kernels round them: saturated to the int32 range,
    then round-half-even through + 1.5 * 2**52 - 1.5 * 2**52."""
    np.minimum(np.maximum(v, -2147483648.0, out=v), 2147483647.0, out=v)
    v += 6755399441055744.0
    v -= 6755399441055744.0
    return v.astype(np.int32)


def _bilinear_reference(src: np.ndarray, xy: np.ndarray, alpha: np.ndarray, replicate: bool) -> np.ndarray:
    """What OpenCV <= 4.10's `remap(INTER_LINEAR)` makes of fixed-point maps on a uint8 image, in numpy: taps at
    (x, y), (x + 1, y), (x, y + 1), (x + 1, y + 1) weighted (32 - ax)(32 - ay) * 32 etc. (15 bits in all), rounded
    with + 2^14 >> 15; a tap outside the image reads 0 (BORDER_CONSTANT) or the nearest edge pixel (REPLICATE).
    Slow; only for `_remap_is_classic`'s check on small images."""
    h, w = src.shape[:2]
    sx = xy[:, :, 0].astype(np.int64)
    sy = xy[:, :, 1].astype(np.int64)
    ax = (alpha & 31).astype(np.int64)
    ay = (alpha >> 5).astype(np.int64)
    acc = np.zeros(xy.shape[:2] + (src.shape[2],), dtype=np.int64)
    for dy, dx, weight in ((0, 0, (32 - ax) * (32 - ay)), (0, 1, ax * (32 - ay)), (1, 0, (32 - ax) * ay),
                           (1, 1, ax * ay)):
        tx, ty = sx + dx, sy + dy
        inside = (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h)
        pixels = src[np.clip(ty, 0, h - 1), np.clip(tx, 0, w - 1)].astype(np.int64)
        if not replicate:
            pixels[~inside] = 0
        acc += pixels * (weight * 32)[:, :, None]
    return ((acc + (1 << 14)) >> 15).astype(np.uint8)


def _sampled_window(fwd: np.ndarray, src_w: int, src_h: int, width: int, height: int) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1): output pixels outside this window read no source pixel at all, so that with a zero
    border they are 0. The source rectangle grown by 2 pixels (a bilinear tap reaches one pixel further) is mapped
    through the affine `fwd` and its bounding box grown by one output pixel; the whole output when `fwd` is
    projective."""
    if abs(fwd[2, 0]) > 1e-12 or abs(fwd[2, 1]) > 1e-12 or fwd[2, 2] <= 0:
        return 0, height, 0, width
    corners = np.array([[-2.0, -2.0, 1.0], [src_w + 2.0, -2.0, 1.0], [-2.0, src_h + 2.0, 1.0],
                        [src_w + 2.0, src_h + 2.0, 1.0]]) @ np.asarray(fwd, np.float64).T
    xs = corners[:, 0] / corners[:, 2]
    ys = corners[:, 1] / corners[:, 2]
    col0 = min(max(int(math.floor(xs.min())) - 1, 0), width)
    col1 = min(max(int(math.ceil(xs.max())) + 2, col0), width)
    row0 = min(max(int(math.floor(ys.min())) - 1, 0), height)
    row1 = min(max(int(math.ceil(ys.max())) + 2, row0), height)
    return row0, row1, col0, col1


# (key, xy, alpha) of the last maps made: whole-frame letterboxes repeat them frame after frame. Replaced, never
# mutated, so that threads running graphs side by side see a consistent triple.
_last_maps: tuple[tuple, np.ndarray, np.ndarray] | None = None


def _warp_remap(src: np.ndarray, minv: np.ndarray, fwd: np.ndarray, width: int, height: int,
                border: BorderMode) -> np.ndarray:
    """The classic warp as OpenCV <= 4.10 ran it: fixed-point maps (`_axis_aligned_maps` or the Numba
    `fixed_point_maps` for rotated / projective crops), then `cv2.remap` with
    them, whose integer bilinear path (15-bit weights) did not change when 4.11 rewrote `warpPerspective`.
    Used only when `_remap_is_classic()` confirmed it on this OpenCV; about 3x faster than the Numba kernel. With a
    zero border only the window that reads the image is remapped (letterbox bands are zero-filled)."""
    cn = src.shape[2]
    row0, row1, col0, col1 = 0, height, 0, width
    if border == "zero":
        row0, row1, col0, col1 = _sampled_window(fwd, src.shape[1], src.shape[0], width, height)
    if row1 <= row0 or col1 <= col0:
        return np.zeros((height, width, cn), dtype=np.uint8)
    global _last_maps
    key = (minv.tobytes(), width, height, row0, row1, col0, col1)
    last = _last_maps
    if last is not None and last[0] == key:  # the same crop as the last one (a letterbox of same-size frames)
        xy, alpha = last[1], last[2]
    else:
        xy = np.empty((row1 - row0, col1 - col0, 2), dtype=np.int16)
        alpha = np.empty((row1 - row0, col1 - col0), dtype=np.uint16)
        if not _axis_aligned_maps(minv, width, height, row0, col0, xy.view(np.int32)[:, :, 0], alpha):
            _kernels().fixed_point_maps(minv, width, height, row0, col0, xy.view(np.int32)[:, :, 0], alpha)
        _last_maps = (key, xy, alpha)
    border_cv = cv2.BORDER_REPLICATE if border == "replicate" else cv2.BORDER_CONSTANT
    crop = cv2.remap(src, xy, alpha, cv2.INTER_LINEAR, borderMode=border_cv, borderValue=(0, 0, 0, 0))
    if crop.ndim == 2:
        crop = crop[:, :, None]
    if (row0, row1, col0, col1) == (0, height, 0, width):
        return crop
    out = np.zeros((height, width, cn), dtype=np.uint8)
    out[row0:row1, col0:col1] = crop
    return out


_remap_checked: bool | None = None


def _remap_is_classic() -> bool:
    """Whether the installed OpenCV's `remap` computes what OpenCV <= 4.10's did from fixed-point maps (checked
    once per process against `_bilinear_reference`, on random maps inside, across the edges of and far outside
    images with 1, 3 and 4 channels, both borders). When it does not (an OpenCV that changed its fixed-point
    remap), the Numba kernel alone is used."""
    global _remap_checked
    if _remap_checked is None:
        rng = np.random.default_rng(17)
        ok = True
        for cn in (3, 1, 4):
            img = rng.integers(0, 256, (37, 53, cn), dtype=np.uint8)
            xy = np.empty((24, 32, 2), dtype=np.int16)
            xy[:, :, 0] = rng.integers(-3, 56, (24, 32))
            xy[:, :, 1] = rng.integers(-3, 40, (24, 32))
            xy[0, :4] = [[-32768, -32768], [32767, 5], [5, 32767], [-1, -1]]  # saturated, far out, one tap in
            alpha = rng.integers(0, 1024, (24, 32)).astype(np.uint16)
            alpha[1, :4] = 0  # zero fraction: OpenCV's saturated 32767 weight must still give the pixel
            for replicate in (False, True):
                border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
                got = cv2.remap(img, xy, alpha, cv2.INTER_LINEAR, borderMode=border, borderValue=(0, 0, 0, 0))
                got = got.reshape(24, 32, cn)
                ok = ok and np.array_equal(got, _bilinear_reference(img, xy, alpha, replicate))
        _remap_checked = ok
    return _remap_checked


def warm_up(float_tensor: bool = True, identity_range: bool = False) -> None:
    """Run the OpenCV check and compile or load the Numba kernels a crop will need, so that no frame pays for it:
    the float conversion for float tensors of another range than [0, 255] (`identity_range`: that one is a plain
    cast, see `_to_float`). With the classic remap, uint8 tensors and [0, 255] float tensors load the Numba map
    kernel only on their first rotated crop."""
    classic = _remap_is_classic()
    if classic and (not float_tensor or identity_range):
        return
    k = _kernels()
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    k.u8_to_float_kernel(img, 1.0, 0.0, np.empty((4, 4, 3), dtype=np.float32))
    xy = np.empty((2, 2), dtype=np.int32)
    k.fixed_point_maps(np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]]), 2, 2, 0, 0, xy,
                       np.empty((2, 2), dtype=np.uint16))
    if not classic:  # the kernel is used alone, for uint8 and (fused) float tensors
        out = np.empty((2, 2, 3), dtype=np.uint8)
        k.warp_classic_kernel(img, np.eye(3), True, 1.0, 0.0, out, np.empty((2, 2, 0), dtype=np.float32), True,
                              False)
        k.warp_classic_kernel(img, np.eye(3), True, 1.0, 0.0, k.NO_U8, np.empty((2, 2, 3), dtype=np.float32),
                              False, True)


def _to_float(crop_u8: np.ndarray, scale: float, offset: float, out: np.ndarray) -> None:
    """uint8 crop -> float32 `out` as float(u) * scale + offset in float32 (MediaPipe's convertTo). For [0, 255]
    (scale 1, offset 0) every conversion is exact, so a numpy cast does it without Numba (~50 against ~30 us for
    432 x 368 x 3); other ranges take the Numba kernel, whose two float32 roundings a numpy multiply + add repeats
    only at ~10x the time."""
    if scale == 1.0 and offset == 0.0:
        if out.flags.c_contiguous and crop_u8.flags.c_contiguous:
            np.copyto(out.reshape(-1), crop_u8.reshape(-1), casting="unsafe")  # flat: about twice as fast
        else:
            np.copyto(out, crop_u8, casting="unsafe")
    else:
        _kernels().u8_to_float_kernel(crop_u8, scale, offset, out)


def warp_perspective_classic(image: np.ndarray, matrix: np.ndarray, width: int, height: int,
                             border: BorderMode = "zero") -> np.ndarray:
    """`cv2.warpPerspective(image, matrix, (width, height), INTER_LINEAR, border)` as OpenCV <= 4.10 computes it."""
    src = np.ascontiguousarray(image)
    if src.ndim == 2:
        src = src[:, :, None]
    minv = cv2.invert(np.asarray(matrix, dtype=np.float64), flags=cv2.DECOMP_LU)[1]
    if _remap_is_classic():
        out = _warp_remap(src, minv, np.asarray(matrix, dtype=np.float64), width, height, border)
    else:
        out = np.empty((height, width, src.shape[2]), dtype=np.uint8)
        shape_only = np.empty((height, width, 0), dtype=np.float32)
        _kernels().warp_classic_kernel(src, minv, border == "replicate", 1.0, 0.0, out, shape_only, True, False)
    return out if image.ndim == 3 else out[:, :, 0]


def image_to_tensor(image: np.ndarray, rect: NormalizedRect | None, tensor_width: int, tensor_height: int, *,
                    keep_aspect_ratio: bool, value_range: tuple[float, float], border: BorderMode = "zero",
                    backend: WarpBackend = "classic", out: np.ndarray | None = None,
                    interpolation: Interpolation = "linear", dtype: type = np.float32,
                    corners: CornerForm = "direct") -> CropResult:
    """Crop `rect` of an RGB uint8 image into a float32 tensor like MediaPipe's CPU ImageToTensorCalculator.

    `out` (tensor_height x tensor_width x 3 float32, e.g. a view of an interpreter input buffer) is written in place
    when given. RGBA input is reduced to RGB after the warp, as MediaPipe does. `dtype` np.uint8 (value_range must
    be (0, 255)) returns the uint8 crop itself, the same values as the float tensor without the conversion.

    interpolation "cubic" (for models trained on `cv2.resize(..., INTER_CUBIC)` input, e.g. PaddleDetection's
    PicoDet) samples with OpenCV's bicubic kernel and pixel-centre alignment: the whole frame stretched to the tensor
    is exactly `cv2.resize`; any other region is `cv2.warpPerspective(INTER_CUBIC)` on the centre-aligned matrix.
    MATRIX and padding are the same as for "linear". `corners`: see `box_points`.
    """
    if image.dtype != np.uint8 or image.ndim != 3:
        raise ValueError("image must be H x W x C uint8")
    as_u8 = np.dtype(dtype) == np.uint8
    if as_u8 and (tuple(value_range) != (0.0, 255.0) or out is not None):
        raise ValueError("a uint8 tensor needs value_range (0, 255) and no `out`")
    img_h, img_w = image.shape[0], image.shape[1]
    roi, padding, fwd, matrix = _crop_setup(rect, img_w, img_h, tensor_width, tensor_height, keep_aspect_ratio,
                                            corners)
    scale, offset = value_range_transform(*value_range)
    src = image if image.flags.c_contiguous else np.ascontiguousarray(image)
    crop_u8 = None
    if interpolation == "cubic":
        crop_u8 = _cubic_crop(src, rect is None and not keep_aspect_ratio, fwd, tensor_width, tensor_height, border)
    elif backend == "classic":
        minv = cv2.invert(fwd, flags=cv2.DECOMP_LU)[1]
        if _remap_is_classic():
            crop_u8 = _warp_remap(src, minv, fwd, tensor_width, tensor_height, border)
        elif as_u8 or src.shape[2] != 3:
            crop_u8 = np.empty((tensor_height, tensor_width, src.shape[2]), dtype=np.uint8)
            shape_only = np.empty((tensor_height, tensor_width, 0), dtype=np.float32)
            _kernels().warp_classic_kernel(src, minv, border == "replicate", 1.0, 0.0, crop_u8, shape_only, True,
                                           False)
        else:
            if out is None:
                out = np.empty((tensor_height, tensor_width, 3), dtype=np.float32)
            k = _kernels()
            k.warp_classic_kernel(src, minv, border == "replicate", scale, offset, k.NO_U8, out, False, True)
    else:
        border_cv = cv2.BORDER_REPLICATE if border == "replicate" else cv2.BORDER_CONSTANT
        crop_u8 = cv2.warpPerspective(src, fwd, (tensor_width, tensor_height), flags=cv2.INTER_LINEAR,
                                      borderMode=border_cv, borderValue=(0, 0, 0, 0))
    if crop_u8 is not None:
        if crop_u8.shape[2] != 3:
            crop_u8 = np.ascontiguousarray(crop_u8[:, :, :3])
        if as_u8:
            out = crop_u8
        else:
            if out is None:
                out = np.empty((tensor_height, tensor_width, 3), dtype=np.float32)
            _to_float(crop_u8, scale, offset, out)
    z_scale = float(_F32(roi.width) / _F32(img_w))
    return CropResult(tensor=out, padding=padding, matrix=matrix, roi=roi, z_scale=z_scale)


def _cubic_crop(src: np.ndarray, whole_frame: bool, fwd: np.ndarray, width: int, height: int,
                border: BorderMode) -> np.ndarray:
    """Bicubic, pixel-centre-aligned crop (uint8): `cv2.resize` for the whole frame, else a warp whose matrix maps
    pixel centres to pixel centres (tensor t + 0.5 = fwd(image q + 0.5))."""
    if whole_frame:
        return cv2.resize(src, (width, height), interpolation=cv2.INTER_CUBIC)
    shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    centred = np.linalg.inv(shift) @ np.asarray(fwd, np.float64) @ shift
    border_cv = cv2.BORDER_REPLICATE if border == "replicate" else cv2.BORDER_CONSTANT
    return cv2.warpPerspective(src, centred, (width, height), flags=cv2.INTER_CUBIC, borderMode=border_cv,
                               borderValue=(0, 0, 0, 0))


def remove_letterbox(points: np.ndarray, padding: LetterboxPadding) -> np.ndarray:
    """Map normalised tensor points (N x >=2, x then y) from a letterboxed tensor to the un-padded image.

    MediaPipe `LandmarkLetterboxRemovalCalculator`: x' = (x - left) / (1 - left - right), likewise y; float32;
    further columns (z, visibility, ...) are copied unchanged.
    """
    pts = np.array(points, dtype=np.float32, copy=True)
    left, top = _F32(padding.left), _F32(padding.top)
    lr = _F32(padding.left) + _F32(padding.right)
    tb = _F32(padding.top) + _F32(padding.bottom)
    pts[:, 0] = (pts[:, 0] - left) / (_F32(1.0) - lr)
    pts[:, 1] = (pts[:, 1] - top) / (_F32(1.0) - tb)
    return pts
