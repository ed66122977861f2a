"""Errors, cancellation, back-pressure and shutdown: the graph stops, says where, loses nothing, never hangs."""

from __future__ import annotations

import threading
import time

import pytest

from posegraph import CalculatorError, Graph, GraphCancelledError, GraphTimeoutError, StreamError

from . import calcs

pytestmark = pytest.mark.timeout(60)

CHAIN = """
input_stream: 'v'  output_stream: 'out'
node {{ name: 'first' calculator: 'RtFail' input_stream: 'v' output_stream: 'a' }}
node {{ name: 'bad' calculator: 'RtFail' input_stream: 'a' output_stream: 'b'
        options {{ [posegraph.FailOptions.ext] {{ fail_at: {fail_at} fail_in: '{fail_in}' }} }} }}
node {{ name: 'last' calculator: 'RtFail' input_stream: 'b' output_stream: 'out' }}
"""


@pytest.fixture(autouse=True)
def clear_log():
    calcs.CALLS.clear()


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_process_failure_stops_graph_names_node_and_timestamp(threads):
    before = threading.active_count()
    graph = Graph(CHAIN.format(fail_at=5, fail_in="process"), num_threads=threads)
    got = []
    graph.observe_output("out", lambda p: got.append(p.timestamp))
    graph.start()
    started = time.monotonic()
    with pytest.raises(CalculatorError) as info:
        for t in range(100):
            graph.add_packet("v", t, t)
        graph.close(timeout=10)
    with pytest.raises(CalculatorError):
        graph.wait_until_done(timeout=10)
    assert time.monotonic() - started < 5
    err = info.value
    assert err.node == "bad" and err.timestamp == 5 and err.method == "process"
    assert isinstance(err.original, ValueError)
    assert "explode_here" in err.original_traceback
    assert got == [0, 1, 2, 3, 4]  # everything before the failure was delivered
    assert sorted(calcs.CALLS["close"]) == ["bad", "first", "last"]  # each opened node closed exactly once
    assert threading.active_count() == before


def test_open_failure_closes_the_nodes_that_opened():
    graph = Graph(CHAIN.format(fail_at=-1, fail_in="open"))
    with pytest.raises(CalculatorError, match="node 'bad' failed in open"):
        graph.start()
    assert calcs.CALLS["open"] == ["first", "bad"]
    assert calcs.CALLS["close"] == ["first"]


def test_close_failure_is_reported():
    graph = Graph(CHAIN.format(fail_at=-1, fail_in="close"))
    graph.start()
    graph.add_packet("v", 1, 0)
    with pytest.raises(CalculatorError, match="failed in close"):
        graph.close(timeout=10)
    assert sorted(calcs.CALLS["close"]) == ["bad", "first", "last"]


def test_skip_policy_counts_the_failed_timestamp_and_goes_on():
    graph = Graph(CHAIN.format(fail_at=3, fail_in="process"), error_policy="skip")
    got = []
    graph.observe_output("out", lambda p: got.append(p.timestamp))
    graph.start()
    with pytest.warns(UserWarning, match="skipped"):
        for t in range(6):
            graph.add_packet("v", t, t)
        graph.close(timeout=10)
    assert got == [0, 1, 2, 4, 5]
    assert next(s for s in graph.node_stats() if s.name == "bad").errors == 1


def test_timestamps_must_increase_on_graph_inputs():
    with Graph("input_stream: 'v' output_stream: 'o' node { calculator: 'PassThroughCalculator' "
               "input_stream: 'v' output_stream: 'o' }") as graph:
        graph.start()
        graph.add_packet("v", 1, 10)
        with pytest.raises(StreamError, match="stream 'v'.*not greater"):
            graph.add_packet("v", 2, 10)
        with pytest.raises(StreamError, match="not a graph input stream"):
            graph.add_packet("nope", 2, 11)


SLOW = """
input_stream: 'v'  output_stream: 'out'
max_queue_size: 4
node { calculator: 'DelayCalculator' input_stream: 'v' output_stream: 'out'
       options { [posegraph.DelayOptions.ext] { ms: 50 } } }
"""


def test_back_pressure_blocks_then_drop_mode_counts():
    graph = Graph(SLOW)
    graph.start()
    results = [graph.add_packet("v", t, t, block=False) for t in range(20)]
    assert results.count(False) > 0
    assert graph.dropped_inputs()["v"] == results.count(False)
    with pytest.raises(GraphTimeoutError):
        for t in range(20, 40):
            graph.add_packet("v", t, t, timeout=0.01)
    graph.cancel()
    with pytest.raises(GraphCancelledError):
        graph.wait_until_done(timeout=5)


def test_cancel_from_another_thread_unblocks_a_blocked_add_packet():
    graph = Graph(SLOW.replace("0.05", "0.5"))
    graph.start()
    errors = []

    def feed():
        try:
            for t in range(100):
                graph.add_packet("v", t, t)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    feeder = threading.Thread(target=feed)
    feeder.start()
    time.sleep(0.3)
    started = time.monotonic()
    graph.cancel()
    feeder.join(2.0)
    assert not feeder.is_alive()
    assert time.monotonic() - started < 1.0
    assert errors and isinstance(errors[0], GraphCancelledError)
    with pytest.raises(GraphCancelledError):
        graph.wait_until_done(timeout=5)


def test_observer_exception_stops_the_graph():
    graph = Graph("input_stream: 'v' output_stream: 'o' node { calculator: 'PassThroughCalculator' "
                  "input_stream: 'v' output_stream: 'o' }")

    def bad(packet):
        raise KeyError("app bug")
    graph.observe_output("o", bad)
    graph.start()
    graph.add_packet("v", 1, 0)
    with pytest.raises(CalculatorError, match="observer of 'o'"):
        graph.close(timeout=5)


def test_deadlock_is_relieved_by_growing_a_queue():
    # 'b' arrives only after many 'a': a strict queue limit would deadlock the feeding thread.
    text = """
    input_stream: 'a'  input_stream: 'b'  output_stream: 's'  max_queue_size: 2
    node { calculator: 'RtSum' input_stream: 'a' input_stream: 'b' output_stream: 's' }
    """
    graph = Graph(text)
    got = []
    graph.observe_output("s", lambda p: got.append(p.value))
    graph.start()
    with pytest.warns(UserWarning, match="deadlock"):
        for t in range(10):
            graph.add_packet("a", 1, t)
        for t in range(10):
            graph.add_packet("b", 1, t)
    graph.close(timeout=5)
    assert got == [2] * 10


def test_context_manager_closes_and_raises():
    with pytest.raises(CalculatorError):
        with Graph(CHAIN.format(fail_at=0, fail_in="process")) as graph:
            graph.start()
            graph.add_packet("v", 1, 0)
    assert sorted(calcs.CALLS["close"]) == ["bad", "first", "last"]


def test_deferred_error_is_raised_after_everything_drained():
    from posegraph import STOP, Calculator, Output, calculator

    @calculator("RtDamagedSource")
    class DamagedSource(Calculator):
        OUT = Output("")

        def open(self, ctx):
            self.i = 0

        def process(self, ctx):
            if self.i == 5:
                ctx.defer_error(IOError("stream damaged after frame 4"))
                return STOP
            ctx.send(self.OUT, self.i, timestamp=self.i)
            self.i += 1

    graph = Graph("output_stream: 'o' node { name: 'src' calculator: 'RtDamagedSource' output_stream: 'm' }\n"
                  "node { calculator: 'DelayCalculator' input_stream: 'm' output_stream: 'o' "
                  "options { [posegraph.DelayOptions.ext] { ms: 10 } } }")
    got = []
    graph.observe_output("o", lambda p: got.append(p.value))
    graph.start()
    with pytest.raises(CalculatorError, match="node 'src'.*damaged after frame 4"):
        graph.wait_until_done(timeout=10)
    assert got == [0, 1, 2, 3, 4]
