"""MaskSink: person segmentation masks to 8-bit PNG files (one per frame) or to a mask video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from posegraph import Calculator, Input, InputSidePacket, calculator

from ..landmarks.pose_result import SEGMENTATION_MASK_KEY
from ..types import ImageFrame, Pose
from .partial import check_writable
from .video import VideoWriter

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv"})


def is_mask_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def mask_file(masks_path: str | Path, frame_index: int) -> str:
    """Where the mask of frame `frame_index` goes: ``DIR/mask_000012.png``, or the video itself."""
    if is_mask_video(masks_path):
        return str(masks_path)
    return str(Path(masks_path) / f"mask_{int(frame_index):06d}.png")


def frame_mask(poses: list[Pose], height: int, width: int) -> np.ndarray:
    """The frame's mask, float32 H x W: the per-pixel maximum over the poses' masks (zeros when nobody)."""
    masks = [p.extras[SEGMENTATION_MASK_KEY] for p in poses if SEGMENTATION_MASK_KEY in p.extras]
    if not masks:
        return np.zeros((height, width), np.float32)
    return np.maximum.reduce([np.asarray(m, np.float32) for m in masks]) if len(masks) > 1 else masks[0]


def to_uint8(mask: np.ndarray) -> np.ndarray:
    """[0, 1] float -> 0..255 (rounded), as MediaPipe's examples scale a mask for display."""
    return np.clip(np.rint(np.asarray(mask, np.float32) * 255.0), 0, 255).astype(np.uint8)


@calculator("MaskSinkCalculator")
class MaskSinkCalculator(Calculator):
    """Writes each IMAGE timestamp's person mask (the poses' SEGMENTATION masks, merged) to OUTPUT_PATH: a folder
    gets ``mask_000000.png``... (8-bit grey, 255 = person), a ``.mp4``/``.avi`` path a grey mask video at FPS.
    Frames without a person get an all-black mask, so there is one mask per frame. Nothing when OUTPUT_PATH is
    absent. The graph must run with enable_segmentation, or every mask is black."""

    IMAGE = Input[ImageFrame]("IMAGE")
    POSES = Input[list]("POSES", optional=True)
    OUTPUT_PATH = InputSidePacket[str]("OUTPUT_PATH", optional=True)
    FPS = InputSidePacket[float]("FPS", optional=True)

    def open(self, ctx):
        path = ctx.side(self.OUTPUT_PATH)
        self._path = Path(path) if path else None
        self._fps = float(ctx.side(self.FPS, default=30.0) or 30.0)
        self._writer: VideoWriter | None = None
        if self._path is not None:  # fails now, naming the path, rather than after the frames
            check_writable(self._path, folder=not is_mask_video(self._path))

    def process(self, ctx):
        if self._path is None:
            return
        frame: ImageFrame = ctx[self.IMAGE]
        grey = to_uint8(frame_mask(ctx[self.POSES] or [], frame.height, frame.width))
        if is_mask_video(self._path):
            if self._writer is None:
                self._writer = VideoWriter(self._path, self._fps, (frame.width, frame.height))
            self._writer.write(np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2)))
            return
        target = mask_file(self._path, frame.index)
        if not cv2.imwrite(target, grey):
            raise OSError(f"could not write mask image {target}")

    def close(self, ctx):
        if self._writer is not None:
            self._writer.close()
