"""LandmarksSink: one JSONL line per frame with every pose found (the format of the MediaPipe reference files)."""

from __future__ import annotations

from pathlib import Path

from posegraph import Calculator, Input, InputSidePacket, calculator

from ..types import ImageFrame, Pose
from .jsonl import JsonlWriter


@calculator("LandmarksSinkCalculator")
class LandmarksSink(Calculator):
    """Writes ``{"source", "frame", "timestamp_us", "width", "height", "poses": [...]}`` per IMAGE timestamp to
    OUTPUT_PATH (nothing when absent). Frames without a person get ``"poses": []``. Optional EXTRA (a dict, e.g.
    classification, angles, repetitions) is merged into the line. Lines are complete when written, so a crash
    never leaves half a line.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    POSES = Input[list]("POSES", optional=True)
    EXTRA = Input[dict]("EXTRA", optional=True)
    OUTPUT_PATH = InputSidePacket[str]("OUTPUT_PATH", optional=True)

    def open(self, ctx):
        path = ctx.side(self.OUTPUT_PATH)
        self._writer = None
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._writer = JsonlWriter(path)

    def process(self, ctx):
        if self._writer is None:
            return
        frame: ImageFrame = ctx[self.IMAGE]
        poses: list[Pose] = ctx[self.POSES] or []
        self._writer.write_frame(frame.source, frame.index, ctx.timestamp, frame.width, frame.height, poses,
                                 ctx[self.EXTRA])

    def close(self, ctx):
        if self._writer is not None:
            self._writer.close()
