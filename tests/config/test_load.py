"""load_graph sources, graph settings, node order and the parse_graph_text source map."""

from __future__ import annotations

import os

import pytest
from cfg_helpers import write

from posegraph.config import (CalculatorGraphConfig, GraphConfigError, ValidatedGraph, load_graph,
                              parse_graph_text)
from posegraph.config.model import ExecutorSpec, ProfilerSpec

pytestmark = pytest.mark.timeout(60)

CHAIN = """
input_stream: "x"
output_stream: "s"
node { name: "last" calculator: "TestCfgToStr" input_stream: "IN:z" output_stream: "OUT:s" }
node { name: "middle" calculator: "TestCfgScale" input_stream: "y" output_stream: "z" }
node { name: "first" calculator: "TestCfgScale" input_stream: "x" output_stream: "y" }
"""


def test_sources(tmp_path):
    path = write(tmp_path, "chain.pbtxt", CHAIN)
    message, _ = parse_graph_text(CHAIN)
    for source in (CHAIN, path, str(path), message):
        graph = load_graph(source)
        assert isinstance(graph, ValidatedGraph)
        assert [n.name for n in graph.nodes] == ["first", "middle", "last"]
    assert load_graph(path).source.file == str(path)
    assert load_graph(CHAIN).source.file is None
    assert load_graph("chain", search_paths=[tmp_path]).source.file == str(path)
    assert isinstance(load_graph(CHAIN).config, CalculatorGraphConfig)


def test_bad_sources(tmp_path):
    with pytest.raises(GraphConfigError, match="cannot read graph file"):
        load_graph(tmp_path / "missing.pbtxt")
    with pytest.raises(GraphConfigError, match="not found"):
        load_graph("no_such_graph_anywhere")
    with pytest.raises(TypeError):
        load_graph(42)


def test_topological_order_covers_side_packets():
    text = """
input_stream: "x"
node { name: "user" calculator: "TestCfgSideUser" input_side_packet: "MODEL:m" input_stream: "IN:x"
       output_stream: "OUT:y" }
node { name: "maker" calculator: "TestCfgSideMaker" output_side_packet: "MODEL:m" }
"""
    assert [n.name for n in load_graph(text).nodes] == ["maker", "user"]


def test_node_order_is_stable_for_independent_nodes():
    text = """
input_stream: "x"
node { name: "c" calculator: "TestCfgScale" input_stream: "x" output_stream: "c" }
node { name: "a" calculator: "TestCfgScale" input_stream: "x" output_stream: "a" }
node { name: "b" calculator: "TestCfgScale" input_stream: "x" output_stream: "b" }
"""
    assert [n.name for n in load_graph(text).nodes] == ["c", "a", "b"]


def test_defaults():
    graph = load_graph(CHAIN)
    assert graph.num_threads == (os.cpu_count() or 1)
    assert graph.max_queue_size == 100
    assert graph.executors == [] and graph.profiler == ProfilerSpec()
    assert graph.input_streams == ["x"] and graph.output_streams == ["s"]
    assert graph.input_side_packets == [] and graph.output_side_packets == []
    assert graph.graph_type == ""
    node = graph.nodes[0]
    assert (node.input_stream_handler, node.executor, node.max_in_flight) == ("default", "", 1)
    assert node.location.line == 6 and node.location.file is None


def test_settings():
    text = """
num_threads: 3
max_queue_size: 0
executor { name: "io" num_threads: 1 }
executor { name: "inference" num_threads: 2 }
profiler_config { trace_enabled: true trace_path: "trace.json" samples_per_node: 50 }
""" + CHAIN
    graph = load_graph(text)
    assert graph.num_threads == 3 and graph.max_queue_size == 100  # MediaPipe: 0 means the default, 100
    assert graph.executors == [ExecutorSpec("io", 1), ExecutorSpec("inference", 2)]
    assert graph.profiler == ProfilerSpec(True, "trace.json", 50)
    assert load_graph("max_queue_size: -1\n" + CHAIN).max_queue_size == 0  # unbounded
    assert load_graph("max_queue_size: 7\n" + CHAIN).max_queue_size == 7
    assert load_graph("executor { num_threads: 5 }\n" + CHAIN).num_threads == 5  # default executor
    assert load_graph("num_threads: 0\n" + CHAIN).num_threads == (os.cpu_count() or 1)
    with pytest.raises(GraphConfigError, match="num_threads must not be negative"):
        load_graph("num_threads: -2\n" + CHAIN)


def test_bindings():
    text = """
input_stream: "a"
input_stream: "b"
node { name: "m" calculator: "TestCfgMerge" input_stream: "IN:0:a" input_stream: "IN:1:b" output_stream: "OUT:o" }
"""
    node = load_graph(text).nodes[0]
    assert [(b.port.tag, b.index, b.name, b.back_edge) for b in node.inputs] == [("IN", 0, "a", False),
                                                                                ("IN", 1, "b", False)]
    assert node.outputs[0].port is node.calculator_class.OUT
    assert node.calculator == "TestCfgMerge" and node.calculator_class.registered_name == "TestCfgMerge"


def test_parse_graph_text_source_map():
    text = """# comment
input_stream: "x"
node {
  calculator: "TestCfgScale"
  input_stream: "x"   # trailing comment with "quotes" { braces
  output_stream: 'y'
}
node <
  calculator: "TestCfgToStr"
  input_stream: [
    "IN:y"
  ]
>
"""
    message, smap = parse_graph_text(text, "file.pbtxt")
    assert smap.file == "file.pbtxt"
    assert smap.line(("node", 0)) == 3
    assert smap.line(("node", 0), ("output_stream", 0)) == 6
    assert smap.line(("node", 1)) == 8
    assert smap.line(("node", 1), ("input_stream", 0)) == 11
    assert smap.line(("node", 1), ("output_stream", 5)) == 8  # falls back to the enclosing block
    assert smap.line(("input_stream", 0)) == 2
    assert message.node[1].input_stream == ["IN:y"]


def test_parse_error_is_graph_config_error():
    with pytest.raises(GraphConfigError) as err:
        parse_graph_text('node {\n  calculator: "X"\n', "f.pbtxt")
    (issue,) = err.value.issues
    assert issue.file == "f.pbtxt" and issue.line is not None


def _shipped_graphs() -> list:
    from posegraph.config.finder import package_graph_dirs
    return sorted(p for d in package_graph_dirs() for p in d.glob("*.pbtxt"))


def test_package_graph_folder_is_searched():
    from posegraph.config.finder import package_graph_dirs
    dirs = package_graph_dirs()
    assert dirs and (dirs[0] / "__init__.py").is_file()
    with pytest.raises(GraphConfigError) as err:
        load_graph("no_such_graph_anywhere")
    assert str(dirs[0]) in str(err.value)


@pytest.mark.parametrize("path", _shipped_graphs() or [None], ids=lambda p: p.name if p else "none")
def test_shipped_graphs_validate(path):
    if path is None:
        pytest.skip("no graphs shipped in posegraph.graphs yet")
    graph = load_graph(path.stem)  # by name, as applications do
    assert graph.source.file == str(path)
    assert graph.nodes
    if any(node.calculator == "MediaSourceCalculator" for node in graph.nodes):
        # a source reading files must wait on full queues, not decode ahead through the whole input: memory stays
        # flat in the input's length (issue 17; the default of 100 frames is ~280 MB at 720p)
        assert 0 < graph.max_queue_size <= 8


def test_a_config_read_from_bytes_in_a_fresh_process_keeps_its_options(tmp_path):
    import subprocess
    import sys

    from posegraph.config import parse_graph_text

    text = ("input_stream: 'v' output_stream: 'o' node { calculator: 'GateCalculator' input_stream: 'v' "
            "output_stream: 'o' options { [posegraph.GateOptions.ext] { allow: true } } }")
    config, _ = parse_graph_text(text)
    (tmp_path / "graph.bin").write_bytes(config.SerializeToString())
    script = ("import sys\n"
              "from posegraph.config.schema import CalculatorGraphConfig\n"
              "from posegraph.config import load_graph\n"
              "msg = CalculatorGraphConfig.FromString(open(sys.argv[1], 'rb').read())\n"
              "print(load_graph(msg).nodes[0].options.allow)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "graph.bin")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
