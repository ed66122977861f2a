"""The visualizer's model: nodes, stream/side-packet edges, back edges, subgraph clusters, and the problems of
invalid graphs attached to the nodes they concern."""

from __future__ import annotations

import pytest

from posegraph import Graph, load_graph
from posegraph.viz import build_model, model_from_spec

from .conftest import GRAPHS

pytestmark = pytest.mark.timeout(60)


def edges_by(model, stream):
    return [e for e in model.edges if e.stream == stream]


def names(model, ids):
    by_id = {n.id: n for n in model.nodes}
    return sorted(by_id[i].name for i in ids)


def test_main_graph_nodes_edges_and_clusters():
    model = build_model(GRAPHS / "viz_main.pbtxt")
    assert model.valid and not model.issues
    calcs = {n.name: n for n in model.nodes if n.kind == "calculator"}
    spec = load_graph(GRAPHS / "viz_main.pbtxt")
    assert set(calcs) == {n.name for n in spec.nodes}
    assert calcs["stage/inner/loop"].cluster == ("stage", "stage/inner")
    assert calcs["stage/inner/loop"].calculator == "PreviousLoopbackCalculator"
    assert calcs["tail"].cluster == ()
    assert calcs["stage/inner/loop"].file.endswith("viz_test_inner.pbtxt")
    assert calcs["limiter"].line == 9 and calcs["limiter"].file.endswith("viz_main.pbtxt")

    clusters = {c.path: c for c in model.clusters}
    assert set(clusters) == {"stage", "stage/inner"}
    assert clusters["stage"].type == "VizTestStage" and clusters["stage"].parent is None
    assert clusters["stage/inner"].type == "VizTestInner" and clusters["stage/inner"].parent == "stage"
    assert clusters["stage/inner"].subgraph_file.endswith("viz_test_inner.pbtxt")

    kinds = {(n.kind, n.name) for n in model.nodes if n.kind != "calculator"}
    assert kinds == {("input", "input_value"), ("side_in", "threshold"), ("output", "result"), ("output", "flag")}

    # every input port of every node is one edge from its producer
    expected = sum(len(n.inputs) + len(n.input_side_packets) for n in spec.nodes) + len(spec.output_streams)
    assert len(model.edges) == expected

    (finished,) = [e for e in edges_by(model, "result") if e.dst == calcs["limiter"].id]
    assert finished.back_edge and finished.dst_port == "FINISHED" and not finished.side
    (loop,) = [e for e in model.edges if e.dst == calcs["stage/inner/loop"].id and e.dst_port == "LOOP"]
    assert loop.back_edge and loop.stream == "stage/b"
    assert sum(e.back_edge for e in model.edges) == 2

    (allow,) = edges_by(model, "allow_all")
    assert allow.side and allow.src == calcs["constants"].id and allow.dst_port == "ALLOW"
    (threshold,) = edges_by(model, "threshold")
    assert threshold.side and names(model, [threshold.src]) == ["threshold"]
    assert sorted(names(model, [e.dst for e in edges_by(model, "staged")])) == ["tail", "threshold"]
    assert names(model, [e.dst for e in edges_by(model, "stage/a")]) == ["stage/inner/loop", "stage/inner/pick",
                                                                          "stage/merge"]

    # options: as written, and the effective values with defaults
    assert "max_in_flight: 1" in calcs["limiter"].options_text
    assert calcs["limiter"].options == {"max_in_flight": "1", "max_in_queue": "0", "in_flight_timeout": "0"}
    assert "threshold: 0.5" in calcs["threshold"].options_text
    assert calcs["threshold"].options["threshold"] == "0.5"
    ports = {p.label: p for p in calcs["limiter"].ports}
    assert ports["FINISHED"].back_edge and ports["FINISHED"].type == "Any"


def test_collapsed_view_replaces_each_subgraph_by_one_node():
    model = build_model(GRAPHS / "viz_main.pbtxt")
    view = model.collapsed()
    assert view.collapsed_view and not view.clusters
    (box,) = [n for n in view.nodes if n.kind == "subgraph"]
    assert box.name == "stage" and box.calculator == "VizTestStage"
    assert sorted(box.members) == ["stage/first", "stage/inner/loop", "stage/inner/pick", "stage/merge"]
    assert not any(n.cluster for n in view.nodes)
    into = [e for e in view.edges if e.dst == box.id]
    out = [e for e in view.edges if e.src == box.id]
    assert [e.stream for e in into] == ["gated"]
    assert sorted(e.stream for e in out) == ["staged", "staged"]
    assert not any(e.src == e.dst for e in view.edges)  # the loop inside the subgraph is hidden
    assert [e.stream for e in view.edges if e.back_edge] == ["result"]
    assert {p.name for p in box.ports} == {"gated", "staged"}
    ids = {n.id for n in view.nodes}
    assert all(e.src in ids and e.dst in ids for e in view.edges)


def test_invalid_graph_is_drawn_with_problems_on_the_nodes():
    model = build_model(GRAPHS / "viz_invalid.pbtxt")
    assert len(model.issues) == 4
    calcs = {n.name: n for n in model.nodes if n.kind == "calculator"}
    # every node is still there, including the unknown calculator and the expanded subgraph
    assert set(calcs) == {"ok_node", "unknown_calc", "needs_ghost", "bad_tag", "stage/first", "stage/inner/loop",
                          "stage/inner/pick", "stage/merge"}
    assert not calcs["ok_node"].issues and not calcs["stage/first"].issues
    assert any("unknown calculator 'NoSuchCalculatorAnywhere'" in i for i in calcs["unknown_calc"].issues)
    assert any(":13)" in i for i in calcs["unknown_calc"].issues)  # with its line
    assert any("ghost_stream" in i and "no producer" in i for i in calcs["needs_ghost"].issues)
    assert len(calcs["bad_tag"].issues) == 2
    # the stream nobody produces gets a placeholder producer; its edge carries the problem
    (ghost,) = [n for n in model.nodes if n.kind == "missing"]
    assert ghost.name == "ghost_stream"
    (edge,) = edges_by(model, "ghost_stream")
    assert edge.src == ghost.id and edge.dst == calcs["needs_ghost"].id and edge.issues
    # the unknown calculator keeps its wiring
    assert {e.dst for e in edges_by(model, "mystery")} == {calcs["bad_tag"].id, calcs["stage/first"].id}
    (wrong_tag,) = [e for e in edges_by(model, "mystery") if e.dst == calcs["bad_tag"].id]
    assert wrong_tag.issues and wrong_tag.dst_port == "WRONG_TAG"
    assert not model.graph_issues


def test_problem_inside_a_subgraph_marks_the_inner_node(tmp_path):
    (tmp_path / "viz_bad_sub.pbtxt").write_text(
        'type: "VizBadSub"\ninput_stream: "IN:x"\noutput_stream: "OUT:y"\n'
        'node {\n  calculator: "ThresholdingCalculator"\n  name: "thr"\n  input_stream: "FLOAT:x"\n'
        '  output_stream: "FLAG:y"\n  options { [posegraph.ThresholdingOptions.ext] { threshold: 0.5 } }\n'
        '  input_side_packet: "THRESHOLD:nowhere"\n}\n')
    (tmp_path / "top.pbtxt").write_text(
        'input_stream: "v"\noutput_stream: "out"\n'
        'node { calculator: "VizBadSub" name: "wrapped" input_stream: "IN:v" output_stream: "OUT:out" }\n'
        'node { calculator: "VizMissingSub" name: "gone" input_stream: "v" }\n')
    model = build_model(tmp_path / "top.pbtxt")
    calcs = {n.name: n for n in model.nodes if n.kind == "calculator"}
    assert calcs["wrapped/thr"].cluster == ("wrapped",)
    assert any("nowhere" in i and "viz_bad_sub.pbtxt:10" in i for i in calcs["wrapped/thr"].issues)
    assert any("unknown calculator 'VizMissingSub'" in i for i in calcs["gone"].issues)
    (side,) = [n for n in model.nodes if n.kind == "side_in"]
    assert side.name == "wrapped/nowhere"  # drawn as a side packet the application would have to supply


def test_syntax_error_gives_an_empty_drawing_with_the_error():
    model = build_model(GRAPHS / "viz_syntax_error.pbtxt")
    assert model.nodes == [] and model.edges == []
    assert len(model.issues) == 1 and model.graph_issues == model.issues
    assert "viz_syntax_error.pbtxt:6" in model.issues[0] and "syntax error" in model.issues[0]


def test_model_from_a_running_graph_matches_the_file():
    from_file = build_model(GRAPHS / "viz_main.pbtxt")
    from_spec = model_from_spec(Graph(GRAPHS / "viz_main.pbtxt").spec)

    def shape(model):
        by_id = {n.id: n for n in model.nodes}
        nodes = sorted((n.kind, n.name, n.cluster) for n in model.nodes)
        edges = sorted((by_id[e.src].name, by_id[e.dst].name, e.stream, e.side, e.back_edge) for e in model.edges)
        return nodes, edges, sorted((c.path, c.parent) for c in model.clusters)

    assert shape(from_spec) == shape(from_file)
