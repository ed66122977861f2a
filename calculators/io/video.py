"""Video frames in (cv2.VideoCapture) and out (cv2.VideoWriter), as RGB uint8.

Timestamps follow the MediaPipe reference: frame `i` of a file gets `round(i * 1000 / fps) * 1000` microseconds
(integer milliseconds, as the Tasks API takes them, times 1000), so that time-dependent filters see exactly the
timestamps the reference graph saw. Cameras get wall-clock time since the first frame instead, because their
reported fps is often a nominal value.

A damaged file is not an all-or-nothing affair: the reader yields every frame it can decode and then records in
`report` whether the stream ended early (fewer frames than the container announced) or cleanly. OpenCV's FFmpeg
backend can skip over a corrupt packet when asked for the next frame, so a failed read is retried a few times
while the container says frames remain. Frame indices count *decoded* frames (the reference's convention), so after
a skipped corrupt frame the later indices and timestamps are shifted by the frames lost.

A file that cannot be opened at all raises `VideoOpenError` naming the file and, for MP4/MOV files, why: a copy
truncated before its index (the `moov` box, which most writers put at the *end*) has no readable frames at all.
"""

from __future__ import annotations

import math
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

import cv2
import numpy as np

from .images import to_rgb

__all__ = [
    "VideoError",
    "VideoFrame",
    "VideoOpenError",
    "VideoReadReport",
    "VideoReader",
    "VideoTruncatedError",
    "VideoWriter",
    "VideoWriterError",
    "frame_timestamp_us",
]

DEFAULT_FPS = 30.0
MAX_CONSECUTIVE_FAILURES = 16  # failed reads tolerated while the container says frames remain (measured: <= 4)


class VideoError(Exception):
    """Base class of video reading and writing errors."""


class VideoOpenError(VideoError, ValueError):
    """A video file or camera cannot be opened; the message names it and says what it seems to be."""


class VideoTruncatedError(VideoError):
    """Raised after the last decodable frame when `raise_on_damage=True` and the stream ended early."""

    def __init__(self, report: "VideoReadReport"):
        super().__init__(report.describe())
        self.report = report


class VideoWriterError(VideoError, OSError):
    """A video file cannot be written."""


class VideoFrame(NamedTuple):
    """One decoded frame; unpacks as `(index, timestamp_us, rgb)`."""

    index: int
    timestamp_us: int
    rgb: np.ndarray


@dataclass(frozen=True, slots=True)
class VideoReadReport:
    """How a read went.

    `ended_early` is True when fewer frames were decoded than the container announced (a truncated file, or
    frames lost to corruption); `failed_reads` counts failed reads that a later read recovered from (corrupt
    packets skipped). `finished` is False while frames may still come.
    """

    source: str
    frames_read: int
    frames_expected: int | None
    failed_reads: int
    finished: bool

    @property
    def ended_early(self) -> bool:
        return self.finished and self.frames_expected is not None and self.frames_read < self.frames_expected

    @property
    def clean(self) -> bool:
        """Finished with every announced frame (or no announced count) and no failed read along the way."""
        return self.finished and not self.ended_early and self.failed_reads == 0

    def describe(self) -> str:
        if not self.finished:
            return f"{self.source}: {self.frames_read} frame(s) read so far"
        if self.ended_early:
            skipped = f", {self.failed_reads} corrupt read(s) skipped" if self.failed_reads else ""
            return (f"{self.source}: the stream ended early: {self.frames_read} of {self.frames_expected} announced "
                    f"frames decoded{skipped}; the file is truncated or corrupt")
        if self.failed_reads:
            return (f"{self.source}: {self.frames_read} frames decoded, {self.failed_reads} read(s) failed along the "
                    "way (corrupt packets skipped)")
        total = "" if self.frames_expected is None else f" of {self.frames_expected}"
        return f"{self.source}: clean end after {self.frames_read}{total} frames"


def frame_timestamp_us(index: int, fps: float) -> int:
    """The reference's timestamp of frame `index`: whole milliseconds (Python's round) times 1000."""
    return int(round(index * 1000 / fps)) * 1000


def _mp4_diagnosis(path: Path) -> str:
    """Explain why an ISO-BMFF (MP4/MOV) file cannot be opened, from its top-level boxes; '' when not MP4."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        data = handle.read(min(size, 1 << 16))
        if len(data) < 8 or data[4:8] not in (b"ftyp", b"mdat", b"moov", b"free", b"wide", b"skip"):
            return ""
        offset, boxes = 0, []
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(16)
            if len(header) < 8:
                break
            box_size, kind = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) == 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8:
                return "its MP4 box structure is corrupt"
            boxes.append((kind.decode("latin-1"), offset, box_size))
            offset += box_size
    kinds = [k for k, _, _ in boxes]
    if offset > size:
        kind, start, box_size = boxes[-1]
        missing = "" if "moov" in kinds else (
            "; its index (the 'moov' box, which MP4 writers put at the end of the file) is missing, so no frame can "
            "be located. Re-copy the complete file; files written with '-movflags +faststart' (index first) stay "
            "partly readable when truncated")
        return (f"it is truncated: its '{kind}' box at byte {start} declares {box_size} bytes but the file ends "
                f"after {size - start}{missing}")
    if "moov" not in kinds:
        return "it has no 'moov' box (MP4 index), so no frame can be located"
    return "FFmpeg could not open it although its MP4 box structure looks complete (unsupported codec?)"


def _describe_unopenable(path: Path) -> str:
    diagnosis = _mp4_diagnosis(path)
    if diagnosis:
        return diagnosis
    with open(path, "rb") as handle:
        head = handle.read(32)
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return f"it looks like text, not a video: {head.decode('ascii', 'replace')!r}"
    return f"OpenCV/FFmpeg does not recognise it as a video (first bytes {head[:12].hex(' ')})"


class VideoReader:
    """Iterate over the frames of a video file or camera as `VideoFrame(index, timestamp_us, rgb)`.

    `source` is a file path or a camera index. `fps` overrides the container's frame rate (used for timestamps);
    files without a usable rate fall back to 30 fps (see `fps_source`). After iteration, `report` tells a clean end
    from an early one; with `raise_on_damage=True` an early end raises VideoTruncatedError after the last frame.
    Frames are read lazily; iterate once (a second iteration continues where the first stopped).
    """

    def __init__(self, source: str | os.PathLike[str] | int, *, fps: float | None = None,
                 raise_on_damage: bool = False):
        self.raise_on_damage = raise_on_damage
        self.path: Path | None = None
        self.is_camera = isinstance(source, int) and not isinstance(source, bool)
        if self.is_camera:
            self.source = f"camera {source}"
            self._capture = cv2.VideoCapture(int(source))
            if not self._capture.isOpened():
                raise VideoOpenError(f"could not open camera index {source}: no such device, or it is busy or not "
                                     "permitted")
        else:
            path = Path(os.fspath(source))  # type: ignore[arg-type]
            self.path = path
            self.source = str(path)
            if not path.exists():
                raise FileNotFoundError(f"video {path} does not exist")
            if not path.is_file():
                raise VideoOpenError(f"video {path} is not a file")
            if path.stat().st_size == 0:
                raise VideoOpenError(f"video {path} is empty (0 bytes)")
            self._capture = cv2.VideoCapture(str(path))
            if not self._capture.isOpened():
                self._capture.release()
                raise VideoOpenError(f"cannot open video {path} ({path.stat().st_size} bytes): "
                                     f"{_describe_unopenable(path)}")
        container_fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        if fps is not None:
            if not (fps > 0 and math.isfinite(fps)):
                raise ValueError(f"fps must be a positive number, got {fps!r}")
            self._fps, self.fps_source = float(fps), "argument"
        elif container_fps > 0 and math.isfinite(container_fps):
            self._fps, self.fps_source = container_fps, "container"
        else:
            self._fps, self.fps_source = DEFAULT_FPS, "default"
        count = self._capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self._frame_count = int(count) if not self.is_camera and count > 0 and math.isfinite(count) else None
        self._width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self._height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._next_index = 0
        self._failed_reads = 0
        self._finished = False
        self._camera_start: float | None = None
        self._last_camera_ts = -1

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> int | None:
        """Frames the container announces (None for cameras or when unknown); may differ from what decodes."""
        return self._frame_count

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self._width, self._height

    @property
    def report(self) -> VideoReadReport:
        return VideoReadReport(self.source, self._next_index, self._frame_count, self._failed_reads, self._finished)

    def _timestamp(self, index: int) -> int:
        if not self.is_camera:
            return frame_timestamp_us(index, self._fps)
        now = time.monotonic()
        if self._camera_start is None:
            self._camera_start = now
        ts = max(int((now - self._camera_start) * 1_000_000), self._last_camera_ts + 1)
        self._last_camera_ts = ts
        return ts

    def _frames_may_remain(self) -> bool:
        return self._frame_count is not None and self._next_index < self._frame_count

    def read(self) -> VideoFrame | None:
        """The next frame, or None at the end of the stream (then `report` says how it ended)."""
        if self._finished:
            return None
        failures = 0
        while True:
            ok, bgr = self._capture.read()
            if ok and bgr is not None:
                break
            failures += 1
            if self.is_camera or not self._frames_may_remain() or failures > MAX_CONSECUTIVE_FAILURES:
                self._finished = True  # failures at the end are the end itself, not skipped packets
                self._capture.release()
                if self.raise_on_damage and self.report.ended_early:
                    raise VideoTruncatedError(self.report)
                return None
        self._failed_reads += failures
        index = self._next_index
        self._next_index += 1
        if self._width <= 0 or self._height <= 0:
            self._height, self._width = bgr.shape[:2]
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 and bgr.shape[2] == 3 else to_rgb(bgr, bgr=True)
        return VideoFrame(index, self._timestamp(index), rgb)

    def __iter__(self) -> Iterator[VideoFrame]:
        while (frame := self.read()) is not None:
            yield frame

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"VideoReader({self.source!r}, {self._width}x{self._height}, fps={self._fps:g} ({self.fps_source}), "
                f"frame_count={self._frame_count})")


class VideoWriter:
    """Write RGB frames to a video file (default codec mp4v, which every OpenCV FFmpeg build can encode).

    The file is opened when the first frame arrives if `size` (width, height) is not given. Frames must all have
    the same size; gray/RGBA/other dtypes are normalised with `to_rgb`.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float, size: tuple[int, int] | None = None, *,
                 fourcc: str = "mp4v"):
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        if len(fourcc) != 4:
            raise ValueError(f"fourcc must be 4 characters, got {fourcc!r}")
        self.path = Path(path)
        self.fps = float(fps)
        self.fourcc = fourcc
        self.frames_written = 0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        if size is not None:
            self._open(size)

    @property
    def size(self) -> tuple[int, int] | None:
        return self._size

    def _open(self, size: tuple[int, int]) -> None:
        width, height = int(size[0]), int(size[1])
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size must be positive (width, height), got {size!r}")
        folder = self.path.parent
        if not folder.is_dir():
            raise VideoWriterError(f"cannot write video {self.path}: folder {folder} does not exist")
        if self.path.is_dir():
            raise VideoWriterError(f"cannot write video {self.path}: it is a folder")
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*self.fourcc), self.fps, (width, height))
        if not writer.isOpened():
            writer.release()
            raise VideoWriterError(
                f"cannot open video {self.path} for writing with codec {self.fourcc!r} at {self.fps:g} fps, "
                f"{width}x{height}: the codec may not suit the '{self.path.suffix}' container or not be available "
                "in this OpenCV build (mp4v with .mp4, MJPG with .avi always work), or the folder is not writable")
        self._writer = writer
        self._size = (width, height)

    def write(self, rgb: np.ndarray) -> None:
        """Append one frame (RGB; any dtype or channel layout `to_rgb` accepts)."""
        pixels = to_rgb(rgb)
        height, width = pixels.shape[:2]
        if self._writer is None:
            if self._size is not None:
                raise VideoWriterError(f"video {self.path} is closed")
            self._open((width, height))
        assert self._writer is not None and self._size is not None
        if (width, height) != self._size:
            raise ValueError(f"frame {self.frames_written} of {self.path} is {width}x{height}, but the video is "
                             f"{self._size[0]}x{self._size[1]}")
        self._writer.write(cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
