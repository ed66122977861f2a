"""Ports of mediapipe/calculators/core/split_vector_calculator_test.cc: the 8 SplitTfLiteTensorVectorCalculatorTest
TESTs, on Python lists (the TfLiteTensor element type has no equivalent here).

Not expressible separately: MovableSplitUniqueIntPtrCalculatorTest (SmokeTest, SmokeTestElementOnly,
SmokeTestCombiningOutputs, InvalidOverlappingRangesTest) and MovableSplitImageFrameVectorCalculatorTest.SmokeTest
repeat those scenarios with move-only C++ elements; a Python list has no move-only elements, so they are the same
tests as the ones above."""

from __future__ import annotations

import pytest

from posegraph import GraphConfigError, load_graph

from .mp import run_node

pytestmark = pytest.mark.timeout(60)


def node(outputs: int, ranges: str, extra: str = "") -> str:
    outs = " ".join(f"output_stream: 'out{i}'" for i in range(outputs))
    return (f"calculator: 'SplitVectorCalculator' input_stream: 'input_vector' {outs} "
            f"options {{ [posegraph.SplitVectorOptions.ext] {{ {ranges} {extra} }} }}")


def test_smoke_test():
    """TEST_F(SplitTfLiteTensorVectorCalculatorTest, SmokeTest)."""
    got = run_node(node(3, "ranges { begin: 0 end: 1 } ranges { begin: 1 end: 4 } ranges { begin: 4 end: 5 }"),
                   {"input_vector": [(0, [0, 1, 2, 3, 4])]}, ["out0", "out1", "out2"])
    assert got == {"out0": [(0, [0])], "out1": [(0, [1, 2, 3])], "out2": [(0, [4])]}


@pytest.mark.parametrize("outputs, ranges, extra, match", [
    (3, "ranges { begin: 0 end: 1 } ranges { begin: 1 end: 4 } ranges { begin: 4 end: 3 }", "", "begin index"),
    # InvalidRangeTest
    (2, "ranges { begin: 0 end: 1 } ranges { begin: 1 end: 4 } ranges { begin: 4 end: 5 }", "", "should match"),
    # InvalidOutputStreamCountTest
    (2, "ranges { begin: 0 end: 1 } ranges { begin: 1 end: 4 }", "combine_outputs: true", "exactly one output"),
    # InvalidCombineOutputsMultipleOutputsTest
    (1, "ranges { begin: 0 end: 3 } ranges { begin: 1 end: 4 }", "combine_outputs: true", "overlap"),
    # InvalidOverlappingRangesTest
    (2, "ranges { begin: 0 end: 2 } ranges { begin: 2 end: 4 }", "element_only: true", "size 1"),
    # ElementOnlyDisablesVectorOutputs: element_only with ranges of more than one element
])
def test_invalid_configurations_are_rejected_at_initialisation(outputs, ranges, extra, match):
    """TEST_F(SplitTfLiteTensorVectorCalculatorTest, InvalidRangeTest / InvalidOutputStreamCountTest /
    InvalidCombineOutputsMultipleOutputsTest / InvalidOverlappingRangesTest)."""
    with pytest.raises(GraphConfigError, match=match):
        load_graph(f"input_stream: 'input_vector'\nnode {{ {node(outputs, ranges, extra)} }}")


def test_smoke_test_element_only():
    """TEST_F(SplitTfLiteTensorVectorCalculatorTest, SmokeTestElementOnly)."""
    got = run_node(node(3, "ranges { begin: 0 end: 1 } ranges { begin: 2 end: 3 } ranges { begin: 4 end: 5 }",
                        "element_only: true"), {"input_vector": [(0, [0, 1, 2, 3, 4])]}, ["out0", "out1", "out2"])
    assert got == {"out0": [(0, 0)], "out1": [(0, 2)], "out2": [(0, 4)]}


def test_smoke_test_combining_outputs():
    """TEST_F(SplitTfLiteTensorVectorCalculatorTest, SmokeTestCombiningOutputs)."""
    got = run_node(node(1, "ranges { begin: 0 end: 1 } ranges { begin: 2 end: 3 } ranges { begin: 4 end: 5 }",
                        "combine_outputs: true"), {"input_vector": [(0, [0, 1, 2, 3, 4])]}, ["out0"])
    assert got == {"out0": [(0, [0, 2, 4])]}


def test_input_shorter_than_the_ranges_fails():
    """SplitVectorCalculator::Process: RET_CHECK_GE(input.size(), max_range_end)."""
    from posegraph import CalculatorError
    with pytest.raises(CalculatorError, match="ranges reach 2"):
        run_node(node(2, "ranges { begin: 0 end: 1 } ranges { begin: 1 end: 2 }"), {"input_vector": [(0, [7])]},
                 ["out0", "out1"])
