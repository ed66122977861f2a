"""The scheduler: ready queues, worker threads, timestamp bounds, back-pressure, failure and shutdown.

It owns the whole run: `Graph` builds the nodes and streams, calls `begin()` once they opened, feeds graph inputs
through `publish()` and waits; everything else happens here, on the worker threads (and on a thread that
``Graph.process()`` lends while it waits).

Mutable state, and who may change it (like Dask's ``local.py``):

  Under ``Scheduler.lock`` (any thread):
    Scheduler    running, error, failed, full_queues, queue_growths, stuck, stopped_by, _seq, _pending_sinks, _taker,
                 _finalizing, _stop_workers; every Executor.heap
    NodeRuntime  state, in_flight, queued, closing, stopped, stuck, next_seq, commit_seq, pending_commits, last_ts,
                 imm_ready, imm_last, imm_done_ts, throttled_by
    InputQueue   packets, bound, limit, full        (upstream: set once in __init__, cleared by release())
    OutputStream bound, throttled_by                (consumers, sinks: set before start, cleared by release())
    GraphOutput  bound and its incoming packets (accept())
  Without the lock:
    a calculator's open/process/close run on one thread at a time per node (``max_in_flight`` > 1 only for
    calculators with CONCURRENT_PROCESS); what they send is buffered in their context and committed under the
    lock, in call order (``commit_seq``). NodeStats counters are written by the committing thread (under the lock)
    or, for open(), by the thread that opens.
    GraphOutput.drain() delivers to observers and pollers, one thread per output at a time, in timestamp order.
    CallWatch.calls (watchdog) is a dict updated with single atomic operations.
  Set once: ``finished`` (an Event) when the run is over; after that only ``release()`` touches anything.

Readiness follows MediaPipe: a default-handler node fires at timestamp T once every input either has a packet at T
or has a bound past T; an immediate-handler node treats each input as its own sync set
(`NodeRuntime.immediate_readiness`). When a node is idle, its output bounds follow its settled input bound
(+ offset), which is what lets a gate that emits nothing still release the nodes below it. Ready nodes wait in one
heap per executor, ordered downstream first, so a graph drains before it fills, except that nodes on a loop (a
cycle through a back edge) go before all others (`_loop_nodes`). A full queue pauses only the packet
sources upstream of it; when everything is idle and a throttled source waits, each full queue grows by one packet
(or, with report_deadlock, the run fails).
"""

from __future__ import annotations

import heapq
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable

from .calculator import STOP
from .context import CloseContext, OpenContext, ProcessContext
from .deadline import Deadline
from .errors import CalculatorError, DeadlockError, GraphCancelledError, StreamError, WatchdogError
from .node import CLOSED, OPENED, InputQueue, NodeRuntime, OutputStream
from .packet import Packet, Timestamp
from .profiler import TraceRecorder
from .watchdog import CallWatch, Watchdog

if TYPE_CHECKING:
    from .graph import GraphOutput

PROCESS, SOURCE, CLOSE, OPEN = 0, 1, 2, 3
_METHOD = {PROCESS: "process", SOURCE: "process", CLOSE: "close", OPEN: "open"}
_perf_ns = time.perf_counter_ns
_TRACE_PACK = TraceRecorder.RECORD.pack
_heappush, _heappop = heapq.heappush, heapq.heappop
_UNSET, _MIN, _MAX, _DONE = Timestamp.UNSET, Timestamp.MIN, Timestamp.MAX, Timestamp.DONE
_ONE_OVER_POST_STREAM = Timestamp.ONE_OVER_POST_STREAM


class Invocation:
    """One call of a node: what it gets, and (after it ran) what came of it. A plain slotted class rather than a
    dataclass: one is made per call, and a dataclass's ``__init__`` with every field a parameter costs a third more.
    """

    __slots__ = ("node", "kind", "timestamp", "packets", "seq", "enqueued_ns", "ctx", "result", "error",
                 "duration_ns", "bounds", "end_ns", "own")

    def __init__(self, node: NodeRuntime, kind: int, timestamp: int = Timestamp.UNSET, packets: list | None = None,
                 seq: int = 0, enqueued_ns: int = 0, ctx: Any = None):
        self.node = node
        self.kind = kind
        self.timestamp = timestamp
        self.packets = packets
        self.seq = seq
        self.enqueued_ns = enqueued_ns  # when its oldest input packet was queued (0: none): the wait, until the call
        self.ctx = ctx
        self.result: Any = None
        self.error: BaseException | None = None
        self.duration_ns = 0
        self.bounds: list | None = None
        self.end_ns = 0  # when the call returned (0: not run: open() sends committed by begin())
        self.own = False  # no worker was woken when it was taken: its duration is its own (_worth_a_thread)


class Signal(threading.Condition):
    """A condition that counts its waiters, so that a notify with nobody waiting (the common case on the hot path:
    every worker busy, no application thread blocked) costs one attribute test instead of Condition's checks."""

    def __init__(self, lock: threading.Lock):
        super().__init__(lock)
        self.waiting = 0  # threads inside wait(); changed with the lock held

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting += 1
        try:
            return super().wait(timeout)
        finally:
            self.waiting -= 1

    def notify(self, n: int = 1) -> None:
        if self.waiting:
            super().notify(n)

    def notify_all(self) -> None:
        if self.waiting:
            super().notify_all()


class Executor:
    """A named pool of worker threads with its own ready heap."""

    def __init__(self, name: str, num_threads: int, lock: threading.Lock, thread_name_prefix: str = ""):
        self.name = name or "default"
        self.thread_name_prefix = thread_name_prefix or f"posegraph-{self.name}-"
        self.num_threads = max(1, num_threads)
        self.heap: list[tuple[int, int, NodeRuntime, int]] = []
        self.cond = Signal(lock)
        self.threads: list[threading.Thread] = []


class Scheduler:
    def __init__(self, nodes: list[NodeRuntime], executors: dict[str, Executor], node_executor: dict[str, str],
                 error_policy: str = "stop", trace: TraceRecorder | None = None,
                 graph_inputs: dict[str, OutputStream] | None = None, report_deadlock: bool = False,
                 watchdog: Watchdog | None = None):
        self.lock = threading.Lock()
        for ex in executors.values():
            ex.cond = Signal(self.lock)
        self.state_changed = Signal(self.lock)
        # Set while a thread that will pop this executor's heap next holds the lock (a worker committing, a
        # process() caller about to help): the first node it makes ready needs no other thread woken, since a
        # wake-up costs more than most calculators' process().
        self._taker: Executor | None = None
        # process() callers parked in help_until (waiting on state_changed): when no worker of the default
        # executor waits either, work made ready there wakes them (see _wake): while both workers run long model
        # calls, a crop made ready would otherwise wait for one of them although the caller's thread is idle.
        self._helpers_parked = 0
        self.nodes = nodes
        self.executors = executors
        self.node_executor = {n.name: executors[node_executor.get(n.name, "") or ""] for n in nodes}
        for n in nodes:
            n.executor = self.node_executor[n.name]
        self.sources = [n for n in nodes if n.is_source]
        self.graph_inputs = dict(graph_inputs or {})
        self.report_deadlock = report_deadlock
        self.stopped_by: str | None = None  # a non-source node that returned STOP (the inputs closed because of it)
        _link_throttling(nodes, self.graph_inputs)
        for n in _loop_nodes(nodes):
            n.priority = n.rank + len(nodes)
        self._streams: dict[str, OutputStream] = dict(self.graph_inputs)
        for n in nodes:
            for out in n.outputs:
                self._streams[out.name] = out
        self.error_policy = error_policy
        self.trace = trace
        self._trace_record = None
        if trace is not None:
            trace.set_nodes(nodes)
            self._trace_record = trace.record
        self.full_queues: set[InputQueue] = set()
        self.running = 0
        self.error: BaseException | None = None
        self.failed = False
        self.finished = threading.Event()
        self._finalizing = False
        self._stop_workers = False
        self._seq = 0
        self._pending_sinks: list["GraphOutput"] = []
        self.queue_growths = 0
        self.side_values: dict = {}
        self.side_producer: dict = {}
        self.waiting: list[NodeRuntime] = []  # nodes not opened yet: their side packets do not exist yet
        self.stuck = 0  # calls the watchdog gave up on (they still count in `running`)
        limits = watchdog or Watchdog(None, None, None)
        self.watch = CallWatch(limits, self._stuck) if (limits.process_s or limits.close_s) else None
        self._watch_kinds = {k for k, limit in ((PROCESS, limits.process_s), (SOURCE, limits.process_s),
                                                 (CLOSE, limits.close_s)) if limit}
        if not nodes and not self.graph_inputs:  # nothing will ever run or arrive
            with self.lock:
                self._finish()

    # -- threads ----------------------------------------------------------------------------------------------
    def start_workers(self) -> None:
        if self.watch is not None:
            self.watch.start()
        for ex in self.executors.values():
            for i in range(ex.num_threads):
                t = threading.Thread(target=self._worker, args=(ex,), name=f"{ex.thread_name_prefix}{i}", daemon=True)
                ex.threads.append(t)
                t.start()

    def join_workers(self, timeout: float = 5.0) -> None:
        if self.stuck:  # a thread the watchdog gave up on will not return soon
            timeout = min(timeout, 0.2)
        deadline = time.monotonic() + timeout
        if self.watch is not None:
            self.watch.join(timeout)
        for ex in self.executors.values():
            for t in ex.threads:
                if t is not threading.current_thread():
                    t.join(max(0.0, deadline - time.monotonic()))

    def _worker(self, ex: Executor) -> None:
        with self.lock:
            worker = self.trace.add_thread(threading.current_thread().name) if self.trace is not None else 0
        while True:
            with self.lock:
                while (inv := self.take(ex)) is None:
                    if self._stop_workers:
                        return
                    ex.cond.wait()
            while inv is not None:  # a chain of calls committed and taken under one hold of the lock each
                try:
                    inv = self.run(inv, ex, worker)
                except BaseException as exc:  # noqa: BLE001 - a worker never dies silently: the graph fails instead
                    with self.lock:
                        self.fail(CalculatorError(inv.node.name, _METHOD[inv.kind], None, exc))
                        finalize = self._should_finalize()
                    if finalize:
                        self._finalize()
                    inv = None

    def take(self, ex: Executor) -> Invocation | None:
        """The next invocation from `ex`'s ready heap, or None (lock held). What it leaves in the heap goes to
        another worker only when this call is expected to take long (see `_worth_a_thread`): otherwise the
        calling thread, back in a moment, runs it itself, which costs less than waking a thread."""
        heap = ex.heap
        while heap and not self._stop_workers:
            _, _, node, kind = _heappop(heap)
            node.queued = False
            ts = node.ready_ts
            if kind == PROCESS and node.single and ts is not None and not node.closing and not self.failed:
                # _prepare, inlined for the commonest node: one input, found ready by check() at its head packet
                # (still there: only this node pops its queue, and closing would have cleared it)
                node.ready_ts = None
                q = node.inputs[0]
                queued = q.packets
                packet, enqueued = queued.popleft()
                if q.full and len(queued) < q.limit:
                    self._unfull(q)
                node.last_ts = ts
                inv = Invocation(node, PROCESS, ts, [packet], node.next_seq, enqueued)
                node.next_seq += 1
                node.in_flight += 1
                self.running += 1
            else:
                inv = self._prepare(node, kind)
            if inv is not None:
                if node.in_flight < node.max_in_flight:
                    self.check(node)  # more work for the same node on another worker
                if heap and (ex.cond.waiting or self._helpers_parked) and _worth_a_thread(node, kind):
                    self._wake(ex)
                    node.handoffs += 1
                else:
                    inv.own = True
                return inv
            self.check(node)
        return None

    def run(self, inv: Invocation, ex: Executor, worker: int, chain: bool = True,
            until: Callable[[], bool] | None = None) -> Invocation | None:
        """Execute (lock not held) and commit one invocation. With `chain`, returns the next invocation of `ex`,
        taken while the lock is still held, when nothing needs doing outside it (graph outputs to drain, a
        finalization) and `until` (checked under the lock) is not true yet; else None: the calling thread then
        takes from `ex` again itself. `worker`: the calling thread's trace row."""
        node = inv.node
        kind = inv.kind
        watch = self.watch
        if watch is not None:
            if kind in self._watch_kinds:
                watch.begin(id(inv), node.name, _METHOD[kind], None if kind == CLOSE else inv.timestamp)
            else:
                watch = None
        ctx = None
        start = _perf_ns()
        try:
            if kind <= SOURCE:  # PROCESS or SOURCE
                inv.ctx = ctx = ProcessContext(node, inv.timestamp, inv.packets, inv.bounds)
                inv.result = node.calculator.process(ctx)
            elif kind == CLOSE:
                inv.ctx = ctx = CloseContext(node)
                node.calculator.close(ctx)
            else:
                inv.ctx = ctx = OpenContext(node)
                node.calculator.open(ctx)
        except BaseException as exc:  # noqa: BLE001 - any calculator failure (even SystemExit) names its node
            inv.error = exc
        inv.end_ns = end = _perf_ns()
        inv.duration_ns = duration = end - start
        if watch is not None:
            watch.end(id(inv))
        if (record := self._trace_record) is not None:  # the first send's timestamp lets flows be matched later
            first = ctx._sends[0][1] if ctx is not None and ctx._sends else None
            record(_TRACE_PACK(worker, node.rank, start, duration, inv.timestamp, kind,
                               _UNSET if first is None else first.timestamp))
        with self.lock:
            self._taker = ex
            try:
                sinks, finalize = self._complete(inv)
            finally:
                self._taker = None
            if not sinks and not finalize:
                if not chain or (until is not None and (until() or self.error is not None)):
                    return None  # (the caller takes again at once, or stops)
                return self.take(ex)
            if ex.heap and (finalize or not all(s.quiet for s in sinks)):
                # this thread has other things to do first (app callbacks, pollers, finalizing): the work it made
                # ready goes to a worker. Outputs only collected for process() are stored in a moment: waking a
                # worker for that cost the caller ~80 us a time (twice a BlazePose tracking frame: roi, poses)
                self._wake(ex)
        if sinks:
            self.deliver(sinks)
        if finalize:
            self._finalize()
        return None

    def begin(self, open_sends: list, side_values: dict | None = None) -> None:
        """After every node opened: commit what open() sent, then let every node run. `side_values` is the run's
        side packets (updated here when process() or close() produce more, which opens the nodes waiting for
        them)."""
        self.side_values = side_values if side_values is not None else {}
        self.side_producer = {b.name: n for n in self.nodes for b in n.spec.output_side_packets}
        self.waiting = [n for n in self.nodes if n.waiting_side_packets]
        with self.lock:
            for node, ctx in open_sends:
                if ctx._sends and not self.failed:
                    try:
                        self._commit(Invocation(node, OPEN, ctx=ctx))
                    except Exception as exc:  # noqa: BLE001
                        self.fail(CalculatorError(node.name, "open", None, exc))
            for node in self.nodes:
                self.check(node)
            if self._sources_stuck():  # what open() sent filled a queue: nothing runs that would relieve it later
                self._relieve_deadlock()
            finalize = self._should_finalize()
            sinks = self.take_pending_sinks()
        if sinks:
            self.deliver(sinks)
        if finalize:
            self._finalize()

    def input_closed(self) -> None:
        """A graph input stream closed (lock held): a graph without nodes is done once all of them are."""
        if not self.nodes and all(out.bound >= Timestamp.DONE for out in self.graph_inputs.values()):
            self._finish()

    def release(self) -> None:
        """After the run: drop queued packets and the links between nodes and streams (the only reference cycles
        the runtime makes), so a finished graph is freed with its calculators, buffers and files as soon as the
        application drops it, not at the next cycle collection. Calculators stay readable until then."""
        with self.lock:
            for ex in self.executors.values():
                ex.heap.clear()
                ex.threads = []
            for node in self.nodes:
                node.pending_commits.clear()
                for q in node.inputs:
                    q.packets.clear()
                    q.upstream = ()
                    q.node = None  # the one cycle per node: without it the node (and its calculator) needs gc
                for out in node.outputs:
                    out.consumers = []
                    out.sinks = []
            for out in self.graph_inputs.values():
                out.consumers = []
                out.sinks = []
            self.full_queues.clear()
            self._pending_sinks = []
            self.watch = None  # it holds a bound method of this scheduler

    # -- scheduling (lock held) -------------------------------------------------------------------------------
    def _enqueue(self, node: NodeRuntime, kind: int) -> None:
        node.queued = True
        self._seq += 1
        ex = node.executor
        _heappush(ex.heap, (-node.priority, self._seq, node, kind))
        if self._taker is not ex:  # else the thread holding the lock takes it (see take())
            self._wake(ex)

    def _wake(self, ex: Executor) -> None:
        """Wake a thread for the work waiting in `ex`'s heap: a parked worker, else the process() callers parked in
        help_until, if `ex` is theirs (the default executor)."""
        if ex.cond.waiting:
            ex.cond.notify()
        elif self._helpers_parked and ex is self.executors[""]:
            self.state_changed.notify_all()

    def check(self, node: NodeRuntime) -> None:
        """Decide what `node` can do now: run, close, or just pass its settled bound downstream."""
        if node.queued or node.state != OPENED or node.closing or self.failed:
            return
        if node.in_flight >= node.max_in_flight or (node.pending_commits
                                                    and len(node.pending_commits) >= node.max_in_flight):
            return  # (calls that returned early wait to commit in order: at most max_in_flight of them)
        if node.fast:  # the default handler (most nodes): one pass over the inputs
            if node.single:  # one input, no PROCESS_TIMESTAMP_BOUNDS: ready exactly when a packet waits there
                q = node.inputs[0]
                if q.packets:
                    node.ready_ts = q.packets[0][0].timestamp
                    self._enqueue(node, PROCESS)
                    return
                settled, any_packets = q.bound, False
            else:
                ready, settled, any_packets = node.scan()
                if ready is not None:
                    node.ready_ts = ready
                    self._enqueue(node, PROCESS)
                    return
        elif node.is_source:
            if node.in_flight == 0:
                if node.stopped:
                    node.closing = True
                    self._enqueue(node, CLOSE)
                elif not node.throttled_by:
                    self._enqueue(node, SOURCE)
            return
        elif node.immediate:
            ts = node.immediate_readiness()
            if ts is not None and ts < Timestamp.DONE:
                self._enqueue(node, PROCESS)
                return
            settled, any_packets = node.settled_bound(), node.has_packets()
        else:
            ts = node.policy.readiness(node)
            if self.full_queues:  # a handler may drop packets (FixedSize, Mux): their sources may resume
                self._unfull_drained(node)
            if ts is not None:
                if ts < Timestamp.DONE:
                    self._enqueue(node, PROCESS)
                elif not node.in_flight:  # the handler closes the node (queued packets are dropped)
                    self._detach(node)
                    self._enqueue(node, CLOSE)
                return
            settled, any_packets = node.settled_bound(), node.has_packets()
        if node.in_flight:
            return
        # Not ready: the settled bound still moves the outputs (with queued packets too, as MediaPipe's
        # UpdateTaskTimestampBound: a packet waiting for another input is at or past `settled`).
        if settled >= _ONE_OVER_POST_STREAM and not any_packets:  # every input done or past PostStream:
            # nothing more can come (MediaPipe's ReadyForClose)
            node.closing = True
            self._enqueue(node, CLOSE)
            return
        offset = node.timestamp_offset
        if offset is not None and settled > _MIN:
            target = settled + offset
            for out in node.outputs:
                if target > out.bound:
                    self.publish(out, (), target)

    def _prepare(self, node: NodeRuntime, kind: int) -> Invocation | None:
        if self.failed:
            return None
        if kind == PROCESS:
            if node.fast:
                # Found ready by check() when it was queued. Without PROCESS_TIMESTAMP_BOUNDS that timestamp stays
                # the one to run at (packets only join the tails, bounds only grow, and only this node pops its
                # queues) unless the node closed meanwhile (its queues were cleared).
                ts = node.ready_ts
                node.ready_ts = None
                if ts is None or node.process_bounds or node.closing:
                    ts = node.scan()[0]
                    if ts is None:
                        return None
                node.last_ts = ts
                taken = None
            elif node.policy is not None:
                ts = node.policy.readiness(node)
                if ts is None or ts >= _DONE:
                    return None
                packets = node.policy.fill(node, ts)
                self._unfull_drained(node)
                node.last_ts = ts
                inv = Invocation(node, PROCESS, ts, packets, node.next_seq)
                node.next_seq += 1
                node.in_flight += 1
                self.running += 1
                return inv
            else:  # immediate
                ts = node.immediate_readiness()
                if ts is None or ts >= _DONE:
                    return None
                taken = node.take_immediate(ts)
            packets: list[Packet | None] = []
            oldest = 0  # enqueue time of the longest-waiting packet (its wait is counted when the call starts)
            for q in node.inputs:
                queued = q.packets
                if queued and queued[0][0].timestamp == ts and (taken is None or taken[q.slot]):
                    packet, enqueued = queued.popleft()
                    if enqueued < oldest or not oldest:
                        oldest = enqueued
                    packets.append(packet)
                    if q.full and len(queued) < q.limit:
                        self._unfull(q)
                else:
                    packets.append(None)
            inv = Invocation(node, PROCESS, ts, packets, node.next_seq, oldest)
            if taken is not None:
                inv.bounds = [q.head_or_bound() for q in node.inputs]
        elif kind == CLOSE:
            inv = Invocation(node, CLOSE, _UNSET, None, node.next_seq)
        elif kind == OPEN:
            inv = Invocation(node, OPEN, _UNSET, None, node.next_seq)
        else:  # SOURCE
            if node.stopped:
                return None  # check() closes it
            # MediaPipe: a source's Process sees a dummy input timestamp of 0
            inv = Invocation(node, SOURCE, 0, [], node.next_seq)
        node.next_seq += 1
        node.in_flight += 1
        self.running += 1
        return inv

    # -- committing (lock held) -------------------------------------------------------------------------------
    def _complete(self, inv: Invocation) -> tuple[list, bool]:
        """Commit `inv` (in call order per node); returns sinks to drain and whether to finalize."""
        node = inv.node
        node.in_flight -= 1
        self.running -= 1
        stats = node.stats
        kind = inv.kind
        if kind <= SOURCE:
            duration = inv.duration_ns
            if not stats.process_count:
                node.first_ns = duration
            elif inv.own:  # (not the node's first call, which may load things)
                node.own_ns += duration
                node.own_calls += 1
            enqueued = inv.enqueued_ns
            latency = inv.end_ns - duration - enqueued if enqueued else 0
            samples = stats.samples
            if len(samples) < stats.capacity:  # NodeStats.record, inlined while its ring still fills
                stats.process_count += 1
                stats.process_ns += duration
                stats.latency_ns += latency
                samples.append(duration)
                stats.latency_samples.append(latency)
            else:
                stats.record(duration, latency)
            if kind == PROCESS and inv.error is None and inv.seq == node.commit_seq and not self.failed \
                    and inv.result is not STOP and not node.produced_side_packets:
                sends = inv.ctx._sends
                if len(sends) == 1:
                    packet = sends[0][1]
                    outputs = node.outputs
                    if packet is not None and len(outputs) == 1:
                        out = outputs[0]
                        ts = packet.timestamp
                        offset = node.timestamp_offset
                        if not out.untimed and out.bound <= ts <= _MAX and (
                                _MIN <= ts if offset is None else _MIN <= inv.timestamp + offset <= ts):
                            # _commit of the commonest call, inlined: one packet on the node's only output, at or
                            # past the bound its timestamp offset gives (ts + 1 is the new bound either way)
                            self._publish_one(out, packet, ts + 1, inv.end_ns)
                            node.commit_seq += 1
                            if node.pending_commits:
                                self._commit_pending(node)
                                return self._after_commit(node)
                            # _after_commit, inlined (no side packets, not failed: publishing cannot fail), and
                            # check() of the node itself where it has nothing to do: one input, empty, whose bound
                            # its only output (offset 0) already passed
                            q = node.inputs[0] if node.single else None
                            if q is None or q.packets or node.in_flight or node.queued or node.closing \
                                    or offset != 0 or not (q.bound <= out.bound and q.bound < _ONE_OVER_POST_STREAM):
                                self.check(node)
                            return self._settle_commit()
        elif kind == CLOSE:
            stats.close_ns += inv.duration_ns
            if inv.error is not None:
                node.state = CLOSED  # close() is attempted exactly once, failed or not
        else:
            stats.open_ns += inv.duration_ns
            if inv.error is None:
                node.state = OPENED
        if inv.error is not None:
            if kind == PROCESS and self.error_policy == "skip" and isinstance(inv.error, Exception):
                stats.errors += 1
                inv.ctx._sends.clear()
                warnings.warn(f"posegraph: node '{node.name}' failed at timestamp "
                              f"{Timestamp.describe(inv.timestamp)} and the timestamp was skipped: {inv.error!r}",
                              stacklevel=1)
            else:
                self.fail(CalculatorError(node.name, _METHOD[kind], inv.timestamp
                                          if kind == PROCESS else None, inv.error))
                return self.take_pending_sinks(), self._should_finalize()
        if self.failed:
            return self.take_pending_sinks(), self._should_finalize()
        if inv.seq != node.commit_seq:
            # It returned before an earlier call: its outputs wait for that one, but its slot is free, so that
            # the node keeps max_in_flight calls running (people of a frame: the next person's model starts now,
            # not when the slowest earlier call returns).
            node.pending_commits[inv.seq] = inv
            self.check(node)
            return [], False
        try:
            self._commit(inv)
        except Exception as exc:  # noqa: BLE001 - a bad send fails the graph, naming the node
            self.fail(CalculatorError(node.name, _METHOD[inv.kind], inv.timestamp, exc))
            return self.take_pending_sinks(), self._should_finalize()
        node.commit_seq += 1
        if node.pending_commits:
            self._commit_pending(node)
        return self._after_commit(node)

    def _commit_pending(self, node: NodeRuntime) -> None:
        """Commit the calls of `node` that returned before an earlier one and waited for it, in call order."""
        while node.pending_commits and not self.failed:
            inv = node.pending_commits.pop(node.commit_seq, None)
            if inv is None:
                return
            try:
                self._commit(inv)
            except Exception as exc:  # noqa: BLE001 - a bad send fails the graph, naming the node
                self.fail(CalculatorError(node.name, _METHOD[inv.kind], inv.timestamp, exc))
                return
            node.commit_seq += 1

    def _after_commit(self, node: NodeRuntime) -> tuple[list, bool]:
        """After `node`'s calls committed: side packets, its next step, deadlock relief; sinks to drain and
        whether to finalize (as `_complete`)."""
        if self.failed:
            return self.take_pending_sinks(), self._should_finalize()
        if node.produced_side_packets or (self.waiting and node.state == CLOSED):
            self._side_packets_changed(node)
            if self.failed:
                return self.take_pending_sinks(), self._should_finalize()
        self.check(node)
        return self._settle_commit()

    def _settle_commit(self) -> tuple[list, bool]:
        """After a commit and its checks: deadlock relief, then the sinks to drain and whether to finalize."""
        if self.full_queues and self._sources_stuck():
            self._relieve_deadlock()
            return self.take_pending_sinks(), self._should_finalize()
        sinks = self._pending_sinks
        if sinks:
            self._pending_sinks = []
        return sinks, False

    def _commit(self, inv: Invocation) -> None:
        node = inv.node
        kind = inv.kind
        sends = inv.ctx._sends
        offset = node.timestamp_offset
        if kind == PROCESS and offset is not None and inv.timestamp != _UNSET:
            settled = inv.timestamp + offset
            settled = settled + 1 if _MIN <= settled < _MAX else Timestamp.next_allowed(settled)
        else:
            settled = _UNSET
        outputs = node.outputs
        if len(sends) == 1 and len(outputs) == 1 and sends[0][1] is not None:
            # The common case: one packet on a node's only output.
            packet = sends[0][1]
            out = outputs[0]
            ts = packet.timestamp
            if out.untimed or not (out.bound <= ts and _MIN <= ts <= _MAX):
                self._commit_slots(node, sends, settled, inv.end_ns)
            else:
                self.publish(out, (packet,), ts + 1 if ts + 1 > settled else settled, inv.end_ns)
        elif sends or settled != _UNSET:
            self._commit_slots(node, sends, settled, inv.end_ns)
        if kind == SOURCE:
            node.stats.emitted += bool(sends) and any(packet is not None for _, packet, _ in sends)
            if inv.result is STOP:
                node.stopped = True
                node.closing = True
                self._enqueue(node, CLOSE)
        elif kind == PROCESS:
            if inv.result is STOP:
                # MediaPipe: a non-source node returning StatusStop closes every source and graph input stream;
                # what is already in the graph drains, and this node closes now.
                self._detach(node)
                self._enqueue(node, CLOSE)
                self.close_packet_sources(node.name)
        elif kind == CLOSE:
            node.state = CLOSED
            for out in outputs:
                if out.bound < _DONE:
                    self.publish(out, (), _DONE)
            if all(n.state == CLOSED for n in self.nodes):
                self._finish()

    def _commit_slots(self, node: NodeRuntime, sends: list, settled: int, now: int) -> None:
        """Publish what one call sent, output by output in slot order (`settled`: the bound its timestamp
        offset gives every output, or UNSET)."""
        outputs = node.outputs
        per_slot: list = [None] * len(outputs)  # the packets sent on each output, in send order (None: none)
        bounds: dict[int, int] | None = None  # explicit set_next_bound() per slot
        for slot, packet, bound in sends:
            if packet is not None:
                got = per_slot[slot]
                if got is None:
                    per_slot[slot] = [packet]
                else:
                    got.append(packet)
            else:
                if bounds is None:
                    bounds = {}
                if bound > bounds.get(slot, _UNSET):
                    bounds[slot] = bound
        for slot, out in enumerate(outputs):
            packets = per_slot[slot]
            new_bound = out.bound
            if packets is None:
                packets = ()
            elif out.untimed:  # any order (valid timestamps still); the bound only grows
                for packet in packets:
                    out.check_timestamp(packet.timestamp, _UNSET)
                    new_bound = max(new_bound, Timestamp.next_allowed(packet.timestamp))
            else:
                for packet in packets:
                    ts = packet.timestamp
                    if new_bound <= ts and _MIN <= ts <= _MAX:  # (check_timestamp's test, for an ordinary one)
                        new_bound = ts + 1
                        continue
                    try:
                        out.check_timestamp(ts, new_bound)
                    except StreamError as exc:
                        raise _with_handler_hint(exc, node) from None
                    new_bound = Timestamp.next_allowed(ts)
            if bounds is not None and slot in bounds and bounds[slot] > new_bound:
                new_bound = bounds[slot]
            if settled > new_bound:
                new_bound = settled
            if packets or new_bound > out.bound:
                self.publish(out, packets, new_bound, now)

    def _side_packets_changed(self, node: NodeRuntime) -> None:
        """`node` may have produced side packets (or closed without them): open the nodes now complete, fail the
        run for those whose side packet can no longer come (lock held)."""
        for name, value in node.produced_side_packets.items():
            if name not in self.side_values:
                self.side_values[name] = value
        for waiting in list(self.waiting):
            for binding in waiting.spec.input_side_packets:
                if binding.name in waiting.waiting_side_packets and binding.name in self.side_values:
                    waiting.input_side_values[(binding.port.tag, binding.index)] = self.side_values[binding.name]
            waiting.waiting_side_packets -= self.side_values.keys()
            if not waiting.waiting_side_packets:
                self.waiting.remove(waiting)
                self._enqueue(waiting, OPEN)
            elif any(self.side_producer[name].state == CLOSED for name in waiting.waiting_side_packets):
                name = next(n for n in waiting.waiting_side_packets if self.side_producer[n].state == CLOSED)
                self.fail(CalculatorError(waiting.name, "open", None, StreamError(
                    f"side packet '{name}' was never produced: node '{self.side_producer[name].name}' closed "
                    f"without setting it")))
                return

    def _detach(self, node: NodeRuntime) -> None:
        """`node` closes before its inputs are done: drop what waits for it and take it off its streams, so that
        nothing more queues up there (lock held)."""
        node.closing = True
        for q in node.inputs:
            q.packets.clear()
            if q.full:
                self._unfull(q)
            stream = self._streams.get(q.name)
            if stream is not None and q in stream.consumers:
                # A new list: publish() may be iterating the old one right now (this node closed while the
                # stream delivered to it), and the readers after this one must still get that delivery.
                stream.consumers = [c for c in stream.consumers if c is not q]

    def close_packet_sources(self, by: str) -> None:
        """Stop every source node and close every graph input stream (MediaPipe's CloseAllPacketSources)."""
        if self.stopped_by is None:
            self.stopped_by = by
        for src in self.sources:
            if not src.stopped:
                src.stopped = True
                self.check(src)
        for out in self.graph_inputs.values():
            if out.bound < Timestamp.DONE:
                self.publish(out, (), Timestamp.DONE)

    def publish(self, out: OutputStream, packets, bound: int, now: int = 0) -> None:
        """Hand packets and a new bound to every reader of `out` (lock held); `now`: their enqueue time (the
        producer's end of call; 0: read the clock)."""
        out.bound = bound
        if packets:
            if not now:
                now = _perf_ns()
            entries = [(p, now) for p in packets]
            for q in out.consumers:
                q.packets.extend(entries)
                if q.limit > 0 and not q.full and len(q.packets) >= q.limit:
                    q.full = True
                    self.full_queues.add(q)
                    for src in q.upstream:
                        src.throttled_by += 1
                q.bound = bound
                self.check(q.node)
        else:
            for q in out.consumers:
                q.bound = bound
                self.check(q.node)
        if out.sinks:
            for sink in out.sinks:
                sink.accept(packets, bound)
                self._pending_sinks.append(sink)
            self.state_changed.notify_all()

    def _publish_one(self, out: OutputStream, packet: Packet, bound: int, now: int) -> None:
        """`publish` of one packet (the commonest delivery), with `check` of a single-input reader inlined."""
        out.bound = bound
        entry = (packet, now)
        failed = self.failed
        for q in out.consumers:
            queued = q.packets
            queued.append(entry)
            q.bound = bound
            if q.limit > 0 and not q.full and len(queued) >= q.limit:
                q.full = True
                self.full_queues.add(q)
                for src in q.upstream:
                    src.throttled_by += 1
            node = q.node
            if node.single and not node.queued and node.in_flight < node.max_in_flight and node.state == OPENED \
                    and not node.closing and not failed:
                # check() of a node with one input and a packet there: ready at its head packet
                node.ready_ts = queued[0][0].timestamp
                self._enqueue(node, PROCESS)
            else:
                self.check(node)
        if out.sinks:
            for sink in out.sinks:
                sink.accept((packet,), bound)
                self._pending_sinks.append(sink)
            self.state_changed.notify_all()

    def take_pending_sinks(self) -> list:
        """Graph outputs that received something; the thread leaving the lock drains them."""
        sinks, self._pending_sinks = self._pending_sinks, []
        return sinks

    # -- back-pressure ----------------------------------------------------------------------------------------
    def _unfull_drained(self, node: NodeRuntime) -> None:
        """After a handler popped or dropped packets of `node`: its full queues with room again let go."""
        for q in node.inputs:
            if q.full and len(q.packets) < q.limit:
                self._unfull(q)

    def _unfull(self, q: InputQueue) -> None:
        """`q` has room again: the sources upstream of it (and only those) may resume."""
        q.full = False
        self.full_queues.discard(q)
        released = False
        for src in q.upstream:
            src.throttled_by -= 1
            if not src.throttled_by:
                released = True
                if isinstance(src, NodeRuntime):
                    self.check(src)
        if released:
            self.state_changed.notify_all()

    def _relieve_deadlock(self) -> None:
        """Every queue limit is a soft limit: when the graph is idle and a throttled source waits, each full queue
        grows by one packet (MediaPipe's UnthrottleSources), or with ``report_deadlock`` the graph fails."""
        names = ", ".join(sorted(f"'{q.node.name}' input '{q.name}'" for q in self.full_queues))
        if self.report_deadlock:
            self.fail(DeadlockError(f"detected a deadlock due to input throttling for {names}: every node is idle "
                                    f"while packet sources remain throttled; consider adjusting max_queue_size or "
                                    f"report_deadlock"))
            return
        self.queue_growths += 1
        if self.queue_growths == 1:
            warnings.warn(f"posegraph: resolved a deadlock by increasing max_queue_size of {names} by one; consider "
                          f"increasing max_queue_size", stacklevel=1)
        for q in list(self.full_queues):
            q.limit = len(q.packets) + 1
            self._unfull(q)

    def _sources_stuck(self) -> bool:
        """Nothing runs or waits to run, and a source node is paused by a full queue (lock held)."""
        return bool(self.full_queues) and self.running == 0 and not any(ex.heap for ex in self.executors.values()) \
            and any(src.throttled_by and not src.stopped for src in self.sources)

    def relieve_if_stuck(self) -> bool:
        """Called by a thread blocked on back-pressure of a graph input (lock held)."""
        if self.full_queues and self.running == 0 and not any(ex.heap for ex in self.executors.values()):
            self._relieve_deadlock()
            return True
        return False

    # -- failure and shutdown ---------------------------------------------------------------------------------
    def fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        if self.failed:
            return
        self.failed = True
        for ex in self.executors.values():
            for _, _, node, _ in ex.heap:
                node.queued = False
            ex.heap.clear()
        self.state_changed.notify_all()

    def cancel(self) -> None:
        """Stop at once: no further process() calls; the nodes that opened are closed (here, when nothing runs)."""
        with self.lock:
            if self.finished.is_set():
                return
            self.fail(GraphCancelledError("graph was cancelled"))
            finalize = self._should_finalize()
        if finalize:
            self._finalize()

    def finish_now(self) -> None:
        """End a run that never got going (start() failed after some nodes opened and were closed)."""
        with self.lock:
            self._finish()

    def _stuck(self, node: str, method: str, timestamp: int | None, limit: float) -> None:
        """The watchdog found a call that has not returned: fail the run, close the others, release the waiters."""
        with self.lock:
            self.stuck += 1
            for n in self.nodes:
                if n.name == node:
                    n.stuck = True
            already_finalizing = self._finalizing
            self.fail(WatchdogError(node, method, limit, timestamp))
            finalize = self._should_finalize()
            if already_finalizing:  # the stuck call is a close() of the finalization itself
                self._finish()
        if finalize:
            self._finalize()

    def _should_finalize(self) -> bool:
        if self.failed and self.running <= self.stuck and not self._finalizing:
            self._finalizing = True
            return True
        return False

    def _finalize(self) -> None:
        """After a failure: close every node that opened (outside the lock), then stop the workers."""
        watch = self.watch if CLOSE in self._watch_kinds else None
        for node in self.nodes:
            if node.state == OPENED and not node.stuck:
                start = _perf_ns()
                if watch is not None:
                    watch.begin(id(node), node.name, "close", None)
                try:
                    node.calculator.close(CloseContext(node))
                except BaseException as exc:  # noqa: BLE001
                    if self.error is not None and hasattr(self.error, "add_note"):
                        self.error.add_note(f"node '{node.name}' also failed in close(): {exc!r}")
                if watch is not None:
                    watch.end(id(node))
                node.stats.close_ns += _perf_ns() - start
                node.state = CLOSED
        with self.lock:
            self._finish()

    def _finish(self) -> None:
        if self.watch is not None:
            self.watch.stop()
        self._stop_workers = True
        for ex in self.executors.values():
            ex.cond.notify_all()
        self.finished.set()
        self.state_changed.notify_all()

    # -- the application's side: graph inputs and waits (no lock held on entry) ------------------------------------
    def add_input_packet(self, out: OutputStream, packet: Packet, block: bool, timeout: float | None,
                         helper: bool = False) -> bool:
        """Send `packet` into graph input `out`; while a queue downstream is full, wait (up to `timeout`), or with
        ``block=False`` return False at once. Deadlock relief runs here when this wait is what blocks the graph.
        `helper`: the caller runs the default executor's work next (`help_until`), so the first node this makes
        ready wakes no worker (the caller then must call `help_until` or `wake`)."""
        deadline = None  # made when it first has to wait (most calls never do)
        with self.lock:
            while True:
                if self.error is not None:
                    raise self.error
                if not out.throttled_by:  # only the inputs upstream of a full queue wait (as MediaPipe)
                    break
                if not block:
                    return False
                if self.relieve_if_stuck():
                    continue
                if deadline is None:
                    deadline = Deadline(timeout)
                deadline.wait(self.state_changed, f"add_packet('{out.name}') blocked by back-pressure for {timeout} s")
            if out.bound >= Timestamp.DONE:
                why = f" (node '{self.stopped_by}' returned STOP)" if self.stopped_by else ""
                raise StreamError(f"graph input stream '{out.name}' is closed{why}")
            out.check_timestamp(packet.timestamp)
            if helper:
                self._taker = self.executors[""]
            try:
                self.publish(out, (packet,), Timestamp.next_allowed(packet.timestamp))
            finally:
                self._taker = None
            sinks = self.take_pending_sinks()
        if sinks:
            self.deliver(sinks)
        return True

    def advance_input(self, out: OutputStream, bound: int, helper: bool = False) -> None:
        """Promise that graph input `out` carries nothing below `bound` (Done closes it); `helper` as in
        `add_input_packet`."""
        with self.lock:
            if bound > out.bound:
                if helper:
                    self._taker = self.executors[""]
                try:
                    self.publish(out, (), bound)
                finally:
                    self._taker = None
                if bound >= Timestamp.DONE:
                    self.input_closed()
            sinks = self.take_pending_sinks()
        if sinks:
            self.deliver(sinks)

    def wait_for(self, predicate, timeout: float | None, what: str) -> None:
        """Wait (lock held while checking) until `predicate()` or a failure; GraphTimeoutError after `timeout`."""
        deadline = Deadline(timeout)
        with self.lock:
            while not predicate():
                if self.error is not None:
                    break
                deadline.wait(self.state_changed, f"graph did not become {what} within {timeout} s")

    def help_until(self, predicate, timeout: float | None, what: str, trace_row: int = 0) -> None:
        """Like `wait_for`, but the calling thread runs ready nodes of the default executor meanwhile (the same
        take/run steps as a worker): a frame-at-a-time caller then costs no thread hand-offs on a chain. Parked, it
        is woken like a worker when work becomes ready and no worker waits (`_wake`)."""
        ex = self.executors[""]
        deadline = Deadline(timeout)
        while True:
            with self.lock:
                if predicate() or self.error is not None:
                    if ex.heap:
                        ex.cond.notify()  # work this thread left behind
                    return
                inv = self.take(ex)
                if inv is None:
                    self._helpers_parked += 1
                    try:
                        deadline.wait(self.state_changed, f"graph did not become {what} within {timeout} s")
                    finally:
                        self._helpers_parked -= 1
                    continue
            while inv is not None:  # the predicate is checked (under the lock) before each call
                inv = self.run(inv, ex, trace_row, until=predicate)

    def wake(self) -> None:
        """Wake a worker for work left queued by a caller that said it would help and then did not."""
        with self.lock:
            ex = self.executors[""]
            if ex.heap:
                ex.cond.notify()

    # -- delivery to graph outputs (no lock) --------------------------------------------------------------------
    def deliver(self, sinks: list["GraphOutput"]) -> None:
        self._drain(sinks)
        with self.lock:
            self.state_changed.notify_all()  # waiters on delivered bounds (process(), wait_until_idle)

    def _drain(self, sinks: list["GraphOutput"]) -> None:
        seen = set()
        for sink in sinks:
            if id(sink) in seen:
                continue
            seen.add(id(sink))
            try:
                sink.drain()
            except Exception as exc:  # noqa: BLE001 - an app callback failing stops the graph like a node
                with self.lock:
                    self.fail(CalculatorError(f"observer of '{sink.name}'", "callback", None, exc))
                    finalize = self._should_finalize()
                if finalize:
                    self._finalize()


PROBE_AFTER = 4  # hand-offs after which a node not measured alone yet is measured (_worth_a_thread)
WAKE_NS = 100_000  # a call expected to run at least this long (mean so far) hands the other ready work to a worker


def _worth_a_thread(node: NodeRuntime, kind: int) -> bool:
    """Whether the call about to run on this thread takes long enough that the ready work it leaves behind should
    go to another worker: a wake-up costs tens of microseconds, more than most calculators' process(). Sources,
    open, close and first calls count as long (a call may wait for another node). After that a process() call
    counts by its mean duration over the node's calls that woke no worker, first call left out; until there is
    one, by its mean over all calls but the first (the first alone after one call), except that after a few
    hand-offs (PROBE_AFTER) a node under 4x the threshold runs one call without waking a worker, to measure it.

    Calls that woke a worker are set aside because the worker slows the call beside it (the GIL), and first calls
    because they may load things: with every call's mean, one slow first call and then the worker each call woke
    kept BlazePose's LandmarksToRoiCalculator (3.3 ms first, then 30 us alone, 105 us beside the worker it woke)
    above the threshold for good, so frame-at-a-time tracking woke a worker every frame."""
    if kind != PROCESS:
        return True
    if node.own_calls:
        return node.own_ns >= WAKE_NS * node.own_calls
    stats = node.stats
    count = stats.process_count
    if count == 0:
        return True
    mean = (stats.process_ns - node.first_ns) / (count - 1) if count > 1 else node.first_ns
    return mean >= WAKE_NS and (node.handoffs < PROBE_AFTER or mean >= 4 * WAKE_NS)


def _with_handler_hint(exc: StreamError, node: NodeRuntime) -> StreamError:
    """A timestamp order error of a node whose handler does not synchronise its inputs gets the likely cause."""
    if node.immediate or node.handler in ("sync_set", "barrier"):
        return StreamError(f"{exc}. Node '{node.name}' uses the {node.handler} input stream handler, which may call "
                           f"process() at a timestamp lower than an earlier call (its inputs are not synchronised): "
                           f"outputs at the input timestamp must then go to separate streams")
    return exc


def _loop_nodes(nodes: list[NodeRuntime]) -> list[NodeRuntime]:
    """The nodes on a loop (a cycle through a back edge), which go first in the ready heaps.

    A loop is serial: its next timestamp cannot start before this one came round, so when it is the slowest
    part of a graph (a tracker whose crop comes from the previous frame's result), every call elsewhere that runs
    before its next step lengthens each frame. Nodes off the loop (sinks, renderers, the source) then run beside
    the loop's long calls, on the other workers, instead of between them; among loop nodes, and among the
    others, downstream still goes first."""
    readers: dict[str, list[NodeRuntime]] = {}
    for node in nodes:
        for q in node.inputs:
            readers.setdefault(q.name, []).append(node)
    after = {id(node): [r for out in node.outputs for r in readers.get(out.name, ())] for node in nodes}
    on_loop = []
    for node in nodes:
        seen, stack = set(), list(after[id(node)])
        while stack:
            nxt = stack.pop()
            if nxt is node:
                on_loop.append(node)
                break
            if id(nxt) not in seen:
                seen.add(id(nxt))
                stack.extend(after[id(nxt)])
    return on_loop


def _link_throttling(nodes: list[NodeRuntime], graph_inputs: dict[str, OutputStream]) -> None:
    """Give every input queue the packet sources upstream of it (source nodes and graph input streams, back
    edges not followed): only those pause while the queue is full (MediaPipe throttles the same set)."""
    producer: dict[str, Any] = dict(graph_inputs)
    for node in nodes:
        for out in node.outputs:
            producer[out.name] = node
    for out in graph_inputs.values():
        out.throttled_by = 0
    memo: dict[str, tuple] = {}
    for node in nodes:
        for q in node.inputs:
            q.upstream = () if q.back_edge else _queue_sources(q.name, producer, memo)


def _queue_sources(stream: str, producer: dict[str, Any], memo: dict[str, tuple]) -> tuple:
    p = producer.get(stream)
    if p is None:
        return ()
    if isinstance(p, OutputStream):
        return (p,)
    if p.name in memo:
        return memo[p.name]
    memo[p.name] = ()  # a cycle without a declared back edge: stop here
    found: dict[int, Any] = {}
    if p.is_source:
        found[id(p)] = p
    for q in p.inputs:
        if not q.back_edge:
            for src in _queue_sources(q.name, producer, memo):
                found[id(src)] = src
    memo[p.name] = tuple(found.values())
    return memo[p.name]
