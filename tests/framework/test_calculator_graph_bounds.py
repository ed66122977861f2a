"""Ports of mediapipe/framework/calculator_graph_bounds_test.cc (exact packets, timestamps, order): 23 of its 24
TESTs. Streams are observed by name without a graph-level declaration, as MediaPipe's ObserveOutputStream allows.
MediaPipe's counters are call records here, an offset MediaPipe sets in Open from a side packet is a class per
value, and an empty output packet (which only moves MediaPipe's bound) is set_next_bound.

Not expressible:
- CheckBatchProcessingBoundPropagation: DefaultInputStreamHandlerOptions.batch_size (batched process() calls) does
  not exist in posegraph.
"""

from __future__ import annotations

import threading
import time

import pytest

from posegraph import STOP, Calculator, Graph, Input, Output, Timestamp, calculator

from .mp import RECORDS, Harness

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


# -- the test calculators of calculator_graph_bounds_test.cc (MediaPipe sets no offset unless it says so) ---------

@calculator("MpIntAdderCalculator")
class IntAdder(Calculator):
    """IntAdderCalculator: the sum of the inputs at the input timestamp; offset 0."""

    IN = Input("", multiple=True)
    OUT = Output("")

    def process(self, ctx):
        ctx.send(self.OUT, sum(ctx.values(self.IN)))


@calculator("MpEvenIntFilterCalculator")
class EvenIntFilter(Calculator):
    """EvenIntFilterCalculator: even values pass; an odd one only moves the bound past its timestamp."""

    IN = Input("")
    OUT = Output("")
    TIMESTAMP_OFFSET = None

    def process(self, ctx):
        if ctx[self.IN] % 2 == 0:
            ctx.send(self.OUT, ctx[self.IN])
        else:
            ctx.set_next_bound(self.OUT, Timestamp.next_allowed_mp(ctx.timestamp))


@calculator("MpValveCalculator")
class Valve(Calculator):
    """ValveCalculator: input 0 passes where input 1 is true, else only its bound moves; counts both."""

    IN = Input("", multiple=True)
    OUT = Output("")
    TIMESTAMP_OFFSET = None

    def process(self, ctx):
        value, open_ = ctx.values(self.IN)
        RECORDS.setdefault("valve", []).append("pass" if open_ else "block")
        if open_:
            ctx.send(self.OUT, value)
        else:
            ctx.set_next_bound(self.OUT, Timestamp.next_allowed_mp(ctx.timestamp))


@calculator("MpTimeShiftCalculator")
class TimeShift(Calculator):
    """TimeShiftCalculator with shift 0: each input at input timestamp + shift, offset = shift (MediaPipe reads
    the shift from a side packet in Open; here each shift is its own class)."""

    IN = Input("")
    OUT = Output("")
    TIMESTAMP_OFFSET = 0

    def process(self, ctx):
        ctx.send(self.OUT, ctx[self.IN])


@calculator("MpTimeShiftMinusOneCalculator")
class TimeShiftMinusOne(TimeShift):
    """TimeShiftCalculator with shift -1."""

    TIMESTAMP_OFFSET = -1


@calculator("MpOutputAndBoundSourceCalculator")
class OutputAndBoundSource(Calculator):
    """OutputAndBoundSourceCalculator: every 10 us up to 2000, a packet (count / 20) every 20 us, else a bound."""

    OUT = Output("")

    def open(self, ctx):
        self.counter = 0

    def process(self, ctx):
        if self.counter % 20 == 0:
            ctx.send(self.OUT, self.counter // 20, timestamp=self.counter)
        else:
            ctx.set_next_bound(self.OUT, self.counter)
        if self.counter == 2000:
            return STOP
        self.counter += 10


@calculator("MpDelay20Calculator")
class Delay20(Calculator):
    """Delay20Calculator: 0 at 0 from open(), then each input 20 us later; offset 20."""

    IN = Input("")
    OUT = Output("")
    TIMESTAMP_OFFSET = 20

    def open(self, ctx):
        ctx.send(self.OUT, 0, timestamp=0)

    def process(self, ctx):
        ctx.send(self.OUT, ctx[self.IN])


@calculator("MpCustomBoundCalculator")
class CustomBound(Calculator):
    """CustomBoundCalculator: only a bound, at input timestamp + 1."""

    IN = Input("")
    OUT = Output("")
    TIMESTAMP_OFFSET = None

    def process(self, ctx):
        ctx.set_next_bound(self.OUT, ctx.timestamp + 1)


@calculator("MpLastPacketCalculator")
class LastPacket(Calculator):
    """LastPacketCalculator: bound = input timestamp at each call; the last input packet from close()."""

    IN = Input("")
    OUT = Output("")
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        self.last = None

    def process(self, ctx):
        ctx.set_next_bound(self.OUT, ctx.timestamp)
        self.last = ctx.packet(self.IN)

    def close(self, ctx):
        ctx.send(self.OUT, self.last.value, timestamp=self.last.timestamp)


@calculator("MpImmediatePassthroughCalculator")
class ImmediatePassthrough(Calculator):
    """ImmediatePassthroughCalculator: immediate handler, process-timestamp-bounds; each packet passes, an empty
    input moves its output's bound to the input's settled timestamp + 1."""

    IN = Input("", multiple=True)
    OUT = Output("", multiple=True)
    INPUT_STREAM_HANDLER = "immediate"
    PROCESS_TIMESTAMP_BOUNDS = True
    TIMESTAMP_OFFSET = None

    def process(self, ctx):
        for i in range(ctx.count(self.IN)):
            packet = ctx.packet(self.IN, i)
            if packet is not None:
                ctx.send(self.OUT, packet.value, index=i, timestamp=packet.timestamp)
            else:
                ctx.set_next_bound(self.OUT, Timestamp.next_allowed_mp(ctx.packet_timestamp(self.IN, i)), index=i)


@calculator("MpOccasionalBoundCalculator")
class OccasionalBound(Calculator):
    """OccasionalBoundCalculator: sleeps 1 ms; at multiples of 20 only moves the bound past the input."""

    IN = Input("")
    OUT = Output("")
    TIMESTAMP_OFFSET = None
    CONCURRENT_PROCESS = True

    def process(self, ctx):
        time.sleep(0.001)
        if ctx.timestamp % 20 == 0:
            ctx.set_next_bound(self.OUT, Timestamp.next_allowed_mp(ctx.timestamp))


@calculator("MpOffsetAndBoundCalculator")
class OffsetAndBound(Calculator):
    """OffsetAndBoundCalculator: offset 0, and at multiples of 20 a bound of 10000."""

    IN = Input("")
    OUT = Output("")

    def process(self, ctx):
        if ctx.timestamp % 20 == 0:
            ctx.set_next_bound(self.OUT, 10000)


@calculator("MpEmptyPacketCalculator")
class EmptyPacket(Calculator):
    """EmptyPacketCalculator: an empty packet at even input timestamps (MediaPipe: only the bound moves)."""

    IN = Input("")
    OUT = Output("")
    TIMESTAMP_OFFSET = None

    def process(self, ctx):
        if ctx.timestamp % 2 == 0:
            ctx.set_next_bound(self.OUT, Timestamp.next_allowed_mp(ctx.timestamp))


def test_set_next_timestamp_bound_propagation():
    """TEST(CalculatorGraph, SetNextTimestampBoundPropagation): the merger runs at every timestamp though the
    valve blocks some (its bound moves); with shift -1 the offset holds the merger back at the newest timestamp.
    MediaPipe's second StartRun is a second graph here (its counters continue; these start again)."""
    def graph_text(shift: str) -> str:
        return f"""
input_stream: 'in'  input_stream: 'gate'
node {{ calculator: 'MpValveCalculator' input_stream: 'in' input_stream: 'gate' output_stream: 'gated' }}
node {{ calculator: 'PassThroughCalculator' input_stream: 'gated' output_stream: 'passed' }}
node {{ calculator: '{shift}' input_stream: 'passed' output_stream: 'shifted' }}
node {{ calculator: 'MergeCalculator' input_stream: 'in' input_stream: 'shifted' output_stream: 'merged' }}
node {{ name: 'merged_output' calculator: 'PassThroughCalculator' input_stream: 'merged' output_stream: 'out' }}
"""
    RECORDS.clear()
    h = Harness(graph_text("MpTimeShiftCalculator"), ["out"])
    ts = 0

    def send_inputs(value: int, open_: bool) -> None:
        nonlocal ts
        ts += 1
        h.send("in", value, ts)
        h.send("gate", open_, ts)

    def counts():
        valve = RECORDS.get("valve", [])
        return valve.count("pass"), valve.count("block"), len(h.got["out"])

    for value, open_ in ((1, True), (2, True), (3, False), (4, False)):
        send_inputs(value, open_)
    h.idle()
    assert counts() == (2, 2, 4)
    send_inputs(5, True)
    send_inputs(6, False)
    h.idle()
    assert counts() == (3, 3, 6)
    h.close()
    assert h.got["out"] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6)]

    RECORDS.clear()
    h = Harness(graph_text("MpTimeShiftMinusOneCalculator"), ["out"])
    send_inputs(7, True)
    h.idle()
    assert counts() == (1, 0, 1)  # only at 6, with <None, 7>: the offset keeps 7 unsettled on 'shifted'
    h.close()
    assert counts() == (1, 0, 2)
    assert h.got["out"] == [(6, 7), (7, 7)]


def test_not_all_input_packets_at_next_timestamp_bound_available():
    """TEST(CalculatorGraph, NotAllInputPacketsAtNextTimestampBoundAvailable): a bound without a packet on one
    input only moves the adder's bound; it runs when both have packets."""
    h = Harness("""
input_stream: 'in0_unfiltered'  input_stream: 'in1_to_be_filtered'
node { calculator: 'MpEvenIntFilterCalculator' input_stream: 'in1_to_be_filtered' output_stream: 'in1_filtered' }
node { calculator: 'MpIntAdderCalculator' input_stream: 'in0_unfiltered' input_stream: 'in1_filtered'
       output_stream: 'out' }
""", ["out"])
    h.send("in0_unfiltered", 1, 1)
    h.send("in1_to_be_filtered", 2, 1)
    h.idle()
    assert h.got["out"] == [(1, 3)]
    h.send("in1_to_be_filtered", 3, 2)
    h.send("in0_unfiltered", 3, 3)
    h.idle()
    assert h.got["out"] == [(1, 3)]
    h.send("in1_to_be_filtered", 4, 3)
    h.idle()
    assert h.got["out"] == [(1, 3), (3, 7)]
    h.close()
    assert h.got["out"] == [(1, 3), (3, 7)]


def test_propagate_bound_loop():
    """TEST(CalculatorGraph, PropagateBoundLoop): a loop through a back edge with offset 20 runs on bounds alone
    between the source's packets: 101 running sums at 0, 20, ... 2000."""
    graph = Graph("""
node { calculator: 'MpOutputAndBoundSourceCalculator' output_stream: 'integers' }
node { calculator: 'MpIntAdderCalculator' input_stream: 'integers' input_stream: 'old_sum'
       input_stream_info { tag_index: ':1' back_edge: true } output_stream: 'sum'
       input_stream_handler { input_stream_handler: 'EarlyCloseInputStreamHandler' } }
node { calculator: 'MpDelay20Calculator' input_stream: 'sum' output_stream: 'old_sum' }
""")
    got = []
    graph.observe_output("sum", lambda p: got.append((p.timestamp, p.value)))
    graph.start()
    graph.wait_until_done(timeout=20)
    assert got == [(i * 20, i * (i + 1) // 2) for i in range(101)]


def test_immediate_handler_bounds():
    """TEST(CalculatorGraphBoundsTest, ImmediateHandlerBounds): an immediate-handler pass-through with offset 0
    forwards bound-only input, so the node joining it with the input runs at every timestamp."""
    h = Harness("""
input_stream: 'input'
node { calculator: 'MpCustomBoundCalculator' input_stream: 'input' output_stream: 'bounds' }
node { calculator: 'PassThroughCalculator' input_stream: 'bounds' output_stream: 'bounds_2'
       input_stream_handler { input_stream_handler: 'ImmediateInputStreamHandler' } }
node { calculator: 'PassThroughCalculator' input_stream: 'bounds_2' input_stream: 'input'
       output_stream: 'bounds_output' output_stream: 'output' }
""", ["output"])
    h.idle()
    for i in range(4):
        h.send("input", 33, i)
    h.idle()
    assert h.got["output"] == [(i, 33) for i in range(4)]
    h.close()
    assert len(h.got["output"]) == 4


def test_last_packet_check():
    """TEST(CalculatorGraphBoundsTest, LastPacketCheck): a bound equal to the input timestamp holds the join back
    one step; the last packet comes from close()."""
    h = Harness("""
input_stream: 'input'  output_stream: 'output'  output_stream: 'last_output'
node { calculator: 'PassThroughCalculator' input_stream: 'input' output_stream: 'input_2' }
node { calculator: 'MpLastPacketCalculator' input_stream: 'input_2' output_stream: 'last_packet' }
node { calculator: 'PassThroughCalculator' input_stream: 'input' input_stream: 'last_packet'
       output_stream: 'output' output_stream: 'last_output' }
""", ["output", "last_output"])
    h.idle()
    for i in range(4):
        h.send("input", 33, i)
        h.idle()
        assert len(h.got["output"]) == i
        assert h.got["last_output"] == []
    h.graph.close_all_inputs()
    h.idle()
    assert h.got["output"] == [(i, 33) for i in range(4)]
    assert h.got["last_output"] == [(3, 33)]
    h.close()


@pytest.mark.parametrize("handler", [
    "input_stream_handler: 'ImmediateInputStreamHandler'",
    "input_stream_handler: 'DefaultInputStreamHandler'",
    "input_stream_handler: 'SyncSetInputStreamHandler'",
    "input_stream_handler: 'SyncSetInputStreamHandler' options { [mediapipe.SyncSetInputStreamHandlerOptions.ext] "
    "{ sync_set { tag_index: ':0' } } }"], ids=["Immediate", "Default", "SyncSet", "SyncSets"])
def test_bounds_for_empty_inputs(handler):
    """TEST(CalculatorGraphBoundsTest, BoundsForEmptyInputs_{Immediate,Default,SyncSet,SyncSets}): each call
    reports the bound of the packet-less input, between the previous and the current future timestamp."""
    h = Harness(f"""
input_stream: 'input'
node {{ calculator: 'MpFuturePacketCalculator' input_stream: 'input' output_stream: 'futures' }}
node {{ calculator: 'MpOffsetBoundCalculator' input_stream: 'futures' output_stream: 'bounds' }}
node {{ calculator: 'MpBoundToPacketCalculator' input_stream: 'input' input_stream: 'bounds'
       output_stream: 'input_ts' output_stream: 'bounds_ts' input_stream_handler {{ {handler} }} }}
""", ["input_ts", "bounds_ts"])
    h.idle()
    for i in range(4):
        h.send("input", 33, i * 10)
        h.idle()
    assert len(h.got["input_ts"]) == 4
    assert len(h.got["bounds_ts"]) == 4
    expected = [Timestamp.UNSTARTED, 3, 13, 23, 33]
    for i, (_, bound) in enumerate(h.got["bounds_ts"]):
        assert expected[i] <= bound <= expected[i + 1]
    h.close()


@pytest.mark.parametrize("handler", [
    "input_stream_handler: 'DefaultInputStreamHandler'",
    "input_stream_handler: 'ImmediateInputStreamHandler'",
    "input_stream_handler: 'SyncSetInputStreamHandler'",
    "input_stream_handler: 'SyncSetInputStreamHandler' options { [mediapipe.SyncSetInputStreamHandlerOptions.ext] "
    "{ sync_set { tag_index: ':0' } } }"], ids=["Default", "Immediate", "SyncSet", "SyncSets"])
def test_process_timestamp_bounds(handler):
    """TEST(CalculatorGraphBoundsTest, ProcessTimestampBounds_{Default,Immediate,SyncSet,SyncSets}): a
    process-timestamp-bounds node runs on bounds alone, once per input (at each future timestamp)."""
    h = Harness(f"""
input_stream: 'input'
node {{ calculator: 'MpFuturePacketCalculator' input_stream: 'input' output_stream: 'futures' }}
node {{ calculator: 'MpOffsetBoundCalculator' input_stream: 'futures' output_stream: 'bounds' }}
node {{ calculator: 'MpProcessBoundToPacketCalculator' input_stream: 'bounds' output_stream: 'bounds_ts'
       input_stream_handler {{ {handler} }} }}
""", ["bounds_ts"])
    h.idle()
    for i in range(4):
        h.send("input", 33, i * 10)
        h.idle()
    assert [ts for ts, _ in h.got["bounds_ts"]] == [i * 10 + 3 for i in range(4)]
    h.close()


def test_process_timestamp_bounds_passthrough():
    """TEST(CalculatorGraphBoundsTest, ProcessTimestampBounds_Passthrough): an immediate pass-through forwards
    packets on one input and bounds on the other, each reaching the last node separately."""
    h = Harness("""
input_stream: 'input_0'  input_stream: 'input_1'
node { calculator: 'MpOffsetBoundCalculator' input_stream: 'input_1' output_stream: 'bound_1' }
node { calculator: 'MpImmediatePassthroughCalculator' input_stream: 'input_0' input_stream: 'bound_1'
       output_stream: 'same_0' output_stream: 'same_1' }
node { calculator: 'MpProcessBoundToPacketCalculator' input_stream: 'same_0' input_stream: 'same_1'
       output_stream: 'output_0' output_stream: 'output_1' }
""", ["output_0", "output_1"])
    h.idle()
    for i in range(4):
        h.send("input_0", 33, i * 10)
        h.idle()
    assert h.got["output_0"] == [(i * 10, i * 10) for i in range(4)]
    assert h.got["output_1"] == []
    for i in range(2):
        h.send("input_1", 33, 10 + i * 10)
        h.idle()
    assert len(h.got["output_0"]) == 4
    assert h.got["output_1"] == [(10, 10), (20, 20)]
    h.close()


def test_post_stream_packet_to_set_process_timestamp_bound():
    """TEST(CalculatorGraphBoundsTest, PostStreamPacketToSetProcessTimestampBound)."""
    h = Harness("""
input_stream: 'input_0'
node { calculator: 'MpProcessBoundToPacketCalculator' input_stream: 'input_0' output_stream: 'output_0' }
""", ["output_0"])
    h.idle()
    h.send("input_0", 0, Timestamp.POST_STREAM)
    h.idle()
    assert [ts for ts, _ in h.got["output_0"]] == [Timestamp.POST_STREAM]
    h.close()


def test_max_in_flight_with_occasional_bound():
    """TEST(CalculatorGraphBoundsTest, MaxInFlightWithOccasionalBound): bounds set by concurrent calls, out of
    order, never make a packet and never fail."""
    h = Harness("""
input_stream: 'input_0'  num_threads: 4
node { calculator: 'MpOccasionalBoundCalculator' input_stream: 'input_0' output_stream: 'output_0'
       max_in_flight: 5 }
""", ["output_0"])
    h.idle()
    for i in range(9):
        h.send("input_0", i, 10 + i * 10)
    h.idle()
    assert h.got["output_0"] == []
    h.close()


def test_offset_and_bound():
    """TEST(CalculatorGraphBoundsTest, OffsetAndBound): an explicit bound past the offset's is kept (no packet,
    no failure)."""
    h = Harness("""
input_stream: 'input_0'
node { calculator: 'MpOffsetAndBoundCalculator' input_stream: 'input_0' output_stream: 'output_0' }
""", ["output_0"])
    h.idle()
    for i in range(9):
        h.send("input_0", i, 10 + i * 10)
    h.idle()
    assert h.got["output_0"] == []
    h.close()


def test_empty_packet_output():
    """TEST(CalculatorGraphBoundsTest, EmptyPacketOutput): an empty packet only moves the bound; the
    process-timestamp-bounds node below still runs at each timestamp."""
    h = Harness("""
input_stream: 'input_0'
node { calculator: 'MpEmptyPacketCalculator' input_stream: 'input_0' output_stream: 'empty_0' }
node { calculator: 'MpProcessBoundToPacketCalculator' input_stream: 'empty_0' output_stream: 'output_0' }
""", ["output_0"])
    h.idle()
    for i in range(9):
        h.send("input_0", i, 10 + i * 10)
        h.idle()
    assert [ts for ts, _ in h.got["output_0"]] == [10 + i * 10 for i in range(9)]
    h.close()


def test_timestamp_bounds_for_infrequent_input():
    """TEST(CalculatorGraphBoundsTest, TimestampBoundsForInfrequentInput): observers with bound updates see
    each pass-through output's packets and bounds (empty packets at the settled timestamp)."""
    graph = Graph("""
input_stream: 'INFREQUENT:config'  input_stream: 'FREQUENT:frame'
node { calculator: 'PassThroughCalculator' input_stream: 'CONFIG:config' input_stream: 'VIDEO:frame'
       output_stream: 'VIDEO:output_frame' output_stream: 'CONFIG:output_config' }
""")
    frames, configs = [], []
    for name, seen in (("output_frame", frames), ("output_config", configs)):
        graph.observe_output(name, lambda p, seen=seen: seen.append((p.timestamp, None if p.is_empty else p.value)),
                             observe_timestamp_bounds=True)
    graph.start()
    graph.wait_until_idle(timeout=10)

    def send(stream, value, ts):
        graph.add_packet(stream, value, ts)
        graph.wait_until_idle(timeout=10)

    def bound(stream, ts):
        graph.set_input_bound(stream, ts)
        graph.wait_until_idle(timeout=10)

    send("frame", "frame_0", 0)
    assert frames == []
    bound("config", 10000)
    assert frames == [(0, "frame_0")]
    send("frame", "frame_1", 20000)
    assert frames == [(0, "frame_0"), (9999, None)]
    bound("config", 30000)
    assert frames[2:] == [(20000, "frame_1")]
    send("frame", "frame_2", 40000)
    assert frames[3:] == [(29999, None)]
    send("config", "config_1", 50000)
    assert frames[4:] == [(40000, "frame_2")]
    send("frame", "frame_3", 60000)
    assert frames[5:] == [(50000, None)]
    bound("config", 70000)
    assert frames[6:] == [(60000, "frame_3")]
    assert configs == [(0, None), (9999, None), (20000, None), (29999, None), (40000, None), (50000, "config_1"),
                       (60000, None)]
    graph.close(timeout=10)


GATES: dict[str, threading.Semaphore] = {}


@calculator("MpBlockingPassCalculator")
class BlockingPass(Calculator):
    """FixedSizeHandlerBounds' LambdaCalculator: offset 0; process() signals `enter`, waits for `exit`, then
    passes its input."""

    IN = Input("")
    OUT = Output("")

    def process(self, ctx):
        GATES["enter"].release()
        assert GATES["exit"].acquire(timeout=10)
        ctx.send(self.OUT, ctx[self.IN])


def _wait_for(predicate) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_fixed_size_handler_bounds():
    """TEST(CalculatorGraphBoundsTest, FixedSizeHandlerBounds): the packets a FixedSize node is ready with when
    they arrive are its call's (the packets queued while it works are thinned to the newest), and its offset
    lets the join below run at every input timestamp. MediaPipe's counting executor only serves to wait until
    the other nodes are idle; here the outputs are polled."""
    GATES.update(enter=threading.Semaphore(0), exit=threading.Semaphore(0))
    h = Harness("""
input_stream: 'input'
node { calculator: 'MpBlockingPassCalculator' input_stream: 'input' output_stream: 'thinned'
       input_stream_handler { input_stream_handler: 'FixedSizeInputStreamHandler' } }
node { calculator: 'PassThroughCalculator' input_stream: 'thinned' input_stream: 'input'
       output_stream: 'thinned_output' output_stream: 'output' }
""", ["output", "thinned_output"], num_threads=4)
    h.idle()
    for i in range(4):
        h.send("input", 33, i)
    assert GATES["enter"].acquire(timeout=10)  # at 0
    time.sleep(0.01)
    assert h.got["output"] == [] and h.got["thinned_output"] == []
    GATES["exit"].release()
    assert GATES["enter"].acquire(timeout=10)  # at 3: 1 and 2 were dropped
    _wait_for(lambda: h.got["output"])
    time.sleep(0.01)
    assert h.got["output"] == [(0, 33)] and h.got["thinned_output"] == [(0, 33)]
    GATES["exit"].release()
    h.idle()
    assert h.got["thinned_output"] == [(0, 33), (3, 33)]
    assert h.got["output"] == [(i, 33) for i in range(4)]
    h.close()
