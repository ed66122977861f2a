"""Ports of mediapipe/calculators/core/flow_limiter_calculator_test.cc. The MediaPipe tests drive a simulation clock
and sleeping calculators; here FINISHED is a graph input fed by the test, which makes the same decisions
deterministic. Packets, timestamps and ALLOW values are MediaPipe's for the same sequence of events."""

from __future__ import annotations

import pytest

from .mp import Harness as _Harness

pytestmark = pytest.mark.timeout(60)

LIMITER = """
input_stream: 'in_1'  input_stream: 'in_2'  input_stream: 'finished'
output_stream: 'in_1_sampled'  output_stream: 'in_2_sampled'  output_stream: 'allow'
node {{ calculator: 'FlowLimiterCalculator' input_stream: 'in_1' input_stream: 'in_2' input_stream: 'FINISHED:finished'
        output_stream: 'in_1_sampled' output_stream: 'in_2_sampled' output_stream: 'ALLOW:allow'
        options {{ [posegraph.FlowLimiterOptions.ext] {{ max_in_flight: 1 max_in_queue: {queue} }} }} }}
"""
OUTS = ["in_1_sampled", "in_2_sampled", "allow"]


class Harness(_Harness):
    """Each packet is fully processed before the next is sent: the order of events is the test's, not the
    scheduler's (MediaPipe's tests get the same from their simulation clock)."""

    def send(self, stream, value, timestamp):
        super().send(stream, value, timestamp)
        self.idle()


def test_auxiliary_packet_before_main_at_the_same_timestamp():
    """The auxiliary packet at 10 is processed before the main packet at 10 (the bug: a StreamError and a stopped
    graph): it waits until the main stream settles past 10, then passes because frame 10 was allowed."""
    h = Harness(LIMITER.format(queue=0), OUTS)
    h.send("in_2", "aux10", 10)
    h.idle()
    assert h.got == {"in_1_sampled": [], "in_2_sampled": [], "allow": []}
    h.send("in_1", "main10", 10)
    h.idle()
    assert h.got == {"in_1_sampled": [(10, "main10")], "in_2_sampled": [(10, "aux10")], "allow": [(10, True)]}
    h.close()


def test_auxiliary_only_timestamp_is_not_a_frame():
    """An auxiliary-only timestamp is not counted as a frame: it follows the decision of the last main frame."""
    h = Harness(LIMITER.format(queue=0), OUTS)
    h.send("in_1", "m0", 0)
    h.send("in_2", "a5", 5)      # allowed: frame 0 was admitted
    h.send("in_1", "m10", 10)    # dropped: frame 0 still in flight
    h.send("in_2", "a15", 15)    # dropped with frame 10
    h.send("finished", True, 0)  # frame 0 done
    h.send("in_1", "m20", 20)    # admitted
    h.idle()
    h.close()
    assert h.got["in_1_sampled"] == [(0, "m0"), (20, "m20")]
    assert h.got["allow"] == [(0, True), (10, False), (20, True)]
    assert h.got["in_2_sampled"] == [(5, "a5")]


def test_frames_dropped_and_finished_timestamps():
    """FlowLimiterCalculatorTest FinishedTimestamps / ZeroQueue pattern: with max_in_queue 0, frames arriving
    while one is in flight are dropped (ALLOW false); a FINISHED packet releases the frames up to its timestamp."""
    h = Harness(LIMITER.format(queue=0), OUTS)
    for t in range(0, 50, 10):
        h.send("in_1", t, t)
    h.send("finished", True, 0)
    h.send("in_1", 50, 50)
    h.send("in_1", 60, 60)
    h.close()
    assert h.got["in_1_sampled"] == [(0, 0), (50, 50)]
    assert h.got["allow"] == [(0, True), (10, False), (20, False), (30, False), (40, False), (50, True),
                              (60, False)]


def test_queue_keeps_the_newest_waiting_frame():
    """FlowLimiterCalculatorTest TwoInputStreams pattern (max_in_queue 1): the newest waiting frame is kept and
    released by FINISHED; older waiting frames are dropped."""
    h = Harness(LIMITER.format(queue=1), OUTS)
    for t in (0, 10, 20, 30):
        h.send("in_1", t, t)
    h.send("finished", True, 0)
    h.idle()
    h.close()
    assert h.got["in_1_sampled"] == [(0, 0), (30, 30)]
    assert h.got["allow"] == [(0, True), (10, False), (20, False), (30, True)]


# Not ported as timing tests: FramesDropped, FinishedLost, FinishedDelayed, TwoInputStreams, ZeroQueue and
# AuxiliaryInputs depend on MediaPipe's SimulationClock and SleepCalculator timings; their decision rules are
# covered above with FINISHED fed explicitly.
