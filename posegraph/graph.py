"""`Graph`: the embedding API. Build from a file, text or config; feed packets; observe or poll outputs.

Typical streaming use::

    with Graph("graphs/my_graph.pbtxt") as graph:
        graph.observe_output("out", lambda packet: print(packet.value))
        graph.start({"threshold": 0.5})
        for i, frame in enumerate(frames):
            graph.add_packet("in", frame, timestamp=i)
    # leaving the block closes the inputs and waits until everything drained

or frame at a time: ``outputs = graph.process({"in": frame})``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Any, Callable, Iterator

from . import config as _config
from .coercion import input_coercers
from .config.model import ValidatedGraph
from .context import CloseContext, OpenContext
from .deadline import Deadline
from .errors import CalculatorError, GraphConfigError, PosegraphError, StreamError, WatchdogError
from .node import CLOSED, OPENED, NodeRuntime, OutputStream
from .packet import EMPTY, Packet, Timestamp, as_timestamp
from .profiler import GraphProfile, NodeStats, TraceRecorder, summarize
from .scheduler import Executor, Scheduler
from .views import NodeView, node_view
from .watchdog import Watchdog

def _untimed(stream: OutputStream, producer: NodeRuntime) -> bool:
    """Whether `stream` may carry packets in any timestamp order: every node reading it uses the barrier handler
    (or, read by no node, its producer does), as MediaPipe's barrier streams skip the order check."""
    readers = [queue.node for queue in stream.consumers]
    if readers:
        return all(reader.handler == "barrier" for reader in readers)
    return producer.handler == "barrier"


class GraphOutput:
    """An observed stream (a graph output, or any stream observed by name): observers and pollers, fed in timestamp
    order; observers registered with ``observe_timestamp_bounds`` also get an empty packet (``packet.is_empty``)
    at the settled timestamp (bound - 1) when the bound moves without a packet, as MediaPipe's."""

    def __init__(self, name: str):
        self.name = name
        self.bound = Timestamp.UNSTARTED           # written under the scheduler lock
        self.delivered_bound = Timestamp.UNSTARTED  # what observers/pollers have been given
        self._incoming: deque[Packet] = deque()
        self._drain_lock = threading.Lock()
        self.observers: list[Callable[[Packet], Any]] = []
        self.bound_observers: list[Callable[[Packet], Any]] = []
        self.last_delivered = Timestamp.UNSTARTED  # timestamp of the last packet (or empty packet) delivered
        self.pollers: list[OutputPoller] = []
        self.collect_sync = False
        self.sync_values: dict[int, Any] = {}

    def reset(self, synchronous: bool) -> None:
        """A new run: nothing delivered yet (observers and pollers stay registered)."""
        self.bound = self.delivered_bound = self.last_delivered = Timestamp.UNSTARTED
        self._incoming.clear()
        self.collect_sync = synchronous
        self.sync_values.clear()

    @property
    def quiet(self) -> bool:
        """Whether delivering calls nothing (no observers, no pollers): only process()'s collection, if any."""
        return not (self.observers or self.bound_observers or self.pollers)

    def accept(self, packets, bound: int) -> None:  # scheduler lock held
        self._incoming.extend(packets)
        self.bound = bound

    def drain(self) -> None:
        """Deliver what arrived; one thread at a time, retried so that nothing is left behind."""
        while self._incoming or self.delivered_bound < self.bound:
            if not self._drain_lock.acquire(blocking=False):
                return  # the thread holding it re-checks after releasing
            try:
                bound = self.bound  # read first: packets up to this bound are already queued
                while self._incoming:
                    packet = self._incoming.popleft()
                    if self.collect_sync:
                        self.sync_values[packet.timestamp] = packet.value
                    for callback in self.observers:
                        callback(packet)
                    for callback in self.bound_observers:
                        callback(packet)
                    for poller in self.pollers:
                        poller._put(packet)
                    self.last_delivered = packet.timestamp
                if self.bound_observers and bound < Timestamp.DONE:
                    settled = Timestamp.previous_allowed(bound)
                    if settled > self.last_delivered and settled >= Timestamp.MIN:
                        self.last_delivered = settled
                        empty = Packet(EMPTY, settled)
                        for callback in self.bound_observers:
                            callback(empty)
                if bound > self.delivered_bound:
                    self.delivered_bound = bound
                if bound >= Timestamp.DONE:
                    for poller in self.pollers:
                        poller._close()
            finally:
                self._drain_lock.release()


class OutputPoller:
    """Pull packets of one output stream: ``next(timeout)`` or iterate until the stream is done."""

    def __init__(self, graph: "Graph", stream: str):
        self._graph = graph
        self.stream = stream
        self._packets: deque[Packet] = deque()
        self._cond = threading.Condition()
        self._done = False

    def _put(self, packet: Packet) -> None:
        with self._cond:
            self._packets.append(packet)
            self._cond.notify_all()

    def _close(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def next(self, timeout: float | None = None) -> Packet | None:
        """The next packet, or None once the stream is done. Raises the graph's error if it failed."""
        deadline = Deadline(timeout)
        with self._cond:
            while not self._packets and not self._done:
                self._graph._raise_if_failed()
                deadline.wait(self._cond, f"no packet on '{self.stream}' within {timeout} s")
            return self._packets.popleft() if self._packets else None

    def __iter__(self) -> Iterator[Packet]:
        while (packet := self.next()) is not None:
            yield packet


class Graph:
    """A runnable graph. Build it, register observers/pollers, ``start``, feed, ``close``."""

    def __init__(self, config: Any, *, search_paths=(), num_threads: int | None = None,
                 max_queue_size: int | None = None, error_policy: str = "stop",
                 trace_path: str | os.PathLike | None = None, report_deadlock: bool = False,
                 watchdog: Watchdog | float | None = None):
        """`report_deadlock`: fail with DeadlockError instead of growing a full queue when the graph would
        deadlock (MediaPipe's report_deadlock). `watchdog`: a `Watchdog` (seconds per method) or one number for
        every method; by default open() and close() are limited to 10 minutes and process() is not limited."""
        if error_policy not in ("stop", "skip"):
            raise ValueError(f"error_policy must be 'stop' or 'skip', not {error_policy!r}")
        self.spec: ValidatedGraph = config if isinstance(config, ValidatedGraph) else _config.load_graph(
            config, search_paths=search_paths)
        self._num_threads = num_threads or self.spec.num_threads or os.cpu_count() or 1
        self._queue_limit = self.spec.max_queue_size if max_queue_size is None else max_queue_size
        self._error_policy = error_policy
        self._trace_path = trace_path or (self.spec.profiler.trace_path or None)
        self._trace = TraceRecorder() if (trace_path or self.spec.profiler.trace_enabled) else None
        self.outputs = {name: GraphOutput(name) for name in self.spec.output_streams}
        self._observed: dict[str, GraphOutput] = {}  # other streams observed by name
        self._scheduler: Scheduler | None = None
        self._inputs: dict[str, OutputStream] = {}
        self._input_drops = {name: 0 for name in self.spec.input_streams}
        self._input_counts = {name: 0 for name in self.spec.input_streams}
        self._side_packets: dict[str, Any] = {}
        self._nodes: list[NodeRuntime] = []
        self._started_at = 0.0
        self._finished_at = 0.0
        self._next_sync_ts = 0
        self._sync_lock = threading.Lock()
        self._trace_written = False
        self._caller_row: int | None = None
        self._report_deadlock = report_deadlock or bool(getattr(self.spec.config, "report_deadlock", False))
        self._watchdog = Watchdog.of(watchdog)
        self._start_lock = threading.Lock()
        self._starting = False
        self._run_over = False
        self._coercers = input_coercers(self.spec)  # e.g. numpy frames into an image type; see posegraph.coercion

    @property
    def started(self) -> bool:
        """A run was started (it may have ended since: see `done`; ``start()`` may then run the graph again)."""
        return self._scheduler is not None

    @property
    def done(self) -> bool:
        return self._scheduler is not None and self._scheduler.finished.is_set()

    # -- before start ------------------------------------------------------------------------------------------
    def _output(self, stream: str) -> GraphOutput:
        if (self.started and not self._run_over) or self._starting:
            raise PosegraphError("observers and pollers must be added before start()")
        if stream in self.outputs:
            return self.outputs[stream]
        if stream not in self._observed:
            known = set(self.spec.input_streams) | {b.name for n in self.spec.nodes for b in n.outputs}
            if stream not in known:
                raise StreamError(f"'{stream}' is not a stream of this graph; graph outputs: "
                                  f"{', '.join(self.outputs) or '(none)'}")
            self._observed[stream] = GraphOutput(stream)
        return self._observed[stream]

    def observe_output(self, stream: str, callback: Callable[[Packet], Any], *,
                       observe_timestamp_bounds: bool = False) -> None:
        """Call `callback(packet)` for every packet of `stream` (a graph output or any other stream of the graph),
        in timestamp order. With `observe_timestamp_bounds`, also for every bound that moves without a packet,
        with an empty packet (``packet.is_empty``) at the settled timestamp, as MediaPipe's ObserveOutputStream."""
        out = self._output(stream)
        (out.bound_observers if observe_timestamp_bounds else out.observers).append(callback)

    def poller(self, stream: str) -> OutputPoller:
        out = self._output(stream)
        poller = OutputPoller(self, stream)
        out.pollers.append(poller)
        return poller

    # -- start -------------------------------------------------------------------------------------------------
    def start(self, side_packets: dict[str, Any] | None = None, *, synchronous: bool = False) -> "Graph":
        """Open every node (in dependency order) and start the workers.

        `synchronous`: the graph will be driven frame at a time with ``process()`` (which starts it this way
        itself when it is not started yet). A graph whose run ended (``close()`` returned or raised) may be
        started again: every run gets fresh calculator instances, as in MediaPipe.
        """
        with self._start_lock:
            if self._starting or (self._scheduler is not None and not self._run_over):
                raise PosegraphError("graph already started")
            self._scheduler = None
            self._run_over = False
            self._starting = True
        try:
            self._start(side_packets, synchronous)
        except BaseException:
            self._run_over = self._scheduler is not None
            raise
        finally:
            self._starting = False
        return self

    def _start(self, side_packets: dict[str, Any] | None, synchronous: bool) -> None:
        if self._trace is not None and self._trace_path:
            TraceRecorder.check_path(self._trace_path)  # now: the trace is written only when the run ends
        for out in self.outputs.values():
            out.reset(synchronous)
        for out in self._observed.values():
            out.reset(False)
        # Side packets the graph does not declare are accepted, as MediaPipe's StartRun accepts them.
        side_packets = dict(side_packets or {})
        self._inputs = {}
        self._input_drops = {name: 0 for name in self.spec.input_streams}
        self._input_counts = {name: 0 for name in self.spec.input_streams}
        self._finished_at = 0.0
        self._next_sync_ts = 0
        self._trace_written = False
        streams: dict[str, OutputStream] = {}
        for name in self.spec.input_streams:
            streams[name] = self._inputs[name] = OutputStream(name, "graph input")
        self._nodes = [NodeRuntime(spec, rank, self._queue_limit) for rank, spec in enumerate(self.spec.nodes)]
        for node in self._nodes:
            for binding in node.spec.outputs:
                stream = streams.setdefault(binding.name, OutputStream(binding.name, node.name))
                node.outputs.append(stream)
        for node in self._nodes:
            for queue in node.inputs:
                streams[queue.name].consumers.append(queue)
        for node in self._nodes:
            for out in node.outputs:
                out.untimed = _untimed(out, node)
        for name, out in (*self.outputs.items(), *self._observed.items()):
            streams[name].sinks.append(out)
        executors = {"": Executor("", self._num_threads, threading.Lock())}
        for spec in self.spec.executors:
            executors[spec.name] = Executor(spec.name, spec.num_threads, threading.Lock(), spec.thread_name_prefix)
        self._scheduler = Scheduler(self._nodes, executors, {n.name: n.spec.executor for n in self._nodes},
                                    self._error_policy, self._trace, graph_inputs=self._inputs,
                                    report_deadlock=self._report_deadlock, watchdog=self._watchdog)
        if self._trace is not None:
            self._trace.origin_ns = time.perf_counter_ns()
        self._side_packets = side_packets
        open_sends = self._open_nodes()
        self._started_at = time.perf_counter()
        self._scheduler.start_workers()
        self._scheduler.begin(open_sends, self._side_packets)

    def _open_nodes(self) -> list[tuple[NodeRuntime, OpenContext]]:
        """Open every node in order; with a watchdog limit for open(), on a helper thread so that a hang there
        fails ``start()`` (naming the node) instead of blocking it forever."""
        limit = self._watchdog.open_s
        if limit is None:
            return self._open_all(None)
        state = _OpenProgress()
        thread = threading.Thread(target=state.run, args=(self._open_all,), name="posegraph-open", daemon=True)
        thread.start()
        while not state.done.wait(0.05):
            with state.lock:
                node, since = state.current
                if node is not None and time.monotonic() - since > limit:
                    state.abandoned = True
                    break
        else:
            thread.join()
            if state.error is not None:
                raise state.error
            return state.result
        self._close_opened(skip=node)
        raise WatchdogError(node.name, "open", limit)

    def _open_all(self, progress: "_OpenProgress | None") -> list[tuple[NodeRuntime, OpenContext]]:
        values = self._side_packets
        opened = []
        produced_later = {b.name for n in self._nodes for b in n.spec.output_side_packets}
        for node in self._nodes:
            missing = []
            for binding in node.spec.input_side_packets:
                if binding.name in values:
                    node.input_side_values[(binding.port.tag, binding.index)] = values[binding.name]
                elif not binding.port.optional:
                    missing.append(binding)
            if missing:
                if all(b.name in produced_later for b in missing):
                    # Made by a node's process() or close(): this node opens once they exist (as MediaPipe).
                    node.waiting_side_packets = {b.name for b in missing}
                    continue
                binding = next(b for b in missing if b.name not in produced_later)
                self._close_opened()
                raise GraphConfigError(f"node '{node.name}' needs side packet '{binding.name}' "
                                       f"({binding.port.tag or 'untagged'}) but it was not provided to start()")
            start = time.perf_counter_ns()
            ctx = OpenContext(node)
            if progress is not None:
                with progress.lock:
                    if progress.abandoned:
                        return opened
                    progress.current = (node, time.monotonic())
            try:
                node.calculator.open(ctx)
            except BaseException as exc:
                node.stats.open_ns = time.perf_counter_ns() - start
                if progress is not None:
                    with progress.lock:
                        if progress.abandoned:
                            return opened
                self._close_opened()
                raise CalculatorError(node.name, "open", None, exc) from exc
            node.stats.open_ns = time.perf_counter_ns() - start
            if progress is not None:
                with progress.lock:
                    if progress.abandoned:  # start() gave up on this open(): undo it here
                        _close_quietly(node)
                        return opened
                    node.state = OPENED
                    progress.current = (None, 0.0)
            else:
                node.state = OPENED
            opened.append((node, ctx))
            values.update(node.produced_side_packets)
        return opened

    def _close_opened(self, skip: NodeRuntime | None = None) -> None:
        for node in reversed(self._nodes):
            if node.state == OPENED and node is not skip:
                try:
                    node.calculator.close(CloseContext(node))
                finally:
                    node.state = CLOSED
        self._scheduler.finish_now()

    def side_packet(self, name: str) -> Any:
        """A graph input side packet or one produced by a node's open()."""
        try:
            return self._side_packets[name]
        except KeyError:
            raise KeyError(f"no side packet '{name}'") from None

    # -- feeding -----------------------------------------------------------------------------------------------
    def _input(self, stream: str) -> OutputStream:
        if self._run_over and stream in self._inputs:
            sched = self._scheduler
            why = f" (node '{sched.stopped_by}' returned STOP)" if sched.stopped_by else ""
            raise StreamError(f"graph input stream '{stream}' is closed: the run is over{why}; start() runs again")
        if not self.started:
            raise PosegraphError("start() the graph before adding packets")
        try:
            return self._inputs[stream]
        except KeyError:
            raise StreamError(f"'{stream}' is not a graph input stream; graph inputs: "
                              f"{', '.join(self._inputs) or '(none)'}") from None

    def add_packet(self, stream: str, value: Any, timestamp: int, *, block: bool = True,
                   timeout: float | None = None) -> bool:
        """Send `value` into graph input `stream` at `timestamp` (microseconds, strictly increasing).

        When an input queue is full: blocks (up to `timeout`), or with ``block=False`` drops the packet, counts
        it and returns False.
        """
        return self._add_packet(stream, value, timestamp, block, timeout, False)

    def _add_packet(self, stream: str, value: Any, timestamp: int, block: bool, timeout: float | None,
                    helper: bool) -> bool:
        """`add_packet`; `helper`: the calling thread runs the graph's work next (``process()``)."""
        out = self._input(stream)
        if type(timestamp) is not int:
            timestamp = as_timestamp(timestamp, f"add_packet('{stream}')")
        if stream in self._coercers:
            value = self._coercers[stream](value)
        if not self._scheduler.add_input_packet(out, Packet(value, timestamp), block, timeout, helper):
            self._input_drops[stream] += 1
            return False
        self._input_counts[stream] += 1
        return True

    def set_input_bound(self, stream: str, bound: int) -> None:
        """Promise that `stream` carries nothing below `bound` (lets nodes fire without a packet there)."""
        self._scheduler.advance_input(self._input(stream), as_timestamp(bound, f"set_input_bound('{stream}')"))

    def close_input(self, stream: str) -> None:
        self.set_input_bound(stream, Timestamp.DONE)

    def close_all_inputs(self) -> None:
        for name in self._inputs:
            self.close_input(name)

    def dropped_inputs(self) -> dict[str, int]:
        """Packets refused by ``add_packet(..., block=False)`` per graph input stream."""
        return dict(self._input_drops)

    # -- waiting -----------------------------------------------------------------------------------------------
    def _raise_if_failed(self) -> None:
        if self._scheduler is not None and self._scheduler.error is not None:
            raise self._scheduler.error

    def _wait_for(self, predicate: Callable[[], bool], timeout: float | None, what: str) -> None:
        if self._scheduler is None:
            raise PosegraphError("graph not started")
        self._scheduler.wait_for(predicate, timeout, what)

    def _help_until(self, predicate: Callable[[], bool], timeout: float | None, what: str) -> None:
        self._scheduler.help_until(predicate, timeout, what, self._caller_trace_row())

    def _caller_trace_row(self) -> int:
        """The trace row of the thread that calls process() (registered on first use)."""
        if self._trace is None:
            return 0
        if self._caller_row is None:
            with self._scheduler.lock:
                self._caller_row = self._trace.add_thread(f"caller ({threading.current_thread().name})")
        return self._caller_row

    def wait_until_idle(self, timeout: float | None = None) -> None:
        """Wait until no node can make progress without more input (sources still running count as busy)."""
        sched = self._scheduler

        def idle() -> bool:
            return (sched.running == 0 and not any(ex.heap for ex in sched.executors.values())
                    and all(o.delivered_bound >= o.bound for o in (*self.outputs.values(), *self._observed.values()))
                    and all(n.stopped or n.state == CLOSED for n in sched.sources))
        self._wait_for(idle, timeout, "idle")
        self._raise_if_failed()

    def wait_until_done(self, timeout: float | None = None) -> None:
        """Wait until every node closed (close the inputs first); raise the first error if the graph failed."""
        sched = self._scheduler
        self._wait_for(sched.finished.is_set, timeout, "done")
        if sched.error is not None:  # failed or cancelled: let the nodes that opened close first
            sched.finished.wait(timeout if timeout is not None else 30.0)
        sched.join_workers()
        for out in (*self.outputs.values(), *self._observed.values()):
            out.drain()
        self._finished_at = self._finished_at or time.perf_counter()
        if self._trace is not None and self._trace_path and not self._trace_written:
            self._trace.write(self._trace_path, self.profile(), dropped_inputs=self.dropped_inputs())
            self._trace_written = True
        if not self._run_over:
            sched.release()  # calculators, queued packets and cycles go now, not at the next gc collection
            self._run_over = True
        self._raise_if_failed()
        for node in self._nodes:
            if node.deferred_errors:
                error = node.deferred_errors[0]
                raise CalculatorError(node.name, "process", None, error) from error

    def close(self, timeout: float | None = None) -> None:
        """Close all inputs, let everything drain, close every node; raise the first error."""
        if not self.started:
            return
        if not self.done:
            with self._scheduler.lock:
                finished = self._scheduler.finished.is_set()
            if not finished:
                try:
                    self.close_all_inputs()
                except PosegraphError:
                    pass  # it failed meanwhile: wait_until_done raises the error
        self.wait_until_done(timeout)

    def cancel(self) -> None:
        """Stop now: no further process() calls; nodes that opened are closed; waits raise GraphCancelledError."""
        sched = self._scheduler
        if sched is None:
            return
        sched.cancel()

    def __enter__(self) -> "Graph":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.started:
            return
        if exc_type is not None:
            self.cancel()
            try:
                self.wait_until_done(timeout=10.0)
            except PosegraphError:
                pass
        else:
            self.close()

    # -- frame at a time ---------------------------------------------------------------------------------------
    def process(self, inputs: dict[str, Any], timestamp: int | None = None,
                timeout: float | None = 30.0) -> dict[str, Any]:
        """Send one set of inputs at one timestamp and return every graph output at that timestamp.

        Outputs with no packet at that timestamp are None. Inputs left out are marked empty at that timestamp.
        """
        with self._sync_lock:
            if not self.started or self._run_over:
                self.start(synchronous=True)
            elif not all(out.collect_sync for out in self.outputs.values()):
                raise PosegraphError("process() needs a graph started with start(..., synchronous=True) "
                                     "(or not started at all)")
            ts = self._next_sync_ts if timestamp is None else int(timestamp)
            self._next_sync_ts = ts + 1
            sched = self._scheduler
            try:  # this thread runs the nodes its inputs make ready (no worker woken for the first one)
                for name in self._inputs:
                    if name in inputs:
                        self._add_packet(name, inputs[name], ts, True, timeout, True)
                    else:
                        sched.advance_input(self._input(name), ts + 1, helper=True)
                unknown = set(inputs) - set(self._inputs)
                if unknown:
                    raise StreamError(f"unknown graph input stream(s) {sorted(unknown)}")
            except BaseException:
                sched.wake()
                raise
            outputs = list(self.outputs.values())
            if len(outputs) == 1:  # (checked after every call the helping thread runs: kept cheap)
                only = outputs[0]
                settled = lambda: only.delivered_bound > ts  # noqa: E731
            else:
                settled = lambda: all(o.delivered_bound > ts for o in outputs)  # noqa: E731
            self._help_until(settled, timeout, f"settled at timestamp {ts}")
            self._raise_if_failed()
            return {name: out.sync_values.pop(ts, None) for name, out in self.outputs.items()}

    # -- read-only views ---------------------------------------------------------------------------------------
    @property
    def nodes(self) -> tuple[NodeView, ...]:
        """A frozen snapshot of every node of the current (or last) run: state, queues, counters."""
        sched = self._scheduler
        if sched is None:
            return ()
        with sched.lock:
            return tuple(node_view(n) for n in self._nodes)

    @property
    def elapsed_s(self) -> float:
        """Seconds since the run started (until it finished); 0 before start."""
        if not self._started_at:
            return 0.0
        return (self._finished_at or time.perf_counter()) - self._started_at

    def input_counts(self) -> dict[str, int]:
        """Packets added to each graph input stream in this run."""
        return dict(self._input_counts)

    @property
    def frames(self) -> int:
        """Frames into this run so far: packets added to the busiest graph input, else frames the sources sent."""
        frames = max(self._input_counts.values(), default=0)
        return frames or max((n.stats.emitted for n in self._nodes if n.is_source), default=0)

    # -- profiling ---------------------------------------------------------------------------------------------
    def node_stats(self) -> list[NodeStats]:
        return [n.stats for n in self._nodes]

    def profile(self) -> GraphProfile:
        """Per-node timing table (always available, also while running)."""
        end = self._finished_at or time.perf_counter()
        wall = max(1e-9, end - self._started_at) if self._started_at else 0.0
        return summarize(self.node_stats(), wall, self.frames)


class _OpenProgress:
    """Which node start() is opening, shared with the thread that opens them (under `lock`)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.current: tuple[NodeRuntime | None, float] = (None, 0.0)
        self.abandoned = False
        self.done = threading.Event()
        self.result: list = []
        self.error: BaseException | None = None

    def run(self, open_all) -> None:
        try:
            self.result = open_all(self)
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self.error = exc
        finally:
            self.done.set()


def _close_quietly(node: NodeRuntime) -> None:
    try:
        node.calculator.close(CloseContext(node))
    except Exception:  # noqa: BLE001 - the run already failed (watchdog); this node was abandoned
        pass
    node.state = CLOSED
