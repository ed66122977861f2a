"""A bounded session of fuzz_subgraph_parents: mutated shipped subgraphs, loaded through their parent graphs, give
a ValidatedGraph or a GraphConfigError with a message; never a hang (10 s per case) and never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fuzz_subgraph_parents import GRAPHS, fuzz, subgraph_parents  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def test_shipped_subgraphs_have_parents():
    parents = subgraph_parents(GRAPHS)
    assert "pose_landmark_cpu.pbtxt" in parents["pose_landmark_by_roi_cpu.pbtxt"]
    assert "pose_tracking_cpu.pbtxt" in parents["pose_landmark_by_roi_cpu.pbtxt"]  # through pose_landmark_cpu
    assert len(parents) >= 4


def test_mutated_subgraphs_loaded_through_parents(record_property):
    report = fuzz(cases=400, seed=0, limit=10.0, budget=25.0)
    print("\nsubgraph fuzz:", report.summary())
    record_property("subgraph_fuzz", report.summary())
    assert not report.hangs, report.hangs[0][:3000]
    assert not report.tracebacks, report.tracebacks[0][:3000]
    assert report.cases >= 60  # the budget allows ~400 on a quiet machine; fewer on a loaded one
    assert report.rejected > 0 and report.accepted > 0
