"""Rotated-ROI crops to model tensors, exactly as MediaPipe's CPU `ImageToTensorCalculator` makes them.

MediaPipe's OpenCV converter (`image_to_tensor_converter_opencv.cc`, `image_to_tensor_utils.cc`) does, per frame:

1. ROI in pixels from the NormalizedRect (`GetRoi`): centre = x_center * W, size = width * W, height * H, all in
   float32; the whole image when no rect is given.
2. `PadRoi` when keep_aspect_ratio: the ROI grows along one axis to the tensor's aspect ratio; the fraction added on
   each side is the letterbox padding (left, top, right, bottom; left == right, top == bottom).
3. `cv::boxPoints(RotatedRect(centre, size, rotation in degrees))` -> 4 source corners, mapped to the tensor corners
   (bottom-left, top-left, top-right, bottom-right) with `cv::getPerspectiveTransform`.
4. `cv::warpPerspective(INTER_LINEAR, BORDER_CONSTANT(0) or BORDER_REPLICATE)` on the *uint8* image: the crop is
   rounded to uint8 before the value-range conversion.
5. `convertTo(float, scale, offset)` with scale = (b - a) / 255, offset = a: uint8 [0, 255] -> [a, b].

Which graph uses what (MediaPipe Tasks, the reference here):
- pose detector: 224x224, keep_aspect_ratio, BORDER_ZERO, [-1, 1] (from the model metadata: mean = std = 127.5);
- pose landmarks: 256x256, no keep_aspect_ratio (the ROI is already square in pixels), BORDER_REPLICATE (the
  calculator default), [0, 1] (mean 0, std 255).

Two warp back ends give the uint8 crop:
- "classic" (default): a Numba re-implementation of OpenCV <= 4.10's fixed-point warpPerspective (1/32-pixel
  coordinate grid, 15-bit bilinear weights, the same 64x16 blocks), which is what MediaPipe's bundled OpenCV runs;
  OpenCV >= 4.11 rewrote the warp kernels in floating point, so `cv2.warpPerspective` of a recent opencv-python
  differs by one grey level on some pixels.
- "opencv": `cv2.warpPerspective` of the installed OpenCV (faster on big crops, not bit-identical on OpenCV >= 4.11).
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
    "CropResult",
    "PixelRoi",
    "WarpBackend",
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


def perspective_transform(roi: PixelRoi, tensor_width: int, tensor_height: int) -> np.ndarray:
    """The 3x3 image-pixel -> tensor-pixel matrix MediaPipe hands to `cv::warpPerspective`.

    Built from `cv::boxPoints` of the rotated rect (angle = rotation * 180 / pi, float32 then double then float32,
    as in C++) and `cv::getPerspectiveTransform` to the tensor corners (bottom-left first).
    """
    angle = float(_F32(float(_F32(roi.rotation) * _F32(180.0)) / math.pi))
    box = cv2.boxPoints(((roi.center_x, roi.center_y), (roi.width, roi.height), angle))
    dst_w, dst_h = float(tensor_width), float(tensor_height)
    dst = np.array([[0.0, dst_h], [0.0, 0.0], [dst_w, 0.0], [dst_w, dst_h]], dtype=np.float32)
    return cv2.getPerspectiveTransform(np.ascontiguousarray(box, dtype=np.float32), dst)


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
# Classic OpenCV warpPerspective (fixed point), fused with the uint8 -> float conversion.
# ---------------------------------------------------------------------------------------------------------------

_INTER_BITS = 5
_INTER_TAB_SIZE = 1 << _INTER_BITS
_COEF_BITS = 15
_INT_MIN = -2147483648.0
_INT_MAX = 2147483647.0


@jit
def _warp_classic_kernel(src: np.ndarray, minv: np.ndarray, border_replicate: bool, scale: float, offset: float,
                         out_u8: np.ndarray, out_f32: np.ndarray, write_float: bool) -> None:
    """OpenCV <= 4.10 `warpPerspective(INTER_LINEAR)` for 8-bit images, bit-exact.

    `minv` maps tensor pixels to image pixels (OpenCV inverts the forward matrix with `invert`, done by the caller
    with `cv2.invert` so that the double values agree). Coordinates are computed per 64x16 block exactly as OpenCV
    does (X0 at the block's first column plus M0 * x1), rounded to the 1/32 grid with round-half-even; weights are
    (32 - ax)(32 - ay) * 32 etc., which sum to 32768 exactly; the result is (sum + 2^14) >> 15.
    """
    h_src, w_src, cn = src.shape
    out_h, out_w = out_u8.shape[0], out_u8.shape[1]
    m0, m1, m2 = minv[0, 0], minv[0, 1], minv[0, 2]
    m3, m4, m5 = minv[1, 0], minv[1, 1], minv[1, 2]
    m6, m7, m8 = minv[2, 0], minv[2, 1], minv[2, 2]
    block = 32
    bh0 = min(block // 2, out_h)
    bw0 = min(block * block // bh0, out_w)
    bh0 = min(block * block // bw0, out_h)
    width1 = max(w_src - 1, 0)
    height1 = max(h_src - 1, 0)
    fscale = np.float64(scale)
    foffset = np.float64(offset)
    for y in range(0, out_h, bh0):
        bh = min(bh0, out_h - y)
        for x in range(0, out_w, bw0):
            bw = min(bw0, out_w - x)
            for y1 in range(bh):
                yy = y + y1
                x0 = m0 * x + m1 * yy + m2
                y0 = m3 * x + m4 * yy + m5
                w0 = m6 * x + m7 * yy + m8
                for x1 in range(bw):
                    w = w0 + m6 * x1
                    if w != 0.0:
                        w = 32.0 / w
                    else:
                        w = 0.0
                    fx = max(-2147483648.0, min(2147483647.0, (x0 + m0 * x1) * w))
                    fy = max(-2147483648.0, min(2147483647.0, (y0 + m3 * x1) * w))
                    ix = np.int64(np.rint(fx))
                    iy = np.int64(np.rint(fy))
                    sx = ix >> 5
                    sy = iy >> 5
                    if sx < -32768:
                        sx = -32768
                    elif sx > 32767:
                        sx = 32767
                    if sy < -32768:
                        sy = -32768
                    elif sy > 32767:
                        sy = 32767
                    ax = ix & 31
                    ay = iy & 31
                    w00 = (32 - ax) * (32 - ay) * 32
                    w01 = ax * (32 - ay) * 32
                    w10 = (32 - ax) * ay * 32
                    w11 = ax * ay * 32
                    xo = x + x1
                    inside = 0 <= sx < width1 and 0 <= sy < height1
                    if not inside and not border_replicate and (
                            sx >= w_src or sx + 1 < 0 or sy >= h_src or sy + 1 < 0):
                        for k in range(cn):
                            out_u8[yy, xo, k] = 0
                            if write_float:
                                out_f32[yy, xo, k] = np.float32(foffset)
                        continue
                    if inside:
                        xa, xb, ya, yb = sx, sx + 1, sy, sy + 1
                        va = vb = vc = vd = True
                    elif border_replicate:
                        xa = min(max(sx, 0), w_src - 1)
                        xb = min(max(sx + 1, 0), w_src - 1)
                        ya = min(max(sy, 0), h_src - 1)
                        yb = min(max(sy + 1, 0), h_src - 1)
                        va = vb = vc = vd = True
                    else:
                        xa, xb, ya, yb = sx, sx + 1, sy, sy + 1
                        oka = 0 <= xa < w_src
                        okb = 0 <= xb < w_src
                        okya = 0 <= ya < h_src
                        okyb = 0 <= yb < h_src
                        va = oka and okya
                        vb = okb and okya
                        vc = oka and okyb
                        vd = okb and okyb
                    for k in range(cn):
                        p00 = np.int64(src[ya, xa, k]) if va else np.int64(0)
                        p01 = np.int64(src[ya, xb, k]) if vb else np.int64(0)
                        p10 = np.int64(src[yb, xa, k]) if vc else np.int64(0)
                        p11 = np.int64(src[yb, xb, k]) if vd else np.int64(0)
                        acc = p00 * w00 + p01 * w01 + p10 * w10 + p11 * w11
                        val = (acc + (1 << 14)) >> 15
                        if val < 0:
                            val = 0
                        elif val > 255:
                            val = 255
                        out_u8[yy, xo, k] = np.uint8(val)
                        if write_float:
                            out_f32[yy, xo, k] = np.float32(np.float64(val) * fscale + foffset)


@jit
def _u8_to_float_kernel(src: np.ndarray, scale: float, offset: float, out: np.ndarray) -> None:
    """uint8 -> float32 as `src * scale + offset`, rounded once (what OpenCV's FMA `convertTo` path gives)."""
    flat_in = src.reshape(-1)
    flat_out = out.reshape(-1)
    s = np.float64(scale)
    o = np.float64(offset)
    for i in range(flat_in.size):
        flat_out[i] = np.float32(np.float64(flat_in[i]) * s + o)


def warp_perspective_classic(image: np.ndarray, matrix: np.ndarray, width: int, height: int,
                             border: BorderMode = "zero") -> np.ndarray:
    """`cv2.warpPerspective(image, matrix, (width, height), INTER_LINEAR, border)` as OpenCV <= 4.10 computes it."""
    src = np.ascontiguousarray(image)
    if src.ndim == 2:
        src = src[:, :, None]
    minv = cv2.invert(np.asarray(matrix, dtype=np.float64), flags=cv2.DECOMP_LU)[1]
    out = np.empty((height, width, src.shape[2]), dtype=np.uint8)
    dummy = np.empty((1, 1, 1), dtype=np.float32)
    _warp_classic_kernel(src, minv, border == "replicate", 1.0, 0.0, out, dummy, False)
    return out if image.ndim == 3 else out[:, :, 0]


def image_to_tensor(image: np.ndarray, rect: NormalizedRect | None, tensor_width: int, tensor_height: int, *,
                    keep_aspect_ratio: bool, value_range: tuple[float, float], border: BorderMode = "zero",
                    backend: WarpBackend = "classic", out: np.ndarray | None = None) -> CropResult:
    """Crop `rect` of an RGB uint8 image into a float32 tensor like MediaPipe's CPU ImageToTensorCalculator.

    `out` (tensor_height x tensor_width x 3 float32, e.g. a view of an interpreter input buffer) is written in place
    when given. RGBA input is reduced to RGB after the warp, as MediaPipe does.
    """
    if image.dtype != np.uint8 or image.ndim != 3:
        raise ValueError("image must be H x W x C uint8")
    img_h, img_w = image.shape[0], image.shape[1]
    roi = roi_in_pixels(rect, img_w, img_h)
    roi, padding = pad_roi(roi, tensor_width, tensor_height, keep_aspect_ratio)
    fwd = perspective_transform(roi, tensor_width, tensor_height)
    scale, offset = value_range_transform(*value_range)
    if out is None:
        out = np.empty((tensor_height, tensor_width, 3), dtype=np.float32)
    src = image if image.flags.c_contiguous else np.ascontiguousarray(image)
    if backend == "classic" and src.shape[2] == 3:
        minv = cv2.invert(fwd, flags=cv2.DECOMP_LU)[1]
        crop_u8 = np.empty((tensor_height, tensor_width, 3), dtype=np.uint8)
        _warp_classic_kernel(src, minv, border == "replicate", scale, offset, crop_u8, out, True)
    else:
        if backend == "classic":
            crop_u8 = warp_perspective_classic(src, fwd, tensor_width, tensor_height, border)
        else:
            border_cv = cv2.BORDER_REPLICATE if border == "replicate" else cv2.BORDER_CONSTANT
            crop_u8 = cv2.warpPerspective(src, fwd, (tensor_width, tensor_height), flags=cv2.INTER_LINEAR,
                                          borderMode=border_cv, borderValue=(0, 0, 0, 0))
        if crop_u8.shape[2] > 3:
            crop_u8 = np.ascontiguousarray(crop_u8[:, :, :3])
        _u8_to_float_kernel(crop_u8, scale, offset, out)
    matrix = crop_matrix(roi, img_w, img_h)
    z_scale = float(_F32(roi.width) / _F32(img_w))
    return CropResult(tensor=out, padding=padding, matrix=matrix, roi=roi, z_scale=z_scale)


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
