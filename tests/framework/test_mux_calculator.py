"""Ports of mediapipe/calculators/core/mux_calculator_test.cc (exact packets and order)."""

from __future__ import annotations

import pytest

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
