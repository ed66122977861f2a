"""The scheduler: ready queues, worker threads, timestamp bounds, back-pressure, failure and shutdown.

Who may touch what:
  * Everything in `NodeRuntime`, `InputQueue`, `OutputStream` and the fields below is guarded by ``self.lock``.
  * A calculator's ``open/process/close`` runs *without* the lock, on at most ``max_in_flight`` workers at once;
    what it sends is buffered in its context and committed under the lock, in call order.
  * Observer callbacks run without the lock, in timestamp order per stream (one thread drains a stream at a time).

Readiness follows MediaPipe: a default-handler node fires at timestamp T once every input either has a packet at T
or has a bound past T; when a node is idle, its output bounds follow its settled input bound (+ offset), which is
what lets a gate that emits nothing still release the nodes below it. Ready nodes wait in one heap per executor,
ordered downstream first, so a graph drains before it fills.
"""

from __future__ import annotations

import heapq
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .calculator import STOP
from .context import CloseContext, ProcessContext
from .errors import CalculatorError, GraphCancelledError, StreamError
from .node import CLOSED, OPENED, InputQueue, NodeRuntime, OutputStream
from .packet import Packet, Timestamp
from .profiler import TraceRecorder

if TYPE_CHECKING:
    from .graph import GraphOutput

PROCESS, SOURCE, CLOSE = 0, 1, 2
_METHOD = {PROCESS: "process", SOURCE: "process", CLOSE: "close"}
_perf_ns = time.perf_counter_ns
# Set on a worker thread while it commits: the executor whose heap it will pop next (so the first node it makes
# ready needs no other thread woken: a wake-up costs more than most calculators' process()).
_committing = threading.local()
_TRACE_PACK = TraceRecorder.RECORD.pack
_UNSET = Timestamp.UNSET


@dataclass(slots=True)
class Invocation:
    node: NodeRuntime
    kind: int
    timestamp: int = Timestamp.UNSET
    packets: list = field(default_factory=list)
    seq: int = 0
    latency_ns: int = 0
    ctx: Any = None
    result: Any = None
    error: BaseException | None = None
    duration_ns: int = 0


class Executor:
    """A named pool of worker threads with its own ready heap."""

    def __init__(self, name: str, num_threads: int, lock: threading.Lock):
        self.name = name or "default"
        self.num_threads = max(1, num_threads)
        self.heap: list[tuple[int, int, NodeRuntime, int]] = []
        self.cond = threading.Condition(lock)
        self.threads: list[threading.Thread] = []


class Scheduler:
    def __init__(self, nodes: list[NodeRuntime], executors: dict[str, Executor], node_executor: dict[str, str],
                 error_policy: str = "stop", trace: TraceRecorder | None = None):
        self.lock = threading.Lock()
        for ex in executors.values():
            ex.cond = threading.Condition(self.lock)
        self.state_changed = threading.Condition(self.lock)
        self.nodes = nodes
        self.executors = executors
        self.node_executor = {n.name: executors[node_executor.get(n.name, "") or ""] for n in nodes}
        self.sources = [n for n in nodes if n.is_source]
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

    # -- threads ----------------------------------------------------------------------------------------------
    def start_workers(self) -> None:
        for ex in self.executors.values():
            for i in range(ex.num_threads):
                t = threading.Thread(target=self._worker, args=(ex,), name=f"posegraph-{ex.name}-{i}", daemon=True)
                ex.threads.append(t)
                t.start()

    def join_workers(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
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
            self.run(inv, ex, worker)

    def take(self, ex: Executor) -> Invocation | None:
        """The next invocation from `ex`'s ready heap, or None (lock held)."""
        while ex.heap and not self._stop_workers:
            _, _, node, kind = heapq.heappop(ex.heap)
            node.queued = False
            inv = self._prepare(node, kind)
            if inv is not None:
                if node.in_flight < node.max_in_flight:
                    self.check(node)  # more work for the same node on another worker
                return inv
        return None

    def run(self, inv: Invocation, ex: Executor, worker: int) -> None:
        """Execute and commit one invocation (lock not held); the calling thread then takes from `ex` again."""
        self._execute(inv, worker)
        with self.lock:
            _committing.executor = ex
            sinks, finalize = self._complete(inv)
            _committing.executor = None
        if sinks:
            self._deliver(sinks)
        if finalize:
            self._finalize()

    # -- scheduling (lock held) -------------------------------------------------------------------------------
    def _enqueue(self, node: NodeRuntime, kind: int) -> None:
        node.queued = True
        self._seq += 1
        ex = self.node_executor[node.name]
        heapq.heappush(ex.heap, (-node.rank, self._seq, node, kind))
        if len(ex.heap) > 1 or getattr(_committing, "executor", None) is not ex:
            ex.cond.notify()

    def check(self, node: NodeRuntime) -> None:
        """Decide what `node` can do now: run, close, or just pass its settled bound downstream."""
        if node.queued or node.state != OPENED or node.closing or self.failed:
            return
        if node.is_source:
            if not node.stopped and node.in_flight == 0 and not self.full_queues:
                self._enqueue(node, SOURCE)
            return
        if node.in_flight >= node.max_in_flight:
            return
        if node.handler == "immediate":
            if node.immediate_ready():
                self._enqueue(node, PROCESS)
                return
            ready, settled, any_packets = None, node.settled_bound(), node.has_packets()
        else:
            ready, settled, any_packets = node.scan()
            if ready is not None:
                self._enqueue(node, PROCESS)
                return
        if node.in_flight or any_packets:
            return
        if settled >= Timestamp.DONE:  # no packets and every input done
            node.closing = True
            self._enqueue(node, CLOSE)
            return
        offset = node.timestamp_offset
        if offset is not None and settled > Timestamp.MIN:
            target = settled + offset
            for out in node.outputs:
                if target > out.bound:
                    self.publish(out, (), target)

    def _prepare(self, node: NodeRuntime, kind: int) -> Invocation | None:
        if self.failed:
            return None
        if kind == CLOSE:
            inv = Invocation(node, CLOSE)
        elif kind == SOURCE:
            inv = Invocation(node, SOURCE)
        else:
            if node.handler == "immediate":
                ts = min((q.packets[0][0].timestamp for q in node.inputs if q.packets), default=None)
                node.seen_bounds = node.current_bounds()
                if ts is None:
                    if not node.process_bounds:
                        return None
                    ts = Timestamp.UNSET
            else:
                ts = node.ready_timestamp()
                if ts is None:
                    return None
                node.last_ts = ts
            now = _perf_ns()
            packets: list[Packet | None] = []
            latency = 0
            for q in node.inputs:
                if q.packets and q.packets[0][0].timestamp == ts:
                    packet, enqueued = q.packets.popleft()
                    latency = max(latency, now - enqueued)
                    packets.append(packet)
                    if q.full and len(q.packets) < q.limit:
                        self._unfull(q)
                else:
                    packets.append(None)
            if node.handler == "immediate":
                node.seen_bounds = node.current_bounds()
            inv = Invocation(node, PROCESS, ts, packets, latency_ns=latency)
        inv.seq = node.next_seq
        node.next_seq += 1
        node.in_flight += 1
        self.running += 1
        return inv

    # -- running (no lock) ------------------------------------------------------------------------------------
    def _execute(self, inv: Invocation, worker: int = 0) -> None:
        node = inv.node
        calc = node.calculator
        start = _perf_ns()
        try:
            if inv.kind == CLOSE:
                inv.ctx = CloseContext(node)
                calc.close(inv.ctx)
            else:
                inv.ctx = ProcessContext(node, inv.timestamp, inv.packets)
                inv.result = calc.process(inv.ctx)
        except Exception as exc:  # noqa: BLE001 - any calculator failure is reported with its node
            inv.error = exc
        inv.duration_ns = _perf_ns() - start
        if self._trace_record is not None:  # the packet timestamp of the first send lets flows be matched later
            sends = inv.ctx._sends if inv.ctx is not None else ()
            self._trace_record(_TRACE_PACK(worker, node.rank, start, inv.duration_ns, inv.timestamp, inv.kind,
                                           sends[0][1].timestamp if sends and sends[0][1] is not None
                                           else _UNSET))

    # -- committing (lock held) -------------------------------------------------------------------------------
    def _complete(self, inv: Invocation) -> tuple[list, bool]:
        """Commit `inv` (in call order per node); returns sinks to drain and whether to finalize."""
        node = inv.node
        node.in_flight -= 1
        self.running -= 1
        stats = node.stats
        if inv.kind == CLOSE:
            stats.close_ns += inv.duration_ns
            if inv.error is not None:
                node.state = CLOSED  # close() is attempted exactly once, failed or not
        else:
            stats.record(inv.duration_ns, inv.latency_ns)
        if inv.error is not None:
            if inv.kind == PROCESS and self.error_policy == "skip":
                stats.errors += 1
                inv.ctx._sends.clear()
                warnings.warn(f"posegraph: node '{node.name}' failed at timestamp "
                              f"{Timestamp.describe(inv.timestamp)} and the timestamp was skipped: {inv.error!r}",
                              stacklevel=1)
            else:
                self.fail(CalculatorError(node.name, _METHOD[inv.kind], inv.timestamp
                                          if inv.kind == PROCESS else None, inv.error))
                return self.take_pending_sinks(), self._should_finalize()
        if self.failed:
            return self.take_pending_sinks(), self._should_finalize()
        if inv.seq != node.commit_seq:
            node.pending_commits[inv.seq] = inv
            return [], False
        while True:
            try:
                self._commit(inv)
            except StreamError as exc:
                self.fail(CalculatorError(node.name, _METHOD[inv.kind], inv.timestamp, exc))
                return self.take_pending_sinks(), self._should_finalize()
            node.commit_seq += 1
            inv = node.pending_commits.pop(node.commit_seq, None)
            if inv is None:
                break
        self.check(node)
        if self.full_queues and self.running == 0 and not any(ex.heap for ex in self.executors.values()):
            self._relieve_deadlock()
        return self.take_pending_sinks(), False

    def _commit(self, inv: Invocation) -> None:
        node = inv.node
        per_slot: dict[int, list[Packet]] = {}
        bounds: dict[int, int] = {}
        for slot, packet, bound in inv.ctx._sends:
            if packet is not None:
                per_slot.setdefault(slot, []).append(packet)
            elif bound > bounds.get(slot, Timestamp.UNSET):
                bounds[slot] = bound
        if inv.kind == PROCESS and node.timestamp_offset is not None and inv.timestamp != Timestamp.UNSET:
            settled = Timestamp.next_allowed(inv.timestamp + node.timestamp_offset)
        else:
            settled = None
        for slot, out in enumerate(node.outputs):
            packets = per_slot.get(slot, ())
            new_bound = out.bound
            for packet in packets:
                out.check_timestamp(packet.timestamp, new_bound)
                new_bound = Timestamp.next_allowed(packet.timestamp)
            new_bound = max(new_bound, bounds.get(slot, new_bound), settled or new_bound)
            if packets or new_bound > out.bound:
                self.publish(out, packets, new_bound)
        if inv.kind == SOURCE:
            node.stats.emitted += bool(per_slot)
            if inv.result is STOP:
                node.stopped = True
                node.closing = True
                self._enqueue(node, CLOSE)
        elif inv.kind == PROCESS and inv.result is STOP:
            node.closing = True
            for q in node.inputs:
                q.packets.clear()
                if q.full:
                    self._unfull(q)
            self._enqueue(node, CLOSE)
        elif inv.kind == CLOSE:
            node.state = CLOSED
            for out in node.outputs:
                if out.bound < Timestamp.DONE:
                    self.publish(out, (), Timestamp.DONE)
            if all(n.state == CLOSED for n in self.nodes):
                self._finish()

    def publish(self, out: OutputStream, packets, bound: int) -> None:
        """Hand packets and a new bound to every reader of `out` (lock held)."""
        out.bound = bound
        if packets:
            now = _perf_ns()
        for q in out.consumers:
            if packets:
                q.packets.extend((p, now) for p in packets)
                if q.limit > 0 and not q.full and len(q.packets) >= q.limit:
                    q.full = True
                    self.full_queues.add(q)
            q.bound = bound
            self.check(q.node)
        if out.sinks:
            for sink in out.sinks:
                sink.accept(packets, bound)
                self._pending_sinks.append(sink)
            self.state_changed.notify_all()

    def take_pending_sinks(self) -> list:
        """Graph outputs that received something; the thread leaving the lock drains them."""
        sinks, self._pending_sinks = self._pending_sinks, []
        return sinks

    # -- back-pressure ----------------------------------------------------------------------------------------
    def _unfull(self, q: InputQueue) -> None:
        q.full = False
        self.full_queues.discard(q)
        if not self.full_queues:
            for src in self.sources:
                self.check(src)
            self.state_changed.notify_all()

    def _relieve_deadlock(self) -> None:
        """Every queue limit is a soft limit: when only growing one lets the graph move, grow it (as MediaPipe)."""
        self.queue_growths += 1
        if self.queue_growths == 1:
            names = ", ".join(sorted(f"{q.node.name}<-{q.name}" for q in self.full_queues))
            warnings.warn(f"posegraph: graph would deadlock with full input queues ({names}); raising their "
                          f"max_queue_size", stacklevel=1)
        for q in list(self.full_queues):
            q.limit = len(q.packets) + max(1, q.limit)
            self._unfull(q)

    def relieve_if_stuck(self) -> bool:
        """Called by a thread blocked on back-pressure (lock held)."""
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

    def cancel(self) -> bool:
        """Stop at once; returns whether the caller must finalize (nothing was running)."""
        if self.finished.is_set():
            return False
        self.fail(GraphCancelledError("graph was cancelled"))
        return self._should_finalize()

    def _should_finalize(self) -> bool:
        if self.failed and self.running == 0 and not self._finalizing:
            self._finalizing = True
            return True
        return False

    def _finalize(self) -> None:
        """After a failure: close every node that opened (outside the lock), then stop the workers."""
        for node in self.nodes:
            if node.state == OPENED:
                start = _perf_ns()
                try:
                    node.calculator.close(CloseContext(node))
                except Exception as exc:  # noqa: BLE001
                    if self.error is not None and hasattr(self.error, "add_note"):
                        self.error.add_note(f"node '{node.name}' also failed in close(): {exc!r}")
                node.stats.close_ns += _perf_ns() - start
                node.state = CLOSED
        with self.lock:
            self._finish()

    def _finish(self) -> None:
        self._stop_workers = True
        for ex in self.executors.values():
            ex.cond.notify_all()
        self.finished.set()
        self.state_changed.notify_all()

    # -- delivery to graph outputs (no lock) --------------------------------------------------------------------
    def _deliver(self, sinks: list["GraphOutput"]) -> None:
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
