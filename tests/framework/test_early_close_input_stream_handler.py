"""EarlyCloseInputStreamHandler (mediapipe/framework/stream_handler/early_close_input_stream_handler.cc; MediaPipe
has no test file for it): timestamps synchronised as the default handler, and the node closes as soon as one input
stream is done."""

from __future__ import annotations

import pytest

from .mp import RECORDS, Harness

pytestmark = pytest.mark.timeout(60)


def test_closes_when_any_input_is_done():
    RECORDS.clear()
    h = Harness("""
input_stream: 'a'  input_stream: 'b'
node { name: 'rec' calculator: 'MpRecordCallsCalculator' input_stream: 'a' input_stream: 'b'
       input_stream_handler { input_stream_handler: 'EarlyCloseInputStreamHandler' } }
""", [])
    h.send("a", "a0", 0)
    h.send("b", "b0", 0)
    h.send("a", "a1", 1)
    h.idle()
    assert RECORDS["rec"] == [(0, ("a0", "b0"))]  # 1 is not settled on b
    h.send("b", "b2", 2)
    h.idle()
    assert RECORDS["rec"][1:] == [(1, ("a1", None))]
    h.graph.close_input("b")
    h.idle()
    assert RECORDS["rec"][2:] == []  # b is closed but still holds b2: not done yet
    h.send("a", "a5", 5)  # settles 2; once b2 is taken, b is done: the node closes, a5 is never processed
    h.idle()
    assert RECORDS["rec"][2:] == [(2, (None, "b2")), "close"]
    h.send("a", "a6", 6)  # still accepted by the graph, never processed
    h.close()
    assert RECORDS["rec"][2:] == [(2, (None, "b2")), "close"]
