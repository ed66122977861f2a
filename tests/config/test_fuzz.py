"""Fuzzing: random mutations and truncations of a valid graph yield a ValidatedGraph or a GraphConfigError, never
another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from cfg_helpers import write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posegraph.config import GraphConfigError, ValidatedGraph, load_graph
from posegraph.errors import ConfigIssue

pytestmark = pytest.mark.timeout(60)

MAX_EXAMPLES = 1000

SUBGRAPH = """
type: "TestCfgFuzzSub"
input_stream: "IN:in"
input_stream: "PREV:prev"
output_stream: "OUT:out"
node {
  calculator: "TestCfgMerge"
  input_stream: "IN:0:in"
  input_stream: "PREV:prev"
  output_stream: "OUT:out"
}
"""

VALID = """
# a graph touching most of the schema
input_stream: "x"
output_stream: "text"
input_side_packet: "model"
max_queue_size: 10
num_threads: 2
executor { name: "pool" num_threads: 2 }
profiler_config { trace_enabled: true samples_per_node: 100 }
input_stream_handler { input_stream_handler: "DefaultInputStreamHandler" }
node {
  name: "scale"
  calculator: "TestCfgScale"
  input_stream: "x"
  output_stream: "y"
  options { [posegraph.CfgScaleOptions.ext] { factor: 2.5 offset: 3 } }
  executor: "pool"
  max_in_flight: 2
}
node {
  name: "sub"
  calculator: "TestCfgFuzzSub"
  input_stream: "IN:y"
  input_stream: "PREV:looped"
  input_stream_info { tag_index: "PREV" back_edge: true }
  output_stream: "OUT:looped"
}
node {
  calculator: "TestCfgSideUser"
  input_side_packet: "MODEL:model"
  input_stream: "IN:looped"
  output_stream: "OUT:z"
  input_stream_handler { input_stream_handler: "immediate" }
}
node {
  calculator: "TestCfgToStr"
  input_stream: "IN:z"
  output_stream: "OUT:text"
}
node {
  calculator: "TestCfgAllKinds"
  output_stream: "OUT:unused"
  node_options {
    [type.googleapis.com/posegraph.CfgAllKindsOptions] {
      flag: true count: 2 interp: CUBIC box { anchor { scales: [1, 2] } } strides: [1, 2] names: "a"
    }
  }
}
"""

TOKENS = ["{", "}", "<", ">", "[", "]", ":", ",", ";", '"', "'", "\\", "#", "\n", " ", "/", "-", "0", "1e9",
          "99999999999999999999", "nan", "node", "node {", "calculator", "input_stream", "output_stream",
          "input_side_packet", "output_side_packet", '"IN:x"', '"IN:1:x"', '"x"', '"y"', '"A:B:C:d"', '"TestCfgScale"',
          '"TestCfgFuzzSub"', "back_edge: true", "input_stream_info { tag_index: \":3\" }", "max_in_flight: 0",
          "options {", "[posegraph.CfgScaleOptions.ext]", "[posegraph.CfgAllKindsOptions.ext]",
          "[type.googleapis.com/posegraph.CfgScaleOptions]", "node_options {", "type: \"TestCfgFuzzSub\"",
          "executor: \"nope\"", "factor: -1", "\u00e9", "\x00", "\ud7ff", "true", "false"]

_counter = {"examples": 0, "valid": 0, "invalid": 0}
_dir = Path(tempfile.mkdtemp(prefix="posegraph-fuzz-"))
write(_dir, "fuzz_sub.pbtxt", SUBGRAPH)


def test_base_graph_is_valid():
    graph = load_graph(VALID, search_paths=[_dir])
    assert len(graph.nodes) == 5


@st.composite
def mutated(draw) -> str:
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "delete", "insert", "replace", "swap_lines", "dup_line"]))
        n = len(text)
        if op == "truncate":
            text = text[: draw(st.integers(0, n))]
        elif op == "delete" and n:
            i = draw(st.integers(0, n - 1))
            text = text[:i] + text[i + draw(st.integers(1, 40)):]
        elif op == "insert":
            i = draw(st.integers(0, n))
            token = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=5)))
            text = text[:i] + token + text[i:]
        elif op == "replace" and n:
            i = draw(st.integers(0, n - 1))
            text = text[:i] + draw(st.characters()) + text[i + 1:]
        elif op in ("swap_lines", "dup_line"):
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "swap_lines":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines.insert(j, lines[i])
            text = "\n".join(lines)
    return text


@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def _fuzz_one(text: str) -> None:
    _counter["examples"] += 1
    try:
        result = load_graph(text, search_paths=[_dir])
    except GraphConfigError as exc:
        _counter["invalid"] += 1
        assert exc.issues and all(isinstance(i, ConfigIssue) for i in exc.issues)
        for issue in exc.issues:
            assert issue.line is None or (isinstance(issue.line, int) and issue.line >= 1)
            assert str(issue)
        return
    _counter["valid"] += 1
    assert isinstance(result, ValidatedGraph)


def test_mutations_never_raise_anything_else(record_property):
    _fuzz_one()
    record_property("fuzz_examples", _counter["examples"])
    print(f"\nfuzz: {_counter['examples']} examples, {_counter['valid']} valid, {_counter['invalid']} rejected")
    assert _counter["examples"] >= MAX_EXAMPLES // 2
    assert _counter["invalid"] > 0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join))
def test_token_soup_never_raises_anything_else(tokens: str) -> None:
    text = tokens + "\n"  # always graph text, never a file name
    try:
        load_graph(text, search_paths=[_dir])
    except GraphConfigError:
        pass
