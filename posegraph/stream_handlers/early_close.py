"""EarlyCloseInputStreamHandler: the default handler's timestamp sync, but the node closes as soon as any input
stream is done (packets still queued on the others are dropped), as MediaPipe's."""

from __future__ import annotations

from ..packet import Timestamp

_DONE = Timestamp.DONE


class EarlyCloseInputStreamHandler:
    name = "early_close"

    def __init__(self, node=None):
        pass

    def readiness(self, node) -> int | None:
        ts_min = min_bound = _DONE
        for q in node.inputs:
            if q.packets:
                t = q.packets[0][0].timestamp
            else:
                t = q.bound
                if t >= _DONE:
                    return _DONE
                if t < min_bound:
                    min_bound = t
            if t < ts_min:
                ts_min = t
        return ts_min if min_bound > ts_min else None

    def fill(self, node, ts: int) -> list:
        return [q.pop_at(ts) for q in node.inputs]
