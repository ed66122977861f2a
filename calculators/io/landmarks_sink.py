"""LandmarksSink: writes every frame's poses to a landmarks file (JSONL, COCO JSON or CSV by extension)."""

from __future__ import annotations

from posegraph import Calculator, Input, InputSidePacket, calculator

from ..types import ImageFrame, Pose
from .landmark_writers import LandmarksWriter, open_landmarks_writer
from .mask_sink import mask_file


@calculator("LandmarksSinkCalculator")
class LandmarksSinkCalculator(Calculator):
    """Writes each IMAGE timestamp's POSES to OUTPUT_PATH (nothing when absent) in the format its extension names:
    ``.jsonl`` (``{"source", "frame", "timestamp_us", "width", "height", "poses": [...]}`` per frame), ``.json``
    (COCO keypoint results) or ``.csv`` (one row per person per frame); any other extension is an error. Frames
    without a person get ``"poses": []``. Optional EXTRA (a dict, e.g. classification, angles, repetitions) is
    merged into the JSONL line (the COCO and CSV formats hold landmarks only).

    The file is written under a temporary name and renamed when the node closes, after a failure or a cancel too:
    what was processed is kept, and a run that wrote nothing leaves an earlier file of that name untouched.

    MASKS_PATH (the MaskSink's OUTPUT_PATH) adds ``"mask"`` to each JSONL line: where the frame's mask is.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    POSES = Input[list]("POSES", optional=True)
    EXTRA = Input[dict]("EXTRA", optional=True)
    OUTPUT_PATH = InputSidePacket[str]("OUTPUT_PATH", optional=True)
    MASKS_PATH = InputSidePacket[str]("MASKS_PATH", optional=True)

    def open(self, ctx):
        path = ctx.side(self.OUTPUT_PATH)
        self._writer: LandmarksWriter | None = open_landmarks_writer(path) if path else None
        self._masks = ctx.side(self.MASKS_PATH) or None

    def process(self, ctx):
        if self._writer is None:
            return
        frame: ImageFrame = ctx[self.IMAGE]
        poses: list[Pose] = ctx[self.POSES] or []
        extra = ctx[self.EXTRA]
        if self._masks:
            extra = {**(extra or {}), "mask": mask_file(self._masks, frame.index)}
        self._writer.write_frame(frame.source, frame.index, ctx.timestamp, frame.width, frame.height, poses, extra)

    def close(self, ctx):
        if self._writer is not None:
            self._writer.close()
