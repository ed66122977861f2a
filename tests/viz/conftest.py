"""Fixtures for the visualizer, profiler and dashboard tests: test graphs and shipped graphs (the
headless browser is tests/conftest.py's)."""

from __future__ import annotations

from pathlib import Path


import posegraph.testing  # noqa: F401  (registers the test calculators: CountSource, Delay, CollectSink)

HERE = Path(__file__).parent
GRAPHS = HERE / "graphs"
REPO = HERE.parents[1]
SHIPPED = sorted(p for p in (REPO / "graphs").glob("*.pbtxt"))
VALID_TEST_GRAPHS = [GRAPHS / "viz_main.pbtxt", GRAPHS / "viz_run.pbtxt", GRAPHS / "viz_test_stage.pbtxt"]
ALL_GRAPHS = VALID_TEST_GRAPHS + [GRAPHS / "viz_invalid.pbtxt", GRAPHS / "viz_syntax_error.pbtxt"] + SHIPPED


def graph_id(path: Path) -> str:
    return ("shipped/" if path.parent == REPO / "graphs" else "") + path.stem
