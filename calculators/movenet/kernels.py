"""MoveNet single-pose kernels: output decoding and smart cropping, as pure functions (arrays in, arrays out).

Plain numpy / Python, not Numba: 17 keypoints per frame is a few microseconds of work either way, and a MoveNet
graph that never imports Numba needs ~120 MB less memory (Numba's import and its compiler context).

MoveNet (TF Hub `movenet/singlepose/{lightning,thunder}`) outputs [1, 1, 17, 3] = (y, x, score) per COCO-17
keypoint, y and x normalised to the model input (the crop). Reference behaviour: tensorflow/examples
`lite/examples/pose_estimation/raspberry_pi/ml/movenet.py` and the TF Hub MoveNet tutorial.

Smart cropping (the crop for the next frame, from this frame's keypoints), in image pixels:

- torso visible = (left or right hip score > min_score) and (left or right shoulder score > min_score);
  otherwise the crop is the whole frame padded to a square (`init_crop_region`);
- centre = midpoint of the two hips;
- torso range = the largest |dy| and |dx| from the centre over the four torso joints; body range = the same over
  *every* joint that scores above min_score. (The tensorflow/examples code measures the last torso joint in its
  body loop instead of each joint, so its body range never covers the limbs; the TF Hub tutorial has it right, and
  so does this kernel);
- half side = max(torso range * 1.9, body range * 1.2), clamped to the largest distance from the centre to an image
  border; when the half side exceeds max(W, H) / 2 the padded full frame is used instead;
- the crop is the square of that half side around the centre (it may extend past the image; the part outside is
  black padding, as `ImageToTensorCalculator` with the ZERO border gives it).

Crops are returned as (x_center, y_center, width, height) normalised by the image width / height, i.e. the fields
of a `NormalizedRect` (rotation 0); width * W == height * H, a square in pixels.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LEFT_SHOULDER",
    "RIGHT_SHOULDER",
    "LEFT_HIP",
    "RIGHT_HIP",
    "crop_region_from_keypoints",
    "decode_movenet",
    "init_crop_region",
    "pose_score",
]

NUM_KEYPOINTS = 17
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 5, 6, 11, 12
_TORSO = (LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP)


def decode_movenet(raw: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """MoveNet output (K x 3: y, x, score in crop-normalised units) -> K x 5 landmarks in image-normalised units.

    `matrix` is the 3x3 affine from normalised crop coordinates to normalised image coordinates (the MATRIX output
    of `ImageToTensorCalculator`). Columns: x, y, z = 0, visibility = presence = score. The mapping is done in
    float64 (m0 * u + m1 * v) + m2 and rounded once to float32.
    """
    raw = np.asarray(raw, dtype=np.float32)
    m = np.asarray(matrix, dtype=np.float64)
    v = raw[:, 0].astype(np.float64)
    u = raw[:, 1].astype(np.float64)
    out = np.empty((raw.shape[0], 5), dtype=np.float32)
    out[:, 0] = m[0, 0] * u + m[0, 1] * v + m[0, 2]
    out[:, 1] = m[1, 0] * u + m[1, 1] * v + m[1, 2]
    out[:, 2] = 0.0
    out[:, 3] = raw[:, 2]
    out[:, 4] = raw[:, 2]
    return out


def pose_score(landmarks: np.ndarray) -> float:
    """Mean keypoint score (column 3), the instance score of the MoveNet examples (summed in order, in float64)."""
    total = 0.0
    scores = np.asarray(landmarks)[:, 3].tolist()
    for s in scores:
        total += s
    return total / max(len(scores), 1)


def init_crop_region(width: int, height: int) -> np.ndarray:
    """The whole frame padded to a square (side max(W, H), centred): (x_center, y_center, width, height)."""
    side = float(max(width, height))
    return np.array([0.5, 0.5, side / width, side / height], dtype=np.float64)


def crop_region_from_keypoints(landmarks: np.ndarray, width: int, height: int, min_score: float = 0.2,
                               torso_expansion: float = 1.9, body_expansion: float = 1.2) -> np.ndarray:
    """The next crop (x_center, y_center, width, height; normalised) from K x >=4 landmarks.

    `landmarks` columns: x, y (image-normalised), then anything, then the keypoint score in column 3 (the Pose
    layout). See the module docstring for the rules. Python floats (float64) throughout.
    """
    lm = np.asarray(landmarks)
    s = lm[:, 3].tolist()
    torso_visible = ((s[LEFT_HIP] > min_score or s[RIGHT_HIP] > min_score)
                     and (s[LEFT_SHOULDER] > min_score or s[RIGHT_SHOULDER] > min_score))
    if not torso_visible:
        return init_crop_region(width, height)
    xs = [x * width for x in lm[:, 0].tolist()]
    ys = [y * height for y in lm[:, 1].tolist()]
    cx = (xs[LEFT_HIP] + xs[RIGHT_HIP]) / 2.0
    cy = (ys[LEFT_HIP] + ys[RIGHT_HIP]) / 2.0
    torso_x = torso_y = 0.0
    for j in _TORSO:
        torso_x = max(torso_x, abs(cx - xs[j]))
        torso_y = max(torso_y, abs(cy - ys[j]))
    body_x = body_y = 0.0
    for j, score in enumerate(s):
        if score < min_score:
            continue
        body_x = max(body_x, abs(cx - xs[j]))
        body_y = max(body_y, abs(cy - ys[j]))
    half = max(max(torso_x, torso_y) * torso_expansion, max(body_x, body_y) * body_expansion)
    border = max(max(cx, width - cx), max(cy, height - cy))
    half = min(half, border)
    if half > max(width, height) / 2.0 or not half > 0.0:
        return init_crop_region(width, height)
    return np.array([cx / width, cy / height, 2.0 * half / width, 2.0 * half / height], dtype=np.float64)
