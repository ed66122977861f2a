"""Ports of mediapipe/calculators/core/mux_calculator_test.cc: all 7 TESTs (exact packets and order)."""

from __future__ import annotations

import gc
import weakref

import pytest

from posegraph import Calculator, Graph, Input, Output, Timestamp, calculator

from .mp import Harness

pytestmark = pytest.mark.timeout(60)

SPLIT = """
node {{ calculator: "SplitVectorCalculator" input_stream: "input" output_stream: "stream0" output_stream: "stream1"
        output_stream: "stream2" {select_out}
        options {{ [posegraph.SplitVectorOptions.ext] {{ ranges {{ begin: 0 end: 1 }} ranges {{ begin: 1 end: 2 }}
                   ranges {{ begin: 2 end: 3 }} {select_range} element_only: true }} }} }}
"""
MUX = """
node {{ calculator: "MuxCalculator" input_stream: "INPUT:0:stream0" input_stream: "INPUT:1:stream1"
        input_stream: "INPUT:2:stream2" {select} output_stream: "OUTPUT:test_output"
        {handler} }}
"""
DEFAULT_HANDLER = 'input_stream_handler { input_stream_handler: "DefaultInputStreamHandler" }'

CONFIG1 = ('input_stream: "input"\noutput_stream: "test_output"\n'
           + SPLIT.format(select_out='output_stream: "input_select"', select_range="ranges { begin: 3 end: 4 }")
           + MUX.format(select='input_stream: "SELECT:input_select"', handler=DEFAULT_HANDLER))
CONFIG2 = ('input_side_packet: "input_selector"\ninput_stream: "input"\noutput_stream: "test_output"\n'
           + SPLIT.format(select_out="", select_range="")
           + MUX.format(select='input_side_packet: "SELECT:input_selector"', handler=DEFAULT_HANDLER))
CONFIG3 = """
input_stream: "input"
output_stream: "test_output"
node { calculator: "MpRoundRobinDemuxCalculator" input_stream: "input" output_stream: "OUTPUT:0:stream0"
       output_stream: "OUTPUT:1:stream1" output_stream: "OUTPUT:2:stream2" output_stream: "SELECT:input_select" }
""" + MUX.format(select='input_stream: "SELECT:input_select"', handler="")


def run(config: str, inputs: list, side: dict | None = None) -> list:
    h = Harness(config, ["test_output"], side=side)
    for i, value in enumerate(inputs):
        h.send("input", value, 22 + i)
    h.close()
    return [v for _, v in h.got["test_output"]]


def test_input_stream_selector_default_input_stream_handler():
    """TEST(MuxCalculatorTest, InputStreamSelector_DefaultInputStreamHandler)."""
    inputs = [[1, 1, 2, 1], [3, 5, 8, 2], [13, 21, 34, 0], [55, 89, 144, 2], [233, 377, 610, 0],
              [987, 1597, 2584, 1], [4181, 6765, 10946, 2]]
    assert run(CONFIG1, inputs) == [1, 8, 13, 144, 233, 1597, 10946]


@pytest.mark.parametrize("select, expected", [
    (0, [1, 3, 13, 55, 233, 987, 4181]), (1, [1, 5, 21, 89, 377, 1597, 6765]),
    (2, [2, 8, 34, 144, 610, 2584, 10946])])
def test_input_side_packet_selector_default_input_stream_handler(select, expected):
    """TEST(MuxCalculatorTest, InputSidePacketSelector_DefaultInputStreamHandler)."""
    inputs = [[1, 1, 2], [3, 5, 8], [13, 21, 34], [55, 89, 144], [233, 377, 610], [987, 1597, 2584],
              [4181, 6765, 10946]]
    assert run(CONFIG2, inputs, {"input_selector": select}) == expected


def test_input_stream_selector_mux_input_stream_handler():
    """TEST(MuxCalculatorTest, InputStreamSelector_MuxInputStreamHandler): only the selected input has a packet at
    each timestamp; the Mux handler does not wait for the others."""
    inputs = [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181, 6765, 10946]
    assert run(CONFIG3, inputs) == inputs


class _Boxed:
    """A value the test can watch being released (MediaPipe's shared_ptr/weak_ptr pair)."""

    def __init__(self, n: int):
        self.n = n


def test_discard_skipped_inputs_mux_input_stream_handler():
    """TEST(MuxCalculatorTest, DiscardSkippedInputs_MuxInputStreamHandler): the deselected input's packet at a
    settled timestamp is released, not kept."""
    h = Harness("""
input_stream: "input_0"  input_stream: "input_1"  input_stream: "input_select"  output_stream: "test_output"
node { calculator: "MuxCalculator" input_stream: "INPUT:0:input_0" input_stream: "INPUT:1:input_1"
       input_stream: "SELECT:input_select" output_stream: "OUTPUT:test_output" }
""", ["test_output"])
    one, two = _Boxed(1), _Boxed(2)
    one_weak, two_weak = weakref.ref(one), weakref.ref(two)
    h.send("input_0", one, 0)
    h.send("input_1", two, 0)
    h.send("input_1", _Boxed(3), 1)
    del one, two
    h.send("input_select", 0, 0)
    h.idle()
    gc.collect()
    assert h.got["test_output"][-1][1].n == 1
    assert one_weak() is not None and two_weak() is None
    h.send("input_select", 1, 1)
    h.idle()
    assert h.got["test_output"][-1][1].n == 3
    h.close()


@calculator("MpPassThroughAndTsBoundUpdateCalculator")
class PassThroughAndTsBoundUpdate(Calculator):
    """PassThroughAndTsBoundUpdateNode: VALUE passes; TS_BOUND_UPDATE only moves past the input timestamp."""

    VALUE = Input("VALUE")
    OUT_VALUE = Output("VALUE")
    TS_BOUND_UPDATE = Output("TS_BOUND_UPDATE")
    TIMESTAMP_OFFSET = None

    def process(self, ctx):
        ctx.send(self.OUT_VALUE, ctx[self.VALUE])
        ctx.set_next_bound(self.TS_BOUND_UPDATE, Timestamp.next_allowed_mp(ctx.timestamp))


@calculator("MpToOptionalCalculator")
class ToOptional(Calculator):
    """ToOptionalNode: at each TICK, VALUE or None."""

    TICK = Input("TICK")
    VALUE = Input("VALUE")
    OUTPUT = Output("OUTPUT")

    def process(self, ctx):
        ctx.send(self.OUTPUT, ctx.get(self.VALUE))


def test_handle_timestamp_bound_updates():
    """TEST(MuxCalculatorTest, HandleTimestampBoundUpdates): selecting an input that only moved its bound settles
    the mux at that timestamp without a packet."""
    h = Harness("""
input_stream: "select"
node { calculator: "MpPassThroughAndTsBoundUpdateCalculator" input_stream: "VALUE:select"
       output_stream: "VALUE:select_ps" output_stream: "TS_BOUND_UPDATE:ts_bound_update" }
node { calculator: "MuxCalculator" input_stream: "INPUT:0:select_ps" input_stream: "INPUT:1:ts_bound_update"
       input_stream: "SELECT:select" output_stream: "OUTPUT:select_or_ts_bound_update" }
node { calculator: "MpToOptionalCalculator" input_stream: "TICK:select"
       input_stream: "VALUE:select_or_ts_bound_update" output_stream: "OUTPUT:output" }
""", ["output"])
    for k, (value, ts) in enumerate(((0, 1), (1, 2), (0, 3))):
        h.send("select", value, ts)
        h.idle()
        assert len(h.got["output"]) == k + 1
    assert [v for _, v in h.got["output"]] == [0, None, 0]
    h.close()


CLOSE_GRACEFULLY = """
input_stream: "select"  input_stream: "value_0"  input_stream: "value_1"
node { calculator: "MuxCalculator" input_stream: "SELECT:select" input_stream: "INPUT:0:value_0"
       input_stream: "INPUT:1:value_1" output_stream: "OUTPUT:output" %s }
"""


@pytest.mark.parametrize("handler, expected", [
    ("", []),  # HandlesCloseGracefully
    ('input_stream_handler { input_stream_handler: "DefaultInputStreamHandler" }', [(1000, None)]),
], ids=["HandlesCloseGracefully", "HandlesCloseGracefullyWithDeafultInputStreamHandler"])
def test_handles_close_gracefully(handler, expected):
    """TEST(MuxCalculatorTest, HandlesCloseGracefully[WithDeafultInputStreamHandler]): a data packet and no
    selector, then close: nothing (Mux handler), or one bound update (default handler)."""
    graph = Graph(CLOSE_GRACEFULLY % handler)
    seen = []
    graph.observe_output("output", lambda p: seen.append((p.timestamp, None if p.is_empty else p.value)),
                         observe_timestamp_bounds=True)
    graph.start()
    graph.add_packet("value_0", 0, 1000)
    graph.wait_until_idle(timeout=10)
    graph.close(timeout=10)
    assert seen == expected
