"""`posegraph run --watchdog`: a node stuck in process() is named and the run fails instead of waiting forever."""

from __future__ import annotations

import time

from posegraph.cli import main
from posegraph.cli_report import EXIT_RUN

import posegraph.testing  # noqa: F401  (registers CountSourceCalculator, DelayCalculator)

GRAPH = """
node { calculator: "CountSourceCalculator" output_stream: "n"
       options { [posegraph.CountSourceOptions.ext] { count: 3 } } }
node { name: "stuck" calculator: "DelayCalculator" input_stream: "n" output_stream: "out"
       options { [posegraph.DelayOptions.ext] { ms: %s } } }
"""


def test_watchdog_names_the_stuck_node_and_fails_the_run(tmp_path, capsys):
    graph = tmp_path / "stuck.pbtxt"
    graph.write_text(GRAPH % 5000)
    started = time.monotonic()
    assert main(["run", str(graph), "--watchdog", "0.5"]) == EXIT_RUN
    assert time.monotonic() - started < 4.5  # failed at the limit, not after the 5 s call returned
    err = capsys.readouterr().err
    assert "stuck" in err and "process" in err and "Traceback" not in err


def test_watchdog_zero_is_off_and_a_slow_node_finishes(tmp_path, capsys):
    graph = tmp_path / "slow.pbtxt"
    graph.write_text(GRAPH % 200)
    assert main(["run", str(graph), "--watchdog", "0"]) == 0
