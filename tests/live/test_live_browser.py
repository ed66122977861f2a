"""The annotated MP4 plays in a browser (headless Chromium): H.264 through PyAV, not OpenCV's mp4v."""

from __future__ import annotations

import numpy as np
import pytest

from posegraph.calculators.io.video import VideoWriter
from posegraph.calculators.io.video_writer import pyav_h264_available

pytestmark = pytest.mark.timeout(120)

PLAY = """new Promise((resolve) => {
  const v = document.getElementById("v");
  const report = () => resolve({duration: v.duration, time: v.currentTime, paused: v.paused, width: v.videoWidth,
                                error: v.error ? v.error.code : null});
  v.onerror = report;
  const go = () => v.play().then(() => setTimeout(report, 800)).catch(() => report());
  if (v.readyState >= 1) { go(); } else { v.onloadedmetadata = go; }
  setTimeout(report, 4000);  // a file the browser refuses may raise no event at all
})"""


def _page(tmp_path, video_name: str):
    page = tmp_path / f"{video_name}.html"
    page.write_text(f'<!DOCTYPE html><html><body><video id="v" src="{video_name}" muted playsinline></video>'
                    "</body></html>")
    return page


def _frames(count: int) -> list[np.ndarray]:
    frames = []
    for i in range(count):
        frame = np.full((240, 320, 3), 30, np.uint8)
        frame[:, (i * 10) % 320:(i * 10) % 320 + 20] = (220, 60, 60)  # a moving bar
        frames.append(frame)
    return frames


def test_written_mp4_plays_in_chromium_with_the_right_duration(browser, tmp_path):
    if not pyav_h264_available():
        pytest.skip("PyAV with libx264 is not installed (pip install av)")
    with VideoWriter(tmp_path / "out.mp4", fps=15) as writer:
        for frame in _frames(30):
            writer.write(frame)
    browser.open(_page(tmp_path, "out.mp4").as_uri())
    state = browser.evaluate(PLAY, timeout=20)
    assert state["error"] is None, state
    assert state["duration"] == pytest.approx(2.0, abs=0.07) and state["width"] == 320
    assert state["time"] > 0.2 and not state["paused"]  # it is actually playing


def test_opencv_mp4v_is_what_browsers_refuse(browser, tmp_path):
    with pytest.warns(UserWarning, match="web browsers do not play"):
        with VideoWriter(tmp_path / "old.mp4", fps=15, backend="opencv") as writer:
            for frame in _frames(10):
                writer.write(frame)
    if writer.backend != "opencv-mp4v":
        pytest.skip(f"this OpenCV writes {writer.backend}")
    browser.open(_page(tmp_path, "old.mp4").as_uri())
    assert browser.evaluate(PLAY, timeout=20)["error"] == 4  # MEDIA_ERR_SRC_NOT_SUPPORTED: why PyAV is used


def test_dashboard_panel_plays_the_run_in_the_browser(browser, tmp_path, dashboard_run):
    import re

    from .conftest import DANCE
    if not DANCE.is_file():
        pytest.skip(f"shared media not found: {DANCE}")
    run = dashboard_run(["pose_tracking_cpu", "--input", str(DANCE), "--live"], timeout=30)
    try:
        assert run.url, run.err.getvalue()
        browser.open(run.url)
        # the annotated video arrives as data: URLs (the page's CSP allows nothing else) and the chart is drawn
        browser.wait_for("document.getElementById('pg-media-video').src.startsWith('data:image/jpeg')", timeout=20)
        browser.wait_for("document.querySelectorAll('#pg-media-chart polyline').length == 2", timeout=10)
        browser.wait_for("document.getElementById('pg-media-counts').textContent.includes('latency p50')",
                         timeout=10)
        counts = browser.evaluate("document.getElementById('pg-media-counts').textContent")
        size = browser.evaluate("[document.getElementById('pg-media-video').naturalWidth]")
        assert re.search(r"\d+ frames in = \d+ processed \+ \d+ dropped", counts) and size == [576]
        assert "latency p50" in counts and browser.errors == []
    finally:
        run.thread.join(30)
    assert run.rc == 0
