"""Every validation error names the file, the line, the node and the stream; all problems are reported at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest
from cfg_helpers import Det, SubDet, line_of

from posegraph.config import GraphConfigError, load_graph, types_compatible
from posegraph.errors import ConfigIssue

pytestmark = pytest.mark.timeout(60)


def issues_of(tmp_path: Path, text: str, **kwargs) -> tuple[list[ConfigIssue], Path]:
    path = tmp_path / "graph.pbtxt"
    path.write_text(text)
    with pytest.raises(GraphConfigError) as err:
        load_graph(path, **kwargs)
    return err.value.issues, path


def find(issues: list[ConfigIssue], text: str, *, file: Path | str | None, line: int | None,
         node: str | None = None, stream: str | None = None) -> ConfigIssue:
    matching = [i for i in issues if text in i.message]
    assert matching, f"no issue mentions {text!r}: {[str(i) for i in issues]}"
    issue = matching[0]
    assert issue.file == (str(file) if file is not None else None), str(issue)
    assert issue.line == line, str(issue)
    assert issue.node == node, str(issue)
    assert issue.stream == stream, str(issue)
    rendered = str(issue)
    assert f"{file if file is not None else '<graph>'}:{line}" in rendered
    if node:
        assert f"node '{node}'" in rendered
    if stream:
        assert f"stream '{stream}'" in rendered
    return issue


GOOD = """
input_stream: "x"
output_stream: "text"
node {
  name: "scale"
  calculator: "TestCfgScale"
  input_stream: "x"
  output_stream: "y"
}
node {
  calculator: "TestCfgToStr"
  input_stream: "IN:y"
  output_stream: "OUT:text"
}
"""


def test_good_graph_loads(tmp_path):
    path = tmp_path / "good.pbtxt"
    path.write_text(GOOD)
    graph = load_graph(path)
    assert [n.name for n in graph.nodes] == ["scale", "TestCfgToStr"]
    assert graph.source.file == str(path)
    assert graph.nodes[1].location.line == line_of(GOOD, "node {", 2)


def test_unknown_calculator_suggests_names(tmp_path):
    text = GOOD.replace('"TestCfgToStr"', '"TestCfgToStrr"')
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "unknown calculator 'TestCfgToStrr'", file=path, line=line_of(text, "TestCfgToStrr"),
                 node="TestCfgToStrr")
    assert "did you mean TestCfgToStr" in issue.message


def test_stream_produced_twice(tmp_path):
    text = GOOD + """
node {
  name: "again"
  calculator: "TestCfgScale"
  input_stream: "x"
  output_stream: "y"
}
"""
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "produced twice", file=path, line=line_of(text, 'output_stream: "y"', 2), node="again",
                 stream="y")
    first = line_of(text, 'output_stream: "y"')
    assert "node 'scale'" in issue.message and f"{path}:{first}" in issue.message


def test_graph_input_counts_as_producer(tmp_path):
    text = GOOD + """
node { name: "clash" calculator: "TestCfgScale" input_stream: "y" output_stream: "x" }
"""
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "produced twice", file=path, line=line_of(text, '"clash"'), node="clash", stream="x")
    assert "graph input stream" in issue.message


def test_input_without_producer(tmp_path):
    text = GOOD.replace('input_stream: "IN:y"', 'input_stream: "IN:yy"')
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "'yy' has no producer", file=path, line=line_of(text, "IN:yy"), node="TestCfgToStr",
                 stream="yy")
    assert "did you mean y" in issue.message


def test_cycle_without_back_edge_names_streams(tmp_path):
    text = """
input_stream: "x"
node {
  name: "merge"
  calculator: "TestCfgMerge"
  input_stream: "IN:x"
  input_stream: "PREV:fed_back"
  output_stream: "OUT:merged"
}
node {
  name: "scale"
  calculator: "TestCfgScale"
  input_stream: "merged"
  output_stream: "fed_back"
}
"""
    issues, path = issues_of(tmp_path, text)
    assert len(issues) == 1
    issue = issues[0]
    assert issue.file == str(path) and issue.line in (line_of(text, "PREV:fed_back"), line_of(text, '"merged"'))
    assert issue.node in ("merge", "scale") and issue.stream in ("fed_back", "merged")
    assert "cycle" in issue.message and "'fed_back'" in issue.message and "'merged'" in issue.message
    assert "back_edge: true" in issue.message

    fixed = text.replace('  output_stream: "OUT:merged"',
                         '  output_stream: "OUT:merged"\n  input_stream_info { tag_index: "PREV" back_edge: true }')
    graph = load_graph(fixed)
    assert [n.name for n in graph.nodes] == ["merge", "scale"]
    prev = [b for b in graph.nodes[0].inputs if b.port.tag == "PREV"][0]
    assert prev.back_edge and prev.name == "fed_back"


def test_self_loop_is_a_cycle(tmp_path):
    text = """
node { name: "loop" calculator: "TestCfgScale" input_stream: "a" output_stream: "a" }
"""
    issues, path = issues_of(tmp_path, text)
    find(issues, "cycle", file=path, line=2, node="loop", stream="a")


def test_back_edge_not_in_cycle_is_fine():
    text = """
input_stream: "x"
input_stream: "p"
node {
  calculator: "TestCfgMerge"
  input_stream: "IN:x"
  input_stream: "PREV:p"
  input_stream_info { tag_index: "PREV" back_edge: true }
  output_stream: "OUT:o"
}
"""
    graph = load_graph(text)
    assert graph.nodes[0].inputs[1].back_edge


def test_undefined_side_packet(tmp_path):
    text = """
input_stream: "x"
node {
  name: "user"
  calculator: "TestCfgSideUser"
  input_side_packet: "MODEL:model_path"
  input_stream: "IN:x"
  output_stream: "OUT:y"
}
"""
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "input side packet 'model_path' has no producer", file=path,
                 line=line_of(text, "MODEL:model_path"), node="user", stream="model_path")
    assert "side_packet_names" in issue.message
    # a graph-level declaration, the application, or a node can supply it
    assert load_graph(text, side_packet_names=["model_path"]).input_side_packets == ["model_path"]
    declared = 'input_side_packet: "model_path"\n' + text
    assert load_graph(declared).input_side_packets == ["model_path"]
    made = text + 'node { calculator: "TestCfgSideMaker" output_side_packet: "MODEL:model_path" }\n'
    graph = load_graph(made)
    assert [n.calculator for n in graph.nodes] == ["TestCfgSideMaker", "TestCfgSideUser"]  # producer first


def test_tag_not_in_contract_lists_valid_tags(tmp_path):
    text = GOOD.replace('input_stream: "IN:y"', 'input_stream: "INPUT:y"')
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "has no input stream tag INPUT", file=path, line=line_of(text, "INPUT:y"),
                 node="TestCfgToStr", stream="y")
    assert "tags: IN" in issue.message


def test_untagged_stream_on_tagged_port(tmp_path):
    text = GOOD.replace('input_stream: "IN:y"', 'input_stream: "y"')
    issues, path = issues_of(tmp_path, text)
    find(issues, "has no input stream tag <untagged>", file=path, line=line_of(text, 'input_stream: "y"'),
         node="TestCfgToStr", stream="y")


def test_missing_required_port(tmp_path):
    text = GOOD.replace('  input_stream: "IN:y"\n', "")
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "requires input stream IN", file=path, line=line_of(text, '"TestCfgToStr"'),
                 node="TestCfgToStr")
    assert "float" in issue.message


def test_index_on_single_port(tmp_path):
    text = GOOD.replace('input_stream: "IN:y"', 'input_stream: "IN:y"\n  input_stream: "IN:1:x"')
    issues, path = issues_of(tmp_path, text)
    find(issues, "only index 0", file=path, line=line_of(text, "IN:1:x"), node="TestCfgToStr", stream="x")


def test_multiple_port_takes_indexes():
    text = """
input_stream: "a"
input_stream: "b"
input_stream: "c"
node { calculator: "TestCfgMerge" input_stream: "IN:0:a" input_stream: "IN:2:c" input_stream: "IN:1:b"
       output_stream: "OUT:o" }
"""
    graph = load_graph(text)
    assert [(b.index, b.name) for b in graph.nodes[0].inputs] == [(0, "a"), (2, "c"), (1, "b")]


def test_index_gaps_and_duplicates(tmp_path):
    text = """
input_stream: "a"
input_stream: "b"
node { name: "m" calculator: "TestCfgMerge" input_stream: "IN:0:a" input_stream: "IN:2:b" output_stream: "OUT:o" }
node { name: "n" calculator: "TestCfgMerge" input_stream: "IN:a" input_stream: "IN:0:b" output_stream: "OUT:p" }
"""
    issues, path = issues_of(tmp_path, text)
    find(issues, "index 1 is not given", file=path, line=4, node="m")
    find(issues, "IN:0 is given twice", file=path, line=5, node="n")


def test_bad_stream_syntax(tmp_path):
    text = """
input_stream: "x"
node {
  name: "bad"
  calculator: "TestCfgMerge"
  input_stream: "IN:x"
  output_stream: "out:o"
  output_stream: "OUT:01:o"
  output_stream: "OUT"
  output_stream: "A:B:C:d"
  output_stream: ""
}
"""
    issues, path = issues_of(tmp_path, text)
    find(issues, "'out' is not a valid tag", file=path, line=7, node="bad", stream="out:o")
    find(issues, "'01' is not a valid index", file=path, line=8, node="bad", stream="OUT:01:o")
    find(issues, "looks like a tag", file=path, line=9, node="bad", stream="OUT")
    find(issues, "too many ':'", file=path, line=10, node="bad", stream="A:B:C:d")
    find(issues, "has no name", file=path, line=11, node="bad", stream="")
    assert not any("requires output stream" in i.message for i in issues)  # no cascade after a syntax error


def test_type_mismatch_between_ports(tmp_path):
    text = """
input_stream: "x"
node { name: "num" calculator: "TestCfgScale" input_stream: "x" output_stream: "y" }
node { name: "sink" calculator: "TestCfgStrSink" input_stream: "IN:y" }
"""
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "type mismatch", file=path, line=4, node="sink", stream="y")
    assert "float" in issue.message and "str" in issue.message and "node 'num'" in issue.message


def test_generic_alias_mismatch(tmp_path):
    text = """
node { name: "dets" calculator: "TestCfgDetSource" output_stream: "DETS:d" }
node { name: "ints" calculator: "TestCfgIntListSink" input_stream: "DETS:d" }
"""
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "type mismatch", file=path, line=3, node="ints", stream="d")
    assert "list[int]" in issue.message and "Det" in issue.message


def test_compatible_types_load():
    text = """
node { calculator: "TestCfgDetSource" output_stream: "DETS:d" output_stream: "BEST:b" }
node { calculator: "TestCfgDetSink" input_stream: "DETS:d" input_stream: "BEST:b" }
node { calculator: "TestCfgAnySink" input_stream: "IN:d" }
"""
    assert len(load_graph(text).nodes) == 3


def test_types_compatible_helper():
    assert types_compatible(Any, int) and types_compatible(int, Any)
    assert types_compatible(SubDet, Det) and not types_compatible(Det, SubDet)
    assert types_compatible(list[Det], list[Det]) and not types_compatible(list[Det], list[int])
    assert not types_compatible(list[Det], list[SubDet])
    assert types_compatible(list[Det], list[Any]) and types_compatible(list[Any], list[Det])
    assert not types_compatible(list[Det], tuple[Det]) and not types_compatible(list[Det], list)
    assert types_compatible(dict[str, int], dict[str, int]) and not types_compatible(dict[str, int], dict[int, int])
    assert types_compatible(int, Optional[int]) and types_compatible(int, int | str)
    assert not types_compatible(int | None, int) and types_compatible(int | None, int | None)
    assert types_compatible(bool, int) and not types_compatible(int, float)


def test_graph_output_without_producer(tmp_path):
    text = GOOD.replace('output_stream: "text"', 'output_stream: "txt"')
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "graph output stream 'txt' has no producer", file=path, line=line_of(text, '"txt"'),
                 stream="txt")
    assert "did you mean text" in issue.message


def test_duplicate_node_names(tmp_path):
    text = GOOD.replace('calculator: "TestCfgToStr"', 'name: "scale"\n  calculator: "TestCfgToStr"')
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "duplicate node name 'scale'", file=path, line=line_of(text, 'name: "scale"', 2),
                 node="scale")
    assert f"{path}:{line_of(text, 'node {')}" in issue.message


def test_default_names_skip_written_names():
    text = """
input_stream: "x"
node { calculator: "TestCfgScale" input_stream: "x" output_stream: "a" }
node { name: "TestCfgScale_2" calculator: "TestCfgScale" input_stream: "a" output_stream: "b" }
node { calculator: "TestCfgScale" input_stream: "b" output_stream: "c" }
node { calculator: "TestCfgScale" input_stream: "c" output_stream: "d" }
"""
    assert [n.name for n in load_graph(text).nodes] == ["TestCfgScale", "TestCfgScale_2", "TestCfgScale_3",
                                                        "TestCfgScale_4"]


def test_max_in_flight(tmp_path):
    text = GOOD.replace('  output_stream: "y"\n', '  output_stream: "y"\n  max_in_flight: 0\n')
    issues, path = issues_of(tmp_path, text)
    find(issues, "max_in_flight must be at least 1", file=path, line=line_of(text, "max_in_flight"), node="scale")
    graph = load_graph(GOOD.replace('  output_stream: "y"\n', '  output_stream: "y"\n  max_in_flight: 4\n'))
    assert [n.max_in_flight for n in graph.nodes] == [4, 1]


def test_unknown_executor(tmp_path):
    text = 'executor { name: "inference" num_threads: 2 }\n' + GOOD.replace(
        '  output_stream: "y"\n', '  output_stream: "y"\n  executor: "inferense"\n')
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "unknown executor 'inferense'", file=path, line=line_of(text, '"inferense"'), node="scale")
    assert "did you mean inference" in issue.message
    graph = load_graph(text.replace('"inferense"', '"inference"'))
    assert graph.nodes[0].executor == "inference" and graph.nodes[1].executor == ""
    assert [(e.name, e.num_threads) for e in graph.executors] == [("inference", 2)]


def test_executor_declaration_errors(tmp_path):
    text = """
num_threads: 3
executor { name: "a" num_threads: 0 }
executor { name: "a" }
executor { num_threads: 2 }
""" + GOOD
    issues, path = issues_of(tmp_path, text)
    find(issues, "num_threads must be at least 1", file=path, line=3)
    find(issues, "declared twice", file=path, line=4)
    find(issues, "configured twice", file=path, line=5)


def test_unknown_input_stream_handler(tmp_path):
    text = GOOD.replace('  output_stream: "y"\n', '  output_stream: "y"\n'
                        '  input_stream_handler { input_stream_handler: "TimestampAlignInputStreamHandler" }\n')
    issues, path = issues_of(tmp_path, text)
    issue = find(issues, "unknown input stream handler 'TimestampAlignInputStreamHandler'", file=path,
                 line=line_of(text, "TimestampAlign"), node="scale")
    assert "ImmediateInputStreamHandler" in issue.message


def test_input_stream_handler_names_and_precedence():
    text = """
input_stream: "x"
input_stream_handler { input_stream_handler: "ImmediateInputStreamHandler" }
node { name: "a" calculator: "TestCfgScale" input_stream: "x" output_stream: "y" }
node { name: "b" calculator: "TestCfgScale" input_stream: "y" output_stream: "z"
       input_stream_handler { input_stream_handler: "DefaultInputStreamHandler" } }
node { name: "c" calculator: "TestCfgImmediate" input_stream: "IN:z" output_stream: "OUT:w" }
node { name: "d" calculator: "TestCfgImmediate" input_stream: "IN:w" output_stream: "OUT:v"
       input_stream_handler { input_stream_handler: "default" } }
"""
    graph = load_graph(text)
    assert [n.input_stream_handler for n in graph.nodes] == ["immediate", "default", "immediate", "default"]
    plain = load_graph(text.replace('input_stream_handler { input_stream_handler: "ImmediateInputStreamHandler" }',
                                    ""))
    assert plain.nodes[0].input_stream_handler == "default"


def test_input_stream_info_must_name_an_input(tmp_path):
    text = GOOD.replace('  output_stream: "y"\n',
                        '  output_stream: "y"\n  input_stream_info { tag_index: "PREV" back_edge: true }\n')
    issues, path = issues_of(tmp_path, text)
    find(issues, "input_stream_info names PREV", file=path, line=line_of(text, "input_stream_info"), node="scale")


def test_many_problems_reported_at_once(tmp_path):
    text = """
input_stream: "x"
output_stream: "nowhere"
executor { name: "pool" }
node {
  name: "a"
  calculator: "TestCfgScale"
  input_stream: "x"
  output_stream: "y"
  options { [posegraph.CfgScaleOptions.ext] { factor: 0 } }
}
node {
  name: "a"
  calculator: "TestCfgToStr"
  input_stream: "IN:y"
  input_stream: "WHAT:y"
  output_stream: "OUT:s"
  executor: "poool"
  max_in_flight: -1
}
node {
  name: "c"
  calculator: "TestCfgStrSinc"
  input_stream: "IN:s"
}
node {
  name: "d"
  calculator: "TestCfgSideUser"
  input_side_packet: "MODEL:m"
  input_stream: "IN:missing"
}
"""
    issues, path = issues_of(tmp_path, text)
    expected = ["graph output stream 'nowhere'", "factor must be positive", "duplicate node name 'a'",
                "no input stream tag WHAT", "unknown executor 'poool'", "max_in_flight", "unknown calculator",
                "side packet 'm' has no producer", "'missing' has no producer", "requires output stream OUT"]
    for text_ in expected:
        assert any(text_ in i.message for i in issues), (text_, [str(i) for i in issues])
    assert len(issues) == len(expected)
    assert all(i.file == str(path) and i.line is not None for i in issues)
    assert [i.line for i in issues] == sorted(i.line for i in issues)
    assert f"invalid graph ({len(issues)} problems)" in str(GraphConfigError(issues))


def test_syntax_error_has_line(tmp_path):
    text = GOOD.replace('  output_stream: "y"\n', '  output_stream "y"\n  bogus_field: 3\n')
    issues, path = issues_of(tmp_path, text)
    (issue,) = issues  # the parser stops at the first syntax error
    assert issue.file == str(path) and issue.line == line_of(text, 'output_stream "y"')
    assert 'Expected ":"' in issue.message and "column 17" in issue.message
    text = text.replace('output_stream "y"', 'output_stream: "y"')
    issues, path = issues_of(tmp_path, text)
    assert issues[0].line == line_of(text, "bogus_field")
    assert 'no field named "bogus_field"' in issues[0].message
