"""InferenceCalculator with ``max_in_flight``: one interpreter per overlapping call (the first with the auto threads
for a call alone in the process; the others with half as many), all loaded at open, or with ``load_extra_on_overlap``
the others by the first call beside others; outputs identical and in timestamp order."""

from __future__ import annotations

import os
import threading
import time
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
       max_in_flight: {n} options {{ [posegraph.InferenceOptions.ext] {{ model: '{model}' {extra} }} }} }}
"""
LAZY = "load_extra_on_overlap: true"


def run(n: int, images: list[np.ndarray], extra: str = LAZY) -> tuple[list, list[int], list[int]]:
    """Outputs, the interpreters' threads after open, and after the run."""
    graph = Graph(GRAPH.format(n=n, model=DETECTOR, extra=extra))
    out: list = []
    graph.observe_output("out", lambda p: out.append((p.timestamp, p.value)))
    graph.start()
    infer = next(v.instance for v in graph.nodes if v.name == "infer")
    leases = infer._leases  # the list the node appends to; close() drops the node's reference to it
    opened = [lease.model.num_threads for lease in leases]
    for t, image in enumerate(images):
        graph.add_packet("tensors", [image], t)
    graph.close(timeout=30)
    return out, opened, [lease.model.num_threads for lease in leases]


def overlap_first_call(monkeypatch) -> None:
    """Make the first model call wait (at most 10 s) until a second one has started, so that calls overlap."""
    from posegraph.calculators.inference.core_gauge import GAUGE
    from posegraph.calculators.inference.model_pool import Lease

    first = threading.Event()
    run_model = Lease.run

    def run_(self, *tensors, **kwargs):
        if not first.is_set():
            first.set()
            deadline = time.monotonic() + 10
            while GAUGE.running < 2 and time.monotonic() < deadline:
                time.sleep(0.001)
        return run_model(self, *tensors, **kwargs)

    monkeypatch.setattr(Lease, "run", run_)


def fail_narrow_loads(monkeypatch) -> None:
    """Make every one-thread (narrow) interpreter fail to load."""
    from posegraph.calculators.inference import inference_calculator

    lease_model = inference_calculator.lease_model

    def lease(path, backend, *, num_threads, **kwargs):
        if num_threads == 1:
            raise MemoryError("no room for the narrow interpreter")
        return lease_model(path, backend, num_threads=num_threads, **kwargs)

    monkeypatch.setattr(inference_calculator, "lease_model", lease)


def test_overlapping_calls_get_their_own_interpreters_and_give_the_same_outputs_in_order(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # auto threads: 2 alone, 1 beside other calls
    rng = np.random.default_rng(0)
    images = [rng.random((1, 224, 224, 3), np.float32) for _ in range(12)]
    serial, _, serial_threads = run(1, images)
    overlap_first_call(monkeypatch)
    overlapped, opened, overlapped_threads = run(2, images)
    assert serial_threads == [2] and opened == [2] and overlapped_threads == [2, 1]
    assert [t for t, _ in overlapped] == list(range(len(images)))
    eager, eager_opened, eager_threads = run(2, images, extra="")  # the default: every interpreter at open
    assert eager_opened == [2, 1] and eager_threads == [2, 1]
    assert [t for t, _ in eager] == list(range(len(images)))
    for (_, a), (_, b), (_, c) in zip(serial, overlapped, eager):
        assert all(np.array_equal(x, y) and np.array_equal(x, z) for x, y, z in zip(a, b, c))


def test_calls_that_never_overlap_load_one_interpreter(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    graph = Graph(GRAPH.format(n=2, model=DETECTOR, extra=LAZY))
    out: list = []
    graph.observe_output("out", lambda p: out.append(p.timestamp))
    graph.start()
    infer = next(v.instance for v in graph.nodes if v.name == "infer")
    leases = infer._leases
    for t in range(4):  # one at a time, as tracking's frames come (each waits for the previous one's output)
        graph.add_packet("tensors", [np.zeros((1, 224, 224, 3), np.float32)], t)
        deadline = time.monotonic() + 10
        while len(out) <= t and time.monotonic() < deadline:
            time.sleep(0.001)
    graph.close(timeout=30)
    assert out == [0, 1, 2, 3] and [lease.model.num_threads for lease in leases] == [2]


def test_given_threads_are_kept_for_every_interpreter(monkeypatch):
    overlap_first_call(monkeypatch)
    graph = Graph(GRAPH.format(n=2, model=DETECTOR, extra=LAZY).replace("model:", "num_threads: 3 model:"))
    graph.start()
    leases = next(v.instance for v in graph.nodes if v.name == "infer")._leases
    for t in range(4):
        graph.add_packet("tensors", [np.zeros((1, 224, 224, 3), np.float32)], t)
    graph.close(timeout=30)
    assert [lease.model.num_threads for lease in leases] == [3, 3]


def test_a_failing_call_among_overlapping_ones_fails_the_run_and_releases_every_interpreter(monkeypatch):
    from posegraph.calculators.inference.model_pool import POOL
    from posegraph.errors import CalculatorError

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    overlap_first_call(monkeypatch)
    POOL.clear()
    graph = Graph(GRAPH.format(n=2, model=DETECTOR, extra=LAZY))
    graph.start()
    good = np.zeros((1, 224, 224, 3), np.float32)
    with pytest.raises(CalculatorError, match="infer"):
        for t in range(20):
            graph.add_packet("tensors", [good if t != 5 else good[:, :100]], t)
        graph.close(timeout=30)
    assert graph.done
    assert POOL.idle_count() == 2  # the wide interpreter and the narrow one went back to the pool


def test_a_narrow_interpreter_that_fails_to_load_fails_the_run_and_the_wide_one_goes_back(monkeypatch):
    from posegraph.calculators.inference.model_pool import POOL
    from posegraph.errors import CalculatorError

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    overlap_first_call(monkeypatch)
    fail_narrow_loads(monkeypatch)
    POOL.clear()
    graph = Graph(GRAPH.format(n=2, model=DETECTOR, extra=LAZY))
    graph.start()
    with pytest.raises(CalculatorError, match="no room"):
        try:
            for t in range(20):
                graph.add_packet("tensors", [np.zeros((1, 224, 224, 3), np.float32)], t)
        finally:
            graph.close(timeout=30)
    assert graph.done
    assert POOL.idle_count() == 1


def test_without_load_extra_on_overlap_a_failing_load_fails_open_and_the_wide_one_goes_back(monkeypatch):
    from posegraph.calculators.inference.model_pool import POOL

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    fail_narrow_loads(monkeypatch)
    POOL.clear()
    graph = Graph(GRAPH.format(n=2, model=DETECTOR, extra=""))
    with pytest.raises(Exception, match="no room"):
        graph.start()
    graph.close(timeout=30)
    assert POOL.idle_count() == 1


OPTIONAL = """
input_stream: 'tensors'  output_stream: 'out'  input_side_packet: 'wanted'
node {{ name: 'infer' calculator: 'InferenceCalculator' input_stream: 'TENSORS:tensors' output_stream: 'TENSORS:out'
       {side} options {{ [posegraph.InferenceOptions.ext] {{ model: '{model}' optional_outputs: 1 }} }} }}
"""


@pytest.mark.parametrize("wanted", [True, False, None])
def test_optional_outputs_are_copied_out_only_when_the_side_packet_says_so(wanted):
    image = np.random.default_rng(0).uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
    side = "" if wanted is None else "input_side_packet: 'OPTIONAL_OUTPUTS:wanted'"
    graph = Graph(OPTIONAL.format(side=side, model=DETECTOR))
    got = graph.process({"tensors": [image]}, timestamp=0) if wanted is None else None
    if wanted is not None:
        graph.start({"wanted": wanted}, synchronous=True)
        got = graph.process({"tensors": [image]}, timestamp=0)
    graph.close(timeout=30)
    full = Graph(GRAPH.format(n=1, model=DETECTOR, extra="")).process({"tensors": [image]}, timestamp=0)["out"]
    out = got["out"]
    assert len(out) == len(full) == 2 and np.array_equal(out[0], full[0])
    if wanted:
        assert np.array_equal(out[1], full[1])
    else:  # not copied out: an empty array of the output's dtype in its place
        assert out[1].shape == (0,) and out[1].dtype == full[1].dtype


def test_optional_outputs_past_the_model_are_refused():
    graph = Graph(OPTIONAL.format(side="", model=DETECTOR).replace("optional_outputs: 1", "optional_outputs: 5"))
    with pytest.raises(Exception, match="optional_outputs"):
        graph.start(synchronous=True)
