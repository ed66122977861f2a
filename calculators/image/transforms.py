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
(`_fixed_point_maps`, Numba, vectorised; one table per axis when the crop is not rotated) and handed to
`cv2.remap`; with a zero border only the window that reads the image is remapped. Once per process
`_remap_is_classic` compares that path with the all-Numba kernel on rotated, projective, scaled and partly-outside
crops (1, 3 and 4 channels, both borders) and, should an OpenCV release ever change remap, falls back to the kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from .._numba import jit
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
    dst_w, dst_h = float(tensor_width), float(tensor_height)
    dst = np.array([[0.0, dst_h], [0.0, 0.0], [dst_w, 0.0], [dst_w, dst_h]], dtype=np.float32)
    return cv2.getPerspectiveTransform(box_points(roi, corners), dst)


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



# ---------------------------------------------------------------------------------------------------------------
# The crop's geometry (roi_in_pixels, pad_roi, box_points, crop_matrix) in one compiled call, for image_to_tensor.
# ---------------------------------------------------------------------------------------------------------------

@jit
def _crop_geometry(xc: float, yc: float, rw: float, rh: float, rot: float, whole: bool, image_width: int,
                   image_height: int, tensor_width: int, tensor_height: int, keep_aspect_ratio: bool,
                   reflected: bool, roi_out: np.ndarray, pad_out: np.ndarray, points: np.ndarray,
                   matrix: np.ndarray) -> bool:
    """The float32 steps of `roi_in_pixels`, `pad_roi`, `box_points` and `crop_matrix`, operation for operation (no
    FMA: Numba does not contract), written to roi_out (cx, cy, w, h, rotation), pad_out (left, top, right, bottom),
    points (4 x 2) and matrix (3 x 3, zeroed by the caller). False when keep_aspect_ratio meets an empty ROI."""
    f = np.float32
    w, h = f(image_width), f(image_height)
    if whole:
        cx, cy, width, height, rotation = f(0.5) * w, f(0.5) * h, w, h, f(0.0)
    else:
        cx, cy, width, height, rotation = f(xc) * w, f(yc) * h, f(rw) * w, f(rh) * h, f(rot)
    hpad = vpad = f(0.0)
    if keep_aspect_ratio:
        if width <= f(0.0) or height <= f(0.0):
            return False
        tensor_aspect = f(tensor_height) / f(tensor_width)
        roi_aspect = height / width
        if tensor_aspect > roi_aspect:
            width, height = width, width * tensor_aspect
            vpad = (f(1.0) - roi_aspect / tensor_aspect) / f(2.0)
        else:
            width, height = height / tensor_aspect, height
            hpad = (f(1.0) - tensor_aspect / roi_aspect) / f(2.0)
    roi_out[0], roi_out[1], roi_out[2], roi_out[3], roi_out[4] = cx, cy, width, height, rotation
    pad_out[0], pad_out[1], pad_out[2], pad_out[3] = hpad, vpad, hpad, vpad
    # box_points
    angle = f(np.float64(rotation * f(180.0)) / math.pi)
    rad = np.float64(angle) * math.pi / 180.0
    b = f(math.cos(rad)) * f(0.5)
    a = f(math.sin(rad)) * f(0.5)
    points[0, 0], points[0, 1] = cx - a * height - b * width, cy + b * height - a * width
    points[1, 0], points[1, 1] = cx + a * height - b * width, cy - b * height - a * width
    if reflected:
        points[2, 0], points[2, 1] = f(2.0) * cx - points[0, 0], f(2.0) * cy - points[0, 1]
        points[3, 0], points[3, 1] = f(2.0) * cx - points[1, 0], f(2.0) * cy - points[1, 1]
    else:
        points[2, 0], points[2, 1] = cx + a * height + b * width, cy - b * height + a * width
        points[3, 0], points[3, 1] = cx - a * height + b * width, cy + b * height + a * width
    # crop_matrix (no flip)
    c, d = f(math.cos(np.float64(rotation))), f(math.sin(np.float64(rotation)))
    g, k = f(1.0) / w, f(1.0) / h
    half = f(0.5)
    one = f(1.0)
    matrix[0, 0] = width * c * one * g
    matrix[0, 1] = -height * d * g
    matrix[0, 2] = (-half * width * c * one + half * height * d + cx) * g
    matrix[1, 0] = width * d * one * k
    matrix[1, 1] = height * c * k
    matrix[1, 2] = (-half * height * c - half * width * d * one + cy) * k
    matrix[2, 2] = one
    return True


_TENSOR_CORNERS: dict[tuple[int, int], np.ndarray] = {}


def _crop_setup(rect: NormalizedRect | None, image_width: int, image_height: int, tensor_width: int,
                tensor_height: int, keep_aspect_ratio: bool,
                corners: CornerForm) -> tuple[PixelRoi, LetterboxPadding, np.ndarray, np.ndarray]:
    """(padded pixel ROI, padding, forward perspective matrix, crop matrix): what `roi_in_pixels`, `pad_roi`,
    `perspective_transform` and `crop_matrix` give, with their float32 arithmetic in one compiled call."""
    roi = np.empty(5, dtype=np.float32)
    pad = np.empty(4, dtype=np.float32)
    points = np.empty((4, 2), dtype=np.float32)
    matrix = np.zeros((3, 3), dtype=np.float32)
    whole = rect is None
    ok = _crop_geometry(0.0 if whole else rect.x_center, 0.0 if whole else rect.y_center,
                        0.0 if whole else rect.width, 0.0 if whole else rect.height,
                        0.0 if whole else rect.rotation, whole, int(image_width), int(image_height),
                        int(tensor_width), int(tensor_height), bool(keep_aspect_ratio), corners == "reflected", roi,
                        pad, points, matrix)
    if not ok:
        raise ValueError("ROI width and height must be > 0")
    dst = _TENSOR_CORNERS.get((tensor_width, tensor_height))
    if dst is None:
        dst = _TENSOR_CORNERS[(tensor_width, tensor_height)] = np.array(
            [[0.0, tensor_height], [0.0, 0.0], [tensor_width, 0.0], [tensor_width, tensor_height]], dtype=np.float32)
    fwd = cv2.getPerspectiveTransform(points, dst)
    r = roi.tolist()
    return PixelRoi(r[0], r[1], r[2], r[3], r[4]), LetterboxPadding(*pad.tolist()), fwd, matrix

# ---------------------------------------------------------------------------------------------------------------
# Classic OpenCV warpPerspective (fixed point), fused with the uint8 -> float conversion.
# ---------------------------------------------------------------------------------------------------------------

_NO_U8 = np.empty((1, 1, 1), dtype=np.uint8)  # placeholder when only the float tensor is wanted

# 1.5 * 2**52: adding then subtracting it rounds a double with |x| < 2**51 to the nearest integer, ties to even
# (`cvRound`, `np.rint`), in two additions that LLVM vectorises where a call to rint is not.
_RINT_MAGIC = 6755399441055744.0


@jit
def _warp_classic_kernel(src: np.ndarray, minv: np.ndarray, border_replicate: bool, scale: float, offset: float,
                         out_u8: np.ndarray, out_f32: np.ndarray, write_u8: bool, write_float: bool) -> None:
    """OpenCV <= 4.10 `warpPerspective(INTER_LINEAR)` for 8-bit images, bit-exact, fused with the float conversion.

    `minv` maps tensor pixels to image pixels (OpenCV inverts the forward matrix with `invert`; the caller does it
    with `cv2.invert` so that the doubles agree). Source coordinates are computed per 64x16 block exactly as OpenCV
    does (X0 at the block's first column plus M0 * x1), rounded to the 1/32 grid with round-half-even; the bilinear
    weights (32 - ax)(32 - ay) * 32 etc. sum to 32768 exactly (OpenCV's saturated 32767 + 1 for a zero fraction
    gives the same pixel); the value is (sum + 2^14) >> 15. Outside pixels follow `remapBilinear`: BORDER_CONSTANT
    (0) or BORDER_REPLICATE (clamped taps).
    """
    h_src, w_src, cn = src.shape
    out_h, out_w = out_f32.shape[0], out_f32.shape[1]
    flat = src.reshape(-1)
    row = w_src * cn
    m0, m1, m2 = minv[0, 0], minv[0, 1], minv[0, 2]
    m3, m4, m5 = minv[1, 0], minv[1, 1], minv[1, 2]
    m6, m7, m8 = minv[2, 0], minv[2, 1], minv[2, 2]
    block = 32
    bh0 = min(block // 2, out_h)
    bw0 = min(block * block // bh0, out_w)
    bh0 = min(block * block // bw0, out_h)
    width1 = max(w_src - 1, 0)
    height1 = max(h_src - 1, 0)
    fscale = np.float32(scale)
    foffset = np.float32(offset)
    half = np.int32(1 << 14)
    taps = np.empty(4, dtype=np.int64)
    ixs = np.empty(bw0, dtype=np.int32)
    iys = np.empty(bw0, dtype=np.int32)
    for y in range(0, out_h, bh0):
        bh = min(bh0, out_h - y)
        for x in range(0, out_w, bw0):
            bw = min(bw0, out_w - x)
            for y1 in range(bh):
                yy = y + y1
                x0 = m0 * x + m1 * yy + m2
                y0 = m3 * x + m4 * yy + m5
                w0 = m6 * x + m7 * yy + m8
                # Pass 1 (vectorisable): fixed-point source coordinates of this block row.
                for x1 in range(bw):
                    w = w0 + m6 * x1
                    w = 32.0 / w if w != 0.0 else 0.0
                    fx = max(-2147483648.0, min(2147483647.0, (x0 + m0 * x1) * w))
                    fy = max(-2147483648.0, min(2147483647.0, (y0 + m3 * x1) * w))
                    ixs[x1] = np.int32(np.rint(fx))
                    iys[x1] = np.int32(np.rint(fy))
                # Pass 2: bilinear taps.
                for x1 in range(bw):
                    ix = ixs[x1]
                    iy = iys[x1]
                    sx = max(-32768, min(32767, ix >> 5))
                    sy = max(-32768, min(32767, iy >> 5))
                    ax = np.int32(ix & 31)
                    ay = np.int32(iy & 31)
                    w00 = (32 - ax) * (32 - ay) * 32
                    w01 = ax * (32 - ay) * 32
                    w10 = (32 - ax) * ay * 32
                    w11 = ax * ay * 32
                    xo = x + x1
                    if 0 <= sx < width1 and 0 <= sy < height1:
                        b = sy * row + sx * cn
                        if cn == 3 and write_float and not write_u8:
                            # The hot path, unrolled: inside pixels of an RGB image into a float tensor.
                            b2 = b + row
                            v0 = (np.int32(flat[b]) * w00 + np.int32(flat[b + 3]) * w01
                                  + np.int32(flat[b2]) * w10 + np.int32(flat[b2 + 3]) * w11 + half) >> 15
                            v1 = (np.int32(flat[b + 1]) * w00 + np.int32(flat[b + 4]) * w01
                                  + np.int32(flat[b2 + 1]) * w10 + np.int32(flat[b2 + 4]) * w11 + half) >> 15
                            v2 = (np.int32(flat[b + 2]) * w00 + np.int32(flat[b + 5]) * w01
                                  + np.int32(flat[b2 + 2]) * w10 + np.int32(flat[b2 + 5]) * w11 + half) >> 15
                            out_f32[yy, xo, 0] = np.float32(v0) * fscale + foffset
                            out_f32[yy, xo, 1] = np.float32(v1) * fscale + foffset
                            out_f32[yy, xo, 2] = np.float32(v2) * fscale + foffset
                            continue
                        for k in range(cn):
                            acc = (np.int32(flat[b + k]) * w00 + np.int32(flat[b + cn + k]) * w01
                                   + np.int32(flat[b + row + k]) * w10 + np.int32(flat[b + row + cn + k]) * w11)
                            val = (acc + half) >> 15
                            if write_u8:
                                out_u8[yy, xo, k] = np.uint8(val)
                            if write_float:
                                out_f32[yy, xo, k] = np.float32(val) * fscale + foffset
                        continue
                    if not border_replicate and (sx >= w_src or sx + 1 < 0 or sy >= h_src or sy + 1 < 0):
                        for k in range(cn):
                            if write_u8:
                                out_u8[yy, xo, k] = 0
                            if write_float:
                                out_f32[yy, xo, k] = foffset
                        continue
                    if border_replicate:
                        xa = min(max(sx, 0), w_src - 1)
                        xb = min(max(sx + 1, 0), w_src - 1)
                        ya = min(max(sy, 0), h_src - 1)
                        yb = min(max(sy + 1, 0), h_src - 1)
                        taps[0] = ya * row + xa * cn
                        taps[1] = ya * row + xb * cn
                        taps[2] = yb * row + xa * cn
                        taps[3] = yb * row + xb * cn
                    else:
                        oka = 0 <= sx < w_src
                        okb = 0 <= sx + 1 < w_src
                        okya = 0 <= sy < h_src
                        okyb = 0 <= sy + 1 < h_src
                        taps[0] = sy * row + sx * cn if (oka and okya) else -1
                        taps[1] = sy * row + (sx + 1) * cn if (okb and okya) else -1
                        taps[2] = (sy + 1) * row + sx * cn if (oka and okyb) else -1
                        taps[3] = (sy + 1) * row + (sx + 1) * cn if (okb and okyb) else -1
                    for k in range(cn):
                        p00 = np.int32(flat[taps[0] + k]) if taps[0] >= 0 else np.int32(0)
                        p01 = np.int32(flat[taps[1] + k]) if taps[1] >= 0 else np.int32(0)
                        p10 = np.int32(flat[taps[2] + k]) if taps[2] >= 0 else np.int32(0)
                        p11 = np.int32(flat[taps[3] + k]) if taps[3] >= 0 else np.int32(0)
                        val = (p00 * w00 + p01 * w01 + p10 * w10 + p11 * w11 + half) >> 15
                        if write_u8:
                            out_u8[yy, xo, k] = np.uint8(val)
                        if write_float:
                            out_f32[yy, xo, k] = np.float32(val) * fscale + foffset


@jit
def _fixed_point_maps(minv: np.ndarray, out_w: int, out_h: int, row0: int, col0: int, xy: np.ndarray,
                      alpha: np.ndarray) -> None:
    """The maps OpenCV <= 4.10's `warpPerspective` hands to `remap` for INTER_LINEAR, for the window of an
    out_w x out_h output whose top-left pixel is (col0, row0) and whose size is alpha's: per pixel the source pixel
    (x, y) as saturated int16 (`xy`, int32, each the little-endian x, y pair of a CV_16SC2 map) and the 1/32
    fractions (fy & 31) * 32 + (fx & 31) (`alpha`, uint16). Coordinates come from the same doubles as in
    `_warp_classic_kernel`: X0 at the first column of the pixel's 64x16 block of the whole output, plus M0 * x1.
    Two branch-free passes per row (doubles -> int32 grid, then int32 -> maps) that LLVM vectorises."""
    win_h, win_w = alpha.shape[0], alpha.shape[1]
    xyf = xy.reshape(-1)
    af = alpha.reshape(-1)  # both C-contiguous (allocated by the caller)
    m0, m1, m2 = minv[0, 0], minv[0, 1], minv[0, 2]
    m3, m4, m5 = minv[1, 0], minv[1, 1], minv[1, 2]
    m6, m7, m8 = minv[2, 0], minv[2, 1], minv[2, 2]
    bh0 = min(16, out_h)
    bw0 = min(1024 // bh0, out_w)
    magic = _RINT_MAGIC
    col1 = col0 + win_w
    if m1 == 0.0 and m3 == 0.0 and m6 == 0.0 and m7 == 0.0 and m8 == 1.0:
        # A scaling + shift (letterboxes, MoveNet's crops): w is exactly 1 and X0 does not depend on the row, Y0 not
        # on the column, so one table per axis gives every pixel the same bits as the general loop below.
        colx = np.empty(win_w, dtype=np.int32)
        rowy = np.empty(win_h, dtype=np.int32)
        for xx in range(col0, col1):
            x = (xx // bw0) * bw0
            x0 = m0 * x + m1 * row0 + m2
            fx = max(-2147483648.0, min(2147483647.0, (x0 + m0 * (xx - x)) * 32.0))
            colx[xx - col0] = np.int32((fx + magic) - magic)
        for yy in range(row0, row0 + win_h):
            fy = max(-2147483648.0, min(2147483647.0, (m3 * 0 + m4 * yy + m5 + m3 * 0) * 32.0))
            rowy[yy - row0] = np.int32((fy + magic) - magic)
        for r in range(win_h):
            iy = rowy[r]
            sy = max(np.int32(-32768), min(np.int32(32767), iy >> np.int32(5))) << np.int32(16)
            ay = (iy & np.int32(31)) * np.int32(32)
            base = r * win_w
            for c in range(win_w):
                ix = colx[c]
                sx = max(np.int32(-32768), min(np.int32(32767), ix >> np.int32(5)))
                xyf[base + c] = (sx & np.int32(0xFFFF)) | sy
                af[base + c] = np.uint16(ay + (ix & np.int32(31)))
        return
    ixs = np.empty(bw0, dtype=np.int32)
    iys = np.empty(bw0, dtype=np.int32)
    for yy in range(row0, row0 + win_h):
        for x in range((col0 // bw0) * bw0, col1, bw0):
            first = max(col0 - x, 0)
            n = min(col1 - x, bw0) - first
            x0 = m0 * x + m1 * yy + m2
            y0 = m3 * x + m4 * yy + m5
            w0 = m6 * x + m7 * yy + m8
            # Loops from 0 (and x1 as a double, the value OpenCV multiplies): LLVM vectorises these, not a loop
            # over range(first, last).
            for j in range(n):
                x1 = np.float64(first + j)
                w = w0 + m6 * x1
                w = 32.0 / w if w != 0.0 else 0.0
                fx = max(-2147483648.0, min(2147483647.0, (x0 + m0 * x1) * w))
                fy = max(-2147483648.0, min(2147483647.0, (y0 + m3 * x1) * w))
                ixs[j] = np.int32((fx + magic) - magic)
                iys[j] = np.int32((fy + magic) - magic)
            base = (yy - row0) * win_w + x + first - col0
            for j in range(n):
                ix = ixs[j]
                iy = iys[j]
                sx = max(np.int32(-32768), min(np.int32(32767), ix >> np.int32(5)))
                sy = max(np.int32(-32768), min(np.int32(32767), iy >> np.int32(5)))
                xyf[base + j] = (sx & np.int32(0xFFFF)) | (sy << np.int32(16))
                af[base + j] = np.uint16((iy & np.int32(31)) * np.int32(32) + (ix & np.int32(31)))


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


def _warp_remap(src: np.ndarray, minv: np.ndarray, fwd: np.ndarray, width: int, height: int,
                border: BorderMode) -> np.ndarray:
    """The classic warp as OpenCV <= 4.10 ran it: fixed-point maps (`_fixed_point_maps`), then `cv2.remap` with
    them, whose integer bilinear path (15-bit weights) did not change when 4.11 rewrote `warpPerspective`.
    Used only when `_remap_is_classic()` confirmed it on this OpenCV; about 3x faster than the Numba kernel. With a
    zero border only the window that reads the image is remapped (letterbox bands are zero-filled)."""
    cn = src.shape[2]
    row0, row1, col0, col1 = 0, height, 0, width
    if border == "zero":
        row0, row1, col0, col1 = _sampled_window(fwd, src.shape[1], src.shape[0], width, height)
    if row1 <= row0 or col1 <= col0:
        return np.zeros((height, width, cn), dtype=np.uint8)
    xy = np.empty((row1 - row0, col1 - col0, 2), dtype=np.int16)
    alpha = np.empty((row1 - row0, col1 - col0), dtype=np.uint16)
    _fixed_point_maps(minv, width, height, row0, col0, xy.view(np.int32)[:, :, 0], alpha)
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
    """Whether the installed OpenCV's `remap` gives exactly what `_warp_classic_kernel` gives, checked once per
    process on rotated, perspective, scaled and partly-outside crops with both borders and 1, 3 and 4 channels.
    When it does not (an OpenCV that changed its fixed-point remap), the Numba kernel alone is used."""
    global _remap_checked
    if _remap_checked is None:
        rng = np.random.default_rng(17)
        ok = True
        for cn in (3, 1, 4):
            img = rng.integers(0, 256, (37, 53, cn), dtype=np.uint8)
            for k in range(6):
                src_pts = np.float32([[0, 0], [52, 0], [52, 36], [0, 36]]) + rng.uniform(-20, 20, (4, 2)).astype(
                    np.float32) * (k > 0)
                if k == 5:
                    src_pts = src_pts * np.float32(0.1) + np.float32(20)
                dst = np.float32([[0, 0], [31, 0], [31, 23], [0, 23]])
                fwd = cv2.getPerspectiveTransform(src_pts, dst)
                minv = cv2.invert(fwd, flags=cv2.DECOMP_LU)[1]
                for border in ("zero", "replicate"):
                    ref = np.empty((24, 32, cn), dtype=np.uint8)
                    _warp_classic_kernel(img, minv, border == "replicate", 1.0, 0.0, ref,
                                         np.empty((24, 32, 0), dtype=np.float32), True, False)
                    ok = ok and np.array_equal(ref, _warp_remap(img, minv, fwd, 32, 24, border))
        _remap_checked = ok
    return _remap_checked


def warm_up() -> None:
    """Compile (or load from the cache) the warp kernels and run the OpenCV check, so that no frame pays for it."""
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    _u8_to_float_kernel(img, 1.0, 0.0, np.empty((4, 4, 3), dtype=np.float32))
    if not _remap_is_classic():  # the fused float kernel is only used without the remap path
        _warp_classic_kernel(img, np.eye(3), True, 1.0, 0.0, _NO_U8, np.empty((2, 2, 3), dtype=np.float32), False,
                             True)


@jit
def _u8_to_float_kernel(src: np.ndarray, scale: float, offset: float, out: np.ndarray) -> None:
    """uint8 -> float32 as `float(src) * scale + offset` with two float32 roundings (no FMA), which is what
    MediaPipe's `convertTo` produced: a fused multiply-add moves BlazePose landmarks by ~0.01 px. (One flat loop
    over C-contiguous arrays, which LLVM vectorises; a strided `out` takes the nested loop.)"""
    s = np.float32(scale)
    o = np.float32(offset)
    if src.flags.c_contiguous and out.flags.c_contiguous and src.size == out.size:
        flat_in = src.reshape(-1)
        flat_out = out.reshape(-1)
        for i in range(flat_in.size):
            flat_out[i] = np.float32(flat_in[i]) * s + o
        return
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            for k in range(src.shape[2]):
                out[i, j, k] = np.float32(src[i, j, k]) * s + o


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
        _warp_classic_kernel(src, minv, border == "replicate", 1.0, 0.0, out, shape_only, True, False)
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
            _warp_classic_kernel(src, minv, border == "replicate", 1.0, 0.0, crop_u8, shape_only, True, False)
        else:
            if out is None:
                out = np.empty((tensor_height, tensor_width, 3), dtype=np.float32)
            _warp_classic_kernel(src, minv, border == "replicate", scale, offset, _NO_U8, out, False, True)
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
            _u8_to_float_kernel(crop_u8, scale, offset, out)
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
