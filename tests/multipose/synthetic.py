"""Synthetic BlazePose-33 people for the tracking unit tests (no models needed)."""

from __future__ import annotations

import numpy as np

from posegraph.calculators.detection.roi import pose_roi_from_landmarks
from posegraph.calculators.tracking.types import NEW_TRACK, TrackedPerson, TrackedRoi
from posegraph.calculators.types import Detection

# (x, y) of the 33 landmarks in units of body height, origin at the hip centre, y down.
_BODY = {
    0: (0.0, -0.86), 1: (-0.02, -0.89), 2: (-0.03, -0.89), 3: (-0.04, -0.89), 4: (0.02, -0.89), 5: (0.03, -0.89),
    6: (0.04, -0.89), 7: (-0.06, -0.87), 8: (0.06, -0.87), 9: (-0.02, -0.83), 10: (0.02, -0.83),
    11: (-0.12, -0.72), 12: (0.12, -0.72), 13: (-0.16, -0.48), 14: (0.16, -0.48), 15: (-0.17, -0.26),
    16: (0.17, -0.26), 17: (-0.18, -0.22), 18: (0.18, -0.22), 19: (-0.17, -0.21), 20: (0.17, -0.21),
    21: (-0.16, -0.23), 22: (0.16, -0.23), 23: (-0.08, 0.0), 24: (0.08, 0.0), 25: (-0.09, 0.25),
    26: (0.09, 0.25), 27: (-0.09, 0.48), 28: (0.09, 0.48), 29: (-0.1, 0.5), 30: (0.1, 0.5), 31: (-0.06, 0.52),
    32: (0.06, 0.52),
}
WIDTH, HEIGHT = 640, 480


def person_landmarks(cx: float, cy: float, height: float, image_width: int = WIDTH,
                     image_height: int = HEIGHT) -> tuple[np.ndarray, np.ndarray]:
    """33 x 5 landmarks and 2 x 5 auxiliary landmarks (hip centre, scale point above the head) of a standing person
    whose hip centre is at normalised (cx, cy) and whose height is `height` x the image height."""
    lm = np.zeros((33, 5), dtype=np.float32)
    px = height * image_height
    for i, (x, y) in _BODY.items():
        lm[i, 0] = cx + x * px / image_width
        lm[i, 1] = cy + y * px / image_height
    lm[:, 3] = 0.99
    lm[:, 4] = 0.99
    aux = np.zeros((2, 5), dtype=np.float32)
    aux[0, :2] = (cx, cy)
    aux[1, :2] = (cx, cy - 0.95 * px / image_height)
    aux[:, 3:] = 0.99
    return lm, aux


def person(cx: float, cy: float, height: float = 0.6, track_id: int = NEW_TRACK, found: bool = True,
           score: float = 0.9) -> TrackedPerson:
    """A TrackedPerson as the landmark loop reports it (new when track_id is NEW_TRACK)."""
    lm, aux = person_landmarks(cx, cy, height)
    roi = pose_roi_from_landmarks(aux, WIDTH, HEIGHT)
    track = TrackedRoi(track_id, roi, score, "detection" if track_id == NEW_TRACK else "track", aux[:, :2].copy())
    if not found:
        return TrackedPerson(track=track, presence=0.1)
    world = np.zeros((33, 3), dtype=np.float32)
    return TrackedPerson(track=track, landmarks=lm, world_landmarks=world, aux_landmarks=aux, presence=0.99,
                         next_roi=roi)


def detection(cx: float, cy: float, height: float = 0.6, score: float = 0.9) -> Detection:
    """A BlazePose-like detection: keypoints hip centre, scale point, shoulder centre, upper-body point."""
    px = height * HEIGHT
    kps = np.array([[cx, cy], [cx, cy - 0.95 * px / HEIGHT], [cx, cy - 0.72 * px / HEIGHT],
                    [cx, cy - 1.1 * px / HEIGHT]], dtype=np.float32)
    box = np.array([cx - 0.05, cy - 0.9 * px / HEIGHT, 0.1, 0.1], dtype=np.float32)
    return Detection(score=score, box=box, keypoints=kps)
