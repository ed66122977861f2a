"""Port of mediapipe/framework/stream_handler/barrier_input_stream_handler_test.cc, driven through a graph. The
MediaPipe test adds packets out of timestamp order and two packets at one timestamp to one stream, which a graph
stream does not allow; the same sequence is kept with increasing timestamps on each stream."""

from __future__ import annotations

import pytest

from .mp import RECORDS, Harness

pytestmark = pytest.mark.timeout(60)


def test_simulate_process_node():
    """TEST_F(BarrierInputStreamHandlerTest, SimulateProcessNode)."""
    RECORDS.clear()
    h = Harness("""
input_stream: 'input_a'  input_stream: 'input_b'  input_stream: 'input_c'
node { name: 'rec' calculator: 'MpRecordCallsCalculator' input_stream: 'input_a' input_stream: 'input_b'
       input_stream: 'input_c' input_stream_handler { input_stream_handler: 'BarrierInputStreamHandler' } }
""", [])
    for ts, value in ((10, "a1"), (20, "a2"), (30, "a3")):
        h.send("input_a", value, ts)
    h.idle()
    h.send("input_b", "b1", 0)
    h.idle()
    assert "rec" not in RECORDS  # input_c has nothing yet
    h.send("input_c", "c1", 0)
    h.send("input_c", "c2", 1)
    h.idle()
    assert RECORDS["rec"] == [(0, ("a1", "b1", "c1"))]  # one head from each queue
    h.send("input_c", "c3", 2)
    h.idle()
    assert len(RECORDS["rec"]) == 1  # input_b is empty
    h.send("input_b", "b2", 1)
    h.graph.close_input("input_b")
    h.idle()
    assert RECORDS["rec"][1] == (1, ("a2", "b2", "c2"))
    assert RECORDS["rec"][2:] == ["close"]  # input_b is empty and done: the node closes, a3 and c3 dropped
    h.close()
