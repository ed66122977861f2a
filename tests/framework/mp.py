"""Helpers for the ports of MediaPipe's framework tests: the small test calculators those tests use, and a harness
that feeds a graph step by step and records every observed stream as (timestamp, value) pairs."""

from __future__ import annotations

from typing import Any

from posegraph import (STOP, Calculator, Graph, Input, InputSidePacket, Output, OutputSidePacket, Timestamp,
                       calculator)

EMPTY = None  # MediaPipe's empty packet inside a pair


@calculator("MpMakePairCalculator")
class MakePair(Calculator):
    """MediaPipe's MakePairCalculator: (input 0, input 1) at every timestamp where either has a packet; an empty
    input is None in the pair."""

    IN = Input("", multiple=True)
    OUT = Output("")

    def process(self, ctx):
        a, b = ctx.values(self.IN)
        ctx.send(self.OUT, (a, b))


@calculator("MpPacketOnCloseCalculator")
class PacketOnClose(Calculator):
    """MediaPipe's PacketOnCloseCalculator (previous_loopback_calculator_test.cc): forwards its input and sends
    the sum at Max from close()."""

    IN = Input("")
    OUT = Output("")

    def open(self, ctx):
        self.sum = 0

    def process(self, ctx):
        self.sum += ctx[self.IN]
        ctx.send(self.OUT, ctx[self.IN])

    def close(self, ctx):
        ctx.send(self.OUT, self.sum, timestamp=Timestamp.MAX)


class Harness:
    """A started graph whose `observe` streams are recorded in `got[name]` as (timestamp, value)."""

    def __init__(self, text: str, observe: list[str], side: dict | None = None, **kwargs: Any):
        self.graph = Graph(text, **kwargs)
        self.got: dict[str, list[tuple[int, Any]]] = {name: [] for name in observe}
        for name in observe:
            self.graph.observe_output(name, lambda p, name=name: self.got[name].append((p.timestamp, p.value)))
        self.graph.start(side or {})

    def send(self, stream: str, value: Any, timestamp: int) -> None:
        self.graph.add_packet(stream, value, timestamp)

    def idle(self) -> None:
        self.graph.wait_until_idle(timeout=10)

    def close(self) -> None:
        self.graph.close(timeout=10)


@calculator("MpIncrementCalculator")
class Increment(Calculator):
    """IncrementCalculator (begin_end_loop_calculator_graph_test.cc): input + 1."""

    IN = Input("")
    OUT = Output("")

    def process(self, ctx):
        ctx.send(self.OUT, ctx[self.IN] + 1)


@calculator("MpPassThroughOrEmptyVectorCalculator")
class PassThroughOrEmptyVector(Calculator):
    """PassThroughOrEmptyVectorCalculator: the input, or [] where only its bound moved (process bounds)."""

    IN = Input("")
    OUT = Output("")
    PROCESS_TIMESTAMP_BOUNDS = True

    def process(self, ctx):
        ctx.send(self.OUT, ctx[self.IN] if ctx.has(self.IN) else [])


@calculator("MpMultiplierCalculator")
class Multiplier(Calculator):
    """MultiplierCalculator: input 0 times input 1."""

    IN = Input("", multiple=True)
    OUT = Output("")

    def process(self, ctx):
        a, b = ctx.values(self.IN)
        ctx.send(self.OUT, a * b)


def run_node(node: str, inputs: dict[str, list[tuple[int, Any]]], outputs: list[str],
             side: dict | None = None, graph_inputs: list[str] | None = None) -> dict[str, list[tuple[int, Any]]]:
    """MediaPipe's CalculatorRunner: one node wired to graph inputs (`graph_inputs`, default: the keys of
    `inputs`) and observed outputs; every input packet is sent in timestamp order, then the graph is closed."""
    names = graph_inputs if graph_inputs is not None else list(inputs)
    text = "".join(f"input_stream: '{n}'\n" for n in names)
    text += "".join(f"output_stream: '{n}'\n" for n in outputs)
    text += "".join(f"input_side_packet: '{n}'\n" for n in (side or {}))
    text += f"node {{ {node} }}\n"
    h = Harness(text, outputs, side)
    for ts, name, value in sorted((ts, n, v) for n, items in inputs.items() for ts, v in items):
        h.send(name, value, ts)
    h.close()
    return h.got


RECORDS: dict[str, list] = {}


@calculator("MpRecordImmediateCalculator")
class RecordImmediate(Calculator):
    """Records every process() call: (input timestamp, packet values by input index or None, each input's
    Value().Timestamp() as MediaPipe reports it). Immediate handler, process-timestamp-bounds on."""

    IN = Input("", multiple=True)
    INPUT_STREAM_HANDLER = "immediate"
    PROCESS_TIMESTAMP_BOUNDS = True
    TIMESTAMP_OFFSET = None

    def process(self, ctx):
        n = ctx.count(self.IN)
        RECORDS.setdefault(self.name, []).append(
            (ctx.timestamp, tuple(ctx.values(self.IN)), tuple(ctx.packet_timestamp(self.IN, i) for i in range(n))))


@calculator("MpRecordImmediateNoBoundsCalculator")
class RecordImmediateNoBounds(RecordImmediate):
    """RecordImmediate without process-timestamp-bounds."""

    PROCESS_TIMESTAMP_BOUNDS = False


@calculator("MpCheckInputTimestampSourceCalculator")
class CheckInputTimestampSource(Calculator):
    """CheckInputTimestamp{,2}SourceCalculator: asserts MediaPipe's InputTimestamp() in open/process/close and
    outputs count at timestamp count; stops after 5 unless `forever` (the ...2 variant, stopped by its sink)."""

    OUT = Output("")
    forever = False

    def open(self, ctx):
        assert ctx.timestamp == Timestamp.UNSTARTED
        self.count = 0

    def process(self, ctx):
        assert ctx.timestamp == 0, ctx.timestamp
        ctx.send(self.OUT, self.count, timestamp=self.count)
        self.count += 1
        if not self.forever and self.count >= 5:
            return STOP

    def close(self, ctx):
        assert ctx.timestamp == Timestamp.DONE


@calculator("MpCheckInputTimestamp2SourceCalculator")
class CheckInputTimestamp2Source(CheckInputTimestampSource):
    forever = True


@calculator("MpCheckInputTimestampSinkCalculator")
class CheckInputTimestampSink(Calculator):
    """CheckInputTimestamp{,2}SinkCalculator: process() at 0, 1, 2...; the ...2 variant returns STOP after 5."""

    IN = Input("")
    stop_after = 0

    def open(self, ctx):
        assert ctx.timestamp == Timestamp.UNSTARTED
        self.count = 0

    def process(self, ctx):
        assert ctx.timestamp == ctx.packet(self.IN).timestamp == self.count
        self.count += 1
        RECORDS.setdefault(self.name, []).append(ctx.timestamp)
        if self.stop_after and self.count >= self.stop_after:
            return STOP

    def close(self, ctx):
        assert ctx.timestamp == Timestamp.DONE


@calculator("MpCheckInputTimestamp2SinkCalculator")
class CheckInputTimestamp2Sink(CheckInputTimestampSink):
    stop_after = 5


@calculator("MpGlobalCountSourceCalculator")
class GlobalCountSource(Calculator):
    """GlobalCountSourceCalculator: 5 packets from a shared counter (side packet 0: a list used as a counter)."""

    COUNTER = InputSidePacket("")
    OUT = Output("")

    def open(self, ctx):
        self.local = 0

    def process(self, ctx):
        counter = ctx.side(self.COUNTER)
        ctx.send(self.OUT, counter[0], timestamp=self.local)
        counter[0] += 1
        self.local += 1
        if self.local >= 5:
            return STOP


@calculator("MpUnitDelayCalculator")
class UnitDelay(Calculator):
    """UnitDelayCalculator: 0 at timestamp 0 from open(), then each input at its timestamp + 1."""

    IN = Input("")
    OUT = Output("")
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        ctx.send(self.OUT, 0, timestamp=0)

    def process(self, ctx):
        packet = ctx.packet(self.IN)
        ctx.send(self.OUT, packet.value, timestamp=Timestamp.next_allowed_mp(packet.timestamp))


@calculator("MpSideOnlyCalculator")
class SideOnly(Calculator):
    """No input or output streams, only a side packet: MediaPipe opens and closes it and never calls Process."""

    SIDE = InputSidePacket("", optional=True)

    def open(self, ctx):
        RECORDS.setdefault(self.name, []).append("open")

    def process(self, ctx):
        RECORDS.setdefault(self.name, []).append("process")
        return STOP

    def close(self, ctx):
        RECORDS.setdefault(self.name, []).append("close")


@calculator("MpOffsetBoundCalculator")
class OffsetBound(Calculator):
    """OffsetBoundCalculator: sends nothing; its offset 0 propagates bounds."""

    IN = Input("")
    OUT = Output("")

    def process(self, ctx):
        pass


@calculator("MpFuturePacketCalculator")
class FuturePacket(Calculator):
    """FuturePacketCalculator: each input 3 us later (no offset)."""

    IN = Input("")
    OUT = Output("")
    TIMESTAMP_OFFSET = None

    def process(self, ctx):
        packet = ctx.packet(self.IN)
        ctx.send(self.OUT, packet.value, timestamp=packet.timestamp + 3)


@calculator("MpBoundToPacketCalculator")
class BoundToPacket(Calculator):
    """BoundToPacketCalculator: at each input timestamp, the input's Value().Timestamp()."""

    IN = Input("", multiple=True)
    OUT = Output("", multiple=True)

    def process(self, ctx):
        for i in range(ctx.count(self.IN)):
            ctx.send(self.OUT, ctx.packet_timestamp(self.IN, i), index=i)


@calculator("MpProcessBoundToPacketCalculator")
class ProcessBoundToPacket(Calculator):
    """ProcessBoundToPacketCalculator: immediate handler with process-timestamp-bounds; a packet at every settled
    input timestamp not yet covered."""

    IN = Input("", multiple=True)
    OUT = Output("", multiple=True)
    INPUT_STREAM_HANDLER = "immediate"
    PROCESS_TIMESTAMP_BOUNDS = True
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        self.next_bound: dict[int, int] = {}

    def process(self, ctx):
        for i in range(ctx.count(self.IN)):
            t = ctx.packet_timestamp(self.IN, i)
            if t == ctx.timestamp and t >= self.next_bound.get(i, Timestamp.MIN):
                ctx.send(self.OUT, t, index=i, timestamp=t)
                self.next_bound[i] = t + 1


@calculator("MpRecordCallsCalculator")
class RecordCalls(Calculator):
    """Records every process() call: (input timestamp, packet values by input index), and close()."""

    IN = Input("", multiple=True)

    def process(self, ctx):
        RECORDS.setdefault(self.name, []).append((ctx.timestamp, tuple(ctx.values(self.IN))))

    def close(self, ctx):
        RECORDS.setdefault(self.name, []).append("close")


@calculator("MpInputsToDebugStringCalculator")
class InputsToDebugString(Calculator):
    """InputsToDebugString (sync_set_input_stream_handler_test.cc): records "Timestamp(t),i,j..." with the
    indices of the inputs that carry a packet."""

    IN = Input("", multiple=True)

    def process(self, ctx):
        text = ""
        for i in range(ctx.count(self.IN)):
            packet = ctx.packet(self.IN, i)
            if packet is not None:
                if not text:
                    ts = packet.timestamp
                    text = (f"Timestamp::{Timestamp.describe(ts)}()" if Timestamp.describe(ts) != str(ts)
                            else f"Timestamp({ts})")
                text += f",{i}"
        RECORDS.setdefault(self.name, []).append(text)


@calculator("MpRoundRobinDemuxCalculator")
class RoundRobinDemux(Calculator):
    """RoundRobinDemuxCalculator: input i goes to OUTPUT:(i mod n), SELECT says which."""

    IN = Input("")
    OUT = Output("OUTPUT", multiple=True)
    SELECT = Output[int]("SELECT", optional=True)

    def open(self, ctx):
        self.index = 0

    def process(self, ctx):
        ctx.send(self.OUT, ctx[self.IN], index=self.index)
        ctx.send(self.SELECT, self.index)
        self.index = (self.index + 1) % self.outputs

    outputs = 3  # the test graph's OUTPUT count


@calculator("MpSideFromProcess")
class SideFromProcess(Calculator):
    IN = Input("")
    SIDE = OutputSidePacket("SIDE")

    def process(self, ctx):
        if ctx.timestamp == 2:
            ctx.set_side(self.SIDE, ctx[self.IN] * 100)

@calculator("MpAddSide")
class AddSide(Calculator):
    IN = Input("")
    OFFSET = InputSidePacket("OFFSET")
    OUT = Output("")

    def open(self, ctx):
        RECORDS.setdefault("opened_with", []).append(ctx.side(self.OFFSET))

    def process(self, ctx):
        ctx.send(self.OUT, ctx[self.IN] + ctx.side(self.OFFSET))


@calculator("MpCountingSourceCalculator")
class CountingSource(Calculator):
    """CountingSourceCalculator with MAX_COUNT and BATCH_SIZE (default 1): BATCH_SIZE packets per call, value =
    timestamp = count, STOP once MAX_COUNT were sent."""

    MAX_COUNT = InputSidePacket[int]("MAX_COUNT")
    BATCH_SIZE = InputSidePacket[int]("BATCH_SIZE", optional=True)
    OUT = Output("")

    def open(self, ctx):
        self.count = 0

    def process(self, ctx):
        for _ in range(ctx.side(self.BATCH_SIZE, default=1)):
            if self.count >= ctx.side(self.MAX_COUNT):
                return STOP
            ctx.send(self.OUT, self.count, timestamp=self.count)
            self.count += 1
