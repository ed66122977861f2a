"""Fixtures for the visualizer, profiler and dashboard tests: test graphs, shipped graphs, a headless browser."""

from __future__ import annotations

from pathlib import Path

import pytest

import posegraph.testing  # noqa: F401  (registers the test calculators: CountSource, Delay, CollectSink)
from posegraph.viz.browser import Browser, BrowserUnavailable, find_browser

HERE = Path(__file__).parent
GRAPHS = HERE / "graphs"
REPO = HERE.parents[1]
SHIPPED = sorted(p for p in (REPO / "graphs").glob("*.pbtxt"))
VALID_TEST_GRAPHS = [GRAPHS / "viz_main.pbtxt", GRAPHS / "viz_run.pbtxt", GRAPHS / "viz_test_stage.pbtxt"]
ALL_GRAPHS = VALID_TEST_GRAPHS + [GRAPHS / "viz_invalid.pbtxt", GRAPHS / "viz_syntax_error.pbtxt"] + SHIPPED


def graph_id(path: Path) -> str:
    return ("shipped/" if path.parent == REPO / "graphs" else "") + path.stem


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (skips, saying why, where none can be found or started)."""
    if find_browser() is None:
        pytest.skip("no Chromium-family browser found: install one (Debian: apt-get install -y chromium) or set "
                    "POSEGRAPH_BROWSER to run the browser tests")
    try:
        b = Browser(timeout=30.0)
    except BrowserUnavailable as exc:
        pytest.skip(f"the browser could not be started: {exc}")
    yield b
    b.close()
