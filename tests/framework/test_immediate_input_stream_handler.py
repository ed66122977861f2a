"""Ports of mediapipe/framework/stream_handler/immediate_input_stream_handler_test.cc, driven through a graph: each
step feeds packets or bounds and the recorded process() calls must be MediaPipe's (input timestamp, packets, and the
timestamp each input reports). All 9 TEST_Fs are ported. Where MediaPipe adds packets to several streams before
scheduling the node, a feeder node sends them in one call, and the node's first call is held until the next batch
is queued."""

from __future__ import annotations

import threading
import time

import pytest

from posegraph import Calculator, Input, Output, Timestamp, calculator

from .mp import RECORDS, Harness, RecordImmediate, RecordImmediateNoBounds

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


# -- scenarios where MediaPipe adds packets to several streams before the node is scheduled ----------------------

HOLD: dict[str, threading.Event] = {}


@calculator("MpFeederCalculator")
class Feeder(Calculator):
    """Sends a whole list of (output index, value, timestamp) at once (value DONE: that output closes), so the
    node below sees them all before it is scheduled, as MediaPipe's handler tests add them."""

    IN = Input("")
    OUT = Output("", multiple=True)
    TIMESTAMP_OFFSET = None

    def process(self, ctx):
        for index, value, ts in ctx[self.IN]:
            if value is DONE:
                ctx.set_next_bound(self.OUT, Timestamp.DONE, index=index)
            else:
                ctx.send(self.OUT, value, index=index, timestamp=ts)


class _HeldFirstCall:
    """process() records like its base class, but the first call waits until the test lets it go (so that more
    packets arrive before the node is scheduled again)."""

    def process(self, ctx):
        super().process(ctx)
        if "entered" in HOLD and not HOLD["entered"].is_set():
            HOLD["entered"].set()
            assert HOLD["release"].wait(10)


@calculator("MpHeldRecordImmediateCalculator")
class HeldRecordImmediate(_HeldFirstCall, RecordImmediate):
    pass


@calculator("MpHeldRecordImmediateNoBoundsCalculator")
class HeldRecordImmediateNoBounds(_HeldFirstCall, RecordImmediateNoBounds):
    pass


DONE = object()


def fed_harness(calculator: str) -> Harness:
    RECORDS.clear()
    HOLD.update(entered=threading.Event(), release=threading.Event())
    return Harness(f"""
input_stream: 'feed'  num_threads: 2
node {{ calculator: 'MpFeederCalculator' input_stream: 'feed' output_stream: 'input_a' output_stream: 'input_b'
        output_stream: 'input_c' }}
node {{ name: 'rec' calculator: '{calculator}' input_stream: 'input_a' input_stream: 'input_b'
        input_stream: 'input_c' }}
""", [])


def feed_while_held(h: Harness, first: list, then: list, queued: int) -> None:
    """Feed `first`, and `then` while the node's first call is held, until `queued` packets wait for it."""
    h.send("feed", first, 0)
    assert HOLD["entered"].wait(10)
    h.send("feed", then, 1)
    deadline = time.monotonic() + 10
    while next(v.queued for v in h.graph.nodes if v.name == "rec") < queued:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    HOLD["release"].set()
    h.idle()


def test_empty_packets_not_ready():
    """TEST_F(ImmediateInputStreamHandlerTest, EmptyPacketsNotReady): no packets, no call."""
    h = harness("MpRecordImmediateNoBoundsCalculator")
    h.idle()
    assert calls() == []
    h.close()


def test_ready_for_close_after_timestamp_max():
    """TEST_F(ImmediateInputStreamHandlerTest, ReadyForCloseAfterTimestampMax): a packet runs the node; then
    nothing; then every bound past Max closes it without another call."""
    h = harness("MpRecordImmediateNoBoundsCalculator")
    h.send("input_a", "packet 1", 10)
    h.idle()
    assert [(t, v) for t, v, _ in calls()] == [(10, ("packet 1", None, None))]
    h.idle()
    assert len(calls()) == 1
    for stream in ("input_a", "input_b", "input_c"):
        h.graph.set_input_bound(stream, Timestamp.next_allowed_mp(MAX))
    h.idle()
    assert len(calls()) == 1
    assert next(v.state for v in h.graph.nodes if v.name == "rec") == "closed"
    h.close()


def test_process_timestamp_bounds_no_op_schedule_invocations():
    """TEST_F(ImmediateInputStreamHandlerTest, ProcessTimestampBoundsNoOpScheduleInvocations): two streams done
    run the node once at Max; nothing changes, no call; the last one done runs it once more at Max, then it
    closes."""
    h = harness("MpRecordImmediateCalculator")
    h.send("input_b", "packet 1", 1)
    h.idle()
    assert calls() == [(1, (None, "packet 1", None), (UNSTARTED, 1, UNSTARTED))]
    h.graph.close_input("input_a")
    h.graph.close_input("input_c")
    h.idle()
    assert calls()[1:] == [(MAX, (None, None, None), (MAX, 1, MAX))]
    h.idle()
    assert len(calls()) == 2
    h.graph.close_input("input_b")
    h.graph.wait_until_done(timeout=10)
    assert calls()[2:] == [(MAX, (None, None, None), (MAX, MAX, MAX))]


def test_verify_packets_release_order():
    """TEST_F(ImmediateInputStreamHandlerTest, VerifyPacketsReleaseOrder): packets on the three streams at
    different timestamps come out one timestamp at a time, in order, each input reporting its settled
    timestamp."""
    h = fed_harness("MpHeldRecordImmediateCalculator")
    feed_while_held(h, [(0, "packet a", 1), (1, "packet b", 2), (2, "packet c", 3)],
                    [(0, "packet a", 5), (1, "packet b", 5), (2, "packet c", 5)], queued=5)
    assert calls() == [
        (1, ("packet a", None, None), (1, 1, 2)),
        (2, (None, "packet b", None), (4, 2, 2)),
        (3, (None, None, "packet c"), (4, 4, 3)),
        (5, ("packet a", "packet b", "packet c"), (5, 5, 5))]
    h.send("feed", [(0, DONE, 0), (1, DONE, 0), (2, DONE, 0)], 2)
    h.graph.close_input("feed")
    h.graph.wait_until_done(timeout=10)
    assert calls()[4:] == [(MAX, (None, None, None), (MAX, MAX, MAX))]


def test_simulate_process_node():
    """TEST_F(ImmediateInputStreamHandlerTest, SimulateProcessNode)."""
    h = fed_harness("MpHeldRecordImmediateNoBoundsCalculator")
    feed_while_held(h, [(0, "packet 1", 10), (0, "packet 2", 30), (0, "packet 3", 40), (1, "packet 1", 10),
                        (2, "packet 1", 10), (2, "packet 2", 30)],
                    [(2, "packet 3", 40), (1, "packet 2", 30), (1, DONE, 0)], queued=5)
    assert [(t, v) for t, v, _ in calls()[:3]] == [
        (10, ("packet 1", "packet 1", "packet 1")),
        (30, ("packet 2", "packet 2", "packet 2")),
        (40, ("packet 3", None, "packet 3"))]
    h.close()
