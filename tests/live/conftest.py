"""Fixtures for the live tests: the shared videos, ffmpeg serving them on 127.0.0.1 (the headless
browser is tests/conftest.py's)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("POSEGRAPH_SHARED", REPO.parent / "shared"))
MEDIA = SHARED / "media"
DANCE = MEDIA / "video_dance_single_synthetic.mp4"  # 576x576, 30 frames/s, 120 frames


@pytest.fixture(scope="session")
def dance() -> Path:
    if not DANCE.is_file():
        pytest.skip(f"shared media not found at {MEDIA} (expected ../shared beside the checkout, or set "
                    "POSEGRAPH_SHARED)")
    return DANCE


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.skip("ffmpeg is not installed (Debian: apt-get install -y ffmpeg); it serves the test streams")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    """Wait until something listens on 127.0.0.1:port, without connecting (ffmpeg -listen 1 takes one client)."""
    deadline = time.monotonic() + timeout
    needle = f":{port:04X} "
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}): {process.stderr.read().decode()[-500:]}")
        try:
            lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        except OSError:
            time.sleep(1.0)  # no /proc: give the server a moment
            return
        # listening (0A), or already serving its one client (01: a reconnecting client can be that quick)
        if any(needle in line.split()[1] + " " and line.split()[3] in ("0A", "01") for line in lines):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def start_server(command: list[str], port: int) -> subprocess.Popen:
    """Start a server (ffmpeg, the RTSP test server) and return once it listens on `port` (killed if it never
    does)."""
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_listening(port, process=process)
    except (TimeoutError, RuntimeError):
        process.kill()
        raise
    return process


def serve_http(ffmpeg: str, video: Path, port: int, seconds: float | None = None) -> subprocess.Popen:
    """ffmpeg serving `video` (in real time, as MPEG-TS) to one HTTP client on 127.0.0.1:port, then exiting."""
    limit = ["-t", str(seconds)] if seconds else []
    return start_server([ffmpeg, "-v", "error", "-re", "-i", str(video), *limit, "-c", "copy", "-f", "mpegts", "-listen", "1",
                   f"http://127.0.0.1:{port}/live.ts"], port)


def serve_rtmp(ffmpeg: str, video: Path, port: int, seconds: float) -> subprocess.Popen:
    """ffmpeg as an RTMP server (FLV) for one player on rtmp://127.0.0.1:port/live/stream."""
    return start_server([ffmpeg, "-v", "error", "-re", "-i", str(video), "-t", str(seconds), "-c", "copy", "-f", "flv",
                   "-listen", "1", f"rtmp://127.0.0.1:{port}/live/stream"], port)


def posegraph(*args: str, **kwargs) -> subprocess.Popen:
    """`posegraph ARGS` in a child process (real signals, real exit codes)."""
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(REPO / ".venv" / "numba-cache"))
    return subprocess.Popen([sys.executable, "-m", "posegraph.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)
