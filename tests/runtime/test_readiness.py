"""The default handler's readiness (`NodeRuntime.scan`, one pass over the inputs) against its definition, written
out the plain way: settled = the lowest head packet or bound of any input; ready there unless an empty input is
bounded at or below it (then, with PROCESS_TIMESTAMP_BOUNDS, at the settled timestamp before it)."""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from posegraph.node import NodeRuntime
from posegraph.packet import Packet, Timestamp

SPECIAL = [Timestamp.UNSTARTED, Timestamp.MIN, Timestamp.MAX, Timestamp.POST_STREAM, Timestamp.ONE_OVER_POST_STREAM,
           Timestamp.DONE]


def definition(inputs, process_bounds: bool, last_ts: int):
    settled = min((q.packets[0][0].timestamp if q.packets else q.bound for q in inputs), default=Timestamp.DONE)
    any_packets = any(q.packets for q in inputs)
    if settled >= Timestamp.DONE:
        return None, settled, any_packets
    if any(not q.packets and q.bound <= settled for q in inputs):
        if process_bounds and Timestamp.MIN <= settled - 1 and settled - 1 > last_ts:
            return settled - 1, settled, any_packets
        return None, settled, any_packets
    return settled, settled, any_packets


queue = st.one_of(
    st.builds(lambda b: SimpleNamespace(packets=deque(), bound=b),
              st.one_of(st.integers(-3, 12), st.sampled_from(SPECIAL))),
    st.builds(lambda head, extra: SimpleNamespace(packets=deque([(Packet(0, head), 0)]), bound=head + 1 + extra),
              st.integers(-3, 10), st.integers(0, 3)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(queue, max_size=4), st.booleans(), st.one_of(st.integers(-4, 12), st.just(Timestamp.UNSTARTED)))
def test_one_pass_readiness_matches_its_definition(inputs, process_bounds, last_ts):
    node = SimpleNamespace(inputs=inputs, process_bounds=process_bounds, last_ts=last_ts)
    assert NodeRuntime.scan(node) == definition(inputs, process_bounds, last_ts)
