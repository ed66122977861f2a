"""Shared fixtures: where the real models and media live (../shared beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEGRAPH_SHARED", REPO.parent / "shared"))
MODELS = SHARED / "models"
MEDIA = SHARED / "media"
REFERENCE = SHARED / "reference" / "mediapipe"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared material not found at {SHARED} (set POSEGRAPH_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def media(shared) -> Path:
    return MEDIA


@pytest.fixture(scope="session")
def models(shared) -> Path:
    return MODELS


@pytest.fixture(scope="session")
def reference(shared) -> Path:
    return REFERENCE
