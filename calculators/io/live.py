"""Live sources: cameras (``0``, ``camera:0``, ``/dev/video0``) and network streams (``rtsp://``, ``rtmp://``,
``http(s)://``, ``udp://``...), read through OpenCV's FFmpeg/V4L2 backends, plus the capture log that measures
latency.

A live source is read as it produces frames; its timestamps are wall-clock time since the first frame, so a gap
in the stream is a gap in the timestamps. A stream that drops (the server restarts, the network hiccups, a camera
is unplugged) is reopened with exponential backoff (0.25 s doubling to 4 s) for up to `reconnect_timeout_s`; each
drop is recorded as a `StreamGap` and reported. Reads and opens have timeouts, and `poll()` never blocks longer
than one attempt, so a run can always be cancelled.

`CaptureLog` records, per timestamp, when the frame was captured (time.monotonic()): the application looks the
time up when the frame's result comes out of the graph and gets the end-to-end latency, capture to result.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .images import to_rgb
from .video import VideoOpenError

__all__ = ["CaptureLog", "LiveCapture", "SourceSpec", "StreamGap", "parse_source", "END"]

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "rtp", "srt")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0)
OPEN_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 5.0
END = object()  # poll(): the source is over


def quiet_ffmpeg() -> None:
    """Keep FFmpeg's own log lines (connection refused, corrupt NAL units...) off the terminal: the reader reports
    what went wrong itself. An OPENCV_FFMPEG_LOGLEVEL already set (e.g. 32 for debugging) is left alone."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


# FFmpeg probes a stream for up to 5 s (its default analyzeduration) before the first frame comes out; live, that
# is 5 s of frames arriving at once and dropped. One second finds the codec parameters of ordinary streams.
STREAM_CAPTURE_OPTIONS = "analyzeduration;1000000"
_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
_options_lock = threading.Lock()


def _open_stream(url: str, params: list[int]) -> cv2.VideoCapture:
    """Open a stream with STREAM_CAPTURE_OPTIONS, unless the user set OPENCV_FFMPEG_CAPTURE_OPTIONS themselves."""
    with _options_lock:
        previous = os.environ.get(_OPTIONS_ENV)
        if previous is None:
            os.environ[_OPTIONS_ENV] = STREAM_CAPTURE_OPTIONS
        try:
            return cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
        finally:
            if previous is None:
                os.environ.pop(_OPTIONS_ENV, None)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What an ``--input`` names: kind is 'camera' (value: index), 'device' (/dev/videoN), 'stream' (a URL) or
    'path' (a file or folder)."""

    kind: str
    value: str | int

    @property
    def live(self) -> bool:
        return self.kind != "path"

    def __str__(self) -> str:
        return f"camera {self.value}" if self.kind == "camera" else str(self.value)


def parse_source(text: str | os.PathLike[str] | int) -> SourceSpec:
    """Classify an input: ``0`` or ``camera:0`` (unless a file called ``0`` exists), ``/dev/videoN``, a stream URL,
    or a path. ``file://`` URLs are paths; other unknown schemes are an error naming the supported ones."""
    if isinstance(text, int) and not isinstance(text, bool):
        return SourceSpec("camera", int(text))
    raw = os.fspath(text)
    if raw.startswith("camera:"):
        index = raw.split(":", 1)[1]
        if not index.isdigit():
            raise ValueError(f"camera index must be a number: {raw!r} (e.g. camera:0)")
        return SourceSpec("camera", int(index))
    if raw.isdigit() and not Path(raw).exists():
        return SourceSpec("camera", int(raw))
    if re.fullmatch(r"/dev/video\d+", raw):
        return SourceSpec("device", raw)
    match = _SCHEME.match(raw)
    if match:
        scheme = match.group(1).lower()
        if scheme == "file":
            return SourceSpec("path", raw[len("file://"):])
        if scheme not in STREAM_SCHEMES:
            raise ValueError(f"unsupported input URL scheme '{scheme}://' in {raw}; streams can be "
                             + ", ".join(f"{s}://" for s in STREAM_SCHEMES))
        return SourceSpec("stream", raw)
    return SourceSpec("path", raw)


@dataclass(frozen=True, slots=True)
class StreamGap:
    """The source dropped after frame `after_frame` and came back `seconds` later after `attempts` reopenings
    (`recovered` False: it did not come back within the reconnect timeout)."""

    after_frame: int
    seconds: float
    attempts: int
    recovered: bool

    def describe(self, source: str) -> str:
        if self.recovered:
            return (f"{source}: the stream dropped after frame {self.after_frame}; reconnected after "
                    f"{self.seconds:.2f} s ({self.attempts} attempt(s)): {self.seconds:.2f} s of frames missing")
        return (f"{source}: the stream dropped after frame {self.after_frame} and did not come back within "
                f"{self.seconds:.1f} s ({self.attempts} attempt(s)); stopping")


class CaptureLog:
    """Frames captured (counted) and the capture time of recent timestamps, shared by a source and the app.

    Thread-safe. Keeps at most `capacity` pending timestamps (results of dropped frames never come back; the
    oldest entries go first)."""

    def __init__(self, source: str = "", live: bool = False, capacity: int = 4096):
        self.source = source
        self.live = live
        self.captured = 0
        self.gaps: list[str] = []
        self._times: OrderedDict[int, float] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def record(self, timestamp: int, captured_at: float) -> None:
        with self._lock:
            self.captured += 1
            self._times[int(timestamp)] = captured_at
            while len(self._times) > self._capacity:
                self._times.popitem(last=False)

    def take(self, timestamp: int) -> float | None:
        """The capture time of `timestamp` (forgotten afterwards), or None when unknown."""
        with self._lock:
            return self._times.pop(int(timestamp), None)

    def note_gap(self, text: str) -> None:
        with self._lock:
            self.gaps.append(text)


@dataclass
class LiveFrame:
    index: int
    timestamp_us: int
    captured_at: float
    rgb: np.ndarray


@dataclass
class _Reconnect:
    since: float
    after_frame: int
    attempts: int = 0
    next_try: float = 0.0


class LiveCapture:
    """A camera, video device or stream, read frame by frame with reconnection (see the module docstring)."""

    def __init__(self, spec: SourceSpec, *, reconnect_timeout_s: float = 30.0,
                 open_timeout_s: float = OPEN_TIMEOUT_S, read_timeout_s: float = READ_TIMEOUT_S):
        if not spec.live:
            raise ValueError(f"{spec} is not a camera or stream")
        self.spec = spec
        self.source = str(spec)
        self.reconnect_timeout_s = float(reconnect_timeout_s)
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.gaps: list[StreamGap] = []
        self.frames_read = 0
        self._origin: float | None = None
        self._last_ts = -1
        self._reconnect: _Reconnect | None = None
        self._ended = False
        self._capture = self._open()
        if self._capture is None:
            raise VideoOpenError(self._open_failure())
        fps = float(self._capture.get(cv2.CAP_PROP_FPS))
        self.fps = fps if fps > 0 and math.isfinite(fps) and fps < 1000 else 30.0

    def _open_failure(self) -> str:
        if self.spec.kind == "camera":
            return (f"could not open camera index {self.spec.value}: no such device, or it is busy or not permitted "
                    "(list cameras with `ls /dev/video*`)")
        if self.spec.kind == "device":
            return f"could not open video device {self.spec.value}: no such device, or it is busy or not permitted"
        return (f"could not open stream {self.spec.value} within {self.open_timeout_s:g} s: the server is not "
                "reachable, refused the connection, or sends nothing OpenCV/FFmpeg can decode")

    def _open(self) -> cv2.VideoCapture | None:
        quiet_ffmpeg()
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout_s * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout_s * 1000)]
        if self.spec.kind == "camera":
            capture = cv2.VideoCapture(int(self.spec.value))
        elif self.spec.kind == "device":
            capture = cv2.VideoCapture(str(self.spec.value), cv2.CAP_V4L2)
        else:
            capture = _open_stream(str(self.spec.value), params)
        if not capture.isOpened():
            capture.release()
            return None
        return capture

    def _timestamp(self, now: float) -> int:
        if self._origin is None:
            self._origin = now
        ts = max(int((now - self._origin) * 1_000_000), self._last_ts + 1)
        self._last_ts = ts
        return ts

    def poll(self) -> LiveFrame | None | object:
        """The next frame; None when none is available yet (reconnecting: call again); END when the source is over.
        Blocks for at most one read or one reconnection attempt (a few seconds at worst)."""
        if self._ended:
            return END
        if self._reconnect is not None:
            return self._try_reconnect()
        assert self._capture is not None
        ok, bgr = self._capture.read()
        now = time.monotonic()
        if not ok or bgr is None:
            self._capture.release()
            self._capture = None
            self._reconnect = _Reconnect(now, self.frames_read - 1, next_try=now)
            return None
        index = self.frames_read
        self.frames_read += 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 and bgr.shape[2] == 3 else to_rgb(bgr, bgr=True)
        return LiveFrame(index, self._timestamp(now), now, rgb)

    def _try_reconnect(self) -> None | object:
        state = self._reconnect
        assert state is not None
        now = time.monotonic()
        if now - state.since > self.reconnect_timeout_s:
            self.gaps.append(StreamGap(state.after_frame, now - state.since, state.attempts, False))
            self._reconnect = None
            self._ended = True
            return END
        if now < state.next_try:
            time.sleep(min(0.1, state.next_try - now))
            return None
        state.attempts += 1
        self._capture = self._open()
        now = time.monotonic()
        if self._capture is None:
            state.next_try = now + BACKOFF_S[min(state.attempts - 1, len(BACKOFF_S) - 1)]
            return None
        self.gaps.append(StreamGap(state.after_frame, now - state.since, state.attempts, True))
        self._reconnect = None
        return None

    def close(self) -> None:
        self._ended = True
        if self._capture is not None:
            self._capture.release()
            self._capture = None
