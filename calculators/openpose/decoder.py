"""OpenPoseDecoder: an OpenPose-style model's heatmaps + part affinity fields -> list[Pose] (COCO-18 -> coco17)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..inference.base import ModelMismatchError
from ..inference.specs import OutputCheck
from ..types import Pose
from .kernels import NUM_PARTS, find_peaks, group_people, people_to_coco17

_HEATMAPS = NUM_PARTS + 1  # 18 parts + background
_PAFS = 38
_NECK = 1


@dataclass
class OpenPoseDecoderOptions:
    # Optional: the model, to check its output at open() (the MODEL side packet overrides it).
    model: str = ""
    # A heatmap cell must exceed this (and its 8 neighbours) to be a part candidate.
    peak_threshold: float = 0.1
    # PAF line integral: samples per limb, the per-sample dot product that counts as a hit, the fraction of hits
    # a limb needs (more than min_hit_ratio * paf_steps).
    paf_steps: int = 10
    min_vec_score: float = 0.05
    min_hit_ratio: float = 0.6
    # A person needs this many parts and this mean (part score + limb score) per part.
    min_parts: int = 4
    min_person_score: float = 0.4
    # Why these two: tf-pose-estimation's pafprocess asked for 9 of 10 samples and person score 0.4 in 2018; the
    # copies shipped with this model since 2019 ask for more than 6 and 0.3. Measured against an independent
    # reference of that upstream decoder (tests/openpose/pafprocess_reference.py: 4x upsampling, Gaussian-smoothed
    # peaks, rounded PAF samples) on the shared images (two walkers, the close-up group, the two partial bodies, the
    # kites beach, the squat, warrior II, two negatives): the hit count changes nothing here (same people, same
    # keypoints; mean keypoint distance to upstream 1.7-2.3 px, 9.8 px on the 2000-px image), so it follows the
    # shipped version; person score 0.3 adds two fragments (scores 0.32 and 0.37) on the kites beach that neither
    # upstream version reports (upstream finds 1 person there, this decoder 2 at 0.4, 4 at 0.3), so 0.4 stays.
    # Keep at most this many people, best first (0: all).
    max_poses: int = 0

    def __post_init__(self):
        if self.paf_steps < 2:
            raise ValueError("paf_steps must be at least 2")
        if not 0.0 <= self.min_hit_ratio < 1.0:
            raise ValueError("min_hit_ratio must be in [0, 1)")
        if self.min_parts < 2:
            raise ValueError("min_parts must be at least 2")
        if self.max_poses < 0:
            raise ValueError("max_poses must not be negative")


def check_shapes(node: str, shapes: list[tuple[int, ...]], what: str) -> None:
    """Raise ModelMismatchError unless `shapes` is one [1, H, W, 57] tensor (19 heatmaps + 38 PAF channels)."""
    want = _HEATMAPS + _PAFS
    if len(shapes) != 1 or len(shapes[0]) != 4 or shapes[0][0] != 1 or shapes[0][3] != want:
        actual = ", ".join(str(list(s)) for s in shapes) or "none"
        raise ModelMismatchError(f"node '{node}' (OpenPoseDecoderCalculator): {what} do not fit an OpenPose COCO-18 "
                                 f"PAF decoder: expected 1 tensor of shape [1, H, W, {want}] (18 part heatmaps + "
                                 f"background, then 38 PAF channels), actual: {actual}")


@calculator("OpenPoseDecoderCalculator")
class OpenPoseDecoderCalculator(Calculator):
    """OpenPose-style heatmaps + part affinity fields -> POSES (list[Pose], COCO-18 mapped to coco17).

    TENSORS ([1, H, W, 57]: COCO-18 heatmaps + background, 19 limb PAFs) + MATRIX (model input -> image, from
    ImageToTensorCalculator) -> POSES (best first; [] when nobody is found).

    Bottom-up: heatmap peaks (3x3 NMS, sub-cell refinement), limbs scored by PAF line integrals, greedy assembly
    into people (kernels.py: numpy and plain Python, no Numba). COCO-18 is mapped to COCO-17 (the neck goes to
    extras["neck"] as x, y, score); parts a person lacks have score 0 and position (0, 0). Pose.score is the mean
    of the 17 keypoint scores; extras["paf_score"] is the assembly score (mean part + limb score per part).
    """

    TENSORS = Input[list]("TENSORS")
    MATRIX = Input[np.ndarray]("MATRIX")
    POSES = Output[list]("POSES")
    MODEL = InputSidePacket[str]("MODEL", optional=True)
    Options = OpenPoseDecoderOptions

    def open(self, ctx):
        self._outputs = OutputCheck(lambda shapes, what: check_shapes(self.name, shapes, what))
        self._outputs.open(ctx.side(self.MODEL) or self.options.model)

    def process(self, ctx):
        tensors = ctx[self.TENSORS]
        self._outputs.first_tensors(tensors)
        out = np.asarray(tensors[0], dtype=np.float32)[0]
        heatmaps = np.ascontiguousarray(out[:, :, :_HEATMAPS])
        pafs = np.ascontiguousarray(out[:, :, _HEATMAPS:])
        o = self.options
        peaks = find_peaks(heatmaps, NUM_PARTS, o.peak_threshold)
        parts, paf_scores = group_people(peaks, pafs, o.paf_steps, o.min_vec_score, o.min_hit_ratio, o.min_parts,
                                         o.min_person_score)
        grid_h, grid_w = heatmaps.shape[0], heatmaps.shape[1]
        keypoints = people_to_coco17(peaks, parts, grid_w, grid_h)
        matrix = np.asarray(ctx[self.MATRIX], dtype=np.float64)
        poses = []
        for q in range(keypoints.shape[0]):
            kp = keypoints[q]
            present = kp[:, 2] > 0
            landmarks = np.zeros((kp.shape[0], 5), dtype=np.float32)
            u = kp[:, 0].astype(np.float64)
            v = kp[:, 1].astype(np.float64)
            landmarks[:, 0] = np.where(present, matrix[0, 0] * u + matrix[0, 1] * v + matrix[0, 2], 0.0)
            landmarks[:, 1] = np.where(present, matrix[1, 0] * u + matrix[1, 1] * v + matrix[1, 2], 0.0)
            landmarks[:, 3] = kp[:, 2]
            landmarks[:, 4] = kp[:, 2]
            extras = {"paf_score": float(paf_scores[q])}
            neck = parts[q, _NECK]
            if neck >= 0:
                nu = (peaks[neck, 1] + 0.5) / grid_w
                nv = (peaks[neck, 2] + 0.5) / grid_h
                extras["neck"] = np.array([matrix[0, 0] * nu + matrix[0, 1] * nv + matrix[0, 2],
                                           matrix[1, 0] * nu + matrix[1, 1] * nv + matrix[1, 2],
                                           peaks[neck, 3]], dtype=np.float32)
            poses.append(Pose(landmarks, "coco17", score=float(kp[:, 2].mean()), extras=extras))
        poses.sort(key=lambda p: -p.score)
        if o.max_poses:
            ctx.count_dropped(max(0, len(poses) - o.max_poses))
            poses = poses[:o.max_poses]
        ctx.send(self.POSES, poses)
