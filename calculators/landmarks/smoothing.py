"""Temporal landmark smoothing: MediaPipe's One Euro filter (with object scale), relative-velocity filter and
visibility low-pass, as Numba kernels over N x 3 arrays with explicit state arrays.

Numerics follow `mediapipe/util/filtering/{one_euro_filter,low_pass_filter,relative_velocity_filter}.cc` and
`landmarks_smoothing_calculator_utils.cc`:

- the low-pass filter stores float32 and computes `alpha * value` in float32, `(1 - alpha) * stored` in double;
- One Euro works in double on timestamps in nanoseconds; the frequency is re-estimated from consecutive timestamps
  except when either timestamp is 0: the last time starts at INT64_MIN (current MediaPipe; versions before 2023
  started at 0 and so skipped a first frame sent at t = 0 entirely), so a video starting at t = 0 initialises the
  filter on frame 0 and still uses the configured 30 Hz on frame 1;
- normalised landmarks are filtered in pixels (x * W, y * H, z * W) and divided back;
- the value scale is 1 / object scale, the object scale being (ROI width + ROI height) / 2 in pixels when a ROI
  is given, else the landmarks' bounding box; below `min_allowed_object_scale` the landmarks pass unfiltered.

Parameters used by MediaPipe (see `TASKS_POSE` / `LEGACY_POSE`):

- Tasks PoseLandmarker (VIDEO / LIVE_STREAM, num_poses = 1; `pose_landmarks_detector_graph.cc`): landmarks:
  visibility low-pass alpha 0.1, One Euro min_cutoff 0.05, beta 80, derivate_cutoff 1, object scale from the
  next-frame ROI of this frame; world landmarks: visibility low-pass 0.1, One Euro 0.1 / 40 / 1 without value
  scaling; auxiliary landmarks are *not* smoothed (the next ROI comes from the raw ones).
- legacy `pose_landmark_filtering.pbtxt` (2021): the same for landmarks and world landmarks, plus auxiliary
  landmarks One Euro 0.01 / 10 / 1 (visibility 0.1), and the next ROI comes from the *filtered* auxiliary ones.

One call for 33 landmarks costs a few microseconds (state lives in two small arrays per filter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._numba import jit
from ..types import NormalizedRect

__all__ = [
    "LEGACY_POSE",
    "TASKS_POSE",
    "OneEuroParams",
    "OneEuroFilter",
    "PoseSmoothingParams",
    "PoseLandmarkSmoother",
    "RelativeVelocityFilter",
    "VisibilityFilter",
    "filter_normalized_landmarks",
    "object_scale_from_landmarks",
    "object_scale_from_rect",
    "one_euro_kernel",
    "relative_velocity_kernel",
    "visibility_kernel",
]

_F32 = np.float32

# One Euro per-element state columns (float64 storage of float32 values).
_X_HAS, _X_RAW, _X_STORED, _DX_HAS, _DX_RAW, _DX_STORED = range(6)


@jit
def _low_pass(state: np.ndarray, row: int, col_has: int, col_raw: int, col_stored: int, value: np.float32,
              alpha: np.float32) -> np.float32:
    """MediaPipe LowPassFilter::ApplyWithAlpha (alpha outside [0, 1] is ignored upstream; callers never pass it)."""
    if state[row, col_has] != 0.0:
        result = np.float32(np.float64(alpha * value) + (1.0 - np.float64(alpha)) * state[row, col_stored])
    else:
        result = value
        state[row, col_has] = 1.0
    state[row, col_raw] = np.float64(value)
    state[row, col_stored] = np.float64(result)
    return result


@jit
def _alpha(cutoff: float, frequency: float) -> float:
    te = 1.0 / frequency
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / te)


@jit
def one_euro_kernel(values: np.ndarray, timestamp_ns: int, value_scale: float, min_cutoff: float, beta: float,
                    derivate_cutoff: float, state: np.ndarray, clock: np.ndarray, frequency_state: np.ndarray,
                    out: np.ndarray) -> None:
    """One Euro filter on every element of `values` (N x D float32) at one timestamp.

    `state` is (N * D) x 6 float64 (x filter: has, raw, stored; derivative filter: has, raw, stored), `clock` is
    int64[1] (last timestamp in ns, INT64_MIN initially), `frequency_state` float64[1] (Hz, the configured
    frequency initially). All elements share one clock, as MediaPipe's per-element filters always see the same
    timestamps. `out` may alias `values`.
    """
    last_time = clock[0]
    frequency = frequency_state[0]
    flat_in = values.reshape(-1)
    flat_out = out.reshape(-1)
    if last_time >= timestamp_ns:
        # "Results are unpredictable in this case, so nothing to do but return same value."
        for i in range(flat_in.shape[0]):
            flat_out[i] = flat_in[i]
        return
    if last_time != 0 and timestamp_ns != 0:
        frequency = 1.0 / ((timestamp_ns - last_time) * 1e-9)
        frequency_state[0] = frequency
    clock[0] = timestamp_ns
    alpha_d = np.float32(_alpha(derivate_cutoff, frequency))
    scale = np.float64(np.float32(value_scale))
    for i in range(flat_in.shape[0]):
        value = np.float64(flat_in[i])
        if state[i, _X_HAS] != 0.0:
            dvalue = (value - state[i, _X_RAW]) * scale * frequency
        else:
            dvalue = 0.0
        edvalue = _low_pass(state, i, _DX_HAS, _DX_RAW, _DX_STORED, np.float32(dvalue), alpha_d)
        cutoff = min_cutoff + beta * abs(np.float64(edvalue))
        flat_out[i] = _low_pass(state, i, _X_HAS, _X_RAW, _X_STORED, np.float32(value),
                                np.float32(_alpha(cutoff, frequency)))


@jit
def visibility_kernel(values: np.ndarray, alpha: float, state: np.ndarray, out: np.ndarray) -> None:
    """Low-pass filter of a 1-D float32 array (landmark visibilities); `state` is N x 3 float64 (has, raw, stored)."""
    a = np.float32(alpha)
    for i in range(values.shape[0]):
        out[i] = _low_pass(state, i, 0, 1, 2, np.float32(values[i]), a)


@jit
def relative_velocity_kernel(values: np.ndarray, timestamp_ns: int, value_scale: float, velocity_scale: float,
                             window_size: int, state: np.ndarray, win_dist: np.ndarray, win_dur: np.ndarray,
                             clock: np.ndarray, out: np.ndarray) -> None:
    """MediaPipe RelativeVelocityFilter (legacy transition distance mode) on every element of `values`.

    `state` is (N * D) x 5 float64: low-pass (has, raw, stored), last value, last value scale; `win_dist`
    (float32) and `win_dur` (int64) are (N * D) x window_size ring buffers, newest first from `clock[1]`;
    `clock` = [last timestamp ns (-1 initially), ring head, ring size].
    """
    flat_in = values.reshape(-1)
    flat_out = out.reshape(-1)
    last_ts = clock[0]
    if last_ts >= timestamp_ns:
        for i in range(flat_in.shape[0]):
            flat_out[i] = flat_in[i]
        return
    head = clock[1]
    size = clock[2]
    vs = np.float32(velocity_scale)
    scale32 = np.float32(value_scale)
    one = np.float32(1.0)
    max_dur_step = np.int64(1000000000 // 30)
    new_head = (head - 1) % window_size
    for i in range(flat_in.shape[0]):
        value = np.float32(flat_in[i])
        if last_ts == -1:
            alpha = one
        else:
            distance = value * scale32 - np.float32(state[i, 3]) * np.float32(state[i, 4])
            duration = timestamp_ns - last_ts
            cum_dist = distance
            cum_dur = duration
            max_cum = (1 + size) * max_dur_step
            for k in range(size):
                j = (head + k) % window_size
                if cum_dur + win_dur[i, j] > max_cum:
                    break
                cum_dist += win_dist[i, j]
                cum_dur += win_dur[i, j]
            velocity = np.float32(cum_dist / (cum_dur * 1e-9))
            alpha = one - one / (one + vs * abs(velocity))
            win_dist[i, new_head] = distance
            win_dur[i, new_head] = duration
        state[i, 3] = np.float64(value)
        state[i, 4] = np.float64(scale32)
        flat_out[i] = _low_pass(state, i, 0, 1, 2, value, alpha)
    if last_ts != -1:
        clock[1] = new_head
        clock[2] = min(size + 1, window_size)
    clock[0] = timestamp_ns


@dataclass(frozen=True)
class OneEuroParams:
    """`LandmarksSmoothingCalculatorOptions.OneEuroFilter` (proto floats: stored as float32 upstream)."""

    min_cutoff: float = 1.0
    beta: float = 0.0
    derivate_cutoff: float = 1.0
    frequency: float = 30.0
    min_allowed_object_scale: float = 1e-6
    disable_value_scaling: bool = False


def object_scale_from_rect(rect: NormalizedRect, image_width: int, image_height: int) -> float:
    """(ROI width + ROI height) / 2 in pixels, float32 (MediaPipe `GetObjectScale(NormalizedRect, W, H)`)."""
    w = _F32(rect.width) * _F32(image_width)
    h = _F32(rect.height) * _F32(image_height)
    return float((w + h) / _F32(2.0))


def object_scale_from_landmarks(values: np.ndarray) -> float:
    """Mean of the x and y extents of the landmarks (MediaPipe `GetObjectScale(LandmarkList)`), float32."""
    v = np.asarray(values, dtype=np.float32)
    w = v[:, 0].max() - v[:, 0].min()
    h = v[:, 1].max() - v[:, 1].min()
    return float((w + h) / _F32(2.0))


class OneEuroFilter:
    """Stateful One Euro filter over N x D float32 values (D = 3 for landmarks), MediaPipe semantics."""

    def __init__(self, params: OneEuroParams) -> None:
        self.params = params
        # Proto fields are float; the filter copies them into doubles.
        self._min_cutoff = float(_F32(params.min_cutoff))
        self._beta = float(_F32(params.beta))
        self._dcutoff = float(_F32(params.derivate_cutoff))
        self._state: np.ndarray | None = None
        self._clock = np.zeros(1, dtype=np.int64)
        self._frequency = np.zeros(1, dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        """Forget all history (MediaPipe resets when a frame has no landmarks)."""
        self._state = None
        self._clock[0] = np.iinfo(np.int64).min
        self._frequency[0] = float(_F32(self.params.frequency))

    def apply(self, values: np.ndarray, timestamp_us: int, object_scale: float | None = None) -> np.ndarray:
        """Filter `values` (N x D) observed at `timestamp_us`; returns a new float32 array."""
        v = np.ascontiguousarray(values, dtype=np.float32)
        if self._state is None or self._state.shape[0] != v.size:
            self._state = np.zeros((v.size, 6), dtype=np.float64)
        value_scale = 1.0
        if not self.params.disable_value_scaling:
            scale = object_scale if object_scale is not None else object_scale_from_landmarks(v)
            if scale < self.params.min_allowed_object_scale:
                return v.copy()
            value_scale = float(_F32(1.0) / _F32(scale))
        out = np.empty_like(v)
        one_euro_kernel(v, int(timestamp_us) * 1000, value_scale, self._min_cutoff, self._beta, self._dcutoff,
                        self._state, self._clock, self._frequency, out)
        return out


class RelativeVelocityFilter:
    """Stateful MediaPipe relative-velocity filter (the `velocity_filter` option of LandmarksSmoothing)."""

    def __init__(self, window_size: int = 5, velocity_scale: float = 10.0, min_allowed_object_scale: float = 1e-6,
                 disable_value_scaling: bool = False) -> None:
        if window_size < 1:
            raise ValueError("window_size must be >= 1")
        self.window_size = int(window_size)
        self.velocity_scale = float(_F32(velocity_scale))
        self.min_allowed_object_scale = min_allowed_object_scale
        self.disable_value_scaling = disable_value_scaling
        self._state: np.ndarray | None = None
        self._dist: np.ndarray | None = None
        self._dur: np.ndarray | None = None
        self._clock = np.array([-1, 0, 0], dtype=np.int64)

    def reset(self) -> None:
        self._state = None
        self._clock[:] = (-1, 0, 0)

    def apply(self, values: np.ndarray, timestamp_us: int, object_scale: float | None = None) -> np.ndarray:
        v = np.ascontiguousarray(values, dtype=np.float32)
        value_scale = 1.0
        if not self.disable_value_scaling:
            scale = object_scale if object_scale is not None else object_scale_from_landmarks(v)
            if scale < self.min_allowed_object_scale:
                return v.copy()
            value_scale = float(_F32(1.0) / _F32(scale))
        if self._state is None or self._state.shape[0] != v.size:
            self._state = np.zeros((v.size, 5), dtype=np.float64)
            self._dist = np.zeros((v.size, self.window_size), dtype=np.float32)
            self._dur = np.zeros((v.size, self.window_size), dtype=np.int64)
            self._clock[:] = (-1, 0, 0)
        out = np.empty_like(v)
        relative_velocity_kernel(v, int(timestamp_us) * 1000, value_scale, self.velocity_scale, self.window_size,
                                 self._state, self._dist, self._dur, self._clock, out)
        return out


class VisibilityFilter:
    """Low-pass filter of landmark visibility (MediaPipe `VisibilitySmoothingCalculator`, low_pass_filter)."""

    def __init__(self, alpha: float = 0.1) -> None:
        self.alpha = float(_F32(alpha))
        self._state: np.ndarray | None = None

    def reset(self) -> None:
        self._state = None

    def apply(self, visibility: np.ndarray) -> np.ndarray:
        v = np.ascontiguousarray(visibility, dtype=np.float32).reshape(-1)
        if self._state is None or self._state.shape[0] != v.size:
            self._state = np.zeros((v.size, 3), dtype=np.float64)
        out = np.empty_like(v)
        visibility_kernel(v, self.alpha, self._state, out)
        return out


@dataclass(frozen=True)
class PoseSmoothingParams:
    """Which filters a pose graph runs, and with what parameters."""

    landmarks: OneEuroParams
    world: OneEuroParams
    auxiliary: OneEuroParams | None
    visibility_alpha: float = 0.1
    roi_from_filtered_auxiliary: bool = False


TASKS_POSE = PoseSmoothingParams(
    landmarks=OneEuroParams(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0),
    world=OneEuroParams(min_cutoff=0.1, beta=40.0, derivate_cutoff=1.0, disable_value_scaling=True),
    auxiliary=None,
    visibility_alpha=0.1,
    roi_from_filtered_auxiliary=False,
)

LEGACY_POSE = PoseSmoothingParams(
    landmarks=OneEuroParams(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0),
    world=OneEuroParams(min_cutoff=0.1, beta=40.0, derivate_cutoff=1.0, disable_value_scaling=True),
    auxiliary=OneEuroParams(min_cutoff=0.01, beta=10.0, derivate_cutoff=1.0),
    visibility_alpha=0.1,
    roi_from_filtered_auxiliary=True,
)


def filter_normalized_landmarks(filt: OneEuroFilter, vis: VisibilityFilter, landmarks: np.ndarray, image_width: int,
                                image_height: int, timestamp_us: int, object_scale: float | None) -> np.ndarray:
    """Normalised landmarks (N x 5): visibility low-pass, then the One Euro filter in pixels (z scaled like x),
    as MediaPipe's LandmarksSmoothingCalculator does for NormalizedLandmarkList."""
    out = np.array(landmarks, dtype=np.float32, copy=True)
    out[:, 3] = vis.apply(out[:, 3])
    w, h = _F32(image_width), _F32(image_height)
    px = np.empty((out.shape[0], 3), dtype=np.float32)
    px[:, 0] = out[:, 0] * w
    px[:, 1] = out[:, 1] * h
    px[:, 2] = out[:, 2] * w
    f = filt.apply(px, timestamp_us, object_scale)
    out[:, 0] = f[:, 0] / w
    out[:, 1] = f[:, 1] / h
    out[:, 2] = f[:, 2] / w
    return out


class PoseLandmarkSmoother:
    """All smoothing of one tracked pose: landmarks, world landmarks and (legacy) auxiliary landmarks.

    Landmarks are N x 5 normalised (x, y, z, visibility, presence), world landmarks N x 3; `reset()` when a frame
    has no pose, as MediaPipe does on an empty packet.
    """

    def __init__(self, params: PoseSmoothingParams = TASKS_POSE) -> None:
        self.params = params
        self._lm = OneEuroFilter(params.landmarks)
        self._lm_vis = VisibilityFilter(params.visibility_alpha)
        self._world = OneEuroFilter(params.world)
        self._aux = OneEuroFilter(params.auxiliary) if params.auxiliary is not None else None
        self._aux_vis = VisibilityFilter(params.visibility_alpha)

    def reset(self) -> None:
        self._lm.reset()
        self._lm_vis.reset()
        self._world.reset()
        if self._aux is not None:
            self._aux.reset()
        self._aux_vis.reset()

    def smooth_landmarks(self, landmarks: np.ndarray, image_width: int, image_height: int, timestamp_us: int,
                         roi: NormalizedRect | None) -> np.ndarray:
        """Visibility low-pass then One Euro in pixels; object scale from `roi` (None: landmark bounding box)."""
        scale = object_scale_from_rect(roi, image_width, image_height) if roi is not None else None
        return filter_normalized_landmarks(self._lm, self._lm_vis, landmarks, image_width, image_height, timestamp_us,
                                       scale)

    def smooth_world(self, world: np.ndarray, timestamp_us: int) -> np.ndarray:
        """One Euro on world landmarks in metres, no value scaling."""
        out = np.array(world, dtype=np.float32, copy=True)
        out[:, :3] = self._world.apply(out[:, :3], timestamp_us, None)
        return out

    def smooth_auxiliary(self, aux: np.ndarray, image_width: int, image_height: int, timestamp_us: int) -> np.ndarray:
        """Legacy graphs only: auxiliary landmarks smoothed (object scale from their own bounding box)."""
        if self._aux is None:
            return np.array(aux, dtype=np.float32, copy=True)
        return filter_normalized_landmarks(self._aux, self._aux_vis, aux, image_width, image_height, timestamp_us, None)
