"""PreviousLoopback: for each MAIN timestamp, the LOOP value of the previous MAIN timestamp (a back edge).

This is how a graph carries state from one frame to the next (e.g. the ROI tracked from the previous landmarks).
MediaPipe's PreviousLoopbackCalculator: bound-only updates of MAIN count as timestamps without a packet (PREV_LOOP
advances its bound there), so the output is never later than it must be.
"""

from collections import deque

from posegraph import Calculator, Input, Output, Timestamp, calculator


@calculator("PreviousLoopbackCalculator")
class PreviousLoopbackCalculator(Calculator):
    """PREV_LOOP at MAIN's timestamp t_i carries LOOP's packet from the previous MAIN *packet* timestamp, or nothing
    (a bound) when LOOP had none there. The first MAIN timestamp has no previous value.

    LOOP must be declared a back edge (``input_stream_info { tag_index: "LOOP" back_edge: true }``).
    """

    MAIN = Input("MAIN")
    LOOP = Input("LOOP")
    PREV_LOOP = Output("PREV_LOOP")
    INPUT_STREAM_HANDLER = "immediate"
    PROCESS_TIMESTAMP_BOUNDS = True
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        self._main_specs: deque[tuple[int, int]] = deque()  # (main timestamp, loop timestamp it takes)
        self._prev_main_ts = Timestamp.UNSTARTED
        self._prev_non_empty_main_ts = Timestamp.UNSTARTED
        self._loop_packets: deque[tuple[int, object, bool]] = deque()  # (timestamp, value, empty)
        self._prev_loop_ts = Timestamp.UNSET
        self._closed = False

    def process(self, ctx):
        main_ts = ctx.packet_timestamp(self.MAIN)
        if self._prev_main_ts < main_ts:
            if ctx.has(self.MAIN):
                loop_ts = self._prev_non_empty_main_ts
                self._prev_non_empty_main_ts = main_ts
            else:
                loop_ts = Timestamp.UNSET
            self._main_specs.append((main_ts, loop_ts))
            self._prev_main_ts = main_ts

        loop_ts = ctx.packet_timestamp(self.LOOP)
        if self._prev_loop_ts < loop_ts:
            loop = ctx.packet(self.LOOP)
            self._loop_packets.append((loop_ts, None if loop is None else loop.value, loop is None))
            self._prev_loop_ts = loop_ts

        while self._main_specs and self._loop_packets:
            spec_ts, spec_loop_ts = self._main_specs[0]
            cand_ts, cand_value, cand_empty = self._loop_packets[0]
            if spec_loop_ts < cand_ts:
                self._bound(ctx, spec_ts + 1)
                self._main_specs.popleft()
            elif spec_loop_ts > cand_ts:
                self._loop_packets.popleft()
            else:
                if cand_empty:
                    self._bound(ctx, spec_ts + 1)
                elif not self._closed:
                    ctx.send(self.PREV_LOOP, cand_value, timestamp=spec_ts)
                self._loop_packets.popleft()
                self._main_specs.popleft()
            if spec_ts == Timestamp.MAX:  # MAIN is done
                self._closed = True
                ctx.set_next_bound(self.PREV_LOOP, Timestamp.DONE)

    def _bound(self, ctx, bound: int) -> None:
        if not self._closed:
            ctx.set_next_bound(self.PREV_LOOP, bound)
