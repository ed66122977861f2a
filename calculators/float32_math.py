"""float32 transcendental functions, correctly rounded or as the C library computes them.

MediaPipe's calculators call C's float functions: `expf` in every sigmoid (detector scores, landmark visibility
and presence, heatmap refinement), `atan2f` for a ROI's rotation, `cosf`/`sinf` to project landmarks. What they
return depends on the C library linked in, and the two MediaPipe versions posegraph reproduces differ there:

- MediaPipe Tasks 1.x (`mediapipe` >= 1.0, the reference of posegraph's own graphs) links LLVM's libc, whose float
  functions are correctly rounded;
- mediapipe 0.10.x (the legacy `mp.solutions`, the reference of MediaPipe's own graph files) uses the system's
  (glibc's), which Numba's float32 functions also call. glibc's `atan2f` is one ulp off the correctly rounded value
  for about 16 % of arguments, `cosf`/`sinf` for about 1 %, `expf` rarely.

One ulp of `atan2f` in a ROI's rotation is enough to shift a few crop pixels by a grey level, and tracking feeds
each frame's landmarks into the next frame's ROI, so the difference grows along a video (measured: with Numba's
float32 functions posegraph's graphs left Tasks 1.2.2 on 3 of 15 images and after 1-36 frames on every video;
correctly rounded, they are bit-identical on all of them).

`exact=True` evaluates the float64 function and rounds once to float32: that is the correctly rounded float32
result except when the float64 value falls within half a float64 ulp of a float32 rounding boundary, which a
float32 argument practically never produces. `exact=False` calls Numba's float32 function (the C library's).
"""

from __future__ import annotations

import math

import numpy as np

from ._numba import jit

__all__ = ["atan2f", "cosf", "expf", "sigmoidf", "sinf"]


@jit
def expf(x: np.float32, exact: bool) -> np.float32:
    """`expf(x)`; overflow gives inf as in C."""
    if exact:
        return np.float32(math.exp(np.float64(x)))
    return np.float32(np.exp(np.float32(x)))


@jit
def sigmoidf(x: np.float32, exact: bool) -> np.float32:
    """`1.0f / (1.0f + expf(-x))`, the float32 logistic of the C++ calculators."""
    one = np.float32(1.0)
    return one / (one + expf(-np.float32(x), exact))


@jit
def atan2f(y: np.float32, x: np.float32, exact: bool) -> np.float32:
    """`atan2f(y, x)`."""
    if exact:
        return np.float32(math.atan2(np.float64(y), np.float64(x)))
    return np.float32(math.atan2(np.float32(y), np.float32(x)))


@jit
def cosf(x: np.float32, exact: bool) -> np.float32:
    """`cosf(x)`."""
    if exact:
        return np.float32(math.cos(np.float64(x)))
    return np.float32(math.cos(np.float32(x)))


@jit
def sinf(x: np.float32, exact: bool) -> np.float32:
    """`sinf(x)`."""
    if exact:
        return np.float32(math.sin(np.float64(x)))
    return np.float32(math.sin(np.float32(x)))
