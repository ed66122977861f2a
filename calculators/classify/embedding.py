"""Pose embeddings for k-NN classification: which joints, which pairs, for any topology.

Pairs are named (MediaPipe's fitness sample pairs: torso, one-, two-, four- and five-joint spans and cross-body
distances) and resolved per topology by keypoint name, so poses of COCO-17, COCO-18 and BlazePose-33 models give
comparable embeddings. A topology without those names (an unknown or custom skeleton) falls back to every pair of
keypoints, centred on their mean, without mirroring; such embeddings only compare with the same topology.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..render.topologies import TOPOLOGIES
from .kernels import embed, to_pixels

__all__ = ["BODY_JOINTS", "EMBEDDING_PAIRS", "EmbeddingLayout", "layout_for", "pose_embedding"]

# Joints every supported topology has; the pose size is measured over them.
BODY_JOINTS = ("nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
               "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
_MIDPOINTS = {"mid_hip": ("left_hip", "right_hip"), "mid_shoulder": ("left_shoulder", "right_shoulder")}

EMBEDDING_PAIRS: tuple[tuple[str, str], ...] = (
    ("mid_hip", "mid_shoulder"),
    # one joint
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
    # two joints
    ("left_shoulder", "left_wrist"), ("right_shoulder", "right_wrist"),
    ("left_hip", "left_ankle"), ("right_hip", "right_ankle"),
    # four joints
    ("left_hip", "left_wrist"), ("right_hip", "right_wrist"),
    # five joints
    ("left_shoulder", "left_ankle"), ("right_shoulder", "right_ankle"),
    # cross body
    ("left_elbow", "right_elbow"), ("left_knee", "right_knee"),
    ("left_wrist", "right_wrist"), ("left_ankle", "right_ankle"),
)


def _mirror_name(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


@dataclass(frozen=True, eq=False)
class EmbeddingLayout:
    """Index tables for one topology: `pairs` / `mirrored_pairs` M x 4 (from_a, from_b, to_a, to_b), the joints
    that bound the size, the centre and torso joints. `named` layouts compare across topologies."""

    topology: str
    num_keypoints: int
    named: bool
    pairs: np.ndarray
    mirrored_pairs: np.ndarray | None
    norm_points: np.ndarray
    centre: np.ndarray
    torso: np.ndarray

    @property
    def num_pairs(self) -> int:
        return int(self.pairs.shape[0])

    def embed(self, landmarks: np.ndarray, width: float = 1.0, height: float = 1.0, *, use_z: bool = True,
              mirror: bool = False) -> np.ndarray:
        """M x 3 embedding of one pose (N x >=3 normalised landmarks of an image `width` x `height`)."""
        if landmarks.shape[0] != self.num_keypoints:
            raise ValueError(f"{self.topology} pose with {landmarks.shape[0]} landmarks, expected "
                             f"{self.num_keypoints}")
        points = to_pixels(landmarks, width, height, use_z)
        if mirror:
            if self.mirrored_pairs is None:
                raise ValueError(f"topology {self.topology!r} has no left/right names to mirror")
            return embed(points, self.mirrored_pairs, self.norm_points, self.centre, self.torso, 2.5, True)
        return embed(points, self.pairs, self.norm_points, self.centre, self.torso, 2.5, False)


def _named_layout(topology: str, names: tuple[str, ...]) -> EmbeddingLayout | None:
    index = {n: i for i, n in enumerate(names)}
    if not all(j in index for j in BODY_JOINTS):
        return None

    def ends(name: str, mirrored: bool) -> tuple[int, int]:
        if mirrored:
            name = _mirror_name(name)
        if name in _MIDPOINTS:
            a, b = _MIDPOINTS[name]
            return index[a], index[b]
        return index[name], index[name]

    table = np.array([[*ends(a, False), *ends(b, False)] for a, b in EMBEDDING_PAIRS], np.int64)
    mirrored = np.array([[*ends(a, True), *ends(b, True)] for a, b in EMBEDDING_PAIRS], np.int64)
    return EmbeddingLayout(topology, len(names), True, table, mirrored,
                           np.array([index[j] for j in BODY_JOINTS], np.int64),
                           np.array([index["left_hip"], index["right_hip"]], np.int64),
                           np.array([index["left_shoulder"], index["right_shoulder"]], np.int64))


@functools.lru_cache(maxsize=64)
def layout_for(topology: str, num_keypoints: int) -> EmbeddingLayout:
    """The embedding layout of a topology (named pairs when it has the body joints, else every keypoint pair)."""
    known = TOPOLOGIES.get(topology)
    if known is not None and known.num_keypoints == num_keypoints:
        layout = _named_layout(topology, known.keypoint_names)
        if layout is not None:
            return layout
    if num_keypoints < 2:
        raise ValueError(f"cannot embed a pose of {num_keypoints} keypoint(s)")
    everything = np.arange(num_keypoints, dtype=np.int64)
    i, j = np.triu_indices(num_keypoints, k=1)
    pairs = np.stack([i, i, j, j], axis=1).astype(np.int64)
    mirrored = None
    if known is not None and known.num_keypoints == num_keypoints:
        names = known.keypoint_names
        lookup = {n: k for k, n in enumerate(names)}
        perm = np.array([lookup.get(_mirror_name(n), k) for k, n in enumerate(names)], np.int64)
        mirrored = perm[pairs]
    return EmbeddingLayout(topology, num_keypoints, False, pairs, mirrored, everything, everything,
                           np.zeros(0, np.int64))


def pose_embedding(landmarks: np.ndarray, topology: str, width: float = 1.0, height: float = 1.0, *,
                   use_z: bool = True, mirror: bool = False) -> np.ndarray:
    """M x 3 float32 embedding of one pose; see `EmbeddingLayout.embed`."""
    landmarks = np.asarray(landmarks)
    return layout_for(topology, int(landmarks.shape[0])).embed(landmarks, width, height, use_z=use_z,
                                                               mirror=mirror)
