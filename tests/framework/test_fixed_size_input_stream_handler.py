"""Port of mediapipe/framework/stream_handler/fixed_size_input_stream_handler_test.cc: all four TEST_Ps, each with
fixed_min_size false and true (MediaPipe's INSTANTIATE_TEST_SUITE_P), same packets, timestamps and expectations;
and set_input_stream_handler_test.cc's two TESTs: its ParallelWriteAndRead (here, with 4 streams) and its
AtomicAccessToControlAndDataStreams (the same scenario as mux_input_stream_handler_test's, ported there).
The source and slow calculators rate-limit each other on one condition variable, as MediaPipe's do on a mutex."""

from __future__ import annotations

import threading

import pytest

from posegraph import STOP, Calculator, Graph, Input, Output, calculator

from .mp import Harness

pytestmark = pytest.mark.timeout(60)

MAX_PACKET_ID = 100
SLOW_RATE = 10


class _RateLimit:
    """MediaPipe's g_source_mutex with its counters: the slow node consumes one packet per SLOW_RATE sent."""

    def __init__(self):
        self.cond = threading.Condition()
        self.source_counter = 0
        self.slow_counter = 0
        self.source_done = False

    def wait(self, predicate) -> None:
        assert self.cond.wait_for(predicate, timeout=20), "rate limiter stuck"
        self.cond.notify_all()


_LIMIT = _RateLimit()


@calculator("MpFixedSizeTestSourceCalculator")
class RateLimitedSource(Calculator):
    """TestSourceCalculator: packet i (value 0) at timestamp i, then waits until the slow node caught up."""

    OUT = Output("")

    def open(self, ctx):
        self.packet_id = 0
        with _LIMIT.cond:
            _LIMIT.source_counter = 0
            _LIMIT.source_done = False

    def process(self, ctx):
        if self.packet_id == MAX_PACKET_ID:
            with _LIMIT.cond:
                _LIMIT.source_done = True
                _LIMIT.cond.notify_all()
            return STOP
        ctx.send(self.OUT, 0, timestamp=self.packet_id)
        self.packet_id += 1
        with _LIMIT.cond:
            _LIMIT.source_counter += 1
            _LIMIT.wait(lambda: _LIMIT.source_counter <= SLOW_RATE * _LIMIT.slow_counter
                        or _LIMIT.source_counter <= 1)


@calculator("MpFixedSizeTestSlowCalculator")
class RateLimitedSlow(Calculator):
    """TestSlowCalculator: forwards its input's timestamp, then waits until SLOW_RATE more packets were sent."""

    IN = Input("")
    OUT = Output("")

    def open(self, ctx):
        with _LIMIT.cond:
            _LIMIT.slow_counter = 0

    def process(self, ctx):
        ctx.send(self.OUT, 0)
        with _LIMIT.cond:
            _LIMIT.slow_counter += 1
            _LIMIT.wait(lambda: _LIMIT.source_counter > SLOW_RATE * _LIMIT.slow_counter or _LIMIT.source_done)


def _handler(fixed_min_size: bool, trigger: int | None = None, target: int | None = None) -> str:
    fields = "".join(f"{name}: {value} " for name, value in (("trigger_queue_size", trigger),
                                                             ("target_queue_size", target)) if value is not None)
    fields += f"fixed_min_size: {str(fixed_min_size).lower()}"
    return ("input_stream_handler { input_stream_handler: 'FixedSizeInputStreamHandler' options { "
            f"[mediapipe.FixedSizeInputStreamHandlerOptions.ext] {{ {fields} }} }} }}")


THREE_STREAMS = """
input_stream: 'in_0'  input_stream: 'in_1'  input_stream: 'in_2'
output_stream: 'out_0'  output_stream: 'out_1'  output_stream: 'out_2'
node { calculator: 'PassThroughCalculator' input_stream: 'in_0' input_stream: 'in_1' input_stream: 'in_2'
       output_stream: 'out_0' output_stream: 'out_1' output_stream: 'out_2' %s }
"""


@pytest.mark.parametrize("fixed_min_size", [False, True])
def test_drops_packets(fixed_min_size):
    """TEST_P(FixedSizeInputStreamHandlerTest, DropsPackets): the slow node sees only every tenth packet."""
    graph = Graph(f"""
num_threads: 2
output_stream: 'output_packets'
node {{ calculator: 'MpFixedSizeTestSourceCalculator' output_stream: 'input_packets' }}
node {{ calculator: 'MpFixedSizeTestSlowCalculator' input_stream: 'input_packets' output_stream: 'output_packets'
       {_handler(fixed_min_size)} }}
""")
    got = []
    graph.observe_output("output_packets", lambda p: got.append(p.timestamp))
    graph.start()
    graph.wait_until_done(timeout=30)
    assert got == [0, 9, 19, 29, 39, 49, 59, 69, 79, 89, 99]


@pytest.mark.parametrize("fixed_min_size", [False, True])
def test_drops_packets_in_full_stream(fixed_min_size):
    """TEST_P(FixedSizeInputStreamHandlerTest, DropsPacketsInFullStream): dropping packets from a full queue
    releases the throttled source (with report_deadlock, a queue left full would fail the run instead of
    growing)."""
    graph = Graph(f"""
max_queue_size: 10
report_deadlock: true
output_stream: 'output_packets'
input_side_packet: 'max_count'  input_side_packet: 'batch_size'
node {{ calculator: 'MpCountingSourceCalculator' input_side_packet: 'MAX_COUNT:max_count'
       input_side_packet: 'BATCH_SIZE:batch_size' output_stream: 'input_packets' }}
node {{ calculator: 'PassThroughCalculator' input_stream: 'input_packets' output_stream: 'output_packets'
       {_handler(fixed_min_size)} }}
""")
    got = []
    graph.observe_output("output_packets", lambda p: got.append(p.timestamp))
    graph.start({"max_count": 10, "batch_size": 10})
    graph.wait_until_done(timeout=10)
    assert got == [9]  # the ten packets arrive together; the queue keeps the newest


def _parallel_write_and_read(streams: int, handler: str) -> None:
    text = ("".join(f"input_stream: 'in_{i}' output_stream: 'out_{i}'\n" for i in range(streams))
            + "node { calculator: 'PassThroughCalculator' "
            + " ".join(f"input_stream: 'in_{i}' output_stream: 'out_{i}'" for i in range(streams))
            + f" {handler} }}")
    h = Harness(text, [f"out_{i}" for i in range(streams)])

    def writer(w: int) -> None:
        for i in range(50):
            h.send(f"in_{w}", i, i)
            threading.Event().wait(0.0001)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    h.close()
    assert h.got["out_0"], "nothing came out"
    for i in range(1, streams):
        assert [v for _, v in h.got[f"out_{i}"]] == [v for _, v in h.got["out_0"]]


@pytest.mark.parametrize("fixed_min_size", [False, True])
def test_parallel_write_and_read(fixed_min_size):
    """TEST_P(FixedSizeInputStreamHandlerTest, ParallelWriteAndRead): three writers; the three outputs stay in
    step (same number of packets, same values)."""
    _parallel_write_and_read(3, _handler(fixed_min_size, 3, 1))


def test_parallel_write_and_read_four_streams():
    """set_input_stream_handler_test.cc's TEST(FixedSizeInputStreamHandlerTest, ParallelWriteAndRead): four
    writers, trigger 2, target 2, fixed_min_size. MediaPipe's calculator sets the handler and its options in
    GetContract; a posegraph contract names a handler but carries no handler options, so they are in the graph."""
    _parallel_write_and_read(4, _handler(True, 2, 2))


@pytest.mark.parametrize("fixed_min_size", [False, True])
def test_late_arrival_drop(fixed_min_size):
    """TEST_P(FixedSizeInputStreamHandlerTest, LateArrivalDrop): with queues cut at 5, a packet arriving later at
    4 is dropped as if it had come earlier; fixed_min_size waits for all queues and drops nothing here."""
    h = Harness(THREE_STREAMS % _handler(fixed_min_size, 4, 3), ["out_0", "out_1", "out_2"])
    for i in range(1, 7):
        h.send("in_0", i, i)
    for i in range(3, 8):
        h.send("in_1", i, i)
        h.idle()
    for i in range(4, 8):  # everything before 5 should be dropped by now
        h.send("in_2", i, i)
        h.idle()
    h.close()
    got = {name: [ts for ts, _ in packets] for name, packets in h.got.items()}
    if fixed_min_size:
        assert got == {"out_0": [1, 2, 3, 4, 5, 6], "out_1": [3, 4, 5, 6, 7], "out_2": [4, 5, 6, 7]}
    else:
        assert got == {"out_0": [5, 6], "out_1": [5, 6, 7], "out_2": [5, 6, 7]}
