"""posegraph.testing: the shipped test-double calculators do what their docstrings say."""

from __future__ import annotations

import time

import pytest

import posegraph.testing as testing
from posegraph import Graph
from posegraph.errors import CalculatorError

pytestmark = pytest.mark.timeout(60)


def pipeline(source: str, delay: str, sink: str = "seen") -> Graph:
    return Graph(f"""
        output_stream: "out"
        node {{ calculator: "CountSourceCalculator" output_stream: "n"
               options {{ [posegraph.CountSourceOptions.ext] {{ {source} }} }} }}
        node {{ calculator: "DelayCalculator" name: "delay" input_stream: "n" output_stream: "out"
               options {{ [posegraph.DelayOptions.ext] {{ {delay} }} }} }}
        node {{ calculator: "CollectSinkCalculator" input_stream: "n"
               options {{ [posegraph.CollectSinkOptions.ext] {{ name: "{sink}" }} }} }}
    """)


def test_source_delay_and_sink_pass_every_packet_in_order():
    testing.clear_collected()
    graph = pipeline("count: 4 step: 10", "ms: 2 busy_us: 100")
    out = []
    graph.observe_output("out", lambda p: out.append((p.value, p.timestamp)))
    start = time.perf_counter()
    graph.start()
    graph.wait_until_done(30)
    assert out == [(0, 0), (1, 10), (2, 20), (3, 30)]
    assert time.perf_counter() - start >= 4 * 0.002
    assert [(p.value, p.timestamp) for p in testing.collected("seen")] == out


def test_injected_failures_name_the_node_and_timestamp():
    graph = pipeline("count: 5", "fail_at: 3", sink="fails")
    graph.start()
    with pytest.raises(CalculatorError, match=r"node 'delay' failed in process\(\) at timestamp 3") as info:
        graph.wait_until_done(30)
    assert isinstance(info.value.__cause__, testing.InjectedFailure)
    with pytest.raises(CalculatorError, match="failure injected in open"):
        pipeline("count: 1", "fail_open: true", sink="fails").start()


def test_a_timed_source_stops_after_its_seconds():
    graph = pipeline("seconds: 0.2 interval_ms: 5", "")
    start = time.perf_counter()
    graph.start()
    graph.wait_until_done(30)
    assert 0.2 <= time.perf_counter() - start < 10


def test_bad_options_are_refused():
    with pytest.raises(Exception, match="must not be negative"):
        pipeline("count: -1", "")
