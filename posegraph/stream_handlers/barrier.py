"""BarrierInputStreamHandler: the node runs once every input stream has a packet, whatever their timestamps, and
gets the head of each queue (no timestamp synchronisation); it closes as soon as an empty stream is done. The call's
timestamp is the smallest head timestamp, as MediaPipe's. A stream read only by barrier nodes is untimed: its
packets may come in any timestamp order (MediaPipe's barrier handler turns its streams' order check off)."""

from __future__ import annotations

from ..packet import Timestamp

_DONE = Timestamp.DONE


class BarrierInputStreamHandler:
    name = "barrier"

    def __init__(self, node=None):
        pass

    def readiness(self, node) -> int | None:
        ts_min = _DONE
        all_available = True
        for q in node.inputs:
            if q.packets:
                t = q.packets[0][0].timestamp
            else:
                if q.bound >= _DONE:
                    return _DONE
                all_available = False
                t = q.bound
            if t < ts_min:
                ts_min = t
        return ts_min if all_available else None

    def fill(self, node, ts: int) -> list:
        return [q.packets.popleft()[0] for q in node.inputs]
