"""Ports of mediapipe/calculators/core/previous_loopback_calculator_test.cc: all 12 TESTs (exact packets,
timestamps, order)."""

from __future__ import annotations

import pytest

from posegraph import Calculator, Input, Output, Timestamp, calculator

from .mp import EMPTY, Harness

pytestmark = pytest.mark.timeout(60)

PAIR_GRAPH = """
input_stream: 'in'
output_stream: 'pair'
node { calculator: 'PreviousLoopbackCalculator' input_stream: 'MAIN:in' input_stream: 'LOOP:out'
       input_stream_info: { tag_index: 'LOOP' back_edge: true } output_stream: 'PREV_LOOP:previous' }
node { calculator: 'PassThroughCalculator' input_stream: 'in' input_stream: 'previous'
       output_stream: 'out' output_stream: 'previous2' }
node { calculator: 'MpMakePairCalculator' input_stream: 'out' input_stream: '{second}' output_stream: 'pair' }
"""


def test_correct_timestamps():
    """TEST(PreviousLoopbackCalculator, CorrectTimestamps)."""
    h = Harness(PAIR_GRAPH.replace("{second}", "previous2"), ["pair"])
    expected = []
    for n, prev in ((1, EMPTY), (2, 1), (5, 2), (15, 5)):
        h.send("in", n, n)
        h.idle()
        expected.append((n, (n, prev)))
        assert h.got["pair"] == expected
    h.close()


CLOSE_GRAPH = """
input_stream: 'in'
output_stream: 'close_out'
node { calculator: 'PreviousLoopbackCalculator' input_stream: 'MAIN:in' input_stream: 'LOOP:{loop}'
       input_stream_info: { tag_index: 'LOOP' back_edge: true } output_stream: 'PREV_LOOP:previous' }
node { calculator: 'PassThroughCalculator' input_stream: 'in' input_stream: 'previous'
       output_stream: 'out' output_stream: 'previous2' }
node { calculator: 'MpPacketOnCloseCalculator' input_stream: 'out' output_stream: 'close_out' }
"""


def test_closes_correctly():
    """TEST(PreviousLoopbackCalculator, ClosesCorrectly)."""
    h = Harness(CLOSE_GRAPH.replace("{loop}", "out"), ["close_out"])
    for n in (1, 2, 5, 15):
        h.send("in", n, n)
        h.idle()
    assert [t for t, _ in h.got["close_out"]] == [1, 2, 5, 15]
    h.graph.close_all_inputs()
    h.idle()
    assert [t for t, _ in h.got["close_out"]] == [1, 2, 5, 15, Timestamp.MAX]
    h.close()


def test_processes_max_timestamp():
    """TEST(PreviousLoopbackCalculator, ProcessesMaxTimestamp)."""
    h = Harness(PAIR_GRAPH.replace("{second}", "previous"), ["pair"])
    h.send("in", 1, Timestamp.MAX)
    h.idle()
    assert h.got["pair"] == [(Timestamp.MAX, (1, EMPTY))]
    h.close()


def test_processes_max_timestamp_non_empty_previous():
    """TEST(PreviousLoopbackCalculator, ProcessesMaxTimestampNonEmptyPrevious)."""
    h = Harness(PAIR_GRAPH.replace("{second}", "previous"), ["pair"])
    h.send("in", 1, Timestamp.MIN)
    h.send("in", 2, Timestamp.MAX)
    h.idle()
    assert h.got["pair"] == [(Timestamp.MIN, (1, EMPTY)), (Timestamp.MAX, (2, 1))]
    h.close()


def test_empty_loop_forever():
    """TEST(PreviousLoopbackCalculator, EmptyLoopForever): an always-empty LOOP never blocks downstream."""
    h = Harness(CLOSE_GRAPH.replace("{loop}", "previous"), ["close_out"])
    for main_ts in range(50):
        h.send("in", main_ts, main_ts)
        h.idle()
        assert [t for t, _ in h.got["close_out"]] == list(range(main_ts + 1))
    h.close()


PROCESSING_GRAPH = """
input_stream: 'input'  input_stream: 'force_main_empty'  input_stream: 'force_loop_empty'
output_stream: 'passed_through_input_and_prev_loop'
node { calculator: 'GateCalculator' input_stream: 'input' input_stream: 'DISALLOW:force_main_empty'
       output_stream: 'main' }
node { calculator: 'PreviousLoopbackCalculator' input_stream: 'MAIN:main' input_stream: 'LOOP:loop'
       input_stream_info: { tag_index: 'LOOP' back_edge: true } output_stream: 'PREV_LOOP:prev_loop' }
node { calculator: 'PassThroughCalculator' input_stream: 'input' input_stream: 'prev_loop'
       output_stream: 'passed_through_input' output_stream: 'passed_through_prev_loop' }
node { calculator: 'GateCalculator' input_stream: 'input' input_stream: 'DISALLOW:force_loop_empty'
       output_stream: 'loop' }
node { calculator: 'MpMakePairCalculator' input_stream: 'passed_through_input'
       input_stream: 'passed_through_prev_loop' output_stream: 'passed_through_input_and_prev_loop' }
"""


def _processing(steps):
    """PreviousLoopbackCalculatorProcessingTimestampsTest: send (timestamp, main empty?, loop empty?) steps and
    compare the whole output after each one."""
    h = Harness(PROCESSING_GRAPH, ["passed_through_input_and_prev_loop"])
    expected = []
    for ts, main_empty, loop_empty, prev in steps:
        h.send("input", ts, ts)
        h.send("force_main_empty", main_empty, ts)
        h.send("force_loop_empty", loop_empty, ts)
        h.idle()
        expected.append((ts, (ts, prev)))
        assert h.got["passed_through_input_and_prev_loop"] == expected
    h.close()


def test_multiple_packets_empty_main_non_empty_loop():
    """TEST_F(PreviousLoopbackCalculatorProcessingTimestampsTest, MultiplePacketsEmptyMainNonEmptyLoop)."""
    _processing([(t, True, False, EMPTY) for t in (1, 2, 3, 5, 15)])


def test_multiple_packets_non_empty_main_empty_loop():
    """TEST_F(PreviousLoopbackCalculatorProcessingTimestampsTest, MultiplePacketsNonEmptyMainEmptyLoop)."""
    _processing([(t, False, True, EMPTY) for t in (1, 2, 3, 5, 15)])


def test_multiple_packets_altering_main_non_empty_loop():
    """TEST_F(PreviousLoopbackCalculatorProcessingTimestampsTest, MultiplePacketsAlteringMainNonEmptyLoop)."""
    _processing([(1, False, False, EMPTY), (2, True, False, EMPTY), (3, False, False, 1), (5, False, False, 3),
                 (15, True, False, EMPTY)])


def test_multiple_packets_non_empty_main_altering_loop():
    """TEST_F(PreviousLoopbackCalculatorProcessingTimestampsTest, MultiplePacketsNonEmptyMainAlteringLoop)."""
    _processing([(1, False, False, EMPTY), (2, False, True, 1), (3, False, False, EMPTY), (5, False, True, 3),
                 (15, False, False, EMPTY)])


def test_multiple_packets_check_if_last_correct_altering_main_altering_loop():
    """TEST_F(PreviousLoopbackCalculatorProcessingTimestampsTest,
    MultiplePacketsCheckIfLastCorrectAlteringMainAlteringLoop): the last pair carries the previous input."""
    h = Harness(PROCESSING_GRAPH, ["passed_through_input_and_prev_loop"])
    n = 1000
    for i in range(n):
        for stream, value in (("input", i + 1), ("force_main_empty", i % 3 == 0), ("force_loop_empty", i % 2 == 0)):
            h.send(stream, value, i + 1)
    for ts in (n + 1, n + 2):
        h.send("input", ts, ts)
        h.send("force_main_empty", False, ts)
        h.send("force_loop_empty", False, ts)
    h.idle()
    assert h.got["passed_through_input_and_prev_loop"][-1] == (n + 2, (n + 2, n + 1))
    h.close()


@calculator("MpDroppingGateCalculator")
class DroppingGate(Calculator):
    """DroppingGateCalculator: like a gate, but a dropped packet does not move the output's bound."""

    IN = Input("")
    DISALLOW = Input[bool]("DISALLOW")
    OUT = Output("")
    TIMESTAMP_OFFSET = None

    def process(self, ctx):
        if ctx.has(self.IN) and not ctx[self.DISALLOW]:
            ctx.send(self.OUT, ctx[self.IN])


DELAY_GRAPH = """
input_stream: 'input'  input_stream: 'delay_next_output'
node { calculator: 'PreviousLoopbackCalculator' input_stream: 'MAIN:input' input_stream: 'LOOP:loop'
       input_stream_info: { tag_index: 'LOOP' back_edge: true } output_stream: 'PREV_LOOP:prev_loop' }
node { calculator: 'PassThroughCalculator' input_stream: 'input' input_stream: 'prev_loop'
       output_stream: 'passed_through_input' output_stream: 'passed_through_prev_loop' }
node { calculator: 'MpDroppingGateCalculator' input_stream: 'input' input_stream: 'DISALLOW:delay_next_output'
       output_stream: 'loop' }
node { calculator: 'MpMakePairCalculator' input_stream: 'passed_through_input'
       input_stream: 'passed_through_prev_loop' output_stream: 'passed_through_input_and_prev_loop' }
"""


def _delayed(steps):
    """PreviousLoopbackCalculatorDelayBehaviorTest: send (timestamp, delay_next_output, expected whole output)."""
    h = Harness(DELAY_GRAPH, ["passed_through_input_and_prev_loop"])
    for ts, delay, expected in steps:
        h.send("input", ts, ts)
        h.send("delay_next_output", delay, ts)
        h.idle()
        assert h.got["passed_through_input_and_prev_loop"] == [(t, (t, prev)) for t, prev in expected]
    h.close()


def test_multiple_delayed_outputs():
    """TEST_F(PreviousLoopbackCalculatorDelayBehaviorTest, MultipleDelayedOutputs): while LOOP is dropped without a
    bound, PREV_LOOP (and the pair) wait; they catch up once a loop packet arrives."""
    caught_up = [(1, EMPTY), (2, EMPTY), (3, EMPTY), (5, EMPTY)]
    _delayed([(1, True, [(1, EMPTY)]), (2, True, [(1, EMPTY)]), (3, True, [(1, EMPTY)]), (5, False, caught_up),
              (15, False, caught_up + [(15, 5)])])


def test_non_delayed_output_followed_by_multiple_delayed_outputs():
    """TEST_F(PreviousLoopbackCalculatorDelayBehaviorTest, NonDelayedOutputFollowedByMultipleDelayedOutputs)."""
    first = [(1, EMPTY), (2, 1)]
    caught_up = first + [(3, EMPTY), (5, EMPTY)]
    _delayed([(1, False, [(1, EMPTY)]), (2, True, first), (3, True, first), (5, False, caught_up),
              (15, False, caught_up + [(15, 5)])])
