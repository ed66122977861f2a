"""Ports of mediapipe/framework/stream_handler/immediate_input_stream_handler_test.cc, driven through a graph: each
step feeds packets or bounds and the recorded process() calls must be MediaPipe's (input timestamp, packets, and the
timestamp each input reports)."""

from __future__ import annotations

import pytest

from posegraph import Timestamp

from .mp import RECORDS, Harness

pytestmark = pytest.mark.timeout(60)

MAX, UNSTARTED = Timestamp.MAX, Timestamp.UNSTARTED


def harness(calculator: str) -> Harness:
    RECORDS.clear()
    return Harness(f"""
input_stream: 'input_a'  input_stream: 'input_b'  input_stream: 'input_c'
node {{ name: 'rec' calculator: '{calculator}' input_stream: 'input_a' input_stream: 'input_b'
        input_stream: 'input_c' }}
""", [])


def calls() -> list:
    return RECORDS.get("rec", [])


def test_any_packets_ready():
    """TEST_F(ImmediateInputStreamHandlerTest, AnyPacketsReady): one packet on one input is enough."""
    h = harness("MpRecordImmediateNoBoundsCalculator")
    h.send("input_a", "packet 1", 10)
    h.idle()
    assert [(t, v) for t, v, _ in calls()] == [(10, ("packet 1", None, None))]
    h.close()


def test_stream_done_ready():
    """TEST_F(ImmediateInputStreamHandlerTest, StreamDoneReady): a stream becoming done runs the node once, with
    no packets; a bound alone does not."""
    h = harness("MpRecordImmediateNoBoundsCalculator")
    h.send("input_a", "packet 1", 10)
    h.idle()
    h.graph.close_input("input_b")
    h.idle()
    assert len(calls()) == 2 and calls()[1][1] == (None, None, None)
    h.graph.set_input_bound("input_a", 200)
    h.idle()
    assert len(calls()) == 2
    h.graph.close_input("input_a")
    h.idle()
    assert len(calls()) == 3 and calls()[2][1] == (None, None, None)
    h.close()


def test_ready_for_close():
    """TEST_F(ImmediateInputStreamHandlerTest, ReadyForClose): a packet then Done on one stream: the packet is
    processed; when all are done the node closes without another call."""
    h = harness("MpRecordImmediateNoBoundsCalculator")
    h.send("input_b", "packet 1", 1)
    h.graph.close_input("input_b")
    h.idle()
    assert calls()[0][:2] == (1, (None, "packet 1", None))
    count = len(calls())
    h.graph.close_input("input_a")
    h.graph.close_input("input_c")
    h.close()
    assert h.graph.done
    assert len(calls()) <= count + 1  # at most the stream-became-done call, never with packets
    assert all(v == (None, None, None) for _, v, _ in calls()[1:])


def test_process_timestamp_bounds():
    """TEST_F(ImmediateInputStreamHandlerTest, ProcessTimestampBounds): a closing stream is processed once at Max;
    other inputs report Unstarted until they have a bound."""
    h = harness("MpRecordImmediateCalculator")
    h.send("input_b", "packet 1", 1)
    h.graph.close_input("input_b")
    h.idle()
    assert calls() == [(1, (None, "packet 1", None), (UNSTARTED, 1, UNSTARTED)),
                       (MAX, (None, None, None), (UNSTARTED, MAX, UNSTARTED))]
    h.graph.close_input("input_a")
    h.graph.close_input("input_c")
    h.close()
    assert calls()[2:] == [(MAX, (None, None, None), (MAX, MAX, MAX))]


def test_bound_only_run_is_at_the_settled_timestamp():
    """With process-timestamp-bounds, a bound-only update runs the node at bound - 1 (MediaPipe's SyncSet
    settled timestamp), never at Unset."""
    h = harness("MpRecordImmediateCalculator")
    h.graph.set_input_bound("input_a", 5)
    h.idle()
    assert calls() == [(4, (None, None, None), (4, UNSTARTED, UNSTARTED))]
    h.send("input_a", "x", 7)
    h.idle()
    assert calls()[1] == (7, ("x", None, None), (7, UNSTARTED, UNSTARTED))
    h.close()
