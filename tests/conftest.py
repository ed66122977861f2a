"""Shared fixtures: where the real models and media live (../shared beside the checkout), one headless browser."""

from __future__ import annotations

import io
import os
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEGRAPH_SHARED", REPO.parent / "shared"))
MODELS = SHARED / "models"
MEDIA = SHARED / "media"
REFERENCE = SHARED / "reference" / "mediapipe"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared material not found at {SHARED} (set POSEGRAPH_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def media(shared) -> Path:
    return MEDIA


@pytest.fixture(scope="session")
def models(shared) -> Path:
    return MODELS


@pytest.fixture(scope="session")
def reference(shared) -> Path:
    return REFERENCE


def faststart_mp4(data: bytes) -> bytes:
    """Move an MP4's 'moov' box (the index) before 'mdat', shifting chunk offsets: what `-movflags +faststart` does.

    The shared videos keep their index at the end, so any truncated copy of them has no index and no readable
    frame; a faststart copy stays partly readable, which is the case the reader's damage report is for.
    """
    def boxes(buf, start, end):
        offset = start
        while offset < end:
            size, kind = struct.unpack(">I4s", buf[offset:offset + 8])
            header = 8
            if size == 1:
                size, header = struct.unpack(">Q", buf[offset + 8:offset + 16])[0], 16
            yield kind, offset, size, header
            offset += size

    top = list(boxes(data, 0, len(data)))
    (_, moov_at, moov_size, _), = [b for b in top if b[0] == b"moov"]
    moov = bytearray(data[moov_at:moov_at + moov_size])

    def shift_offsets(start, end):
        for kind, offset, size, header in boxes(moov, start, end):
            if kind in (b"trak", b"mdia", b"minf", b"stbl"):
                shift_offsets(offset + header, offset + size)
            elif kind in (b"stco", b"co64"):
                count = struct.unpack(">I", moov[offset + header + 4:offset + header + 8])[0]
                fmt, width = (">I", 4) if kind == b"stco" else (">Q", 8)
                base = offset + header + 8
                for i in range(count):
                    (value,) = struct.unpack_from(fmt, moov, base + i * width)
                    struct.pack_into(fmt, moov, base + i * width, value + len(moov))

    shift_offsets(8, len(moov))
    ftyp = b"".join(data[o:o + s] for k, o, s, _ in top if k == b"ftyp")
    rest = b"".join(data[o:o + s] for k, o, s, _ in top if k not in (b"ftyp", b"moov"))
    return ftyp + bytes(moov) + rest


@pytest.fixture(scope="session")
def faststart():
    """`faststart(mp4_bytes) -> mp4_bytes` with the index first, so that a truncated copy stays partly readable."""
    return faststart_mp4


@dataclass
class DashboardRun:
    """``posegraph run ARGS --dashboard 0 --quiet`` on a thread, its stderr captured: the URL it printed (None if
    it printed none by `deadline`, a time.monotonic() value) and, once `thread` ended, its exit code."""

    thread: threading.Thread
    err: io.StringIO
    deadline: float
    url: str | None = None
    result: dict = field(default_factory=dict)

    @property
    def rc(self) -> int | None:
        return self.result.get("rc")


@pytest.fixture
def dashboard_run(monkeypatch):
    """`dashboard_run(args, timeout)`: start `posegraph run` with a dashboard (see DashboardRun)."""
    from posegraph.cli import main

    def start(args: list[str], timeout: float) -> DashboardRun:
        err = io.StringIO()
        monkeypatch.setattr("sys.stderr", err)
        run = DashboardRun(threading.Thread(target=lambda: run.result.setdefault("rc", main(
            ["run", *args, "--dashboard", "0", "--quiet"]))), err, time.monotonic() + timeout)
        run.thread.start()
        while run.url is None and time.monotonic() < run.deadline:
            match = re.search(r"http://127\.0\.0\.1:\d+/", err.getvalue())
            run.url = match.group(0) if match else None
            time.sleep(0.02)
        return run

    return start


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (skips, saying why, where none can be found or started)."""
    from posegraph.viz.browser import Browser, BrowserUnavailable, find_browser

    if find_browser() is None:
        pytest.skip("no Chromium-family browser found: install one (Debian: apt-get install -y chromium) or set "
                    "POSEGRAPH_BROWSER to run the browser tests")
    try:
        b = Browser(timeout=30.0)
    except BrowserUnavailable as exc:
        pytest.skip(f"the browser could not be started: {exc}")
    yield b
    b.close()
