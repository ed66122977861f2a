"""Fixtures of the top-down tests (helpers in helpers.py)."""

from __future__ import annotations

from typing import Callable

import pytest

from .helpers import streaming_config


@pytest.fixture(scope="module")
def run_frames() -> Callable:
    """run_frames(frames, options=None, outputs=("poses",)) -> list of per-frame output dicts (the graph is closed)."""
    from posegraph import Graph

    def run(frames, options=None, outputs=("poses",), graph_out: list | None = None):
        graph = Graph(streaming_config(options, outputs))
        results = [graph.process({"frames": frame}) for frame in frames]
        graph.close()
        if graph_out is not None:
            graph_out.append(graph)
        return results

    return run
