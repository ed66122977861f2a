"""FlowLimiter: admits at most `max_in_flight` frames into the graph until FINISHED reports them done.

A live source (camera) must never queue up latency: frames that arrive while the graph is busy are dropped here,
and counted, instead of waiting.
"""

from collections import deque
from dataclasses import dataclass

from posegraph import Calculator, Input, Output, Timestamp, calculator


@dataclass
class FlowLimiterOptions:
    max_in_flight: int = 1
    # Frames that may wait for a free slot (the newest are kept; older waiting frames are dropped).
    max_in_queue: int = 0

    def __post_init__(self):
        if self.max_in_flight < 1 or self.max_in_queue < 0:
            raise ValueError("max_in_flight must be >= 1 and max_in_queue >= 0")


@calculator("FlowLimiterCalculator")
class FlowLimiter(Calculator):
    """Untagged inputs (one frame = the packets at one timestamp) pass to the untagged outputs while fewer than
    `max_in_flight` frames are in flight; FINISHED (a back edge from the graph's end) releases them. ALLOW tells,
    at each input timestamp, whether that frame was admitted."""

    IN = Input("", multiple=True)
    FINISHED = Input("FINISHED")
    OUT = Output("", multiple=True)
    ALLOW = Output[bool]("ALLOW", optional=True)
    Options = FlowLimiterOptions
    INPUT_STREAM_HANDLER = "immediate"
    PROCESS_TIMESTAMP_BOUNDS = True
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        self._in_flight: deque[int] = deque()
        self._waiting: deque[tuple[int, list]] = deque()
        self._last_input_ts = Timestamp.UNSTARTED

    def process(self, ctx):
        finished_bound = ctx.input_bound(self.FINISHED)
        while self._in_flight and self._in_flight[0] < finished_bound:
            self._in_flight.popleft()
        if ctx.any_input and any(v is not None for v in ctx.values(self.IN)):
            ts = ctx.timestamp
            self._last_input_ts = ts
            self._waiting.append((ts, ctx.values(self.IN)))
            while len(self._waiting) > self.options.max_in_queue and \
                    len(self._in_flight) >= self.options.max_in_flight:
                dropped_ts, _ = self._waiting.popleft()
                ctx.count_dropped()
                ctx.send(self.ALLOW, False, timestamp=dropped_ts)
        while self._waiting and len(self._in_flight) < self.options.max_in_flight:
            ts, values = self._waiting.popleft()
            for i, value in enumerate(values):
                if value is not None:
                    ctx.send(self.OUT, value, index=i, timestamp=ts)
            ctx.send(self.ALLOW, True, timestamp=ts)
            self._in_flight.append(ts)
        # Downstream may move past everything except frames still waiting for a slot; once the inputs are over
        # and nothing waits, the outputs close so that the FINISHED back edge can close too.
        inputs_done = all(ctx.input_bound(self.IN, i) >= Timestamp.DONE for i in range(ctx.count(self.IN)))
        if self._waiting:
            next_bound = self._waiting[0][0]
        elif inputs_done:
            next_bound = Timestamp.DONE
        elif self._last_input_ts > Timestamp.UNSTARTED:
            next_bound = Timestamp.next_allowed(self._last_input_ts)
        else:
            next_bound = None
        if next_bound is not None:
            for i in range(ctx.count(self.IN)):
                ctx.set_next_bound(self.OUT, next_bound, index=i)
            ctx.set_next_bound(self.ALLOW, next_bound)
