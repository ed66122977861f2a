"""Skeleton definitions: keypoint names, which pairs to connect, and which side of the body each point is on.

`Pose.topology` names one of these, so renderers, classifiers and angle calculators can look up the meaning of
landmark i without knowing which model produced it.

- blazepose33: MediaPipe Pose landmarks (BlazePose GHUM), connections = mediapipe `POSE_CONNECTIONS`.
- coco17: COCO keypoint order (MoveNet, PoseNet, PP-TinyPose), the usual 18-edge COCO skeleton (as drawn by the
  TensorFlow MoveNet examples).
- coco18: OpenPose COCO-18 order (with a neck point), the 17 limbs tf-pose-estimation draws (`CocoPairsRender`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

__all__ = ["BLAZEPOSE33", "COCO17", "COCO18", "TOPOLOGIES", "Topology", "get_topology"]


@dataclass(frozen=True, slots=True)
class Topology:
    """A skeleton: `connections` are index pairs into `keypoint_names`; `sides` is "L", "R" or "C" per keypoint."""

    name: str
    keypoint_names: tuple[str, ...]
    connections: tuple[tuple[int, int], ...]
    sides: tuple[str, ...]

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)

    def index(self, keypoint_name: str) -> int:
        """Index of a keypoint by name (ValueError listing the names when unknown)."""
        try:
            return self.keypoint_names.index(keypoint_name)
        except ValueError:
            raise ValueError(f"{self.name} has no keypoint {keypoint_name!r}; names: "
                             f"{', '.join(self.keypoint_names)}") from None

    def __post_init__(self) -> None:
        n = len(self.keypoint_names)
        if len(self.sides) != n:
            raise ValueError(f"{self.name}: {len(self.sides)} sides for {n} keypoints")
        for a, b in self.connections:
            if not (0 <= a < n and 0 <= b < n):
                raise ValueError(f"{self.name}: connection ({a}, {b}) out of range for {n} keypoints")


def _sides(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("L" if n.startswith("left_") else "R" if n.startswith("right_") else "C" for n in names)


_BLAZEPOSE_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)

BLAZEPOSE33 = Topology(
    name="blazepose33",
    keypoint_names=_BLAZEPOSE_NAMES,
    # mediapipe/python/solutions/pose_connections.py POSE_CONNECTIONS (a frozenset there; its source order here).
    connections=(
        (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13), (13, 15),
        (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
        (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30), (29, 31),
        (30, 32), (27, 31), (28, 32),
    ),
    # MediaPipe counts mouth_left / mouth_right as left / right too.
    sides=tuple("L" if n.startswith("left_") or n == "mouth_left" else
                "R" if n.startswith("right_") or n == "mouth_right" else "C" for n in _BLAZEPOSE_NAMES),
)

_COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)

COCO17 = Topology(
    name="coco17",
    keypoint_names=_COCO17_NAMES,
    connections=(
        (0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (0, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11),
        (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
    ),
    sides=_sides(_COCO17_NAMES),
)

_COCO18_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye",
    "right_ear", "left_ear",
)

COCO18 = Topology(
    name="coco18",
    keypoint_names=_COCO18_NAMES,
    connections=(
        (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
        (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
    ),
    sides=_sides(_COCO18_NAMES),
)

TOPOLOGIES: Mapping[str, Topology] = MappingProxyType({t.name: t for t in (BLAZEPOSE33, COCO17, COCO18)})


def get_topology(name: str) -> Topology:
    """The topology called `name`; KeyError listing the known names when unknown."""
    try:
        return TOPOLOGIES[name]
    except KeyError:
        raise KeyError(f"unknown pose topology {name!r}; known: {', '.join(TOPOLOGIES)}") from None
