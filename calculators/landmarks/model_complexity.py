"""PoseLandmarkModel: MediaPipe's ``model_complexity`` (0 lite, 1 full, 2 heavy) -> the landmark model to load.

MediaPipe picks the landmark model file in pose_landmark_model_loader.pbtxt from MODEL_COMPLEXITY; here the choice
is a side packet that the inference node's MODEL side packet takes. An explicit LANDMARK_MODEL (a manifest name or a
path) wins, which is how the heavy model (not shipped with the shared models) is given.
"""

from __future__ import annotations

from posegraph import Calculator, InputSidePacket, OutputSidePacket, STOP, calculator

MODELS = {0: "blazepose_landmark_lite", 1: "blazepose_landmark_full"}
HEAVY = 2


def landmark_model_for(model_complexity: int | None, landmark_model: str | None = None) -> str:
    """The landmark model name or path for a complexity, or a clear error (heavy needs its file)."""
    if landmark_model:
        return str(landmark_model)
    complexity = 0 if model_complexity is None else model_complexity
    if isinstance(complexity, bool) or not isinstance(complexity, int) or complexity not in (0, 1, HEAVY):
        raise ValueError(f"model_complexity must be 0 (lite), 1 (full) or 2 (heavy), got {model_complexity!r}")
    if complexity == HEAVY:
        raise ValueError("model_complexity 2 (heavy) needs the heavy model file, which is not among the known models: "
                         "give it as landmark_model=PATH/pose_landmark_heavy.tflite")
    return MODELS[complexity]


@calculator("PoseLandmarkModelCalculator")
class PoseLandmarkModelCalculator(Calculator):
    """MODEL_COMPLEXITY (int, default 0) and LANDMARK_MODEL (str, optional override) -> LANDMARK_MODEL (output
    side packet: a manifest name or a path)."""

    MODEL_COMPLEXITY = InputSidePacket[int]("MODEL_COMPLEXITY", optional=True)
    LANDMARK_MODEL_IN = InputSidePacket[str]("LANDMARK_MODEL", optional=True)
    LANDMARK_MODEL = OutputSidePacket[str]("LANDMARK_MODEL")

    def open(self, ctx):
        complexity = ctx.side(self.MODEL_COMPLEXITY) if ctx.has_side(self.MODEL_COMPLEXITY) else None
        given = ctx.side(self.LANDMARK_MODEL_IN) if ctx.has_side(self.LANDMARK_MODEL_IN) else None
        try:
            ctx.set_side(self.LANDMARK_MODEL, landmark_model_for(complexity, given))
        except ValueError as exc:
            raise ValueError(f"node '{self.name}': {exc}") from None

    def process(self, ctx):
        return STOP
