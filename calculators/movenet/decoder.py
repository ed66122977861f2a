"""MoveNetDecoder: MoveNet single-pose output tensor -> [Pose] in image coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..inference.base import ModelMismatchError
from ..inference.specs import OutputCheck
from ..types import NormalizedRect, Pose
from .kernels import decode_movenet, pose_score


@dataclass
class MoveNetDecoderOptions:
    # Optional: the model, to check its output tensor at open() (the MODEL side packet overrides it).
    model: str = ""
    # A frame whose mean keypoint score is below this has no pose ([] is emitted).
    min_pose_score: float = 0.2

    def __post_init__(self):
        if not 0.0 <= self.min_pose_score <= 1.0:
            raise ValueError("min_pose_score must be in [0, 1]")


EXPECTED_SHAPE = [1, 1, 17, 3]


def check_outputs(node: str, shapes: list[tuple[int, ...]], what: str) -> None:
    """Raise ModelMismatchError naming the node, the expected and the actual shapes unless `shapes` is one
    [1, 1, 17, 3] tensor."""
    want = EXPECTED_SHAPE
    if len(shapes) != 1 or list(shapes[0]) != want:
        actual = ", ".join(str(list(s)) for s in shapes) or "none"
        raise ModelMismatchError(
            f"node '{node}' (MoveNetDecoderCalculator): {what} do not fit a MoveNet single-pose decoder: expected "
            f"1 output tensor of shape {want} (y, x, score per keypoint), actual: {actual}")


@calculator("MoveNetDecoderCalculator")
class MoveNetDecoderCalculator(Calculator):
    """MoveNet single-pose output + crop matrix -> POSES (list[Pose], coco17) in image coordinates.

    TENSORS ([1, 1, 17, 3] y, x, score in crop units) + MATRIX (crop -> image, from ImageToTensorCalculator)
    -> POSES (one pose; [] when the mean keypoint score is below min_pose_score).

    NORM_RECT (optional, the crop) is recorded as each pose's roi. With a model (option or MODEL side packet) the
    output shape is checked at open(), else on the first tensors; a mismatch names the node and both shapes.
    """

    TENSORS = Input[list]("TENSORS")
    MATRIX = Input[np.ndarray]("MATRIX")
    NORM_RECT = Input[NormalizedRect]("NORM_RECT", optional=True)
    POSES = Output[list]("POSES")
    MODEL = InputSidePacket[str]("MODEL", optional=True)
    Options = MoveNetDecoderOptions

    def open(self, ctx):
        self._outputs = OutputCheck(lambda shapes, what: check_outputs(self.name, shapes, what))
        self._outputs.open(ctx.side(self.MODEL) or self.options.model)

    def process(self, ctx):
        tensors = ctx[self.TENSORS]
        self._outputs.first_tensors(tensors)
        raw = np.asarray(tensors[0], dtype=np.float32).reshape(-1, 3)
        matrix = np.asarray(ctx[self.MATRIX], dtype=np.float64)
        landmarks = decode_movenet(raw, matrix)
        score = float(pose_score(landmarks))
        if score < self.options.min_pose_score:
            ctx.send(self.POSES, [])
            return
        ctx.send(self.POSES, [Pose(landmarks, "coco17", score=score, roi=ctx[self.NORM_RECT])])
