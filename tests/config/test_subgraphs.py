"""Subgraph expansion: lookup, renaming, nesting, back edges, and errors that point into the subgraph file."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfg_helpers import line_of, write

from posegraph.config import GraphConfigError, find_graph_file, load_graph
from posegraph.config.finder import snake_case

pytestmark = pytest.mark.timeout(60)

INNER = """
# the inner subgraph: found by its file name (snake_case of the type)
type: "TestCfgInnerSub"
input_stream: "IN:inner_in"
output_stream: "OUT:inner_out"
input_side_packet: "MODEL:model"
node {
  name: "scale"
  calculator: "TestCfgScale"
  input_stream: "inner_in"
  output_stream: "scaled"
  options { [posegraph.CfgScaleOptions.ext] { factor: 3 } }
}
node {
  calculator: "TestCfgSideUser"
  input_side_packet: "MODEL:model"
  input_stream: "IN:scaled"
  output_stream: "OUT:inner_out"
}
"""

OUTER = """
# the outer subgraph: its file name says nothing, found by scanning type fields
type: "TestCfgOuterSub"
input_stream: "IN:outer_in"
output_stream: "OUT:outer_out"
output_stream: "TEXT:text"
input_side_packet: "MODEL:m"
node { name: "pre" calculator: "TestCfgScale" input_stream: "outer_in" output_stream: "mid" }
node {
  name: "inner"
  calculator: "TestCfgInnerSub"
  input_stream: "IN:mid"
  output_stream: "OUT:outer_out"
  input_side_packet: "MODEL:m"
}
node { calculator: "TestCfgToStr" input_stream: "IN:outer_out" output_stream: "OUT:text" }
"""

TOP = """
input_stream: "frames"
output_stream: "result"
input_side_packet: "model_path"
node {
  name: "pipeline"
  calculator: "TestCfgOuterSub"
  input_stream: "IN:frames"
  output_stream: "OUT:result"
  input_side_packet: "MODEL:model_path"
}
node { name: "sink" calculator: "TestCfgAnySink" input_stream: "IN:result" }
"""


@pytest.fixture
def subgraph_dir(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    write(lib, "test_cfg_inner_sub.pbtxt", INNER)
    write(lib, "wrapper.pbtxt", OUTER)
    return lib


def test_snake_case():
    assert snake_case("PoseLandmarkCpu") == "pose_landmark_cpu"
    assert snake_case("PoseTrackingCPU") == "pose_tracking_cpu"
    assert snake_case("TestCfgInnerSub") == "test_cfg_inner_sub"


def test_two_level_expansion(tmp_path, subgraph_dir):
    graph = load_graph(TOP, search_paths=[subgraph_dir])
    by_name = {n.name: n for n in graph.nodes}
    assert list(by_name) == ["pipeline/pre", "pipeline/inner/scale", "pipeline/inner/TestCfgSideUser",
                             "pipeline/TestCfgToStr", "sink"]

    def streams(node, attr):
        return [(b.port.tag, b.name) for b in getattr(by_name[node], attr)]

    assert streams("pipeline/pre", "inputs") == [("", "frames")]
    assert streams("pipeline/pre", "outputs") == [("", "pipeline/mid")]
    assert streams("pipeline/inner/scale", "inputs") == [("", "pipeline/mid")]
    assert streams("pipeline/inner/scale", "outputs") == [("", "pipeline/inner/scaled")]
    assert streams("pipeline/inner/TestCfgSideUser", "input_side_packets") == [("MODEL", "model_path")]
    assert streams("pipeline/inner/TestCfgSideUser", "outputs") == [("OUT", "result")]
    assert streams("pipeline/TestCfgToStr", "outputs") == [("OUT", "pipeline/text")]  # unconnected output
    assert by_name["pipeline/inner/scale"].options.factor == 3

    inner_file = str(subgraph_dir / "test_cfg_inner_sub.pbtxt")
    scale = by_name["pipeline/inner/scale"]
    assert scale.location.file == inner_file
    assert scale.location.line == line_of((subgraph_dir / "test_cfg_inner_sub.pbtxt").read_text(), "node {")
    assert scale.subgraph_path == ("pipeline", "pipeline/inner")
    assert by_name["pipeline/pre"].location.file == str(subgraph_dir / "wrapper.pbtxt")
    assert by_name["pipeline/pre"].subgraph_path == ("pipeline",)
    assert by_name["sink"].subgraph_path == () and by_name["sink"].location.file is None

    # the expanded config is itself a valid graph
    again = load_graph(graph.config)
    assert [n.name for n in again.nodes] == [n.name for n in graph.nodes]


def test_subgraph_next_to_parent_file(tmp_path, subgraph_dir):
    top = write(subgraph_dir, "top.pbtxt", TOP)
    graph = load_graph(top)  # no search paths: found in the parent's folder
    assert len(graph.nodes) == 5
    assert load_graph(str(top)).nodes[0].name == "pipeline/pre"


def test_subgraph_loaded_directly_uses_tagged_interface(subgraph_dir):
    graph = load_graph(subgraph_dir / "test_cfg_inner_sub.pbtxt")
    assert graph.graph_type == "TestCfgInnerSub"
    assert graph.input_streams == ["inner_in"] and graph.output_streams == ["inner_out"]
    assert graph.input_side_packets == ["model"]


def test_find_graph_file(subgraph_dir):
    assert find_graph_file("wrapper", [subgraph_dir]) == subgraph_dir / "wrapper.pbtxt"
    assert find_graph_file("wrapper.pbtxt", [subgraph_dir]) == subgraph_dir / "wrapper.pbtxt"
    assert find_graph_file("TestCfgOuterSub", [subgraph_dir]) == subgraph_dir / "wrapper.pbtxt"
    assert find_graph_file("TestCfgInnerSub", [subgraph_dir]) == subgraph_dir / "test_cfg_inner_sub.pbtxt"
    with pytest.raises(GraphConfigError) as err:
        find_graph_file("wraper", [subgraph_dir])
    message = str(err.value)
    assert str(subgraph_dir) in message and "wraper.pbtxt" in message and "did you mean wrapper" in message
    assert find_graph_file("wrapper", str(subgraph_dir)) == subgraph_dir / "wrapper.pbtxt"  # one folder, bare
    graph = load_graph("wrapper", search_paths=subgraph_dir)  # a graph by name
    assert graph.graph_type == "TestCfgOuterSub"


def test_error_inside_subgraph_points_into_its_file(subgraph_dir):
    bad_inner = INNER.replace('calculator: "TestCfgScale"', 'calculator: "TestCfgScal"')
    inner_path = write(subgraph_dir, "test_cfg_inner_sub.pbtxt", bad_inner)
    with pytest.raises(GraphConfigError) as err:
        load_graph(TOP, search_paths=[subgraph_dir])
    (issue,) = err.value.issues
    assert issue.file == str(inner_path)
    assert issue.line == line_of(inner_path.read_text(), "TestCfgScal")
    assert issue.node == "pipeline/inner/scale"
    assert "unknown calculator 'TestCfgScal'" in issue.message
    assert f"{inner_path}:{issue.line}: node 'pipeline/inner/scale'" in str(issue)


def test_stream_error_inside_subgraph(subgraph_dir):
    bad_inner = INNER.replace('input_stream: "IN:scaled"', 'input_stream: "IN:scaled_typo"')
    inner_path = write(subgraph_dir, "test_cfg_inner_sub.pbtxt", bad_inner)
    with pytest.raises(GraphConfigError) as err:
        load_graph(TOP, search_paths=[subgraph_dir])
    (issue,) = err.value.issues
    assert (issue.file, issue.line) == (str(inner_path), line_of(inner_path.read_text(), "scaled_typo"))
    assert issue.stream == "pipeline/inner/scaled_typo" and issue.node == "pipeline/inner/TestCfgSideUser"


def test_syntax_error_in_subgraph_file(subgraph_dir):
    inner_path = write(subgraph_dir, "test_cfg_inner_sub.pbtxt", INNER.replace("name: \"scale\"", "name \"scale\""))
    with pytest.raises(GraphConfigError) as err:
        load_graph(TOP, search_paths=[subgraph_dir])
    (issue,) = err.value.issues
    assert issue.file == str(inner_path) and issue.line == line_of(inner_path.read_text(), 'name "scale"')


def test_unknown_subgraph_port(subgraph_dir):
    text = TOP.replace('input_side_packet: "MODEL:model_path"',
                       'input_side_packet: "MODEL:model_path"\n  output_stream: "EXTRA:extra"')
    with pytest.raises(GraphConfigError) as err:
        load_graph(text, search_paths=[subgraph_dir])
    (issue,) = err.value.issues
    assert issue.line == line_of(text, "EXTRA:extra") and issue.node == "pipeline" and issue.stream == "extra"
    assert "has no output stream EXTRA" in issue.message and "OUT, TEXT" in issue.message


def test_unconnected_subgraph_input_is_dropped(tmp_path):
    write(tmp_path, "with_prev.pbtxt", """
        type: "TestCfgWithPrev"
        input_stream: "IN:in"
        input_stream: "PREV:prev"
        output_stream: "OUT:out"
        node { calculator: "TestCfgMerge" input_stream: "IN:in" input_stream: "PREV:prev" output_stream: "OUT:out" }
    """)
    top = """
input_stream: "x"
node { name: "w" calculator: "TestCfgWithPrev" input_stream: "IN:x" output_stream: "OUT:y" }
"""
    graph = load_graph(top, search_paths=[tmp_path])
    assert [(b.port.tag, b.name) for b in graph.nodes[0].inputs] == [("IN", "x")]  # PREV dropped (optional)
    # a required port left unconnected is reported inside the subgraph, saying why
    with pytest.raises(GraphConfigError) as err:
        load_graph(top.replace('input_stream: "IN:x" ', ""), search_paths=[tmp_path])
    (issue,) = err.value.issues
    assert issue.file == str(tmp_path / "with_prev.pbtxt") and issue.node == "w/TestCfgMerge"
    assert "requires input stream IN" in issue.message and "not connected" in issue.message


def test_back_edges_survive_expansion(tmp_path):
    # a loop inside the subgraph, closed by a back edge written in the subgraph
    write(tmp_path, "inner_loop.pbtxt", """
        type: "TestCfgInnerLoop"
        input_stream: "IN:in"
        output_stream: "OUT:out"
        node {
          calculator: "TestCfgMerge"
          input_stream: "IN:in"
          input_stream: "PREV:fed"
          input_stream_info { tag_index: "PREV" back_edge: true }
          output_stream: "OUT:out"
        }
        node { calculator: "TestCfgScale" input_stream: "out" output_stream: "fed" }
    """)
    # a loop through the subgraph node, closed by a back edge on the subgraph node's input
    write(tmp_path, "outer_loop.pbtxt", """
        type: "TestCfgOuterLoop"
        input_stream: "IN:in"
        input_stream: "PREV:prev"
        output_stream: "OUT:out"
        node { calculator: "TestCfgMerge" input_stream: "IN:in" input_stream: "PREV:prev" output_stream: "OUT:out" }
    """)
    top = """
input_stream: "x"
node { name: "a" calculator: "TestCfgInnerLoop" input_stream: "IN:x" output_stream: "OUT:y" }
node {
  name: "b"
  calculator: "TestCfgOuterLoop"
  input_stream: "IN:y"
  input_stream: "PREV:z"
  input_stream_info { tag_index: "PREV" back_edge: true }
  output_stream: "OUT:z"
}
"""
    graph = load_graph(top, search_paths=[tmp_path])
    edges = {(n.name, b.name) for n in graph.nodes for b in n.inputs if b.back_edge}
    assert edges == {("a/TestCfgMerge", "a/fed"), ("b/TestCfgMerge", "z")}
    assert [n.name for n in graph.nodes] == ["a/TestCfgMerge", "a/TestCfgScale", "b/TestCfgMerge"]
    again = load_graph(graph.config)  # back edges are kept in the expanded config
    assert {(n.name, b.name) for n in again.nodes for b in n.inputs if b.back_edge} == edges
    with pytest.raises(GraphConfigError, match="cycle"):
        load_graph(top.replace('input_stream_info { tag_index: "PREV" back_edge: true }', ""),
                   search_paths=[tmp_path])


def test_subgraph_recursion_is_reported(tmp_path):
    write(tmp_path, "ping.pbtxt", """
        type: "TestCfgPing"
        input_stream: "IN:in"
        output_stream: "OUT:out"
        node { calculator: "TestCfgPong" input_stream: "IN:in" output_stream: "OUT:out" }
    """)
    pong = write(tmp_path, "pong.pbtxt", """
        type: "TestCfgPong"
        input_stream: "IN:in"
        output_stream: "OUT:out"
        node { calculator: "TestCfgPing" input_stream: "IN:in" output_stream: "OUT:out" }
    """)
    top = 'input_stream: "x"\nnode { name: "p" calculator: "TestCfgPing" input_stream: "IN:x" output_stream: "OUT:y" }'
    with pytest.raises(GraphConfigError) as err:
        load_graph(top, search_paths=[tmp_path])
    recursion = [i for i in err.value.issues if "recursion" in i.message]
    assert recursion and "TestCfgPing -> TestCfgPong -> TestCfgPing" in recursion[0].message
    assert recursion[0].file == str(pong) and recursion[0].line == 4


def test_executor_propagates_and_calculator_only_fields_rejected(subgraph_dir):
    text = 'executor { name: "pool" num_threads: 2 }\n' + TOP.replace(
        'input_side_packet: "MODEL:model_path"', 'input_side_packet: "MODEL:model_path"\n  executor: "pool"')
    graph = load_graph(text, search_paths=[subgraph_dir])
    assert {n.name: n.executor for n in graph.nodes} == {
        "pipeline/pre": "pool", "pipeline/inner/scale": "pool", "pipeline/inner/TestCfgSideUser": "pool",
        "pipeline/TestCfgToStr": "pool", "sink": ""}
    bad = TOP.replace('input_side_packet: "MODEL:model_path"',
                      'input_side_packet: "MODEL:model_path"\n  max_in_flight: 2')
    with pytest.raises(GraphConfigError) as err:
        load_graph(bad, search_paths=[subgraph_dir])
    assert err.value.issues[0].line == line_of(bad, "max_in_flight") and "calculators only" in str(err.value)


def test_two_instances_of_a_subgraph_do_not_clash(subgraph_dir):
    text = """
input_stream: "a"
input_stream: "b"
input_side_packet: "model"
node { name: "one" calculator: "TestCfgInnerSub" input_stream: "IN:a" output_stream: "OUT:x"
       input_side_packet: "MODEL:model" }
node { name: "two" calculator: "TestCfgInnerSub" input_stream: "IN:b" output_stream: "OUT:y"
       input_side_packet: "MODEL:model" }
"""
    graph = load_graph(text, search_paths=[subgraph_dir])
    outputs = [b.name for n in graph.nodes for b in n.outputs]
    assert outputs == ["one/scaled", "x", "two/scaled", "y"]


def test_graph_using_its_own_type_is_recursion(tmp_path):
    path = write(tmp_path, "selfish.pbtxt", """
        type: "TestCfgSelfish"
        input_stream: "IN:in"
        output_stream: "OUT:out"
        node { calculator: "TestCfgSelfish" input_stream: "IN:in" output_stream: "OUT:out" }
    """)
    with pytest.raises(GraphConfigError) as err:
        load_graph(path)
    (issue,) = err.value.issues
    assert "TestCfgSelfish -> TestCfgSelfish" in issue.message and (issue.file, issue.line) == (str(path), 4)
