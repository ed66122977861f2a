"""Repeated runs of the flagship in one process: memory, threads and open files stay flat, results stay the same.

Each run loaded its interpreters anew on fresh worker threads, and glibc kept the freed pages in those threads'
malloc arenas: 60 runs grew RSS by 60-90 MB (300 runs: ~+95 MB) although nothing leaked. Inference nodes now lease
models from a process-wide pool (calculators/inference/model_pool.py). tools/soak_runs.py is the long version.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

from posegraph import Graph

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

from soak_runs import sample  # noqa: E402

pytestmark = pytest.mark.timeout(120)

RUNS = 60
LIMIT_MB = 25  # the old code grew by 59-92 MB over these 60 runs, the pooled one by 1-2 MB


def _run_once(image: Path) -> list[bytes]:
    """One complete run of the flagship on one image; the landmarks it found, as bytes."""
    graph = Graph("pose_tracking_cpu")
    found: list[bytes] = []
    graph.observe_output("poses", lambda p: found.extend(pose.landmarks.tobytes() for pose in p.value))
    graph.start({"input_path": str(image)})
    graph.close(timeout=60)
    return found


def test_60_flagship_runs_keep_rss_threads_and_files_flat_without_gc(media):
    image = media / "person_single_fullbody_man_casual.jpg"
    first = _run_once(image)
    assert first, "the flagship found nobody in its test image"
    gc.collect()
    before = sample(1)
    gc.disable()  # what is freed must be freed by reference counting, not left to the cycle collector
    try:
        results = [_run_once(image) for _ in range(RUNS)]
        after = sample(RUNS + 1)
    finally:
        gc.enable()
    assert all(r == first for r in results), "a run with a reused interpreter gave different landmarks"
    assert after.threads <= before.threads
    assert after.native_threads <= before.native_threads, (before, after)
    assert after.fds <= before.fds, (before, after)
    assert after.rss_mb - before.rss_mb < LIMIT_MB, f"RSS {before.rss_mb:.0f} -> {after.rss_mb:.0f} MB over {RUNS} runs"
