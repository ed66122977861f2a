"""PoseRenderer: draws poses, ROIs, detections and text onto the frame."""

from __future__ import annotations

from dataclasses import dataclass

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..types import ImageFrame
from .drawing import draw_poses


@dataclass
class PoseRendererOptions:
    visibility_threshold: float = 0.5
    draw_roi: bool = True
    draw_detections: bool = True
    draw_ids: bool = True


@calculator("PoseRendererCalculator")
class PoseRenderer(Calculator):
    """IMAGE + POSES (+ DETECTIONS, TEXT lines) -> annotated IMAGE.

    ENABLE (side packet, optional): when connected, frames are drawn only if it is given and true (graphs connect it
    to the output path, so a run without an output file does not pay for rendering); when not connected, always.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    POSES = Input[list]("POSES", optional=True)
    DETECTIONS = Input[list]("DETECTIONS", optional=True)
    TEXT = Input[list]("TEXT", optional=True)
    ENABLE = InputSidePacket("ENABLE", optional=True)
    OUT = Output[ImageFrame]("IMAGE")
    Options = PoseRendererOptions

    def open(self, ctx):
        self._enabled = bool(ctx.side(self.ENABLE)) if ctx.side_connected(self.ENABLE) else True

    def process(self, ctx):
        if not self._enabled:
            return
        frame: ImageFrame = ctx[self.IMAGE]
        opts = self.options
        detections = (ctx[self.DETECTIONS] or []) if opts.draw_detections else []
        pixels = draw_poses(frame.pixels, ctx[self.POSES] or [], visibility_threshold=opts.visibility_threshold,
                            draw_roi=opts.draw_roi, draw_ids=opts.draw_ids, detections=detections,
                            text_lines=ctx[self.TEXT] or ())
        ctx.send(self.OUT, ImageFrame(pixels, frame.source, frame.index))
