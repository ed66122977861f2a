"""tools/scorecard.py's own measurements: peak RSS is the measured child's own, the queue-bound check reads every
shipped top-level graph, the crop figure is a real timing, and a failing part is reported, not raised."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import scorecard  # noqa: E402


def test_child_usage_is_the_childs_own_peak():
    # From a small parent: a child's peak RSS starts at its parent's size when it forks (a test runner's GBs).
    code = """
import sys
sys.path.insert(0, sys.argv[1])
import scorecard
big = [sys.executable, "-c", "b = bytearray(150 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"]
print(scorecard.child_usage(big, timeout=60).ru_maxrss // 1024,
      scorecard.child_usage([sys.executable, "-c", "pass"], timeout=60).ru_maxrss // 1024)
"""
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / "tools")], capture_output=True, text=True,
                          timeout=120, check=True)
    big_mb, small_mb = map(int, done.stdout.split())
    assert big_mb > 150
    assert small_mb < 100  # the small child's own peak, not the largest child's so far


def test_child_usage_reports_a_failure_with_its_stderr():
    with pytest.raises(RuntimeError, match="boom"):
        scorecard.child_usage([sys.executable, "-c", "raise SystemExit('boom')"], timeout=60)


def test_every_shipped_top_level_graph_bounds_its_queues():
    [figure] = scorecard.queue_figures()
    assert figure.met, figure.upstream
    assert figure.value >= 9


@pytest.mark.timeout(120)
def test_landmark_crop_is_timed():
    [figure] = scorecard.crop_figures(repeat=1)
    assert figure.value is not None, figure.what
    assert 0.01 < figure.value < 50


def test_a_failing_benchmark_is_a_line_not_an_exception(tmp_path, monkeypatch):
    monkeypatch.setattr(scorecard, "TOOLS", tmp_path)
    (tmp_path / "bench_runtime.py").write_text("raise SystemExit('no runtime here')")
    [figure] = scorecard.runtime_figures(quick=True)
    assert figure.value is None and figure.met is None
    assert "no runtime here" in figure.what
    assert "not measured" in figure.line()


def test_a_wall_figure_from_contended_runs_is_marked():
    assert scorecard.busy_note({"others_cores": 0.1}, {"ms_per_frame": 3.0}) == ""
    note = scorecard.busy_note({"others_cores": 0.1}, {"others_cores": 1.3})
    assert note.startswith("; BUSY: others used 1.3 of")
