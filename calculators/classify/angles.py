"""JointAngles: knee, hip, elbow and shoulder angles of a pose, the features of repetition counting."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..render.topologies import TOPOLOGIES
from ..types import ImageFrame, Pose
from .kernels import joint_angles, to_pixels

__all__ = ["ANGLE_DEFINITIONS", "JointAnglesCalculator", "JointAnglesOptions", "pose_angles"]

# angle name -> (end, vertex, end) keypoint names; the angle is measured at the vertex, 180 = straight limb.
ANGLE_DEFINITIONS: dict[str, tuple[str, str, str]] = {
    "left_knee": ("left_hip", "left_knee", "left_ankle"),
    "right_knee": ("right_hip", "right_knee", "right_ankle"),
    "left_hip": ("left_shoulder", "left_hip", "left_knee"),
    "right_hip": ("right_shoulder", "right_hip", "right_knee"),
    "left_elbow": ("left_shoulder", "left_elbow", "left_wrist"),
    "right_elbow": ("right_shoulder", "right_elbow", "right_wrist"),
    "left_shoulder": ("left_elbow", "left_shoulder", "left_hip"),
    "right_shoulder": ("right_elbow", "right_shoulder", "right_hip"),
}


@functools.lru_cache(maxsize=64)
def _triples(topology: str, num_keypoints: int, names: tuple[str, ...]) -> np.ndarray:
    known = TOPOLOGIES.get(topology)
    if known is None or known.num_keypoints != num_keypoints:
        return np.full((len(names), 3), -1, np.int64)
    index = {n: i for i, n in enumerate(known.keypoint_names)}
    return np.array([[index.get(j, -1) for j in ANGLE_DEFINITIONS[n]] for n in names], np.int64).reshape(-1, 3)


def pose_angles(pose: Pose, width: float = 1.0, height: float = 1.0, *, names: tuple[str, ...] | None = None,
                min_visibility: float = 0.0, use_world_landmarks: bool = False) -> dict[str, float | None]:
    """Angles in degrees by name (None where a joint is missing or below `min_visibility`).

    Image angles use pixel coordinates (x * W, y * H; z is left out: only BlazePose estimates it, and coarsely);
    world angles use the metric 3-D world landmarks, which do not depend on the camera's view of the limb.
    """
    names = tuple(ANGLE_DEFINITIONS) if names is None else tuple(names)
    lm = np.asarray(pose.landmarks)
    if use_world_landmarks and pose.world_landmarks is not None:
        points = np.asarray(pose.world_landmarks, np.float64)[:, :3]
    else:
        points = to_pixels(lm, width, height, use_z=False)
    visibility = np.ascontiguousarray(lm[:, 3], np.float64) if lm.shape[1] > 3 else np.ones(len(lm))
    values = joint_angles(np.ascontiguousarray(points), _triples(pose.topology, len(lm), names), visibility,
                          float(min_visibility))
    return {n: (None if not np.isfinite(v) else float(v)) for n, v in zip(names, values)}


@dataclass
class JointAnglesOptions:
    # Which angles (names of ANGLE_DEFINITIONS); empty = all of them.
    angles: list[str] = field(default_factory=list)
    # A joint below this visibility gives no angle (None).
    min_visibility: float = 0.0
    # Use the pose's world landmarks (3-D, metres) when it has them, else image pixels (2-D).
    use_world_landmarks: bool = False

    def __post_init__(self):
        unknown = [a for a in self.angles if a not in ANGLE_DEFINITIONS]
        if unknown:
            raise ValueError(f"unknown angle(s) {unknown}; known: {', '.join(ANGLE_DEFINITIONS)}")
        if not 0.0 <= self.min_visibility <= 1.0:
            raise ValueError("min_visibility must be in [0, 1]")


@calculator("JointAnglesCalculator")
class JointAnglesCalculator(Calculator):
    """POSES (+ IMAGE for the aspect ratio) -> ANGLES: dict of joint angles in degrees of the first pose
    (left/right knee, hip, elbow, shoulder; 180 = straight). {} when there is no pose, None for a joint that is
    missing or not visible enough."""

    POSES = Input[list]("POSES")
    IMAGE = Input[ImageFrame]("IMAGE", optional=True)
    ANGLES = Output[dict]("ANGLES")
    Options = JointAnglesOptions

    def open(self, ctx):
        self._names = tuple(self.options.angles) or tuple(ANGLE_DEFINITIONS)
        joint_angles(np.zeros((3, 3)), np.array([[0, 1, 2]], np.int64), np.ones(3), 0.0)  # compile before frame 1

    def process(self, ctx):
        poses: list[Pose] = ctx[self.POSES] or []
        if not poses:
            ctx.send(self.ANGLES, {})
            return
        frame: ImageFrame | None = ctx[self.IMAGE]
        width, height = (frame.width, frame.height) if frame is not None else (1.0, 1.0)
        ctx.send(self.ANGLES, pose_angles(poses[0], width, height, names=self._names,
                                          min_visibility=self.options.min_visibility,
                                          use_world_landmarks=self.options.use_world_landmarks))
