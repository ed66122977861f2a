"""Limits that keep a hostile or broken graph file from hanging the loader or taking the machine: the source
mapper always terminates, subgraph expansion stops at a node and depth limit, thread counts are capped, and a graph
file cannot choose where the profiler writes."""

from __future__ import annotations

import time

import pytest
from cfg_helpers import write
from hypothesis import given, settings
from hypothesis import strategies as st

from posegraph.config import GraphConfigError, load_graph
from posegraph.config.expand import MAX_EXPANDED_NODES, MAX_SUBGRAPH_DEPTH
from posegraph.config.source_map import build_source_map
from posegraph.config.validate import MAX_NUM_THREADS, trace_path_problem

pytestmark = pytest.mark.timeout(60)

SUB = """
type: "TestCfgLimitSub"
input_stream: "IN:a"
output_stream: "OUT:b"
node { calculator: "TestCfgScale" input_stream: "a" output_stream: "b" }
"""

PARENT = """
input_stream: "x"
output_stream: "y"
node { calculator: "TestCfgLimitSub" input_stream: "IN:x" output_stream: "OUT:y" }
"""


@pytest.mark.parametrize("text", [
    'input_stream[ "x" : \n',
    'node { input_stream [ "a" : "b" = ] }',
    "a [ : : : = ",
    'node [ { x: 1 } : { } ',
])
def test_source_map_terminates_on_list_typos(text):
    start = time.monotonic()
    smap = build_source_map(text * 50)
    assert time.monotonic() - start < 5
    assert len(smap.lines) <= len(text) * 50


@settings(max_examples=300, deadline=2000)
@given(st.lists(st.sampled_from(["[", "]", "{", "}", "<", ">", ":", ",", ";", "-", "=", '"s"', "w", "#c\n", "\n"]),
                max_size=60).map(" ".join))
def test_source_map_terminates_on_token_soup(text):
    smap = build_source_map(text)
    assert len(smap.lines) <= len(text)


def test_bracket_typo_in_a_subgraph_gives_an_error_not_a_hang(tmp_path):
    write(tmp_path, "test_cfg_limit_sub.pbtxt", SUB.replace('input_stream: "IN:a"', 'input_stream[ "IN:a"'))
    start = time.monotonic()
    with pytest.raises(GraphConfigError):
        load_graph(PARENT, search_paths=[tmp_path])
    assert time.monotonic() - start < 10


def test_malformed_file_next_to_a_graph_with_an_unknown_calculator(tmp_path):
    write(tmp_path, "broken.pbtxt", 'type: "Broken"\ninput_stream[ "x" : "y"\nnode { calculator: "Q" }\n')
    graph = tmp_path / "main.pbtxt"
    write(tmp_path, "main.pbtxt", 'input_stream: "x"\nnode { calculator: "NoSuchCalc" input_stream: "x" }\n')
    with pytest.raises(GraphConfigError, match="NoSuchCalc"):
        load_graph(graph)


def test_subgraph_fan_out_stops_at_the_node_limit(tmp_path):
    # 13 files under 1 KB; each uses the next one 4 times: 4**13 = 67 million nodes if expanded.
    levels = 13
    for level in range(levels):
        if level == levels - 1:
            body = 'node { calculator: "TestCfgScale" input_stream: "a" output_stream: "b" }\n'
        else:
            body = "".join(f'node {{ calculator: "TestCfgFan{level + 1}" input_stream: "IN:a" '
                           f'output_stream: "OUT:b{k}" }}\n' for k in range(4))
        text = f'type: "TestCfgFan{level}"\ninput_stream: "IN:a"\noutput_stream: "OUT:b"\n{body}'
        assert len(text) < 1024
        write(tmp_path, f"test_cfg_fan{level}.pbtxt", text)
    start = time.monotonic()
    with pytest.raises(GraphConfigError, match=f"more than {MAX_EXPANDED_NODES} nodes") as info:
        load_graph('input_stream: "x"\nnode { calculator: "TestCfgFan0" input_stream: "IN:x" }\n',
                   search_paths=[tmp_path])
    assert time.monotonic() - start < 40  # about 2 s on a quiet machine
    assert "test_cfg_fan" in str(info.value)  # names the file it was expanding


def test_subgraph_depth_limit(tmp_path):
    depth = MAX_SUBGRAPH_DEPTH + 3
    for level in range(depth):
        inner = (f'node {{ calculator: "TestCfgDeep{level + 1}" input_stream: "IN:a" output_stream: "OUT:b" }}'
                 if level < depth - 1 else 'node { calculator: "TestCfgScale" input_stream: "a" output_stream: "b" }')
        write(tmp_path, f"test_cfg_deep{level}.pbtxt",
              f'type: "TestCfgDeep{level}"\ninput_stream: "IN:a"\noutput_stream: "OUT:b"\n{inner}\n')
    with pytest.raises(GraphConfigError, match=f"nest more than {MAX_SUBGRAPH_DEPTH} deep"):
        load_graph('input_stream: "x"\nnode { calculator: "TestCfgDeep0" input_stream: "IN:x" '
                   'output_stream: "OUT:y" }\n', search_paths=[tmp_path])


@pytest.mark.parametrize("setting", ["num_threads: 1000000", 'executor { name: "pool" num_threads: 1000000 }'])
def test_thread_counts_are_capped(setting):
    text = f'input_stream: "x"\n{setting}\nnode {{ calculator: "TestCfgScale" input_stream: "x" output_stream: "y" }}\n'
    with pytest.raises(GraphConfigError, match=f"limit of {MAX_NUM_THREADS} threads"):
        load_graph(text)


def test_thread_count_at_the_cap_is_accepted():
    text = (f'input_stream: "x"\nnum_threads: {MAX_NUM_THREADS}\n'
            'node { calculator: "TestCfgScale" input_stream: "x" output_stream: "y" }\n')
    assert load_graph(text).num_threads == MAX_NUM_THREADS


@pytest.mark.parametrize("path", ["/tmp/x.json", "../x.json", "a/../../x.json", "~/x.json", "C:\\x.json",
                                  "\\\\server\\share\\x.json", "traces/..\\..\\x.json"])
def test_graph_file_cannot_write_the_trace_outside_the_working_directory(path):
    assert trace_path_problem(path)
    text = (f'input_stream: "x"\nprofiler_config {{ trace_enabled: true trace_path: "{path}" }}\n'
            'node { calculator: "TestCfgScale" input_stream: "x" output_stream: "y" }\n').replace("\\", "\\\\")
    with pytest.raises(GraphConfigError, match="trace_path") as info:
        load_graph(text)
    assert "Graph(trace_path=...)" in str(info.value)


@pytest.mark.parametrize("path", ["trace.json", "traces/run1.json", "./t.json"])
def test_relative_trace_path_is_allowed(path):
    text = (f'input_stream: "x"\nprofiler_config {{ trace_enabled: true trace_path: "{path}" }}\n'
            'node { calculator: "TestCfgScale" input_stream: "x" output_stream: "y" }\n')
    assert load_graph(text).profiler.trace_path == path
