"""PoseRenderer: draws poses, ROIs, detections and text onto the frame."""

from __future__ import annotations

from dataclasses import dataclass

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..types import ImageFrame
from ..io.mask_sink import frame_mask
from .drawing import draw_poses
from .mask_overlay import OVERLAYS, apply_mask_overlay


@dataclass
class PoseRendererOptions:
    visibility_threshold: float = 0.5
    draw_roi: bool = True
    draw_detections: bool = True
    draw_ids: bool = True


@calculator("PoseRendererCalculator")
class PoseRendererCalculator(Calculator):
    """IMAGE + POSES (+ DETECTIONS, TEXT lines) -> annotated IMAGE.

    ENABLE (side packet, optional): when connected, frames are drawn only if it is given and true (graphs connect it
    to the output path, so a run without an output file does not pay for rendering); when not connected, always.
    MASK_OVERLAY (side packet, optional): "blur" or "tint" draws the poses' segmentation masks first, with the
    background blurred or tinted (the graph must run with enable_segmentation).
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    POSES = Input[list]("POSES", optional=True)
    DETECTIONS = Input[list]("DETECTIONS", optional=True)
    TEXT = Input[list]("TEXT", optional=True)
    ENABLE = InputSidePacket("ENABLE", optional=True)
    MASK_OVERLAY = InputSidePacket[str]("MASK_OVERLAY", optional=True)
    OUT = Output[ImageFrame]("IMAGE")
    Options = PoseRendererOptions

    def open(self, ctx):
        self._enabled = bool(ctx.side(self.ENABLE)) if ctx.side_connected(self.ENABLE) else True
        self._overlay = ctx.side(self.MASK_OVERLAY) or None
        if self._overlay is not None and self._overlay not in OVERLAYS:
            raise ValueError(f"node '{self.name}': mask_overlay must be one of {', '.join(OVERLAYS)}, "
                             f"not {self._overlay!r}")

    def process(self, ctx):
        if not self._enabled:
            return
        frame: ImageFrame = ctx[self.IMAGE]
        opts = self.options
        detections = (ctx[self.DETECTIONS] or []) if opts.draw_detections else []
        pixels = frame.pixels
        poses = ctx[self.POSES] or []
        if self._overlay is not None:
            pixels = apply_mask_overlay(pixels, frame_mask(poses, frame.height, frame.width), self._overlay)
        pixels = draw_poses(pixels, poses, visibility_threshold=opts.visibility_threshold,
                            draw_roi=opts.draw_roi, draw_ids=opts.draw_ids, detections=detections,
                            text_lines=ctx[self.TEXT] or ())
        ctx.send(self.OUT, ImageFrame(pixels, frame.source, frame.index))
