"""InferenceCalculator with ``max_in_flight``: one interpreter per overlapping call (the first with the auto threads
for a call alone in the process, the others with half as many); outputs identical and in timestamp order."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from posegraph import Graph

pytestmark = pytest.mark.timeout(60)

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
DETECTOR = SHARED / "models" / "blazepose_pose_detection.tflite"
if not DETECTOR.is_file():
    pytest.skip(f"shared models not found at {DETECTOR.parent}", allow_module_level=True)

GRAPH = """
input_stream: 'tensors'  output_stream: 'out'  num_threads: 3
node {{ name: 'infer' calculator: 'InferenceCalculator' input_stream: 'TENSORS:tensors' output_stream: 'TENSORS:out'
       max_in_flight: {n} options {{ [posegraph.InferenceOptions.ext] {{ model: '{model}' }} }} }}
"""


def run(n: int, images: list[np.ndarray]) -> tuple[list, list[int]]:
    graph = Graph(GRAPH.format(n=n, model=DETECTOR))
    out: list = []
    graph.observe_output("out", lambda p: out.append((p.timestamp, p.value)))
    graph.start()
    infer = next(v.instance for v in graph.nodes if v.name == "infer")
    threads = [lease.model.num_threads for lease in infer._leases]
    for t, image in enumerate(images):
        graph.add_packet("tensors", [image], t)
    graph.close(timeout=30)
    return out, threads


def test_overlapping_calls_get_their_own_interpreters_and_give_the_same_outputs_in_order(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # auto threads: 2 alone, 1 beside other calls
    rng = np.random.default_rng(0)
    images = [rng.random((1, 224, 224, 3), np.float32) for _ in range(12)]
    serial, serial_threads = run(1, images)
    overlapped, overlapped_threads = run(2, images)
    assert serial_threads == [2] and overlapped_threads == [2, 1]
    assert [t for t, _ in overlapped] == list(range(len(images)))
    for (_, a), (_, b) in zip(serial, overlapped):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_given_threads_are_kept_for_every_interpreter():
    graph = Graph(GRAPH.format(n=2, model=DETECTOR).replace("model:", "num_threads: 3 model:"))
    graph.start()
    infer = next(v.instance for v in graph.nodes if v.name == "infer")
    assert [lease.model.num_threads for lease in infer._leases] == [3, 3]
    graph.close(timeout=30)


def test_a_failing_call_among_overlapping_ones_fails_the_run_and_releases_every_interpreter(monkeypatch):
    from posegraph.calculators.inference.model_pool import POOL
    from posegraph.errors import CalculatorError

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    POOL.clear()
    graph = Graph(GRAPH.format(n=2, model=DETECTOR))
    graph.start()
    good = np.zeros((1, 224, 224, 3), np.float32)
    with pytest.raises(CalculatorError, match="infer"):
        for t in range(20):
            graph.add_packet("tensors", [good if t != 5 else good[:, :100]], t)
        graph.close(timeout=30)
    assert graph.done
    assert POOL.idle_count() == 2  # the wide interpreter and the narrow one went back to the pool
