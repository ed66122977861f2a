"""Ports of mediapipe/calculators/core/gate_calculator_test.cc (exact packets, timestamps, order)."""

from __future__ import annotations

import pytest

from posegraph import GraphConfigError, load_graph

from .mp import run_node

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("wiring", [
    "input_stream: 'ALLOW:g' input_stream: 'DISALLOW:g'",
    "input_side_packet: 'ALLOW:g' input_side_packet: 'DISALLOW:g'",
    "input_stream: 'ALLOW:g' input_side_packet: 'ALLOW:g'",
    "input_stream: 'DISALLOW:g' input_side_packet: 'DISALLOW:g'",
    "input_stream: 'ALLOW:g' input_side_packet: 'DISALLOW:g'",
    "input_stream: 'DISALLOW:g' input_side_packet: 'ALLOW:g'",
])
def test_invalid_inputs(wiring):
    """TEST_F(GateCalculatorTest, InvalidInputs): rejected when the graph is initialised."""
    streams = "input_stream: 'g'" if "input_stream: '" in wiring else ""
    sides = "input_side_packet: 'g'" if "input_side_packet" in wiring else ""
    with pytest.raises(GraphConfigError, match="GateCalculator"):
        load_graph(f"input_stream: 'test_input' {streams} {sides}\n"
                   f"node {{ calculator: 'GateCalculator' input_stream: 'test_input' {wiring} "
                   f"output_stream: 'test_output' }}")


def test_output_count_must_match_inputs():
    """GateCalculator::GetContract: data outputs must match data inputs (RET_CHECK_EQ)."""
    with pytest.raises(GraphConfigError, match="must match"):
        load_graph("input_stream: 'a' input_stream: 'b'\n node { calculator: 'GateCalculator' input_stream: 'a' "
                   "input_stream: 'b' output_stream: 'x' }")


DATA = {"test_input": [(42, True), (43, False)]}


@pytest.mark.parametrize("options, allowed", [
    ("options { [posegraph.GateOptions.ext] { allow: true } }", True),     # AllowByALLOWOptionToTrue
    ("options { [posegraph.GateOptions.ext] { allow: false } }", False),   # DisallowByALLOWOptionSetToFalse
    ("", False),                                                           # DisallowByALLOWOptionNotSet
])
def test_allow_by_option(options, allowed):
    """TEST_F(GateCalculatorTest, AllowByALLOWOptionToTrue / DisallowByALLOWOptionSetToFalse /
    DisallowByALLOWOptionNotSet)."""
    got = run_node(f"calculator: 'GateCalculator' input_stream: 'test_input' output_stream: 'test_output' {options}",
                   DATA, ["test_output"])
    assert got["test_output"] == ([(42, True), (43, False)] if allowed else [])


@pytest.mark.parametrize("tag, value, allowed", [
    ("ALLOW", True, True),       # AllowByALLOWSidePacketSetToTrue
    ("DISALLOW", False, True),   # AllowByDisallowSidePacketSetToFalse
    ("ALLOW", False, False),     # DisallowByALLOWSidePacketSetToFalse
    ("DISALLOW", True, False),   # DisallowByDISALLOWSidePacketSetToTrue
])
def test_by_side_packet(tag, value, allowed):
    """TEST_F(GateCalculatorTest, {Allow,Disallow}By{ALLOW,DISALLOW}SidePacketSetTo{True,False})."""
    got = run_node(f"calculator: 'GateCalculator' input_side_packet: '{tag}:gating_stream' "
                   f"input_stream: 'test_input' output_stream: 'test_output'",
                   DATA, ["test_output"], side={"gating_stream": value})
    assert got["test_output"] == ([(42, True), (43, False)] if allowed else [])


def _control(tag, values, data=True, extra=""):
    inputs = {"gating_stream": [(42 + i, v) for i, v in enumerate(values)]}
    node = f"calculator: 'GateCalculator' input_stream: '{tag}:gating_stream' {extra}"
    if data:
        inputs["test_input"] = [(42 + i, True) for i in range(len(values))]
        node += " input_stream: 'test_input' output_stream: 'test_output'"
    return node, inputs


def test_allow():
    """TEST_F(GateCalculatorTest, Allow)."""
    node, inputs = _control("ALLOW", [True, False, True, False])
    assert run_node(node, inputs, ["test_output"])["test_output"] == [(42, True), (44, True)]


def test_disallow():
    """TEST_F(GateCalculatorTest, Disallow)."""
    node, inputs = _control("DISALLOW", [True, False, True, False])
    assert run_node(node, inputs, ["test_output"])["test_output"] == [(43, True), (45, True)]


@pytest.mark.parametrize("tag, values, data", [
    ("ALLOW", [False, True, True, False], True),      # AllowWithStateChange
    ("ALLOW", [False, True, True, False], False),     # AllowWithStateChangeNoDataStreams
    ("DISALLOW", [True, False, False, True], True),   # DisallowWithStateChange
    ("DISALLOW", [True, False, False, True], False),  # DisallowWithStateChangeNoDataStreams
])
def test_state_change(tag, values, data):
    """TEST_F(GateCalculatorTest, {Allow,Disallow}WithStateChange[NoDataStreams])."""
    node, inputs = _control(tag, values, data, "output_stream: 'STATE_CHANGE:state_changed'")
    assert run_node(node, inputs, ["state_changed"])["state_changed"] == [(43, True), (45, False)]


@pytest.mark.parametrize("tag, value", [("DISALLOW", False), ("ALLOW", True)])
def test_initial_no_state_transition(tag, value):
    """TEST_F(GateCalculatorTest, DisallowInitialNoStateTransition / AllowInitialNoStateTransition)."""
    node, inputs = _control(tag, [value], True, "output_stream: 'STATE_CHANGE:state_changed'")
    assert run_node(node, inputs, ["state_changed"])["state_changed"] == []


def test_state_change_triggered_with_initial_gate_state_option():
    """TEST_F(GateCalculatorTest, StateChangeTriggeredWithInitialGateStateOption)."""
    node, inputs = _control("ALLOW", [True], True, "output_stream: 'STATE_CHANGE:state_changed' options { "
                            "[posegraph.GateOptions.ext] { initial_gate_state: GATE_DISALLOW } }")
    assert run_node(node, inputs, ["state_changed"])["state_changed"] == [(42, True)]
