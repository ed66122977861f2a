"""The documentation site builds with warnings as errors (CI also runs `mkdocs build --strict`)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
                    reason="the docs extra is not installed (pip install -e '.[docs]')")
@pytest.mark.timeout(240)
def test_docs_build_strict(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=230,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    site = tmp_path / "site"
    assert "PoseTracker" in (site / "api" / "index.html").read_text(encoding="utf-8")
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "posegraph models pull" in cli and "--version" in cli
    assert not (site / "hooks.py").exists()
