"""SyncSetInputStreamHandler: the inputs are split into sync sets (options); each set is synchronised like the
default handler, the sets independently of one another, and a call delivers the packets of one set, the earliest
ready (MediaPipe's SyncSetInputStreamHandler). Inputs named in no set form one more set together."""

from __future__ import annotations

from ..errors import GraphConfigError
from ..packet import Timestamp

_DONE, _UNSTARTED, _MAX = Timestamp.DONE, Timestamp.UNSTARTED, Timestamp.MAX
_NOT_READY, _READY, _CLOSE = 0, 1, 2


def _options(message):
    """The sync set options, written under posegraph's or MediaPipe's name (the same fields)."""
    if message is None:
        return None
    from google.protobuf import descriptor_pool
    for package in ("posegraph", "mediapipe"):
        ext = descriptor_pool.Default().FindExtensionByName(f"{package}.SyncSetInputStreamHandlerOptions.ext")
        if message.HasExtension(ext):
            return message.Extensions[ext]
    return None


def _parse_tag_index(text: str) -> tuple[str, int]:
    tag, _, index = text.partition(":")
    return tag, int(index) if index else 0


class SyncSetInputStreamHandler:
    name = "sync_set"

    def __init__(self, node):
        slots = {(b.port.tag, b.index): slot for slot, b in enumerate(node.spec.inputs)}
        options = _options(node.spec.input_stream_handler_options)
        sets: list[list[int]] = []
        used: set[int] = set()
        for sync_set in (options.sync_set if options is not None else ()):
            members = []
            for text in sync_set.tag_index:
                key = _parse_tag_index(text)
                if key not in slots:
                    raise GraphConfigError(f"node '{node.name}': sync set input '{text}' is not an input stream")
                if slots[key] in used:
                    raise GraphConfigError(f"node '{node.name}': input '{text}' is in two sync sets")
                members.append(slots[key])
                used.add(slots[key])
            sets.append(members)
        rest = [slot for slot in range(len(node.spec.inputs)) if slot not in used]
        if rest:
            sets.append(rest)
        self.sets = sets
        self.last = [_UNSTARTED] * len(sets)
        self.ready_set = -1
        self.ready_ts = _DONE

    def _set_readiness(self, node, k: int) -> tuple[int, int]:
        """MediaPipe's SyncSet::GetReadiness for set `k`."""
        min_packet = min_bound = _DONE
        for slot in self.sets[k]:
            q = node.inputs[slot]
            if q.packets:
                min_packet = min(min_packet, q.packets[0][0].timestamp)
            else:
                min_bound = min(min_bound, q.bound)
        stream_ts = min(min_packet, min_bound)
        if stream_ts >= Timestamp.ONE_OVER_POST_STREAM:
            self.last[k] = _MAX
            return _CLOSE, _DONE
        if not node.process_bounds:
            if min_bound > min_packet:
                self.last[k] = stream_ts
                return _READY, stream_ts
            return _NOT_READY, stream_ts
        if min_packet == Timestamp.POST_STREAM and min_bound > min_packet:
            settled = min_packet
        else:
            settled = Timestamp.previous_allowed(min_bound)
        input_ts = min(min_packet, settled)
        if input_ts > max(self.last[k], _UNSTARTED):
            self.last[k] = input_ts
            return _READY, input_ts
        return _NOT_READY, stream_ts

    def readiness(self, node) -> int | None:
        if self.ready_set >= 0:
            return self.ready_ts
        k = 0
        while k < len(self.sets):
            state, ts = self._set_readiness(node, k)
            if state == _CLOSE:
                del self.sets[k]
                del self.last[k]
                continue
            if state == _READY and ts < self.ready_ts:
                self.ready_ts, self.ready_set = ts, k
            k += 1
        if self.ready_set >= 0:
            return self.ready_ts
        return _DONE if not self.sets else None

    def fill(self, node, ts: int) -> list:
        packets = [None] * len(node.inputs)
        for slot in self.sets[self.ready_set]:
            packets[slot] = node.inputs[slot].pop_at(ts)
        self.ready_set, self.ready_ts = -1, _DONE
        return packets
