"""MuxInputStreamHandler: the SELECT stream decides, timestamp by timestamp, which data input the node reads; only
that input must be settled there, and packets of the other inputs up to that timestamp are discarded (MediaPipe's
MuxInputStreamHandler, used by MuxCalculator)."""

from __future__ import annotations

from ..packet import Timestamp

_DONE = Timestamp.DONE


class MuxInputStreamHandler:
    name = "mux"

    def __init__(self, node):
        self.control = next(slot for slot, b in enumerate(node.spec.inputs) if b.port.tag == "SELECT")
        self.data = [slot for slot in range(len(node.spec.inputs)) if slot != self.control]

    @staticmethod
    def applies(node) -> bool:
        """Only with a SELECT stream (a SELECT side packet leaves the node to the default handler)."""
        return any(b.port.tag == "SELECT" for b in node.spec.inputs)

    def _drop_outdated(self, node, ts: int) -> None:
        for slot in self.data:
            q = node.inputs[slot]
            while q.packets and q.packets[0][0].timestamp < ts:
                q.packets.popleft()

    def readiness(self, node) -> int | None:
        control = node.inputs[self.control]
        if not control.packets:
            self._drop_outdated(node, control.bound)
            return _DONE if control.bound >= _DONE else None
        ts = control.packets[0][0].timestamp
        self._drop_outdated(node, ts)
        select = control.packets[0][0].value
        if not isinstance(select, int) or not 0 <= select < len(self.data):
            return ts  # process() reports the bad selector
        data = node.inputs[self.data[select]]
        head = data.packets[0][0].timestamp if data.packets else data.bound
        return ts if head >= ts and (data.packets or head > ts) else None

    def fill(self, node, ts: int) -> list:
        packets = [None] * len(node.inputs)
        control = node.inputs[self.control]
        packets[self.control] = packet = control.packets.popleft()[0]
        select = packet.value
        if isinstance(select, int) and 0 <= select < len(self.data):
            packets[self.data[select]] = node.inputs[self.data[select]].pop_at(ts)
        self._drop_outdated(node, Timestamp.next_allowed(ts))
        return packets
