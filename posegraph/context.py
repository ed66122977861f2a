"""What a calculator sees while it runs: its inputs at one timestamp, its side packets, a way to send.

Sends are buffered in the context and committed by the scheduler when the call returns, so a calculator never
touches shared state and needs no locks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import StreamError
from .packet import Packet, Timestamp, as_timestamp

if TYPE_CHECKING:
    from .calculator import Port
    from .node import NodeRuntime


class _SideContext:
    """Side-packet access shared by every context."""

    __slots__ = ("_node",)

    def __init__(self, node: "NodeRuntime"):
        self._node = node

    @property
    def node_name(self) -> str:
        return self._node.name

    @property
    def max_in_flight(self) -> int:
        """How many process() calls of this node may run at once (the node's ``max_in_flight``; 1 unless the
        calculator sets CONCURRENT_PROCESS): a calculator sizes per-call resources by it, e.g. one model each."""
        return self._node.max_in_flight

    def side(self, port: "Port", index: int = 0, default: Any = None) -> Any:
        """The value of an input side packet (default when the optional port is not connected)."""
        return self._node.input_side_values.get((port.tag, index), default)

    def has_side(self, port: "Port", index: int = 0) -> bool:
        """Whether the side packet was given (an optional one may be connected and still absent)."""
        return (port.tag, index) in self._node.input_side_values

    def side_connected(self, port: "Port", index: int = 0) -> bool:
        """Whether the graph wires this side-packet port, given or not."""
        return any(b.port.tag == port.tag and b.index == index for b in self._node.spec.input_side_packets)

    def connected_inputs(self) -> list[tuple[str, int]]:
        """(tag, index) of every connected input stream, in declaration order (for calculators that take any tag)."""
        return [(b.port.tag, b.index) for b in self._node.spec.inputs]

    def set_side(self, port: "Port", value: Any, index: int = 0) -> None:
        """Produce an output side packet (in open(), process() or close(), as MediaPipe allows); nodes that need
        it are opened once it exists."""
        self._node.set_output_side_packet(port, index, value)

    def defer_error(self, error: BaseException) -> None:
        """Report a problem that must not stop the graph now (a damaged video after its good frames): everything
        already in flight drains, then ``wait_until_done`` raises it, naming this node."""
        self._node.deferred_errors.append(error)

    def count_dropped(self, n: int = 1) -> None:
        """Account for packets this node deliberately discarded (flow limiting, max_poses...)."""
        self._node.stats.dropped += n


class _ExplicitSendContext(_SideContext):
    """open() and close(): no input timestamp of their own, so every send names its timestamp."""

    __slots__ = ("_sends",)

    def __init__(self, node: "NodeRuntime"):
        super().__init__(node)
        self._sends: list[tuple[int, Packet | None, int]] = []

    def send(self, port: "Port", value: Any, timestamp: int, *, index: int = 0) -> None:
        slot = self._node.output_slot(port, index)
        if slot >= 0:
            if type(timestamp) is not int:
                timestamp = as_timestamp(timestamp, f"node '{self._node.name}': send on {port!r}")
            self._sends.append((slot, Packet(value, timestamp), 0))


class OpenContext(_ExplicitSendContext):
    """open() may send packets (MediaPipe allows output in Open); they are committed before the first process()."""

    __slots__ = ()
    timestamp = Timestamp.UNSTARTED  # MediaPipe's InputTimestamp() in Open()

    def __init__(self, node: "NodeRuntime", *_):
        super().__init__(node)

    def set_next_bound(self, port: "Port", bound: int, *, index: int = 0) -> None:
        slot = self._node.output_slot(port, index)
        if slot >= 0:
            self._sends.append((slot, None, as_timestamp(bound, f"node '{self._node.name}'")))


class CloseContext(_ExplicitSendContext):
    """close() may still send final packets (e.g. a summary at PostStream)."""

    __slots__ = ()
    timestamp = Timestamp.DONE  # MediaPipe's InputTimestamp() in Close()


class ProcessContext(_SideContext):
    """Inputs at one timestamp plus buffered outputs."""

    __slots__ = ("timestamp", "_packets", "_sends", "_bounds")

    def __init__(self, node: "NodeRuntime", timestamp: int, packets: list[Packet | None],
                 bounds: list[int] | None = None):
        self._node = node  # (_SideContext.__init__, inlined: one of these is made per call)
        self.timestamp = timestamp
        self._packets = packets
        self._bounds = bounds  # immediate handler: every input's bound when the call was prepared
        # (output slot, packet or None, explicit next bound or 0)
        self._sends: list[tuple[int, Packet | None, int]] = []

    # -- inputs ------------------------------------------------------------------------------------------------
    def packet(self, port: "Port", index: int = 0) -> Packet | None:
        slot = self._node.input_slot(port, index)
        return self._packets[slot] if slot >= 0 else None

    def get(self, port: "Port", index: int = 0, default: Any = None) -> Any:
        slots = self._node._in_slots.get(port.tag)  # (NodeRuntime.input_slot, inlined: the commonest call)
        if slots is None or index >= len(slots) or (slot := slots[index]) < 0:
            return default
        p = self._packets[slot]
        return default if p is None else p.value

    __getitem__ = get  # ctx[port]: the value on `port` (index 0) at this timestamp, or None when it carries nothing

    def has(self, port: "Port", index: int = 0) -> bool:
        slot = self._node.input_slot(port, index)
        return slot >= 0 and self._packets[slot] is not None

    def values(self, port: "Port") -> list[Any]:
        """Values of every index of a multiple port, None where a stream is empty at this timestamp."""
        packets = self._packets
        node = self._node
        slots = node._in_slot_lists.get(port.tag)  # (input_slots, without the call once made)
        if slots is None:
            slots = node.input_slots(port)
        if len(slots) == 1:
            p = packets[slots[0]]
            return [None if p is None else p.value]
        return [None if (p := packets[s]) is None else p.value for s in slots]

    def count(self, port: "Port") -> int:
        """How many streams are connected to `port` (its indices)."""
        return len(self._node.input_slots(port))

    def connected(self, port: "Port", index: int = 0) -> bool:
        return self._node.input_slot(port, index) >= 0 or self._node.output_slot(port, index) >= 0

    def input_bound(self, port: "Port", index: int = 0) -> int:
        """The smallest timestamp the stream on `port` may still deliver (for immediate-handler calculators)."""
        slot = self._node.input_slot(port, index)
        if slot < 0:
            return Timestamp.DONE
        return self._bounds[slot] if self._bounds is not None else self._node.input_bound(slot)

    def packet_timestamp(self, port: "Port", index: int = 0) -> int:
        """The timestamp of the packet on `port`, or where none is, the stream's settled timestamp (its bound's
        predecessor): what MediaPipe's ``Inputs().Tag(...).Value().Timestamp()`` reports for an empty input."""
        slot = self._node.input_slot(port, index)
        if slot >= 0 and (p := self._packets[slot]) is not None:
            return p.timestamp
        return Timestamp.previous_allowed(self.input_bound(port, index))

    @property
    def any_input(self) -> bool:
        return any(p is not None for p in self._packets)

    # -- outputs -----------------------------------------------------------------------------------------------
    def send(self, port: "Port", value: Any, *, index: int = 0, timestamp: int | None = None) -> None:
        """Emit `value` on `port` at this call's timestamp (+ the calculator's offset) or at `timestamp`."""
        node = self._node
        slots = node._out_slots.get(port.tag)
        if slots is not None and index < len(slots) and slots[index] >= 0:
            slot = slots[index]
        else:
            slot = node.output_slot(port, index)
            if slot < 0:
                if slot == -2:
                    raise StreamError(f"node '{node.name}': {port!r} is not an output of "
                                      f"{type(node.calculator).__name__}")
                return  # optional output not connected
        if timestamp is None:
            offset = node.timestamp_offset
            timestamp = self.timestamp + offset if offset else self.timestamp
        elif type(timestamp) is not int:
            timestamp = as_timestamp(timestamp, f"node '{self._node.name}': send on {port!r}")
        self._sends.append((slot, Packet(value, timestamp), 0))

    def set_next_bound(self, port: "Port", bound: int, *, index: int = 0) -> None:
        """Promise that `port` will carry nothing below `bound` (lets downstream nodes move on)."""
        slot = self._node.output_slot(port, index)
        if slot >= 0:
            if type(bound) is not int:
                bound = as_timestamp(bound, f"node '{self._node.name}': set_next_bound on {port!r}")
            self._sends.append((slot, None, bound))
