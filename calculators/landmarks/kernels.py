"""Landmark decoding and geometry for BlazePose-style landmark models, MediaPipe-exact in float32.

Covers, in pipeline order (MediaPipe Tasks `pose_landmarks_detector_graph.cc`):

- `TensorsToLandmarksCalculator`: raw [N * D] -> N x 5 (x / W, y / H, z / W / normalize_z, sigmoid(visibility),
  sigmoid(presence)), coordinates normalised to the model input (Tasks: normalize_z = 1);
- `RefineLandmarksFromHeatmapCalculator` (kernel 7, min confidence 0.5): x/y replaced by the sigmoid-weighted mean
  of the heatmap cells around each landmark, including MediaPipe's bounds-check quirk (the row is never checked
  against the heatmap height, so landmarks just below the crop are refined with a truncated window);
- `LandmarkLetterboxRemovalCalculator` (see `image.transforms.remove_letterbox`);
- `LandmarkProjectionCalculator`: crop-normalised -> image-normalised through the rotated ROI; z scaled by the ROI
  width (normalised), like x;
- `WorldLandmarkProjectionCalculator`: world landmarks (metres) rotated by the ROI rotation only;
- auxiliary landmarks -> next-frame ROI (see `detection.roi.pose_roi_from_landmarks`).

Every kernel costs a few microseconds for 39 landmarks.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit
from ..detection.roi import pose_roi_from_landmarks
from ..float32_math import cosf, sigmoidf, sinf
from ..types import NormalizedRect

__all__ = [
    "decode_landmarks",
    "decode_refined_landmarks",
    "decode_world_landmarks",
    "landmarks_to_roi",
    "project_landmarks",
    "project_landmarks_and_world",
    "project_world_landmarks",
    "refine_landmarks_from_heatmap",
    "sigmoid",
]


@jit
def sigmoid(values: np.ndarray, exact_math: bool = True) -> np.ndarray:
    """float32 logistic, `1.0f / (1.0f + expf(-x))` like the C++ calculators (`exact_math`: see float32_math)."""
    flat = values.reshape(-1)
    out = np.empty(flat.shape[0], dtype=np.float32)
    for i in range(flat.shape[0]):
        out[i] = sigmoidf(np.float32(flat[i]), exact_math)
    return out.reshape(values.shape)


@jit
def _decode_kernel(raw: np.ndarray, num_landmarks: int, input_w: float, input_h: float, normalize_z: float,
                   vis_sigmoid: bool, pres_sigmoid: bool, exact: bool, out: np.ndarray) -> None:
    dims = raw.shape[0] // num_landmarks
    w = np.float32(input_w)
    h = np.float32(input_h)
    nz = np.float32(normalize_z)
    for i in range(num_landmarks):
        o = i * dims
        out[i, 0] = raw[o] / w
        out[i, 1] = raw[o + 1] / h if dims > 1 else np.float32(0.0)
        out[i, 2] = raw[o + 2] / w / nz if dims > 2 else np.float32(0.0)
        if dims > 3:
            v = raw[o + 3]
            out[i, 3] = sigmoidf(v, exact) if vis_sigmoid else v
        else:
            out[i, 3] = np.float32(0.0)
        if dims > 4:
            p = raw[o + 4]
            out[i, 4] = sigmoidf(p, exact) if pres_sigmoid else p
        else:
            out[i, 4] = np.float32(0.0)


def decode_landmarks(raw: np.ndarray, num_landmarks: int = 39, input_width: int = 256, input_height: int = 256,
                     normalize_z: float = 1.0, visibility_sigmoid: bool = True,
                     presence_sigmoid: bool = True, *, exact_math: bool = True) -> np.ndarray:
    """Raw landmark tensor -> N x 5 float32 (x, y, z, visibility, presence) normalised to the model input.

    Missing dimensions are 0. BlazePose: 195 values = 39 x 5, input 256 x 256, visibility and presence are logits.
    `exact_math`: correctly rounded sigmoids (MediaPipe Tasks 1.x) or the C library's (0.10.x), see float32_math.
    """
    flat = np.ascontiguousarray(np.asarray(raw, dtype=np.float32).reshape(-1))
    if flat.shape[0] % num_landmarks:
        raise ValueError(f"{flat.shape[0]} values do not split into {num_landmarks} landmarks")
    out = np.empty((num_landmarks, 5), dtype=np.float32)
    _decode_kernel(flat, num_landmarks, float(input_width), float(input_height), float(normalize_z),
                   visibility_sigmoid, presence_sigmoid, exact_math, out)
    return out


def decode_world_landmarks(raw: np.ndarray, num_landmarks: int = 39) -> np.ndarray:
    """Raw world tensor (N * 3 values, metres, hip-centred) -> N x 3 float32, no activation."""
    flat = np.asarray(raw, dtype=np.float32).reshape(-1)
    dims = flat.shape[0] // num_landmarks
    return np.ascontiguousarray(flat.reshape(num_landmarks, dims)[:, :3])


@jit
def _refine_kernel(lms: np.ndarray, heatmap: np.ndarray, kernel_size: int, min_conf: float, refine_presence: bool,
                   refine_visibility: bool, exact: bool) -> None:
    hm_h, hm_w, hm_c = heatmap.shape
    offset = (kernel_size - 1) // 2
    fw = np.float32(hm_w)
    fh = np.float32(hm_h)
    minc = np.float32(min_conf)
    zero = np.float32(0.0)
    for lm in range(lms.shape[0]):
        # int(x * width) truncates toward zero, as the C++ float -> int conversion.
        center_col = int(lms[lm, 0] * fw)
        center_row = int(lms[lm, 1] * fh)
        # MediaPipe checks center_col against the height instead of center_row: kept on purpose.
        if center_col < 0 or center_col >= hm_w or center_row < 0 or center_col >= hm_h:
            continue
        begin_col = max(0, center_col - offset)
        end_col = min(hm_w, center_col + offset + 1)
        begin_row = max(0, center_row - offset)
        end_row = min(hm_h, center_row + offset + 1)
        total = zero
        wcol = zero
        wrow = zero
        maxc = zero
        for row in range(begin_row, end_row):
            for col in range(begin_col, end_col):
                conf = sigmoidf(heatmap[row, col, lm], exact)
                total += conf
                if conf > maxc:
                    maxc = conf
                wcol += np.float32(col) * conf
                wrow += np.float32(row) * conf
        if maxc >= minc and total > zero:
            lms[lm, 0] = wcol / fw / total
            lms[lm, 1] = wrow / fh / total
        if refine_presence and total > zero:
            lms[lm, 4] = min(lms[lm, 4], maxc)
        if refine_visibility and total > zero:
            lms[lm, 3] = min(lms[lm, 3], maxc)


def refine_landmarks_from_heatmap(landmarks: np.ndarray, heatmap: np.ndarray, kernel_size: int = 7,
                                  min_confidence_to_refine: float = 0.5, refine_presence: bool = False,
                                  refine_visibility: bool = False, *, exact_math: bool = True) -> np.ndarray:
    """Refine crop-normalised landmarks (N x 5) with an H x W x N heatmap of logits (batch dim optional).

    Returns a new array; landmarks whose window has max sigmoid < `min_confidence_to_refine` keep their x, y.
    """
    hm = np.asarray(heatmap, dtype=np.float32)
    if hm.ndim == 4:
        if hm.shape[0] != 1:
            raise ValueError("expected batch 1 heatmap")
        hm = hm[0]
    if hm.shape[2] != landmarks.shape[0]:
        raise ValueError("heatmap channels must equal the number of landmarks")
    out = np.array(landmarks, dtype=np.float32, copy=True)
    _refine_kernel(out, np.ascontiguousarray(hm), int(kernel_size), float(min_confidence_to_refine),
                   bool(refine_presence), bool(refine_visibility), bool(exact_math))
    return out


@jit
def _decode_refine_kernel(raw: np.ndarray, heatmap: np.ndarray, num_landmarks: int, input_w: float, input_h: float,
                          vis_sigmoid: bool, pres_sigmoid: bool, kernel_size: int, min_conf: float, exact: bool,
                          out: np.ndarray) -> None:
    _decode_kernel(raw, num_landmarks, input_w, input_h, 1.0, vis_sigmoid, pres_sigmoid, exact, out)
    if kernel_size > 0:
        _refine_kernel(out, heatmap, kernel_size, min_conf, False, False, exact)


def decode_refined_landmarks(raw: np.ndarray, heatmap: np.ndarray | None, num_landmarks: int = 39,
                             input_width: int = 256, input_height: int = 256, visibility_sigmoid: bool = True,
                             presence_sigmoid: bool = True, kernel_size: int = 7,
                             min_confidence_to_refine: float = 0.5, *, exact_math: bool = True) -> np.ndarray:
    """`decode_landmarks` (normalize_z 1) then `refine_landmarks_from_heatmap` (kernel_size 0 or no heatmap: not
    refined), the same numbers from one compiled call: TensorsToLandmarksCalculator runs it for every person."""
    flat = np.ascontiguousarray(raw, dtype=np.float32).reshape(-1)
    if flat.shape[0] % num_landmarks:
        raise ValueError(f"{flat.shape[0]} values do not split into {num_landmarks} landmarks")
    if heatmap is None or not kernel_size:
        hm, kernel_size = np.zeros((1, 1, num_landmarks), dtype=np.float32), 0
    else:
        hm = np.ascontiguousarray(heatmap, dtype=np.float32)
        if hm.ndim == 4:
            if hm.shape[0] != 1:
                raise ValueError("expected batch 1 heatmap")
            hm = hm[0]
        if hm.shape[2] != num_landmarks:
            raise ValueError("heatmap channels must equal the number of landmarks")
    out = np.empty((num_landmarks, 5), dtype=np.float32)
    _decode_refine_kernel(flat, hm, num_landmarks, float(input_width), float(input_height), bool(visibility_sigmoid),
                          bool(presence_sigmoid), int(kernel_size), float(min_confidence_to_refine), bool(exact_math),
                          out)
    return out


@jit
def _project_kernel(lms: np.ndarray, xc: float, yc: float, w: float, h: float, rotation: float, exact: bool,
                    out: np.ndarray) -> None:
    half = np.float32(0.5)
    angle = np.float32(rotation)
    c = cosf(angle, exact)
    s = sinf(angle, exact)
    rw = np.float32(w)
    rh = np.float32(h)
    cx = np.float32(xc)
    cy = np.float32(yc)
    for i in range(lms.shape[0]):
        x = lms[i, 0] - half
        y = lms[i, 1] - half
        nx = c * x - s * y
        ny = s * x + c * y
        out[i, 0] = nx * rw + cx
        out[i, 1] = ny * rh + cy
        out[i, 2] = lms[i, 2] * rw
        for k in range(3, lms.shape[1]):
            out[i, k] = lms[i, k]


def project_landmarks(landmarks: np.ndarray, rect: NormalizedRect, ignore_rotation: bool = False, *,
                      exact_math: bool = True) -> np.ndarray:
    """Crop-normalised landmarks (N x >=3) -> image-normalised, through the rotated ROI `rect`.

    MediaPipe `LandmarkProjectionCalculator` (NORM_RECT input): rotate (x - 0.5, y - 0.5) by the ROI rotation,
    scale by the ROI size, add the ROI centre; z is scaled by the ROI width; other columns are copied.
    """
    lms = np.ascontiguousarray(landmarks, dtype=np.float32)
    out = np.empty_like(lms)
    _project_kernel(lms, rect.x_center, rect.y_center, rect.width, rect.height,
                    0.0 if ignore_rotation else rect.rotation, bool(exact_math), out)
    return out


@jit
def _rotate_world_kernel(world: np.ndarray, rotation: float, exact: bool, out: np.ndarray) -> None:
    angle = np.float32(rotation)
    c = cosf(angle, exact)
    s = sinf(angle, exact)
    for i in range(world.shape[0]):
        x = world[i, 0]
        y = world[i, 1]
        out[i, 0] = c * x - s * y
        out[i, 1] = s * x + c * y
        for k in range(2, world.shape[1]):
            out[i, k] = world[i, k]


def project_world_landmarks(world: np.ndarray, rect: NormalizedRect | None, *,
                            exact_math: bool = True) -> np.ndarray:
    """World landmarks (N x >=3, metres) rotated back by the ROI rotation (no scale, no translation)."""
    w = np.ascontiguousarray(world, dtype=np.float32)
    if rect is None:
        return w.copy()
    out = np.empty_like(w)
    _rotate_world_kernel(w, rect.rotation, bool(exact_math), out)
    return out


@jit
def _project_both_kernel(lms: np.ndarray, world: np.ndarray, xc: float, yc: float, w: float, h: float,
                         rotation: float, exact: bool, out: np.ndarray, out_world: np.ndarray) -> None:
    _project_kernel(lms, xc, yc, w, h, rotation, exact, out)
    _rotate_world_kernel(world, rotation, exact, out_world)


def project_landmarks_and_world(landmarks: np.ndarray, world: np.ndarray, rect: NormalizedRect, *,
                                exact_math: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`project_landmarks` and `project_world_landmarks` through one ROI, the same numbers from one compiled call
    (LandmarkProjectionCalculator runs it for every person on every frame)."""
    lms = np.ascontiguousarray(landmarks, dtype=np.float32)
    wl = np.ascontiguousarray(world, dtype=np.float32)
    out, out_world = np.empty_like(lms), np.empty_like(wl)
    _project_both_kernel(lms, wl, rect.x_center, rect.y_center, rect.width, rect.height, rect.rotation,
                         bool(exact_math), out, out_world)
    return out, out_world


def landmarks_to_roi(aux_landmarks: np.ndarray, image_width: int, image_height: int,
                     scale: float = 1.25) -> NormalizedRect:
    """Next-frame BlazePose ROI from the two projected auxiliary landmarks (33: centre, 34: scale point)."""
    return pose_roi_from_landmarks(aux_landmarks, image_width, image_height, scale)
