"""Video frames in (cv2.VideoCapture), as RGB uint8; the writer lives in `video_writer`.

Timestamps follow the presentation times of the file (CAP_PROP_POS_MSEC, the decoded frame's pts). Where they agree
with the MediaPipe reference's convention, frame `i` at `round(i * 1000 / fps) * 1000` microseconds (integer
milliseconds, as the Tasks API takes them, times 1000), within a millisecond, that value is used, so that
time-dependent filters see exactly the timestamps the reference graph saw. A variable-frame-rate file, or one whose
frames after a corrupt stretch are missing, disagrees; from the first disagreement on the presentation times are
used (in whole microseconds, kept strictly increasing). Cameras get wall-clock time since the first frame instead,
because their reported fps is often a nominal value.

A damaged file is not an all-or-nothing affair: the reader yields every frame it can decode and then records in
`report` whether the stream ended early (fewer frames than the container announced) or cleanly. OpenCV's FFmpeg
backend skips over corrupt packets when asked for the next frame, so failed reads are retried while the container
says frames remain, up to `max_bad_reads(fps)` in a row (ten seconds of video, at least 100: a corrupt stretch of
46 failed reads followed by 100 good frames is real). Each stretch is recorded in `report.gaps`. Frame indices
count *decoded* frames (the reference's convention); the timestamps after a gap carry the time lost.

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
    "VideoGap",
    "VideoTruncatedError",
    "frame_timestamp_us",
    "max_bad_reads",
]

DEFAULT_FPS = 30.0
MIN_BAD_READS = 100      # failed reads in a row tolerated while the container says frames remain...
BAD_READS_SECONDS = 10.0  # ...or this much video, whichever is more


def max_bad_reads(fps: float) -> int:
    """How many failed reads in a row end a file that still announces frames (a sane bound on a corrupt stretch)."""
    return max(MIN_BAD_READS, int(BAD_READS_SECONDS * fps))


class VideoError(Exception):
    """Base class of video reading and writing errors."""


class VideoOpenError(VideoError, ValueError):
    """A video file or camera cannot be opened; the message names it and says what it seems to be."""


class VideoTruncatedError(VideoError):
    """Raised after the last decodable frame when `raise_on_damage=True` and the stream ended early."""

    def __init__(self, report: "VideoReadReport"):
        super().__init__(report.describe())
        self.report = report


@dataclass(frozen=True, slots=True)
class VideoGap:
    """A corrupt stretch skipped while reading: `failed_reads` in a row after frame `after_index`, which ended at
    `after_us`; the next good frame came at `resumed_us` (None when the file ended instead)."""

    after_index: int
    failed_reads: int
    after_us: int
    resumed_us: int | None

    def describe(self) -> str:
        where = f"after frame {self.after_index}" if self.after_index >= 0 else "at the start"
        if self.resumed_us is None:
            return f"{where}: {self.failed_reads} failed reads, then the end"
        return (f"{where}: {self.failed_reads} failed reads skipped, "
                f"{(self.resumed_us - self.after_us) / 1e6:.2f} s of video until the next good frame")


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
    gaps: tuple[VideoGap, ...] = ()

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
            inner = "; ".join(g.describe() for g in self.gaps if g.resumed_us is not None)
            skipped = f", {self.failed_reads} corrupt read(s) skipped" if self.failed_reads else ""
            skipped += f" ({inner})" if inner else ""
            return (f"{self.source}: the stream ended early: {self.frames_read} of {self.frames_expected} announced "
                    f"frames decoded{skipped}; the file is truncated or corrupt")
        if self.failed_reads:
            gaps = "; ".join(g.describe() for g in self.gaps[:5])
            return (f"{self.source}: {self.frames_read} frames decoded, {self.failed_reads} read(s) failed along the "
                    f"way (corrupt packets skipped{': ' + gaps if gaps else ''})")
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

    `source` is a file path or a camera index. `fps` overrides the container's frame rate and timing (timestamps are then `index / fps`);
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
            os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # damage is reported here, not by FFmpeg
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
        self._last_ts = -1
        self._use_pts = False  # switched on at the first frame whose pts disagrees with index / fps
        self._gaps: list[VideoGap] = []
        self.timestamp_source = "wall clock" if self.is_camera else "index/fps"

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
        return VideoReadReport(self.source, self._next_index, self._frame_count, self._failed_reads, self._finished,
                               tuple(self._gaps))

    def _timestamp(self, index: int) -> int:
        if self.is_camera:
            now = time.monotonic()
            if self._camera_start is None:
                self._camera_start = now
            ts = int((now - self._camera_start) * 1_000_000)
        elif self.fps_source == "argument":  # the caller's rate replaces the file's timing
            ts = frame_timestamp_us(index, self._fps)
        else:
            ts = frame_timestamp_us(index, self._fps)
            pts_ms = float(self._capture.get(cv2.CAP_PROP_POS_MSEC))
            if math.isfinite(pts_ms) and pts_ms >= 0 and (index == 0 or pts_ms > 0):
                if not self._use_pts and abs(pts_ms - index * 1000 / self._fps) >= 1.0:
                    self._use_pts = True
                    self.timestamp_source = "pts"
                if self._use_pts:
                    ts = int(round(pts_ms * 1000))
        ts = max(ts, self._last_ts + 1)
        self._last_ts = ts
        return ts

    def _frames_may_remain(self) -> bool:
        return self._frame_count is not None and self._next_index < self._frame_count

    def read(self) -> VideoFrame | None:
        """The next frame, or None at the end of the stream (then `report` says how it ended)."""
        if self._finished:
            return None
        failures = 0
        limit = max_bad_reads(self._fps)
        while True:
            ok, bgr = self._capture.read()
            if ok and bgr is not None:
                break
            failures += 1
            if self.is_camera or not self._frames_may_remain() or failures > limit:
                self._finished = True  # failures at the end are the end itself, not skipped packets
                if failures > limit:
                    self._gaps.append(VideoGap(self._next_index - 1, failures, self._last_ts, None))
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
        before = self._last_ts
        timestamp = self._timestamp(index)
        if failures:
            self._gaps.append(VideoGap(index - 1, failures, before, timestamp))
        return VideoFrame(index, timestamp, rgb)

    @property
    def gaps(self) -> list[VideoGap]:
        """Corrupt stretches skipped so far."""
        return list(self._gaps)

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




from .video_writer import VideoWriter, VideoWriterError  # noqa: E402 - re-exported; it imports VideoError from here

__all__ += ["VideoWriter", "VideoWriterError"]
