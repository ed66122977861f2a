"""MediaPipe's own graph files are test data in ../shared/mediapipe_graphs (never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))

GRAPHS = SHARED / "mediapipe_graphs" / "mediapipe"
LEGACY = SHARED / "reference" / "mediapipe_legacy"



@pytest.fixture(scope="session")
def mp_graphs(shared) -> Path:
    if not GRAPHS.is_dir():
        pytest.skip(f"MediaPipe's graph files not found at {GRAPHS}")
    return GRAPHS


@pytest.fixture(scope="session")
def legacy(shared) -> Path:
    if not LEGACY.is_dir():
        pytest.skip(f"legacy MediaPipe reference not found at {LEGACY}")
    return LEGACY
