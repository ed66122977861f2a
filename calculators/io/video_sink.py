"""VideoSink: writes annotated frames to a video file (or to image files for image outputs)."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np

from posegraph import Calculator, Input, InputSidePacket, calculator

from ..types import ImageFrame
from .images import IMAGE_EXTENSIONS
from .video import VideoWriter


@calculator("VideoSinkCalculator")
class VideoSink(Calculator):
    """Writes IMAGE frames to OUTPUT_PATH (nothing when the side packet is absent or empty).

    ``.mp4``/``.avi``: a video at FPS (side packet, default 30). An image extension: one file for a single frame,
    numbered files (``name_00000.png``...) for several. A frame whose size differs from the first is resized to it
    and the change is reported once.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    OUTPUT_PATH = InputSidePacket[str]("OUTPUT_PATH", optional=True)
    FPS = InputSidePacket[float]("FPS", optional=True)

    def open(self, ctx):
        path = ctx.side(self.OUTPUT_PATH)
        self._path = Path(path) if path else None
        self._fps = float(ctx.side(self.FPS, default=30.0) or 30.0)
        self._writer: VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._written: list[Path] = []
        self._resized = 0
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._as_images = self._path.suffix.lower() in IMAGE_EXTENSIONS

    def process(self, ctx):
        if self._path is None:
            return
        frame = ctx[self.IMAGE]
        rgb = frame.pixels if isinstance(frame, ImageFrame) else np.asarray(frame)
        size = (rgb.shape[1], rgb.shape[0])
        if self._size is None:
            self._size = size
        elif size != self._size:
            if not self._resized:
                warnings.warn(f"{self._path}: frame at {ctx.timestamp} us is {size[0]}x{size[1]}, not "
                              f"{self._size[0]}x{self._size[1]} like the first; resizing to fit", stacklevel=1)
            self._resized += 1
            rgb = cv2.resize(rgb, self._size, interpolation=cv2.INTER_AREA)
        if self._as_images:
            target = self._path.with_name(f"{self._path.stem}_{len(self._written):05d}{self._path.suffix}")
            if not cv2.imwrite(str(target), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
                raise OSError(f"could not write image {target}")
            self._written.append(target)
        else:
            if self._writer is None:
                self._writer = VideoWriter(self._path, self._fps, self._size)
            self._writer.write(rgb)

    def close(self, ctx):
        if self._writer is not None:
            self._writer.close()
        if len(self._written) == 1:
            self._written[0].replace(self._path)
