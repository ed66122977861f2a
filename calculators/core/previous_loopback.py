"""PreviousLoopback: for each MAIN timestamp, the LOOP value of the previous MAIN timestamp (a back edge).

This is how a graph carries state from one frame to the next (e.g. the ROI tracked from the previous landmarks).
"""

from collections import deque

from posegraph import Calculator, Input, Output, Timestamp, calculator


@calculator("PreviousLoopbackCalculator")
class PreviousLoopback(Calculator):
    """PREV_LOOP at MAIN's timestamp t_i carries LOOP's packet from t_(i-1), or nothing (a bound) when LOOP had
    none there. The first MAIN timestamp has no previous value.

    LOOP must be declared a back edge (``input_stream_info { tag_index: "LOOP" back_edge: true }``).
    """

    MAIN = Input("MAIN")
    LOOP = Input("LOOP")
    PREV_LOOP = Output("PREV_LOOP")
    INPUT_STREAM_HANDLER = "immediate"
    PROCESS_TIMESTAMP_BOUNDS = True
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        self._main_timestamps: deque[int] = deque()
        self._loop_packets: deque = deque()
        self._prev_main_ts: int | None = None

    def process(self, ctx):
        main = ctx.packet(self.MAIN)
        if main is not None:
            self._main_timestamps.append(main.timestamp)
        loop = ctx.packet(self.LOOP)
        if loop is not None:
            self._loop_packets.append(loop)
        loop_bound = ctx.input_bound(self.LOOP)
        advanced = False
        while self._main_timestamps:
            main_ts = self._main_timestamps[0]
            prev = self._prev_main_ts
            if prev is not None:
                if loop_bound <= prev:
                    break  # the loop value at the previous frame is not settled yet
                while self._loop_packets and self._loop_packets[0].timestamp < prev:
                    self._loop_packets.popleft()
                if self._loop_packets and self._loop_packets[0].timestamp == prev:
                    ctx.send(self.PREV_LOOP, self._loop_packets.popleft().value, timestamp=main_ts)
            ctx.set_next_bound(self.PREV_LOOP, Timestamp.next_allowed(main_ts))
            self._prev_main_ts = main_ts
            self._main_timestamps.popleft()
            advanced = True
        main_bound = ctx.input_bound(self.MAIN)
        if not self._main_timestamps and main_bound < Timestamp.DONE:
            # MAIN moved on without a packet (a stream that is not at every frame, e.g. a mask): so does PREV_LOOP.
            ctx.set_next_bound(self.PREV_LOOP, main_bound)
        if not self._main_timestamps and main_bound >= Timestamp.DONE:
            # MAIN is over: close PREV_LOOP so the loop body, and through it LOOP, can finish. Not in the call that
            # settled the last frame, though (unless LOOP is over too): downstream must see that frame's bound
            # before Done, or nodes that report absence (PacketPresence) would never see the last frame.
            if not advanced or loop_bound >= Timestamp.DONE:
                ctx.set_next_bound(self.PREV_LOOP, Timestamp.DONE)
