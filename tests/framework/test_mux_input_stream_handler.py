"""Port of mediapipe/framework/stream_handler/mux_input_stream_handler_test.cc: all 10 TESTs, same packets,
timestamps and order (an empty packet in a MakePair pair is None)."""

from __future__ import annotations

import pytest

from posegraph import calculator

from .mp import Harness, RoundRobinDemux

pytestmark = pytest.mark.timeout(60)


@calculator("MpRoundRobinDemux5Calculator")
class RoundRobinDemux5(RoundRobinDemux):
    outputs = 5


def test_atomic_access_to_control_and_data_streams():
    """TEST(MuxInputStreamHandlerTest, AtomicAccessToControlAndDataStreams): 2000 packets demuxed round robin over
    five pass-through branches and muxed back, each once, in order."""
    text = ("input_stream: 'input'\n"
            "node { calculator: 'MpRoundRobinDemux5Calculator' input_stream: 'input' "
            + " ".join(f"output_stream: 'OUTPUT:{i}:input{i}'" for i in range(5))
            + " output_stream: 'SELECT:select' }\n"
            + "".join(f"node {{ calculator: 'PassThroughCalculator' input_stream: 'input{i}' "
                      f"output_stream: 'output{i}' }}\n" for i in range(5))
            + "node { calculator: 'MuxCalculator' "
            + " ".join(f"input_stream: 'INPUT:{i}:output{i}'" for i in range(5))
            + " input_stream: 'SELECT:select' output_stream: 'OUTPUT:output' "
            "input_stream_handler { input_stream_handler: 'MuxInputStreamHandler' } }\n")
    h = Harness(text, ["output"])
    for i in range(2000):
        h.send("input", i, i)
    h.close()
    assert h.got["output"] == [(i, i) for i in range(2000)]


GATE_AND_MUX = """
input_stream: 'input0'  input_stream: 'input1'  input_stream: 'input2'  input_stream: 'select'
input_stream: 'allow0'  input_stream: 'allow1'  input_stream: 'allow2'
node { calculator: 'GateCalculator' input_stream: 'ALLOW:allow0' input_stream: 'input0' output_stream: 'output0' }
node { calculator: 'GateCalculator' input_stream: 'ALLOW:allow1' input_stream: 'input1' output_stream: 'output1' }
node { calculator: 'GateCalculator' input_stream: 'ALLOW:allow2' input_stream: 'input2' output_stream: 'output2' }
node { calculator: 'MuxCalculator' input_stream: 'INPUT:0:output0' input_stream: 'INPUT:1:output1'
       input_stream: 'INPUT:2:output2' input_stream: 'SELECT:select' output_stream: 'OUTPUT:output'
       input_stream_handler { input_stream_handler: 'MuxInputStreamHandler' } }
"""


def gate_and_mux(steps: list[tuple]) -> list[list]:
    """SendInput for each (input0, input1, input2, select, allow0, allow1, allow2, at): the outputs after each."""
    h = Harness(GATE_AND_MUX, ["output"])
    seen = []
    for *values, at in steps:
        for name, value in zip(("input0", "input1", "input2", "select", "allow0", "allow1", "allow2"), values):
            h.send(name, value, at)
        h.idle()
        seen.append(list(h.got["output"]))
    h.close()
    return seen


def test_basic_muxing():
    """TEST(MuxInputStreamHandlerTest, BasicMuxing): only the selected gate is open."""
    assert gate_and_mux([(1000, 900, 800, 0, True, False, False, 1), (1000, 900, 800, 1, False, True, False, 2),
                         (1000, 900, 800, 2, False, False, True, 3)]) == [
        [(1, 1000)], [(1, 1000), (2, 900)], [(1, 1000), (2, 900), (3, 800)]]


def test_muxing_non_empty_inputs():
    """TEST(MuxInputStreamHandlerTest, MuxingNonEmptyInputs): every gate open."""
    assert gate_and_mux([(1000, 900, 800, 0, True, True, True, 1), (1000, 900, 800, 1, True, True, True, 2),
                         (1000, 900, 800, 2, True, True, True, 3)]) == [
        [(1, 1000)], [(1, 1000), (2, 900)], [(1, 1000), (2, 900), (3, 800)]]


def test_muxing_all_timestamp_bound_updates():
    """TEST(MuxInputStreamHandlerTest, MuxingAllTimestampBoundUpdates): every gate closed: nothing, no stall."""
    assert gate_and_mux([(1000, 900, 800, 0, False, False, False, 1), (1000, 900, 800, 1, False, False, False, 2),
                         (1000, 900, 800, 2, False, False, False, 3)]) == [[], [], []]


def test_muxing_selected_timestamp_bound_updates():
    """TEST(MuxInputStreamHandlerTest, MuxingSlectedTimestampBoundUpdates): only the selected gate closed."""
    assert gate_and_mux([(1000, 900, 800, 0, False, True, True, 1), (1000, 900, 800, 1, True, False, True, 2),
                         (1000, 900, 800, 2, True, True, False, 3)]) == [[], [], []]


def test_muxing_sometimes_timestamp_bound_updates():
    """TEST(MuxInputStreamHandlerTest, MuxingSometimesTimestampBoundUpdates)."""
    seen = gate_and_mux([(1000, 900, 800, 0, False, False, False, 1), (1000, 900, 800, 1, False, True, False, 2),
                         (1000, 900, 800, 2, True, True, False, 3), (1000, 900, 800, 2, True, True, True, 4),
                         (700, 600, 500, 0, True, False, False, 5)])
    assert seen == [[], [(2, 900)], [(2, 900)], [(2, 900), (4, 800)], [(2, 900), (4, 800), (5, 700)]]


MUX_AND_PAIR = """
input_stream: 'input0'  input_stream: 'input1'  input_stream: 'select'  %s
%s
node { calculator: 'MuxCalculator' input_stream: 'INPUT:0:%s' input_stream: 'INPUT:1:%s' input_stream: 'SELECT:select'
       output_stream: 'OUTPUT:output' input_stream_handler { input_stream_handler: 'MuxInputStreamHandler' } }
node { calculator: 'MpMakePairCalculator' input_stream: 'select' input_stream: 'output' output_stream: 'pair' }
"""
PAIRS = [(1, (0, None)), (2, (0, 1000)), (3, (1, None)), (4, (1, 800))]


def test_timestamp_bound_update_when_control_packet_earlier_than_data_packet():
    """TEST(MuxInputStreamHandlerTest, TimestampBoundUpdateWhenControlPacketEarlierThanDataPacket): a data packet
    later than the selector settles the selector's timestamp (no data there); data below the selector's bound is
    discarded."""
    h = Harness(MUX_AND_PAIR % ("", "", "input0", "input1"), ["pair"])
    h.send("select", 0, 1)
    h.idle()
    assert h.got["pair"] == []
    h.send("input0", 1000, 2)
    h.idle()
    assert h.got["pair"] == PAIRS[:1]
    h.send("input1", 900, 1)
    h.send("input1", 800, 4)
    h.idle()
    assert h.got["pair"] == PAIRS[:1]
    for k, (select, ts) in enumerate(((0, 2), (1, 3), (1, 4))):
        h.send("select", select, ts)
        h.idle()
        assert h.got["pair"] == PAIRS[:k + 2]
    h.close()


def test_timestamp_bound_update_when_control_packet_earlier_than_data_packet_packets_at_once():
    """TEST(MuxInputStreamHandlerTest,
    TimestampBoundUpdateWhenControlPacketEarlierThanDataPacketPacketsAtOnce)."""
    h = Harness(MUX_AND_PAIR % ("", "", "input0", "input1"), ["pair"])
    for name, value, ts in (("select", 0, 1), ("input0", 1000, 2), ("input1", 900, 1), ("input1", 800, 4),
                            ("select", 0, 2), ("select", 1, 3), ("select", 1, 4)):
        h.send(name, value, ts)
    h.idle()
    assert h.got["pair"] == PAIRS
    h.close()


def test_timestamp_bound_update_triggers_timestamp_bound_update():
    """TEST(MuxInputStreamHandlerTest, TimestampBoundUpdateTriggersTimestampBoundUpdate): a closed gate's bound
    settles the mux at that timestamp."""
    gates = ("input_stream: 'allow0'  input_stream: 'allow1'",
             "node { calculator: 'GateCalculator' input_stream: 'ALLOW:allow0' input_stream: 'input0' "
             "output_stream: 'output0' }\n"
             "node { calculator: 'GateCalculator' input_stream: 'ALLOW:allow1' input_stream: 'input1' "
             "output_stream: 'output1' }")
    h = Harness(MUX_AND_PAIR % (*gates, "output0", "output1"), ["pair"])
    h.send("select", 0, 1)
    h.send("input0", 1000, 1)
    h.send("allow0", False, 1)
    h.idle()
    assert h.got["pair"] == [(1, (0, None))]
    h.send("select", 0, 2)
    h.send("input0", 900, 2)
    h.send("allow0", True, 2)
    h.idle()
    assert h.got["pair"] == [(1, (0, None)), (2, (0, 900))]
    h.close()


def test_removes_unused_data_stream_packets():
    """TEST(MuxInputStreamHandlerTest, RemovesUnusedDataStreamPackets): late packets on the deselected input are
    discarded instead of filling its queue (max_queue_size 1, report_deadlock)."""
    h = Harness("max_queue_size: 1\nreport_deadlock: true\n" + MUX_AND_PAIR % ("", "", "input0", "input1"),
                ["output"])
    h.send("select", 0, 2)
    h.send("input0", 1000, 2)
    h.idle()
    h.send("input1", 900, 1)
    h.send("input1", 900, 2)
    h.idle()
    assert h.got["output"] == [(2, 1000)]
    h.close()
