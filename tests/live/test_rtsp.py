"""RTSP end to end: the shared video served by a real RTSP server on 127.0.0.1 (GStreamer's, see rtsp_server.py),
played by `posegraph run --input rtsp://...`: every frame is accounted for, and a restarted server is reconnected to."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import free_port, posegraph, start_server

pytestmark = pytest.mark.timeout(90)
SERVER = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-gi and GStreamer's RTSP server live
SUMMARY = re.compile(r"live: (\d+) frames in = (\d+) processed \+ (\d+) dropped")
FRAMES = 120  # video_dance_single_synthetic.mp4


@pytest.fixture(scope="module")
def rtsp_server_python() -> str:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                            "from gi.repository import GstRtspServer"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("GStreamer's RTSP server is not installed (Debian: apt-get install python3-gi "
                    "gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)")
    return SYSTEM_PYTHON


def serve_rtsp(python: str, video: Path, port: int) -> subprocess.Popen:
    return start_server([python, str(SERVER), str(video), str(port)], port)


def _run(url: str, landmarks: Path, reconnect_timeout: float) -> subprocess.Popen:
    return posegraph("run", "pose_tracking_cpu", "--input", url, "--landmarks", str(landmarks),
                     "--reconnect-timeout", str(reconnect_timeout))


def _accounted(err: str, landmarks: Path) -> tuple[int, int, list[int]]:
    match = SUMMARY.search(err)
    assert match, err
    frames_in, processed, dropped = map(int, match.groups())
    assert processed + dropped == frames_in  # each frame counted exactly once
    stamps = [json.loads(line)["timestamp_us"] for line in landmarks.read_text().splitlines()]
    assert len(stamps) == processed and stamps == sorted(stamps)
    return frames_in, processed, stamps


def test_rtsp_stream_every_frame_accounted(rtsp_server_python, dance, tmp_path):
    port = free_port()
    server = serve_rtsp(rtsp_server_python, dance, port)
    try:
        run = _run(f"rtsp://127.0.0.1:{port}/live", tmp_path / "out.jsonl", reconnect_timeout=1)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
        server.kill()
    assert run.returncode == 0, err
    assert "Traceback" not in err and "WARN" not in err  # OpenCV's retry noise is filtered
    assert re.search(r"dropped after frame \d+ and did not come back within 1\.\d s", err)  # the server is gone
    frames_in, processed, _ = _accounted(err, tmp_path / "out.jsonl")
    assert FRAMES - 5 <= frames_in <= FRAMES and processed >= FRAMES // 2


def test_rtsp_reconnects_after_the_server_restarts(rtsp_server_python, dance, tmp_path):
    port = free_port()
    first = serve_rtsp(rtsp_server_python, dance, port)
    run = _run(f"rtsp://127.0.0.1:{port}/live", tmp_path / "out.jsonl", reconnect_timeout=6)
    second = None
    try:
        first.wait(timeout=30)  # the first server played the file once and went away
        time.sleep(0.5)
        second = serve_rtsp(rtsp_server_python, dance, port)
        _, err = run.communicate(timeout=60)
    finally:
        for process in (run, first, second):
            if process is not None:
                process.kill()
    assert run.returncode == 0, err
    assert re.search(r"the stream dropped after frame \d+; reconnected after \d+\.\d+ s", err), err
    frames_in, _, stamps = _accounted(err, tmp_path / "out.jsonl")
    assert 2 * FRAMES - 10 <= frames_in <= 2 * FRAMES, err  # both plays
    assert max(b - a for a, b in zip(stamps, stamps[1:])) > 400_000  # the gap is in the timestamps
