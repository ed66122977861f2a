"""Ports of mediapipe/calculators/core/begin_end_loop_calculator_graph_test.cc (exact packets, timestamps, order):
12 of its 13 TESTs.

Not expressible separately: BeginEndTensorLoopCalculatorGraphTest.SingleNonEmptyVector runs the SingleNonEmptyVector
scenario through the C++ Tensor specialisation of the loop calculators; posegraph's loop is one calculator for any
iterable, so it is the same test as the list one."""

from __future__ import annotations

import pytest

from .mp import Harness

pytestmark = pytest.mark.timeout(60)

LOOP = """
num_threads: 4
input_stream: "ints"
output_stream: "ints_plus_one"
node { calculator: "BeginLoopCalculator" input_stream: "ITERABLE:ints" output_stream: "ITEM:int"
       output_stream: "BATCH_END:timestamp" }
node { calculator: "MpIncrementCalculator" input_stream: "int" output_stream: "int_plus_one" }
node { calculator: "EndLoopCalculator" input_stream: "ITEM:int_plus_one" input_stream: "BATCH_END:timestamp"
       output_stream: "ITERABLE:ints_plus_one" }
"""


def test_input_stream_for_iterable_is_empty():
    """TEST_F(BeginEndLoopCalculatorGraphTest, InputStreamForIterableIsEmpty)."""
    h = Harness(LOOP, ["ints_plus_one"])
    h.idle()
    h.close()
    assert h.got["ints_plus_one"] == []


def test_single_empty_vector():
    """TEST_F(BeginEndLoopCalculatorGraphTest, SingleEmptyVector): an empty batch gives no packet."""
    h = Harness(LOOP, ["ints_plus_one"])
    h.send("ints", [], 0)
    h.idle()
    assert h.got["ints_plus_one"] == []
    h.close()


def test_single_non_empty_vector():
    """TEST_F(BeginEndLoopCalculatorGraphTest, SingleNonEmptyVector)."""
    h = Harness(LOOP, ["ints_plus_one"])
    h.send("ints", [0, 1, 2], 0)
    h.idle()
    assert h.got["ints_plus_one"] == [(0, [1, 2, 3])]
    h.close()


def test_multiple_vectors():
    """TEST_F(BeginEndLoopCalculatorGraphTest, MultipleVectors)."""
    h = Harness(LOOP, ["ints_plus_one"])
    h.send("ints", [0, 1], 0)
    h.send("ints", [], 1)
    h.send("ints", [2, 3], 2)
    h.close()
    assert h.got["ints_plus_one"] == [(0, [1, 2]), (2, [3, 4])]


def test_end_loop_for_integers_does_not_race():
    """TEST(BeginEndLoopCalculatorPossibleDataRaceTest, EndLoopForIntegersDoesNotRace)."""
    text = LOOP.replace('output_stream: "ints_plus_one"\n', 'output_stream: "ints_plus_one"\n'
                        'output_stream: "ints_plus_two"\n') + """
node { calculator: "MpIncrementCalculator" input_stream: "int_plus_one" output_stream: "int_plus_two" }
node { calculator: "EndLoopCalculator" input_stream: "ITEM:int_plus_two" input_stream: "BATCH_END:timestamp"
       output_stream: "ITERABLE:ints_plus_two" }
"""
    h = Harness(text, ["ints_plus_one", "ints_plus_two"])
    for i in range(100):
        h.send("ints", [i, i + 1, i + 2], i)
        h.idle()
        assert h.got["ints_plus_one"] == [(i, [i + 1, i + 2, i + 3])]
        assert h.got["ints_plus_two"] == [(i, [i + 2, i + 3, i + 4])]
        h.got["ints_plus_one"].clear()
        h.got["ints_plus_two"].clear()
    h.close()


EMPTY_PACKETS = """
num_threads: 4
input_stream: "ints"
input_stream: "force_ints_to_be_timestamp_bound_update"
output_stream: "ints_plus_one_passed_through"
node { calculator: "GateCalculator" input_stream: "ints"
       input_stream: "DISALLOW:force_ints_to_be_timestamp_bound_update" output_stream: "ints_passed_through" }
node { calculator: "BeginLoopCalculator" input_stream: "ITERABLE:ints_passed_through" output_stream: "ITEM:int"
       output_stream: "BATCH_END:timestamp" }
node { calculator: "MpIncrementCalculator" input_stream: "int" output_stream: "int_plus_one" }
node { calculator: "EndLoopCalculator" input_stream: "ITEM:int_plus_one" input_stream: "BATCH_END:timestamp"
       output_stream: "ITERABLE:ints_plus_one" }
node { calculator: "MpPassThroughOrEmptyVectorCalculator" input_stream: "ints_plus_one"
       output_stream: "ints_plus_one_passed_through" }
"""


def _send_or_bound(h: Harness, ts: int, ints: list) -> None:
    h.send("force_ints_to_be_timestamp_bound_update", not ints, ts)
    h.send("ints", ints, ts)


def test_processing_empty_packets_single_empty_vector():
    """TEST_F(BeginEndLoopCalculatorGraphProcessingEmptyPacketsTest, SingleEmptyVector): a bound-only ITERABLE
    update still ends a batch, so the bound reaches the node below."""
    h = Harness(EMPTY_PACKETS, ["ints_plus_one_passed_through"])
    _send_or_bound(h, 0, [])
    h.idle()
    assert h.got["ints_plus_one_passed_through"] == [(0, [])]
    h.close()


def test_processing_empty_packets_single_non_empty_vector():
    """TEST_F(BeginEndLoopCalculatorGraphProcessingEmptyPacketsTest, SingleNonEmptyVector)."""
    h = Harness(EMPTY_PACKETS, ["ints_plus_one_passed_through"])
    _send_or_bound(h, 0, [0, 1, 2])
    h.idle()
    assert h.got["ints_plus_one_passed_through"] == [(0, [1, 2, 3])]
    h.close()


def test_processing_empty_packets_multiple_vectors():
    """TEST_F(BeginEndLoopCalculatorGraphProcessingEmptyPacketsTest, MultipleVectors)."""
    h = Harness(EMPTY_PACKETS, ["ints_plus_one_passed_through"])
    _send_or_bound(h, 0, [])
    h.idle()
    _send_or_bound(h, 1, [0, 1])
    _send_or_bound(h, 2, [])
    h.idle()
    _send_or_bound(h, 3, [2, 3])
    _send_or_bound(h, 4, [])
    h.idle()
    h.close()
    assert h.got["ints_plus_one_passed_through"] == [(0, []), (1, [1, 2]), (2, []), (3, [3, 4]), (4, [])]


CLONED = """
num_threads: 4
input_stream: "ints"
input_stream: "multiplier"
output_stream: "multiplied_ints"
node { calculator: "BeginLoopCalculator" input_stream: "ITERABLE:ints" input_stream: "CLONE:multiplier"
       output_stream: "ITEM:int_at_loop" output_stream: "CLONE:multiplier_cloned_at_loop"
       output_stream: "BATCH_END:timestamp" }
node { calculator: "MpMultiplierCalculator" input_stream: "int_at_loop" input_stream: "multiplier_cloned_at_loop"
       output_stream: "multiplied_int_at_loop" }
node { calculator: "EndLoopCalculator" input_stream: "ITEM:multiplied_int_at_loop"
       input_stream: "BATCH_END:timestamp" output_stream: "ITERABLE:multiplied_ints" }
"""


def test_cloned_inputs_input_stream_for_iterable_is_empty():
    """TEST_F(BeginEndLoopCalculatorGraphWithClonedInputsTest, InputStreamForIterableIsEmpty)."""
    h = Harness(CLONED, ["multiplied_ints"])
    h.send("multiplier", 2, 42)
    h.idle()
    assert h.got["multiplied_ints"] == []
    h.close()


def test_cloned_inputs_single_empty_vector():
    """TEST_F(BeginEndLoopCalculatorGraphWithClonedInputsTest, SingleEmptyVector)."""
    h = Harness(CLONED, ["multiplied_ints"])
    h.send("ints", [], 0)
    h.send("multiplier", 2, 0)
    h.idle()
    assert h.got["multiplied_ints"] == []
    h.close()


def test_cloned_inputs_single_non_empty_vector():
    """TEST_F(BeginEndLoopCalculatorGraphWithClonedInputsTest, SingleNonEmptyVector)."""
    h = Harness(CLONED, ["multiplied_ints"])
    h.send("ints", [0, 1, 2], 0)
    h.send("multiplier", 2, 0)
    h.idle()
    assert h.got["multiplied_ints"] == [(0, [0, 2, 4])]
    h.close()


def test_cloned_inputs_multiple_vectors():
    """TEST_F(BeginEndLoopCalculatorGraphWithClonedInputsTest, MultipleVectors)."""
    h = Harness(CLONED, ["multiplied_ints"])
    for ts, mul, ints in ((0, 2, [0, 1]), (1, 2, []), (2, 3, [2, 3])):
        h.send("ints", ints, ts)
        h.send("multiplier", mul, ts)
    h.close()
    assert h.got["multiplied_ints"] == [(0, [0, 2]), (2, [6, 9])]


# Not ported: TEST(BeginEndTensorLoopCalculatorGraphTest, ...) needs MediaPipe's Tensor type (no equivalent here).
