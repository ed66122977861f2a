"""Runs a bounded atheris session on the graph loader (skipped where atheris does not install)."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

atheris = pytest.importorskip("atheris", reason="atheris (libFuzzer for Python) is not installed on this platform")


def test_graph_loader_survives_coverage_guided_fuzzing(tmp_path, record_property):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for graph in resources.files("posegraph.graphs").iterdir():
        if graph.name.endswith(".pbtxt"):
            (corpus / graph.name).write_text(graph.read_text())
    harness = Path(__file__).with_name("fuzz_graph_loader.py")
    done = subprocess.run([sys.executable, str(harness), "-runs=3000", "-max_len=4096", "-seed=1", str(corpus)],
                          capture_output=True, text=True, timeout=280)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    tried = int(re.search(r"Done (\d+) runs", output).group(1))
    record_property("atheris_cases", tried)
    print(f"atheris: {tried} cases, only ValidatedGraph or GraphConfigError")
    assert tried >= 3000
