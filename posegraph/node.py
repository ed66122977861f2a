"""Run-time state of streams and nodes. All mutable fields here are guarded by the graph's lock."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from .calculator import Calculator, Port
from .config.model import NodeSpec
from .errors import ConfigIssue, GraphConfigError, StreamError
from .packet import Packet, Timestamp
from .profiler import NodeStats
from .stream_handlers import policy_for

if TYPE_CHECKING:
    from .graph import GraphOutput

CREATED, OPENED, CLOSED = "created", "opened", "closed"


class InputQueue:
    """Packets waiting at one input of one node, and the stream's bound (next timestamp it may deliver)."""

    __slots__ = ("node", "slot", "name", "packets", "bound", "back_edge", "limit", "full", "upstream")

    def __init__(self, node: "NodeRuntime", slot: int, name: str, back_edge: bool, limit: int):
        self.node = node
        self.slot = slot
        self.name = name
        self.packets: deque[tuple[Packet, int]] = deque()  # (packet, enqueue time in ns)
        self.bound = Timestamp.UNSTARTED
        self.back_edge = back_edge
        self.limit = limit  # <= 0: unbounded; back edges never throttle
        self.full = False
        self.upstream: tuple = ()  # packet sources (source nodes, graph input streams) throttled while full

    def head_or_bound(self) -> int:
        return self.packets[0][0].timestamp if self.packets else self.bound

    def pop_at(self, ts: int) -> Packet | None:
        """The packet at `ts`, taken off the queue if it is at its head; None (an empty input) otherwise."""
        if self.packets and self.packets[0][0].timestamp == ts:
            return self.packets.popleft()[0]
        return None


class OutputStream:
    """One named stream: its single producer's bound and everyone who reads it."""

    __slots__ = ("name", "consumers", "sinks", "bound", "producer", "throttled_by", "untimed")

    def __init__(self, name: str, producer: str):
        self.name = name
        self.producer = producer  # node name, or "graph input"
        self.consumers: list[InputQueue] = []
        self.sinks: list["GraphOutput"] = []
        self.bound = Timestamp.UNSTARTED
        self.throttled_by = 0  # graph input streams: full queues downstream (add_packet waits while > 0)
        # Read only by barrier-handler nodes, which ignore timestamps: packets may come in any timestamp order
        # (MediaPipe's BarrierInputStreamHandler turns its streams' order check off). Set when the graph starts.
        self.untimed = False

    def check_timestamp(self, ts: int, bound: int | None = None) -> None:
        """Raise unless `ts` may follow what the stream carried (`bound`: the next allowed timestamp)."""
        bound = self.bound if bound is None else bound
        if ts < bound:
            raise StreamError(
                f"stream '{self.name}' (from {self.producer}): packet timestamp {Timestamp.describe(ts)} is not "
                f"greater than the previous one (next allowed: {Timestamp.describe(bound)}); timestamps on a "
                f"stream must strictly increase")
        if not Timestamp.is_valid_packet_timestamp(ts):
            raise StreamError(f"stream '{self.name}' (from {self.producer}): {Timestamp.describe(ts)} is not a "
                              f"valid packet timestamp")


class NodeRuntime:
    """A calculator instance plus its queues, slots, scheduling state and statistics."""

    def __init__(self, spec: NodeSpec, rank: int, queue_limit: int):
        self.spec = spec
        self.name = spec.name
        self.rank = rank
        # Ready-heap order (higher first): the rank, raised by the scheduler for nodes on a loop (see
        # scheduler._loop_nodes).
        self.priority = rank
        # process() time of the calls that woke no other worker, first call left out; the first call's time; how
        # many calls woke a worker (scheduler._worth_a_thread)
        self.own_ns = 0
        self.own_calls = 0
        self.first_ns = 0
        self.handoffs = 0
        self.calculator: Calculator = spec.calculator_class(spec.options, spec.name)
        contract = spec.calculator_class.contract
        self.timestamp_offset = contract.timestamp_offset
        self.handler = spec.input_stream_handler or contract.input_stream_handler
        self.immediate = self.handler == "immediate"
        self.policy = None  # None: the scheduler's built-in default/immediate paths
        self.process_bounds = contract.process_timestamp_bounds
        self.max_in_flight = max(1, spec.max_in_flight)
        if self.max_in_flight > 1 and not contract.concurrent_process:
            raise GraphConfigError(ConfigIssue(
                f"max_in_flight is {self.max_in_flight}, but {spec.calculator}.process() may not run concurrently "
                f"on one instance (the calculator does not set CONCURRENT_PROCESS); remove max_in_flight",
                spec.location.file, spec.location.line, spec.name))
        # MediaPipe's CalculatorNode::IsSource: no input streams and at least one output stream. A node with
        # neither (side packets only) is opened and closed, never processed.
        self.is_source = not spec.inputs and bool(spec.outputs)
        self.inputs: list[InputQueue] = []
        self._in_slots: dict[str, list[int]] = {}
        self._in_slot_lists: dict[str, list[int]] = {}  # input_slots() per tag, made on first use
        for slot, binding in enumerate(spec.inputs):
            limit = 0 if binding.back_edge else queue_limit
            self.inputs.append(InputQueue(self, slot, binding.name, binding.back_edge, limit))
            _put_slot(self._in_slots, binding.port.tag, binding.index, slot)
        self.outputs: list[OutputStream] = []  # filled by the graph (streams are shared objects)
        self._out_slots: dict[str, list[int]] = {}
        for slot, binding in enumerate(spec.outputs):
            _put_slot(self._out_slots, binding.port.tag, binding.index, slot)
        self.input_side_values: dict[tuple[str, int], Any] = {}
        self.output_side_names = {(b.port.tag, b.index): b.name for b in spec.output_side_packets}
        self.produced_side_packets: dict[str, Any] = {}
        self.waiting_side_packets: set[str] = set()  # not opened yet: these side packets do not exist yet
        self.state = CREATED
        self.in_flight = 0
        self.queued = False
        self.closing = False
        self.stopped = False  # a source returned STOP
        self.stuck = False  # the watchdog gave up on one of its calls: it is never closed
        self.next_seq = 0
        self.commit_seq = 0
        self.pending_commits: dict[int, Any] = {}
        # Immediate handler: each input is its own sync set (MediaPipe's ImmediateInputStreamHandler), with the
        # timestamp it is ready at (UNSET: not ready) and the last timestamp it was processed at.
        self.imm_ready = [Timestamp.UNSET] * len(spec.inputs)
        self.imm_last = [Timestamp.UNSTARTED] * len(spec.inputs)
        self.imm_done_ts: int | None = None  # a stream became done: one call without packets at this timestamp
        self.throttled_by = 0  # full queues downstream of this source (it is paused while > 0)
        self.last_ts = Timestamp.UNSTARTED
        self.stats = NodeStats(spec.name, spec.calculator)
        self.policy = policy_for(self.handler, self)  # None: the scheduler's built-in default/immediate paths
        self.deferred_errors: list[BaseException] = []
        self.executor: Any = None  # the scheduler's Executor that runs this node (set when the run starts)
        # The scheduler's common path: the default handler on a node with inputs (no policy object, not immediate)
        self.fast = not self.is_source and not self.immediate and self.policy is None
        self.ready_ts: int | None = None  # default handler: the timestamp check() found it ready at
        self.single = self.fast and len(self.inputs) == 1 and not self.process_bounds  # (scan() in one test)

    # -- slot lookup used by contexts ---------------------------------------------------------------------------
    def input_slot(self, port: Port, index: int = 0) -> int:
        slots = self._in_slots.get(port.tag)
        if slots is None or index >= len(slots):
            return -1
        return slots[index]

    def input_slots(self, port: Port) -> list[int]:
        """The connected slots of every index of `port` (a shared list: not to be changed)."""
        slots = self._in_slot_lists.get(port.tag)
        if slots is None:
            slots = self._in_slot_lists[port.tag] = [s for s in self._in_slots.get(port.tag, ()) if s >= 0]
        return slots

    def output_slot(self, port: Port, index: int = 0) -> int:
        slots = self._out_slots.get(port.tag)
        if slots is None:
            return -1 if port.tag in self.calculator.contract.outputs else -2
        return slots[index] if index < len(slots) else -1

    def input_bound(self, slot: int) -> int:
        queue = self.inputs[slot]
        return queue.packets[0][0].timestamp if queue.packets else queue.bound

    def set_output_side_packet(self, port: Port, index: int, value: Any) -> None:
        name = self.output_side_names.get((port.tag, index))
        if name is None:
            if port.tag in self.calculator.contract.output_side_packets:
                return  # optional and not connected
            raise StreamError(f"node '{self.name}': {port!r} is not an output side packet of "
                              f"{type(self.calculator).__name__}")
        self.produced_side_packets[name] = value

    # -- readiness (graph lock held) ----------------------------------------------------------------------------
    def settled_bound(self) -> int:
        """Every timestamp below this is settled on all inputs (no packet can still arrive there)."""
        return min((q.head_or_bound() for q in self.inputs), default=Timestamp.DONE)

    def has_packets(self) -> bool:
        return any(q.packets for q in self.inputs)

    def ready_timestamp(self) -> int | None:
        """Default handler: the timestamp to fire at, once it is settled on every input.

        With PROCESS_TIMESTAMP_BOUNDS the node also fires, with no packets, at the newest settled timestamp
        when its inputs' bounds moved past it (MediaPipe's SetProcessTimestampBounds).
        """
        return self.scan()[0]

    def scan(self) -> tuple[int | None, int, bool]:
        """One pass over the inputs for the scheduler: (ready timestamp as ``ready_timestamp``, settled bound,
        whether any packet is queued)."""
        # One pass: the node is ready at its lowest head packet when that lies below the bound of every empty
        # input (an empty input bounded at or below it may still deliver a packet there); else everything below
        # the lowest such bound is settled.
        head = empty = _DONE
        for q in self.inputs:
            queued = q.packets
            if queued:
                t = queued[0][0].timestamp
                if t < head:
                    head = t
            elif q.bound < empty:
                empty = q.bound
        if head < empty:
            return head, head, True
        any_packets = head != _DONE
        if empty < _DONE and self.process_bounds and Timestamp.MIN <= empty - 1 and empty - 1 > self.last_ts:
            return empty - 1, empty, any_packets
        return None, empty, any_packets

    def immediate_readiness(self) -> int | None:
        """Immediate handler (MediaPipe's ImmediateInputStreamHandler::GetNodeReadiness, each input one sync set):
        the timestamp to run at, ``DONE`` when the node should close, or None when it is not ready."""
        input_ts = min_bound = _DONE
        became_done = False
        pb = self.process_bounds
        ready, last = self.imm_ready, self.imm_last
        for i, q in enumerate(self.inputs):
            r = ready[i]
            if r != _UNSET:
                if r < min_bound:
                    min_bound = r
                if r < input_ts:
                    input_ts = r
                continue
            prev = last[i]
            state, stream_ts = _sync_set_readiness(q, pb, last, i)
            if stream_ts < min_bound:
                min_bound = stream_ts
            if state == _READY:
                ready[i] = stream_ts
                if stream_ts < input_ts:
                    input_ts = stream_ts
            elif state == _CLOSE:
                if pb:
                    # The first time a stream is done it is processed at Max ("done, but still to be processed").
                    if prev < Timestamp.MAX:
                        min_bound = min(min_bound, Timestamp.MAX)
                        input_ts = min(input_ts, Timestamp.MAX)
                        ready[i] = Timestamp.MAX
                    else:
                        ready[i] = _DONE
                elif prev < _DONE:
                    became_done = True
                    ready[i] = _DONE
        if min_bound == _DONE:
            return _DONE
        if input_ts < _DONE:
            return input_ts
        if became_done:  # MediaPipe runs the node once, with no packets, at the smallest bound
            self.imm_done_ts = min_bound
        return self.imm_done_ts

    def take_immediate(self, ts: int) -> list[bool]:
        """Which inputs deliver their packet at `ts` (FillInputSet); resets their readiness."""
        ready = self.imm_ready
        self.imm_done_ts = None
        taken = []
        for i in range(len(ready)):
            if ready[i] == ts:
                ready[i] = _UNSET
                taken.append(True)
            else:
                taken.append(False)
        return taken


_UNSET, _DONE = Timestamp.UNSET, Timestamp.DONE
_NOT_READY, _READY, _CLOSE = 0, 1, 2


def _prev_allowed(ts: int) -> int:
    if ts <= Timestamp.MIN or ts == Timestamp.POST_STREAM:
        return Timestamp.UNSTARTED
    if ts > Timestamp.MAX:
        return Timestamp.MAX
    return ts - 1


def _sync_set_readiness(q: InputQueue, process_bounds: bool, last: list[int], i: int) -> tuple[int, int]:
    """MediaPipe's SyncSet::GetReadiness for a set of one stream: (state, timestamp); updates ``last[i]``."""
    if q.packets:
        min_packet, min_bound = q.packets[0][0].timestamp, _DONE
    else:
        min_packet, min_bound = _DONE, q.bound
    stream_ts = min(min_packet, min_bound)
    if stream_ts >= Timestamp.ONE_OVER_POST_STREAM:
        last[i] = Timestamp.MAX
        return _CLOSE, _DONE
    if not process_bounds:
        if min_bound > min_packet:
            last[i] = stream_ts
            return _READY, stream_ts
        return _NOT_READY, stream_ts
    if min_packet == Timestamp.POST_STREAM and min_bound > min_packet:
        settled = min_packet
    else:
        settled = _prev_allowed(min_bound)
    input_ts = min(min_packet, settled)
    if input_ts > max(last[i], Timestamp.UNSTARTED):
        last[i] = input_ts
        return _READY, input_ts
    return _NOT_READY, stream_ts


def _put_slot(slots: dict[str, list[int]], tag: str, index: int, slot: int) -> None:
    entries = slots.setdefault(tag, [])
    while len(entries) <= index:
        entries.append(-1)
    entries[index] = slot
