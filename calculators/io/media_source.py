"""MediaSource: frames from an image, a folder of images, a video file, a camera or a stream, as a graph source."""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from posegraph import STOP, Calculator, InputSidePacket, Output, OutputSidePacket, calculator

from ..types import ImageFrame
from .images import IMAGE_EXTENSIONS, ImageDecodeError, list_images, read_image, sniff_image_format
from .live import END, CaptureLog, LiveCapture, parse_source
from .video import VideoReader, VideoTruncatedError

_SLEEP_SLICE_S = 0.05  # a paced source sleeps at most this long per call, so a cancel is noticed quickly
_MAX_LATE_S = 0.5  # a paced source this far behind its clock (slow decoding) restarts the clock


@dataclass
class MediaSourceOptions:
    # Frame rate given to image sequences (their timestamps are i * 1e6 / fps); videos use their own.
    image_fps: float = 30.0
    # Release file frames at their presentation times (wall clock), as a camera would; cameras and streams are
    # real-time anyway.
    live: bool = False
    # How long a dropped stream is retried (reopened with backoff) before the source ends.
    reconnect_timeout_s: float = 30.0


class UnreadableImagesError(ValueError):
    """Images of a folder that could not be decoded (the others were processed)."""


def _is_image_file(path: Path) -> bool:
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    with open(path, "rb") as handle:
        return sniff_image_format(handle.read(32)) is not None


@calculator("MediaSourceCalculator")
class MediaSourceCalculator(Calculator):
    """Emits IMAGE (ImageFrame, RGB) for each frame of INPUT_PATH: ``photo.jpg``, ``folder/``, ``clip.mp4``, a
    camera (``0``, ``camera:0``, ``/dev/video0``) or a stream (``rtsp://``, ``rtmp://``, ``http(s)://``,
    ``udp://``...). Video timestamps are the file's presentation times, equal to the MediaPipe reference's
    ``round(i * 1000 / fps) * 1000`` us for constant-rate files; cameras and streams get wall-clock time since the
    first frame. FPS (output side packet) tells sinks the frame rate; CAPTURE_LOG (output side packet, a
    `CaptureLog`) counts the frames captured and when each was captured, for latency measurements.

    With the `live` option, file frames are released at their presentation times. A dropped stream is reopened with
    backoff (see `live`). A damaged video is read past corrupt stretches up to a sane limit; every frame before the
    end flows through the graph, then the run reports the damage as an error. An image of a folder that cannot be
    decoded is skipped, the others are processed, and the run then fails naming it. Files in a folder that are not
    images are skipped with a warning.
    """

    INPUT_PATH = InputSidePacket[str]("INPUT_PATH")
    MAX_FRAMES = InputSidePacket[int]("MAX_FRAMES", optional=True)
    IMAGE = Output[ImageFrame]("IMAGE")
    FPS = OutputSidePacket[float]("FPS", optional=True)
    CAPTURE_LOG = OutputSidePacket[CaptureLog]("CAPTURE_LOG", optional=True)
    Options = MediaSourceOptions
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        spec = parse_source(ctx.side(self.INPUT_PATH))
        limit = ctx.side(self.MAX_FRAMES)
        self._limit = int(limit) if limit not in (None, "") and int(limit) > 0 else None
        self._emitted = 0
        self._position = 0
        self._video: VideoReader | None = None
        self._live: LiveCapture | None = None
        self._images: list[Path] = []
        self._bad_images: list[str] = []
        self._pending = None  # a paced frame waiting for its time: (timestamp, ImageFrame)
        self._origin: tuple[float, int] | None = None
        self._total: int | None = None
        self._first_video_frame = None
        if spec.live:
            self._live = LiveCapture(spec, reconnect_timeout_s=self.options.reconnect_timeout_s)
            self._gaps_reported = 0
            fps = self._live.fps
        else:
            path = Path(os.path.expanduser(str(spec.value)))
            if not path.exists():
                raise FileNotFoundError(f"input {path} does not exist (a camera is 0 or camera:0, a stream a URL "
                                        "such as rtsp://host/stream)")
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
                # The decoder fills its frame threads on the first read (tens of ms): done here, not in the loop.
                self._first_video_frame = self._video.read()
            self._total = len(self._images) if self._images else self._video.frame_count
            fps = self._video.fps if self._video is not None else self.options.image_fps
        if self._limit is not None and self._total is not None:
            self._total = min(self._total, self._limit)
        self._paced = bool(self.options.live) and self._live is None
        self._log = CaptureLog(str(spec), live=self._paced or self._live is not None)
        ctx.set_side(self.FPS, float(fps))
        ctx.set_side(self.CAPTURE_LOG, self._log)

    def progress(self) -> tuple[int, int | None]:
        return self._emitted, self._total

    def _next_frame(self, ctx) -> tuple[int, ImageFrame, float | None] | None | object:
        """(timestamp, frame, capture time or None), None for "nothing yet", or END."""
        if self._live is not None:
            frame = self._live.poll()
            for gap in self._live.gaps[self._gaps_reported:]:
                text = gap.describe(self._live.source)
                self._log.note_gap(text)
                warnings.warn(text, stacklevel=1)
            self._gaps_reported = len(self._live.gaps)
            if frame is END or frame is None:
                return frame
            return frame.timestamp_us, ImageFrame(frame.rgb, self._live.source, frame.index), frame.captured_at
        if self._video is not None:
            frame = self._first_video_frame if self._first_video_frame is not None else self._video.read()
            self._first_video_frame = None
            if frame is None:
                report = self._video.report
                if report.ended_early:
                    ctx.defer_error(VideoTruncatedError(report))
                elif report.failed_reads:
                    warnings.warn(report.describe(), stacklevel=1)
                return END
            source = self._video.path.name if self._video.path is not None else self._video.source
            return frame.timestamp_us, ImageFrame(frame.rgb, source, frame.index), None
        while self._position < len(self._images):
            position = self._position
            self._position += 1
            path = self._images[position]
            try:
                pixels = read_image(path)
            except ImageDecodeError as exc:
                if len(self._images) == 1:
                    raise
                self._bad_images.append(str(exc))
                warnings.warn(f"skipping {exc}", stacklevel=1)
                continue
            timestamp = round(position * 1_000_000 / self.options.image_fps)
            return timestamp, ImageFrame(pixels, path.name, 0 if len(self._images) == 1 else position), None
        if self._bad_images:
            ctx.defer_error(UnreadableImagesError(
                f"{len(self._bad_images)} of {len(self._images)} images could not be read (the others were "
                "processed): " + "; ".join(self._bad_images[:5])))
        return END

    def _due(self, timestamp: int) -> float:
        assert self._origin is not None
        return self._origin[0] + (timestamp - self._origin[1]) / 1e6

    def process(self, ctx):
        if self._limit is not None and self._emitted >= self._limit:
            return STOP
        if self._pending is None:
            item = self._next_frame(ctx)
            if item is END:
                return STOP
            if item is None:
                return None
            self._pending = item
        timestamp, frame, captured_at = self._pending
        if self._paced:
            now = time.monotonic()
            if self._origin is None or now - self._due(timestamp) > _MAX_LATE_S:
                self._origin = (now, timestamp)  # start, or fell far behind (slow decoding): restart the clock
            due = self._due(timestamp)
            if now < due:
                time.sleep(min(_SLEEP_SLICE_S, due - now))
                if time.monotonic() < due:
                    return None
            captured_at = due  # when a camera would have delivered it
        elif captured_at is None:
            captured_at = time.monotonic()
        self._pending = None
        self._log.record(timestamp, captured_at)
        ctx.send(self.IMAGE, frame, timestamp=timestamp)
        self._emitted += 1

    def close(self, ctx):
        if self._video is not None:
            self._video.close()
        if self._live is not None:
            self._live.close()
