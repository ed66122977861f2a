"""Ports of the small core calculator tests of mediapipe/calculators/core: merge_calculator_test.cc,
pass_through_calculator_test.cc and packet_presence_calculator_test.cc (exact packets, timestamps, order)."""

from __future__ import annotations

import pytest

from posegraph import GraphConfigError, load_graph

from .mp import Harness, run_node

pytestmark = pytest.mark.timeout(60)


def test_merge_no_input_streams_must_fail():
    """TEST(InvariantMergeInputStreamsCalculator, NoInputStreamsMustFail)."""
    with pytest.raises(GraphConfigError):
        load_graph("node { calculator: 'MergeCalculator' output_stream: 'merged_output' }")


@pytest.mark.parametrize("outputs", ["", "output_stream: 'output1' output_stream: 'output2'"])
def test_merge_expect_exactly_one_output_stream(outputs):
    """TEST(InvariantMergeInputStreamsCalculator, ExpectExactlyOneOutputStream)."""
    with pytest.raises(GraphConfigError):
        load_graph(f"input_stream: 'input1' input_stream: 'input2'\n node {{ calculator: 'MergeCalculator' "
                   f"input_stream: 'input1' input_stream: 'input2' {outputs} }}")


def test_merging_two_streams():
    """TEST(MergeCalculatorTest, TestMergingTwoStreams)."""
    got = run_node("calculator: 'MergeCalculator' input_stream: 'input1' input_stream: 'input2' "
                   "output_stream: 'combined_output'",
                   {"input1": [(10, 10), (20, 20), (30, 30)], "input2": [(5, 5.5), (35, 35.5)]}, ["combined_output"])
    assert got["combined_output"] == [(5, 5.5), (10, 10), (20, 20), (30, 30), (35, 35.5)]


def test_merging_three_streams():
    """TEST(MergeCalculatorTest, TestMergingThreeStreams)."""
    got = run_node("calculator: 'MergeCalculator' input_stream: 'input1' input_stream: 'input2' "
                   "input_stream: 'input3' output_stream: 'combined_output'",
                   {"input1": [(30, 30)], "input2": [(20, 20.5)], "input3": [(10, "c")]}, ["combined_output"])
    assert got["combined_output"] == [(10, "c"), (20, 20.5), (30, 30)]


def test_pass_through_passes_packets():
    """TEST(PassThroughCalculatorTest, PassesPackets)."""
    got = run_node("calculator: 'PassThroughCalculator' input_stream: 'a' input_stream: 'b' "
                   "output_stream: 'out_a' output_stream: 'out_b'", {"a": [(0, 42)], "b": [(0, "str")]},
                   ["out_a", "out_b"])
    assert got == {"out_a": [(0, 42)], "out_b": [(0, "str")]}


def test_pass_through_tagged_ports():
    """PassThroughCalculator (pass_through_calculator.cc): TAG:i in goes to TAG:i out, untagged i to untagged i."""
    got = run_node("calculator: 'PassThroughCalculator' input_stream: 'IMAGE:a' input_stream: 'VALUE:0:b' "
                   "input_stream: 'VALUE:1:a' input_stream: 'b' output_stream: 'IMAGE:x' output_stream: 'VALUE:0:y' "
                   "output_stream: 'VALUE:1:z' output_stream: 'w'", {"a": [(0, 1), (1, 3)], "b": [(0, 2)]},
                   ["x", "y", "z", "w"])
    assert got == {"x": [(0, 1), (1, 3)], "y": [(0, 2)], "z": [(0, 1), (1, 3)], "w": [(0, 2)]}


def test_pass_through_tags_must_match():
    """PassThroughCalculator::GetContract: every input needs its output of the same tag and index."""
    with pytest.raises(GraphConfigError, match="unmatched: OTHER:0, VALUE:0"):
        load_graph("input_stream: 'a'\nnode { calculator: 'PassThroughCalculator' input_stream: 'VALUE:a' "
                   "output_stream: 'OTHER:x' }")


def test_packet_presence_correct_timestamps():
    """TEST(PreviousLoopbackCalculator, CorrectTimestamps) in packet_presence_calculator_test.cc."""
    h = Harness("""
input_stream: 'allow'  input_stream: 'value'
node { calculator: "GateCalculator" input_stream: 'value' input_stream: 'ALLOW:allow' output_stream: 'gated_value' }
node { calculator: 'PacketPresenceCalculator' input_stream: 'PACKET:gated_value' output_stream: 'PRESENCE:presence' }
""", ["presence"])
    h.send("value", 10, 10)
    h.send("allow", False, 10)
    h.idle()
    assert h.got["presence"] == [(10, False)]
    h.got["presence"].clear()
    h.send("value", 20, 11)
    h.send("allow", True, 11)
    h.idle()
    assert h.got["presence"] == [(11, True)]
    h.close()
