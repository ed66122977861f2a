"""Ports of mediapipe/framework/calculator_graph_bounds_test.cc (exact packets, timestamps, order). Streams are
observed by name without a graph-level declaration, as MediaPipe's ObserveOutputStream allows."""

from __future__ import annotations

import pytest

from posegraph import Graph

from .mp import Harness

pytestmark = pytest.mark.timeout(60)


def test_offset_bound_propagation():
    """TEST(CalculatorGraphBoundsTest, OffsetBoundPropagation): a node that sends nothing but has offset 0 lets the
    node joining its output with the input run at every timestamp."""
    h = Harness("""
input_stream: 'input'
node { calculator: 'MpOffsetBoundCalculator' input_stream: 'input' output_stream: 'bounds' }
node { calculator: 'PassThroughCalculator' input_stream: 'bounds' input_stream: 'input'
       output_stream: 'bounds_output' output_stream: 'output' }
""", ["output"])
    h.idle()
    for i in range(4):
        h.send("input", 33, i)
    h.idle()
    assert h.got["output"] == [(i, 33) for i in range(4)]
    h.close()


def test_bound_without_input_packets():
    """TEST(CalculatorGraphBoundsTest, BoundWithoutInputPackets): bounds alone never make a packet."""
    h = Harness("""
input_stream: 'input'
node { calculator: 'MpFuturePacketCalculator' input_stream: 'input' output_stream: 'input_2' }
node { calculator: 'MpOffsetBoundCalculator' input_stream: 'input_2' output_stream: 'bounds' }
node { calculator: 'MpBoundToPacketCalculator' input_stream: 'bounds' output_stream: 'output' }
""", ["output"])
    h.idle()
    for i in range(4):
        h.send("input", 33, i)
        h.idle()
    assert h.got["output"] == []
    h.close()


def test_set_input_stream_timestamp_bound():
    """TEST(CalculatorGraphBoundsTest, SetInputStreamTimestampBound): each bound on a graph input runs a
    process-timestamp-bounds node at the settled timestamp."""
    h = Harness("""
input_stream: "input_0"
node { calculator: "MpProcessBoundToPacketCalculator" input_stream: "input_0" output_stream: "output_0" }
""", ["output_0"])
    h.idle()
    for i in range(9):
        h.graph.set_input_bound("input_0", 10 + i * 10 + 1)
        h.idle()
    assert [t for t, _ in h.got["output_0"]] == [10 + i * 10 for i in range(9)]
    h.close()


def test_observe_timestamp_bounds():
    """ObserveOutputStream(..., observe_timestamp_bounds=true): bound-only advances reach the observer as empty
    packets at the settled timestamp."""
    graph = Graph("""
input_stream: 'input'  input_stream: 'allow'
node { calculator: 'GateCalculator' input_stream: 'input' input_stream: 'ALLOW:allow' output_stream: 'gated' }
""")
    seen = []
    graph.observe_output("gated", lambda p: seen.append((p.timestamp, None if p.is_empty else p.value)),
                         observe_timestamp_bounds=True)
    graph.start()
    for t, allow in ((1, True), (2, False), (3, False), (4, True)):
        graph.add_packet("input", t * 10, t)
        graph.add_packet("allow", allow, t)
        graph.wait_until_idle(timeout=10)
    graph.close(timeout=10)
    assert seen == [(1, 10), (2, None), (3, None), (4, 40)]
