"""LandmarksSink: one JSONL line per frame with every pose found (the format of the MediaPipe reference files)."""

from __future__ import annotations

from pathlib import Path

from posegraph import Calculator, Input, InputSidePacket, calculator

from ..types import ImageFrame, Pose
from .jsonl import JsonlWriter
from .mask_sink import mask_file


@calculator("LandmarksSinkCalculator")
class LandmarksSink(Calculator):
    """Writes ``{"source", "frame", "timestamp_us", "width", "height", "poses": [...]}`` per IMAGE timestamp to
    OUTPUT_PATH (nothing when absent). Frames without a person get ``"poses": []``. Optional EXTRA (a dict, e.g.
    classification, angles, repetitions) is merged into the line. Lines are complete when written, so a crash
    never leaves half a line. MASKS_PATH (the MaskSink's OUTPUT_PATH) adds ``"mask"``: where the frame's mask is.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    POSES = Input[list]("POSES", optional=True)
    EXTRA = Input[dict]("EXTRA", optional=True)
    OUTPUT_PATH = InputSidePacket[str]("OUTPUT_PATH", optional=True)
    MASKS_PATH = InputSidePacket[str]("MASKS_PATH", optional=True)

    def open(self, ctx):
        path = ctx.side(self.OUTPUT_PATH)
        self._writer = None
        self._masks = ctx.side(self.MASKS_PATH) or None
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._writer = JsonlWriter(path)

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
