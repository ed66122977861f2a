"""Run-time state of streams and nodes. All mutable fields here are guarded by the graph's lock."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from .calculator import Calculator, Port
from .config.model import NodeSpec
from .errors import StreamError
from .packet import Packet, Timestamp
from .profiler import NodeStats

if TYPE_CHECKING:
    from .graph import GraphOutput

CREATED, OPENED, CLOSED = "created", "opened", "closed"


class InputQueue:
    """Packets waiting at one input of one node, and the stream's bound (next timestamp it may deliver)."""

    __slots__ = ("node", "slot", "name", "packets", "bound", "back_edge", "limit", "full")

    def __init__(self, node: "NodeRuntime", slot: int, name: str, back_edge: bool, limit: int):
        self.node = node
        self.slot = slot
        self.name = name
        self.packets: deque[tuple[Packet, int]] = deque()  # (packet, enqueue time in ns)
        self.bound = Timestamp.UNSTARTED
        self.back_edge = back_edge
        self.limit = limit  # <= 0: unbounded; back edges never throttle
        self.full = False

    def head_or_bound(self) -> int:
        return self.packets[0][0].timestamp if self.packets else self.bound


class OutputStream:
    """One named stream: its single producer's bound and everyone who reads it."""

    __slots__ = ("name", "consumers", "sinks", "bound", "producer")

    def __init__(self, name: str, producer: str):
        self.name = name
        self.producer = producer  # node name, or "graph input"
        self.consumers: list[InputQueue] = []
        self.sinks: list["GraphOutput"] = []
        self.bound = Timestamp.UNSTARTED

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
        self.calculator: Calculator = spec.calculator_class(spec.options, spec.name)
        cls = spec.calculator_class
        self.timestamp_offset = cls.TIMESTAMP_OFFSET
        self.handler = spec.input_stream_handler or cls.INPUT_STREAM_HANDLER
        self.process_bounds = cls.PROCESS_TIMESTAMP_BOUNDS
        self.max_in_flight = max(1, spec.max_in_flight)
        self.is_source = not spec.inputs
        self.inputs: list[InputQueue] = []
        self._in_slots: dict[str, list[int]] = {}
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
        self.state = CREATED
        self.in_flight = 0
        self.queued = False
        self.closing = False
        self.stopped = False  # a source returned STOP
        self.next_seq = 0
        self.commit_seq = 0
        self.pending_commits: dict[int, Any] = {}
        self.seen_bounds: tuple[int, ...] = ()
        self.last_ts = Timestamp.UNSTARTED
        self.stats = NodeStats(spec.name, spec.calculator)
        self.deferred_errors: list[BaseException] = []

    # -- slot lookup used by contexts ---------------------------------------------------------------------------
    def input_slot(self, port: Port, index: int = 0) -> int:
        slots = self._in_slots.get(port.tag)
        if slots is None or index >= len(slots):
            return -1
        return slots[index]

    def input_slots(self, port: Port) -> list[int]:
        return [s for s in self._in_slots.get(port.tag, ()) if s >= 0]

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
        settled = Timestamp.DONE
        any_packets = False
        for q in self.inputs:
            if q.packets:
                any_packets = True
                t = q.packets[0][0].timestamp
            else:
                t = q.bound
            if t < settled:
                settled = t
        if settled >= Timestamp.DONE:
            return None, settled, any_packets
        for q in self.inputs:
            if not q.packets and q.bound <= settled:
                if self.process_bounds and Timestamp.MIN <= settled - 1 and settled - 1 > self.last_ts:
                    return settled - 1, settled, any_packets
                return None, settled, any_packets
        return settled, settled, any_packets

    def immediate_ready(self) -> bool:
        if any(q.packets for q in self.inputs):
            return True
        return self.process_bounds and self.current_bounds() != self.seen_bounds

    def current_bounds(self) -> tuple[int, ...]:
        return tuple(q.bound for q in self.inputs)


def _put_slot(slots: dict[str, list[int]], tag: str, index: int, slot: int) -> None:
    entries = slots.setdefault(tag, [])
    while len(entries) <= index:
        entries.append(-1)
    entries[index] = slot
