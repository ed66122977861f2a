"""The Numba kernels of the classic warp (see transforms.py), in a module of their own so that a graph whose crops
are all axis-aligned and uint8 (MoveNet, PoseNet) never imports Numba: `transforms` imports this module only for a
rotated or projective crop, a float tensor of another range than [0, 255], or when OpenCV's remap is not the
classic one.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit

__all__ = ["NO_U8", "RINT_MAGIC", "fixed_point_maps", "u8_to_float_kernel", "warp_classic_kernel"]

NO_U8 = np.empty((1, 1, 1), dtype=np.uint8)  # placeholder when only the float tensor is wanted
# 1.5 * 2**52: adding then subtracting it rounds a double with |x| < 2**51 to the nearest integer, ties to even
# (`cvRound`, `np.rint`), in two additions that LLVM vectorises where a call to rint is not.
RINT_MAGIC = 6755399441055744.0


@jit
def warp_classic_kernel(src: np.ndarray, minv: np.ndarray, border_replicate: bool, scale: float, offset: float,
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
def fixed_point_maps(minv: np.ndarray, out_w: int, out_h: int, row0: int, col0: int, xy: np.ndarray,
                      alpha: np.ndarray) -> None:
    """The maps OpenCV <= 4.10's `warpPerspective` hands to `remap` for INTER_LINEAR, for the window of an
    out_w x out_h output whose top-left pixel is (col0, row0) and whose size is alpha's: per pixel the source pixel
    (x, y) as saturated int16 (`xy`, int32, each the little-endian x, y pair of a CV_16SC2 map) and the 1/32
    fractions (fy & 31) * 32 + (fx & 31) (`alpha`, uint16). Coordinates come from the same doubles as in
    `warp_classic_kernel`: X0 at the first column of the pixel's 64x16 block of the whole output, plus M0 * x1.
    Two branch-free passes per row (doubles -> int32 grid, then int32 -> maps) that LLVM vectorises. (A scaling +
    shift takes `transforms._axis_aligned_maps` instead, numpy and one table per axis.)"""
    win_h, win_w = alpha.shape[0], alpha.shape[1]
    xyf = xy.reshape(-1)
    af = alpha.reshape(-1)  # both C-contiguous (allocated by the caller)
    m0, m1, m2 = minv[0, 0], minv[0, 1], minv[0, 2]
    m3, m4, m5 = minv[1, 0], minv[1, 1], minv[1, 2]
    m6, m7, m8 = minv[2, 0], minv[2, 1], minv[2, 2]
    bh0 = min(16, out_h)
    bw0 = min(1024 // bh0, out_w)
    magic = RINT_MAGIC
    col1 = col0 + win_w
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


@jit
def u8_to_float_kernel(src: np.ndarray, scale: float, offset: float, out: np.ndarray) -> None:
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
