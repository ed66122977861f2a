"""Property: any random DAG of simple calculators gives the same outputs as a plain sequential evaluation,
in every thread count."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posegraph import Graph

from .calcs import SumOptions, sum_value

pytestmark = pytest.mark.timeout(300)


@st.composite
def dags(draw):
    n_inputs = draw(st.integers(1, 3))
    streams = [f"in{i}" for i in range(n_inputs)]
    nodes = []
    for i in range(draw(st.integers(1, 8))):
        ins = draw(st.lists(st.sampled_from(streams), min_size=1, max_size=3, unique=True))
        opts = SumOptions(mul=draw(st.integers(1, 5)), add=draw(st.integers(0, 9)),
                          drop_mod=draw(st.sampled_from([0, 0, 2, 3])))
        nodes.append((f"n{i}", ins, opts))
        streams.append(f"n{i}")
    frames = draw(st.lists(st.tuples(*[st.one_of(st.none(), st.integers(0, 50)) for _ in range(n_inputs)]),
                           min_size=1, max_size=12))
    return n_inputs, nodes, frames


def graph_text(n_inputs, nodes) -> str:
    lines = [f"input_stream: 'in{i}'" for i in range(n_inputs)]
    lines += [f"output_stream: '{name}'" for name, _, _ in nodes]
    for name, ins, o in nodes:
        lines.append(f"node {{ name: '{name}' calculator: 'RtSum' "
                     + " ".join(f"input_stream: '{s}'" for s in ins)
                     + f" output_stream: '{name}' options {{ [posegraph.SumOptions.ext] "
                       f"{{ mul: {o.mul} add: {o.add} drop_mod: {o.drop_mod} }} }} }}")
    return "\n".join(lines)


def sequential(n_inputs, nodes, frames):
    out = {name: [] for name, _, _ in nodes}
    for ts, frame in enumerate(frames):
        values = {f"in{i}": v for i, v in enumerate(frame)}
        for name, ins, opts in nodes:
            values[name] = sum_value([values[s] for s in ins], opts)
            if values[name] is not None:
                out[name].append((ts, values[name]))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags(), st.sampled_from([1, 2, 4]))
def test_random_dags_match_sequential_evaluation(dag, threads):
    n_inputs, nodes, frames = dag
    graph = Graph(graph_text(n_inputs, nodes), num_threads=threads)
    got = {name: [] for name, _, _ in nodes}
    for name in got:
        graph.observe_output(name, lambda p, name=name: got[name].append((p.timestamp, p.value)))
    graph.start()
    for ts, frame in enumerate(frames):
        for i, v in enumerate(frame):
            if v is not None:
                graph.add_packet(f"in{i}", v, ts)
    graph.close(timeout=20)
    assert got == sequential(n_inputs, nodes, frames)
