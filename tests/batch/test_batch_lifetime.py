"""Batch workers never outlive their driver, and keep nothing of the files they finished."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import weakref
from pathlib import Path

import pytest

from posegraph.batch.worker import FileRunner

pytestmark = pytest.mark.timeout(120)

SLEEPY_GRAPH = """
input_side_packet: "input_path"
input_side_packet: "landmarks_path"
input_side_packet: "max_frames"
input_side_packet: "seconds"
node {
  calculator: "MediaSourceCalculator"
  input_side_packet: "INPUT_PATH:input_path"
  input_side_packet: "MAX_FRAMES:max_frames"
  output_stream: "IMAGE:frames"
}
node {
  calculator: "BatchTestSleepy"
  input_stream: "IMAGE:frames"
  input_side_packet: "SECONDS:seconds"
  output_stream: "IMAGE:slow"
}
node {
  calculator: "LandmarksSinkCalculator"
  input_stream: "IMAGE:slow"
  input_side_packet: "OUTPUT_PATH:landmarks_path"
}
"""

DRIVER = """
import json, sys
from posegraph.batch import run_batch

def on_event(kind, info):
    if kind == "submitted":
        print(json.dumps({{"pid": info["pid"], "partial": info["temp_outputs"]["landmarks_path"]}}), flush=True)

if __name__ == "__main__":
    run_batch({graph!r}, {inputs!r}, {out!r}, engine="local", workers=2, max_frames=200, side={{"seconds": 1.0}},
              preload=[{calcs!r}], on_event=on_event)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")  # a zombie has exited; only its parent's reaping is left
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_driver_is_killed(tmp_path, media, calcs):
    graph = tmp_path / "sleepy.pbtxt"
    graph.write_text(SLEEPY_GRAPH)
    inputs = [str(media / "video_dance_single_synthetic.mp4"), str(media / "video_upper_body_selfie.mp4")]
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER.format(graph=str(graph), inputs=inputs, out=str(tmp_path / "out"),
                                                    calcs=calcs)))
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids, partials = [], []
    try:
        while len(pids) < 2:
            line = driver.stdout.readline()
            assert line, "the driver ended before submitting both files"
            pids.append(json.loads(line)["pid"])
            partial = Path(json.loads(line)["partial"])
            # the sink writes under a hidden name of its own until the file is complete (calculators/io/partial.py)
            partials.append(partial.with_name(f".{partial.stem}.partial-{pids[-1]}{partial.suffix}"))
        deadline = time.monotonic() + 60
        while not all(p.is_file() and p.read_bytes().count(b"\n") >= 1 for p in partials):  # mid-file
            assert time.monotonic() < deadline, "the workers never started writing"
            time.sleep(0.05)
        assert all(_alive(pid) for pid in pids)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 5  # a file has minutes of work left
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in pids if _alive(pid)], "workers outlived their driver"
    finally:
        driver.kill()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_worker_keeps_no_graph_of_a_finished_file(tmp_path, media, calcs, monkeypatch):
    import posegraph.graph as graph_module

    made: list[weakref.ref] = []

    class Tracked(graph_module.Graph):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(weakref.ref(self))

    monkeypatch.setattr(graph_module, "Graph", Tracked)
    runner = FileRunner(SLEEPY_GRAPH, side={"seconds": 0.0, "max_frames": 2})
    for k in range(5):
        outcome = runner.run(str(media / "figure_skater_seq_00001.jpg"),
                             {"landmarks_path": str(tmp_path / f"out{k}.jsonl")})
        assert outcome.ok, outcome.detail
        assert made[-1]() is None, "the finished file's graph is still reachable"
    assert len(made) == 5
    gc.collect()


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc")
def test_worker_memory_stays_flat_over_repeated_pose_runs(tmp_path, media, models):
    """The starting code grew ~6 MB per pose-graph file (graph cycles left to the collector's pace)."""
    from google.protobuf import text_format

    from posegraph.config import load_graph

    def rss_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

    spec = load_graph("pose_tracking_cpu")
    runner = FileRunner(text_format.MessageToString(spec.config), side={"max_frames": 1})
    image = str(media / "yoga_tree_pose.jpeg")
    last = []
    for k in range(28):  # 8 files of warm-up (lazily compiled kernels, allocator pools), then 20 measured
        outcome = runner.run(image, {"landmarks_path": str(tmp_path / "out.jsonl")})
        assert outcome.ok, outcome.detail
        if k == 7:
            start = rss_mb()
        elif k >= 23:
            last.append(rss_mb())
    # the smallest of the last five readings: a leak raises every reading, while the allocator keeping one file's
    # freed buffers for a moment (a transient ~30 MB) raises only some
    assert min(last) - start < 20, f"grew {min(last) - start:.1f} MB over 20 files (last readings {last})"
