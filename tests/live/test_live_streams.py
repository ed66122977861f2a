"""Streams served by ffmpeg on 127.0.0.1: every frame arrives and is accounted for, a restarted server is
reconnected to (and the gap reported), Ctrl-C and SIGTERM stop cleanly with playable outputs."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from posegraph.calculators.io.live import parse_source

from .conftest import free_port, posegraph, serve_http, serve_rtmp

pytestmark = pytest.mark.timeout(90)
SUMMARY = re.compile(r"live: (\d+) frames in = (\d+) processed \+ (\d+) dropped")


def _frames_in_mp4(path: Path) -> int:
    av = pytest.importorskip("av", reason="PyAV is not installed (pip install av)")
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _finish(process, timeout: float = 60) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def test_inputs_are_classified_not_mangled():
    assert parse_source("0").kind == "camera" and parse_source("camera:2").value == 2
    assert parse_source("/dev/video1").kind == "device"
    for url in ("rtsp://host:8554/stream", "rtmp://host/live/key", "http://host/a.ts", "https://h/x.m3u8",
                "udp://127.0.0.1:5000"):
        spec = parse_source(url)
        assert spec.kind == "stream" and spec.value == url
    assert parse_source("file:///tmp/x.mp4").value == "/tmp/x.mp4"
    with pytest.raises(ValueError, match="unsupported input URL scheme 'gopher://'"):
        parse_source("gopher://host/x")


def test_unreachable_stream_names_the_url(tmp_path):
    url = f"rtsp://127.0.0.1:{free_port()}/stream"
    code, _, err = _finish(posegraph("run", "pose_tracking_cpu", "--input", url, "--landmarks",
                                     str(tmp_path / "x.jsonl")))
    assert code == 1 and f"could not open stream {url}" in err
    assert not (tmp_path / "x.jsonl").exists()


def test_http_stream_every_frame_accounted(ffmpeg, dance, tmp_path):
    port = free_port()
    server = serve_http(ffmpeg, dance, port, seconds=2)
    try:
        run = posegraph("run", "pose_tracking_cpu", "--input", f"http://127.0.0.1:{port}/live.ts", "--output",
                        str(tmp_path / "out.mp4"), "--landmarks", str(tmp_path / "out.jsonl"),
                        "--reconnect-timeout", "1", "-v", "--top", "30")
        code, out, err = _finish(run)
    finally:
        server.kill()
    assert code == 0, err
    frames_in, processed, dropped = map(int, SUMMARY.search(err).groups())
    # 2 s at 30 frames/s (ffmpeg -t with stream copy cuts at a packet boundary), each counted exactly once
    assert 58 <= frames_in <= 64 and processed + dropped == frames_in
    assert re.search(r"dropped after frame \d+ and did not come back within 1\.\d s", err)  # the server is gone
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == processed == _frames_in_mp4(tmp_path / "out.mp4")
    limiter = next(line for line in out.splitlines() if line.startswith("live_flow_limiter"))
    assert int(limiter.split()[3]) == dropped  # the profile's drop column agrees


def test_reconnects_after_the_server_restarts(ffmpeg, dance, tmp_path):
    port = free_port()
    first = serve_http(ffmpeg, dance, port, seconds=1.5)
    run = posegraph("run", "pose_tracking_cpu", "--input", f"http://127.0.0.1:{port}/live.ts", "--landmarks",
                    str(tmp_path / "out.jsonl"), "--reconnect-timeout", "4")
    second = None
    try:
        first.wait(timeout=30)
        time.sleep(0.3)  # the stream is down for a moment
        second = serve_http(ffmpeg, dance, port, seconds=1.5)
        code, out, err = _finish(run)
    finally:
        run.kill()
        first.kill()
        if second is not None:
            second.kill()
    assert code == 0, err
    assert re.search(r"the stream dropped after frame \d+; reconnected after \d+\.\d+ s", err), err
    frames_in, processed, dropped = map(int, SUMMARY.search(err).groups())
    assert 86 <= frames_in <= 96 and processed + dropped == frames_in  # about 45 frames from each server
    stamps = [json.loads(line)["timestamp_us"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(stamps) == processed and stamps == sorted(stamps)
    assert max(b - a for a, b in zip(stamps, stamps[1:])) > 250_000  # the gap is in the timestamps


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_stopping_keeps_playable_outputs(ffmpeg, dance, tmp_path, sig, code):
    port = free_port()
    server = serve_http(ffmpeg, dance, port)
    landmarks, video = tmp_path / "out.jsonl", tmp_path / "out.mp4"
    run = posegraph("run", "pose_tracking_cpu", "--input", f"http://127.0.0.1:{port}/live.ts", "--output",
                    str(video), "--landmarks", str(landmarks))
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:  # frames are being written (under the temporary name)
            partial = [p for p in tmp_path.glob(".out.partial-*.jsonl") if p.stat().st_size > 20_000]
            if partial:
                break
            time.sleep(0.1)
        assert partial, "no frame was processed"
        run.send_signal(sig)
        returncode, out, err = _finish(run, timeout=30)
    finally:
        run.kill()
        server.kill()
    assert returncode == code, err
    assert "Traceback" not in err and SUMMARY.search(err)
    lines = landmarks.read_text().splitlines()
    assert lines and all(json.loads(line)["poses"] is not None for line in lines)
    # both are complete files; the sinks run independently, so frames still queued for one of them when the graph
    # stopped are in the other only
    frames = _frames_in_mp4(video)
    assert frames >= 1 and abs(frames - len(lines)) <= 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.mp4"]


def _udp_bound(port: int) -> bool:
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return True
    return any(line.split()[1].endswith(f":{port:04X}") for line in lines)


def test_udp_stream(ffmpeg, dance, tmp_path):
    port = free_port()
    run = posegraph("run", "pose_tracking_cpu", "--input", f"udp://127.0.0.1:{port}", "--landmarks",
                    str(tmp_path / "out.jsonl"), "--max-frames", "45")
    sender = None
    try:
        deadline = time.monotonic() + 30
        while not _udp_bound(port) and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.05)
        # MPEG-TS over UDP, re-encoded with a key frame every 10 frames (a receiver can join at any point)
        sender = subprocess.Popen([ffmpeg, "-v", "error", "-re", "-i", str(dance), "-c:v", "libx264", "-preset",
                                   "ultrafast", "-g", "10", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        code, out, err = _finish(run)
    finally:
        run.kill()
        if sender is not None:
            sender.kill()
    assert code == 0, err
    frames_in, processed, dropped = map(int, SUMMARY.search(err).groups())
    assert frames_in == 45 and processed + dropped == 45
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == processed


@pytest.mark.skipif(Path("/dev/video0").exists(), reason="a camera is attached: the run would use it")
def test_input_0_is_the_camera(tmp_path):
    code, _, err = _finish(posegraph("run", "pose_tracking_cpu", "--input", "0", "--landmarks",
                                     str(tmp_path / "x.jsonl")))
    assert code == 1 and "could not open camera index 0" in err


def test_rtmp_stream(ffmpeg, dance, tmp_path):
    port = free_port()
    server = serve_rtmp(ffmpeg, dance, port, seconds=3)
    try:
        code, out, err = _finish(posegraph("run", "pose_tracking_cpu", "--input",
                                           f"rtmp://127.0.0.1:{port}/live/stream", "--landmarks",
                                           str(tmp_path / "out.jsonl"), "--reconnect-timeout", "0.5"))
    finally:
        server.kill()
    assert code == 0, err
    frames_in, processed, dropped = map(int, SUMMARY.search(err).groups())
    # FFmpeg probes the stream for about a second before the first frame: those frames arrive at once and the
    # newest wins; the real-time rest is processed
    assert 88 <= frames_in <= 94 and processed + dropped == frames_in and processed > 15
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == processed
