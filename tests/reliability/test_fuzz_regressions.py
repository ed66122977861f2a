"""Inputs the fuzzers once broke the loader with: each must now give a ValidatedGraph or a GraphConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from posegraph.config import load_graph
from posegraph.errors import GraphConfigError

pytestmark = pytest.mark.timeout(60)

CASES = sorted((Path(__file__).parent / "fuzz_regressions").iterdir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fuzz_regression(case):
    text = case.read_bytes().decode("utf-8", errors="replace")
    try:
        load_graph(text)
    except GraphConfigError as error:
        assert error.issues


def test_names_the_file_system_rejects_are_not_found():
    with pytest.raises(GraphConfigError, match="not found"):
        load_graph("x" * 5000)
    with pytest.raises(GraphConfigError, match="unknown calculator"):
        load_graph("node { calculator: '" + "Y" * 5000 + "' }")
