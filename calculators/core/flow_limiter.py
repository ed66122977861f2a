"""FlowLimiter: admits at most `max_in_flight` frames into the graph until FINISHED reports them done.

A live source (camera) must never queue up latency: frames that arrive while the graph is busy are dropped here,
and counted, instead of waiting. The behaviour is MediaPipe's FlowLimiterCalculator, packet for packet: input 0 is
the frame stream; inputs 1.. are auxiliary streams whose packets pass (at their own timestamps) once the frame
stream has settled past them, if the frame admitted last at or before their timestamp was allowed.
"""

from collections import deque
from dataclasses import dataclass

from posegraph import Calculator, Input, InputSidePacket, Output, Timestamp, calculator


@dataclass
class FlowLimiterOptions:
    max_in_flight: int = 1
    # Frames that may wait for a free slot (the newest are kept; older waiting frames are dropped).
    max_in_queue: int = 0
    # A frame in flight for longer than this (in timestamp units, measured on input 0) is forgotten; 0: never.
    in_flight_timeout: int = 0

    def __post_init__(self):
        if self.max_in_flight < 1 or self.max_in_queue < 0 or self.in_flight_timeout < 0:
            raise ValueError("max_in_flight must be >= 1, max_in_queue and in_flight_timeout >= 0")


@calculator("FlowLimiterCalculator")
class FlowLimiterCalculator(Calculator):
    """Untagged input i passes to untagged output i while fewer than `max_in_flight` frames are in flight;
    a FINISHED packet (a back edge from the graph's end) releases the frames up to its timestamp. ALLOW tells,
    per frame of input 0, whether it was admitted."""

    IN = Input("", multiple=True)
    FINISHED = Input("FINISHED")
    MAX_IN_FLIGHT = InputSidePacket[int]("MAX_IN_FLIGHT", optional=True)
    OUT = Output("", multiple=True)
    ALLOW = Output[bool]("ALLOW", optional=True)
    Options = FlowLimiterOptions
    INPUT_STREAM_HANDLER = "immediate"
    PROCESS_TIMESTAMP_BOUNDS = True
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        self._max_in_flight = int(ctx.side(self.MAX_IN_FLIGHT, default=self.options.max_in_flight))
        self._queues: list[deque] | None = None
        self._in_flight: deque[int] = deque()
        self._allowed: deque[tuple[int, bool]] = deque([(Timestamp.UNSET, True)])  # (from timestamp, allowed)
        self._out0_bound = Timestamp.UNSTARTED

    def process(self, ctx):
        count = ctx.count(self.IN)
        if self._queues is None:
            self._queues = [deque() for _ in range(count)]
        finished = ctx.packet(self.FINISHED)
        if finished is not None and finished.timestamp == ctx.timestamp:
            while self._in_flight and self._in_flight[0] <= finished.timestamp:
                self._in_flight.popleft()
        for i in range(count):
            packet = ctx.packet(self.IN, i)
            if packet is not None:
                self._queues[i].append(packet)

        latest_ts = ctx.packet_timestamp(self.IN, 0)
        timeout = self.options.in_flight_timeout
        if timeout > 0 and latest_ts == ctx.timestamp and latest_ts < Timestamp.MAX:
            while self._in_flight and latest_ts - self._in_flight[0] > timeout:
                self._in_flight.popleft()

        queue = self._queues[0]
        while len(self._in_flight) < self._max_in_flight and queue:
            packet = queue.popleft()
            ctx.send(self.OUT, packet.value, index=0, timestamp=packet.timestamp)
            self._out0_bound = max(self._out0_bound, packet.timestamp + 1)
            self._send_allow(ctx, True, packet.timestamp)
            self._in_flight.append(packet.timestamp)
        while len(queue) > self.options.max_in_queue:
            packet = queue.popleft()
            ctx.count_dropped()
            self._send_allow(ctx, False, packet.timestamp)

        if queue:
            self._set_bound(ctx, self.OUT, queue[0].timestamp, 0)
        else:
            bound = Timestamp.next_allowed_mp(latest_ts)
            self._set_bound(ctx, self.OUT, bound, 0)
            self._set_bound(ctx, self.ALLOW, bound)

        self._auxiliary(ctx, count)

        input_bound = Timestamp.DONE
        for i in range(count):
            q = self._queues[i]
            bound = q[0].timestamp if q else Timestamp.next_allowed_mp(ctx.packet_timestamp(self.IN, i))
            input_bound = min(input_bound, bound)
        while len(self._allowed) > 1 and self._allowed[1][0] <= input_bound:
            self._allowed.popleft()

    def _auxiliary(self, ctx, count: int) -> None:
        settled = self._out0_bound
        for i in range(1, count):
            queue = self._queues[i]
            while queue and queue[0].timestamp < settled:
                packet = queue.popleft()
                if self._is_allowed(packet.timestamp):
                    ctx.send(self.OUT, packet.value, index=i, timestamp=packet.timestamp)
            bound = queue[0].timestamp if queue else Timestamp.next_allowed_mp(ctx.packet_timestamp(self.IN, i))
            self._set_bound(ctx, self.OUT, bound, i)

    def _send_allow(self, ctx, allow: bool, ts: int) -> None:
        ctx.send(self.ALLOW, allow, timestamp=ts)
        self._allowed.append((ts, allow))

    def _is_allowed(self, ts: int) -> bool:
        allowed = True
        for start, value in self._allowed:
            if start > ts:
                break
            allowed = value
        return allowed

    def _set_bound(self, ctx, port, bound: int, index: int = 0) -> None:
        if bound > Timestamp.MAX:
            bound = Timestamp.DONE  # MediaPipe closes the stream
        if port is self.OUT and index == 0:
            self._out0_bound = max(self._out0_bound, bound)
        ctx.set_next_bound(port, bound, index=index)
