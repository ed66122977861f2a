"""MediaSource: frames from an image, a folder of images, a video file or a camera, as a graph source."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from posegraph import STOP, Calculator, InputSidePacket, Output, OutputSidePacket, calculator

from ..types import ImageFrame
from .images import IMAGE_EXTENSIONS, list_images, read_image, sniff_image_format
from .video import VideoReader, VideoTruncatedError


@dataclass
class MediaSourceOptions:
    # Frame rate given to image sequences (their timestamps are i * 1e6 / fps); videos use their own.
    image_fps: float = 30.0


def _is_image_file(path: Path) -> bool:
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    with open(path, "rb") as handle:
        return sniff_image_format(handle.read(32)) is not None


@calculator("MediaSourceCalculator")
class MediaSource(Calculator):
    """Emits IMAGE (ImageFrame, RGB) for each frame of INPUT_PATH: ``photo.jpg``, ``folder/``, ``clip.mp4`` or
    ``camera:N``. Video timestamps follow the file's frame rate as MediaPipe's reference runs do
    (``round(i * 1000 / fps) * 1000`` us). FPS (output side packet) tells sinks the frame rate.

    A damaged video is read up to the damage; every frame before it flows through the graph, then the run
    reports the damage as an error. Files in a folder that are not images are skipped with a warning.
    """

    INPUT_PATH = InputSidePacket[str]("INPUT_PATH")
    MAX_FRAMES = InputSidePacket[int]("MAX_FRAMES", optional=True)
    IMAGE = Output[ImageFrame]("IMAGE")
    FPS = OutputSidePacket[float]("FPS", optional=True)
    Options = MediaSourceOptions
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        source = str(ctx.side(self.INPUT_PATH))
        limit = ctx.side(self.MAX_FRAMES)
        self._limit = int(limit) if limit not in (None, "") and int(limit) > 0 else None
        self._emitted = 0
        self._video: VideoReader | None = None
        self._images: list[Path] = []
        if source.startswith("camera:"):
            self._video = VideoReader(int(source.split(":", 1)[1]))
            self._total = None
        else:
            path = Path(os.path.expanduser(source))
            if not path.exists():
                raise FileNotFoundError(f"input {path} does not exist")
            if path.is_dir():
                listing = list_images(path)
                if listing.skipped:
                    warnings.warn(f"{path}: skipped {len(listing.skipped)} entries that are not images: "
                                  + "; ".join(f"{s.path.name} ({s.reason})" for s in listing.skipped[:5]),
                                  stacklevel=1)
                if not listing.images:
                    raise FileNotFoundError(f"folder {path} has no images to process")
                self._images = listing.images
            elif _is_image_file(path):
                self._images = [path]
            else:
                self._video = VideoReader(path)
            self._total = len(self._images) if self._images else self._video.frame_count
        if self._limit is not None and self._total is not None:
            self._total = min(self._total, self._limit)
        fps = self._video.fps if self._video is not None else self.options.image_fps
        ctx.set_side(self.FPS, float(fps))

    def progress(self) -> tuple[int, int | None]:
        return self._emitted, self._total

    def process(self, ctx):
        if self._limit is not None and self._emitted >= self._limit:
            return STOP
        if self._video is not None:
            frame = self._video.read()
            if frame is None:
                report = self._video.report
                if report.ended_early:
                    ctx.defer_error(VideoTruncatedError(report))
                return STOP
            source = self._video.path.name if self._video.path is not None else self._video.source
            ctx.send(self.IMAGE, ImageFrame(frame.rgb, source, frame.index), timestamp=frame.timestamp_us)
        else:
            if self._emitted >= len(self._images):
                return STOP
            path = self._images[self._emitted]
            timestamp = round(self._emitted * 1_000_000 / self.options.image_fps)
            ctx.send(self.IMAGE, ImageFrame(read_image(path), path.name, 0 if len(self._images) == 1
                                            else self._emitted), timestamp=timestamp)
        self._emitted += 1

    def close(self, ctx):
        if self._video is not None:
            self._video.close()
