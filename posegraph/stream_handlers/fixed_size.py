"""FixedSizeInputStreamHandler: the default handler's timestamp sync, but input queues never grow past a trigger
size: when they reach it the oldest packets are dropped down to a target size, so a slow node always works on the
newest inputs (MediaPipe's FixedSizeInputStreamHandler, options FixedSizeInputStreamHandlerOptions).

Two ways of dropping, as MediaPipe's: by default any queue at the trigger size is cut to the target size, and the
cut timestamp (`kept`, which only grows) applies to every input, so that a packet arriving later below it is dropped
too; with ``fixed_min_size`` the queues are cut only once every one of them has reached the trigger size, at the
oldest of the newest `target` packets of all of them.

MediaPipe drops when packets arrive and when the node is checked; here both happen in `readiness`, which the
scheduler calls on every arrival while the node is idle (the same packets survive: the cut timestamp only depends on
the newest packets). Once the node is found ready, its call's timestamp is pending and nothing is dropped until
`fill` takes the call's packets: the call gets the packets it was ready with, however many arrive before a worker
picks it up (MediaPipe fills the call at once).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..packet import Timestamp

_UNSET = Timestamp.UNSET


@dataclass(frozen=True, slots=True)
class FixedSizeOptions:
    trigger_queue_size: int = 2
    target_queue_size: int = 1
    fixed_min_size: bool = False


def _options(message) -> FixedSizeOptions:
    if message is None:
        return FixedSizeOptions()
    from google.protobuf import descriptor_pool
    ext = descriptor_pool.Default().FindExtensionByName("mediapipe.FixedSizeInputStreamHandlerOptions.ext")
    if not message.HasExtension(ext):
        return FixedSizeOptions()
    opts = message.Extensions[ext]
    return FixedSizeOptions(opts.trigger_queue_size, opts.target_queue_size, opts.fixed_min_size)


def _drop_before(queue, ts: int) -> None:
    packets = queue.packets
    while packets and packets[0][0].timestamp < ts:
        packets.popleft()


def _oldest_of_newest(queue, n: int) -> int:
    """The timestamp of the oldest of the `n` newest queued packets (MediaPipe's GetMinTimestampAmongNLatest)."""
    packets = queue.packets
    return packets[-min(n, len(packets))][0].timestamp if packets else _UNSET


class FixedSizeInputStreamHandler:
    name = "fixed_size"

    def __init__(self, node):
        self.options = _options(node.spec.input_stream_handler_options)
        self.kept = _UNSET  # every packet below this is dropped, on every input
        self.pending: int | None = None  # the timestamp of a call found ready and not filled yet

    def _drop_all_surplus(self, node) -> None:
        """fixed_min_size: once every queue reached the trigger size, cut all of them at one timestamp."""
        trigger, target = self.options.trigger_queue_size, self.options.target_queue_size
        if any(len(q.packets) < trigger for q in node.inputs):
            return
        cut = min((_oldest_of_newest(q, target) for q in node.inputs), default=_UNSET)
        for q in node.inputs:
            _drop_before(q, cut)

    def _drop_any_surplus(self, node, keep_one: bool) -> None:
        """Any queue at the trigger size raises the cut so that it keeps `target` packets; every queue is cut."""
        trigger, target = self.options.trigger_queue_size, self.options.target_queue_size
        for q in node.inputs:
            keep = target if len(q.packets) >= trigger else trigger - 1
            if len(q.packets) > keep:
                self.kept = max(self.kept, Timestamp.next_allowed(_oldest_of_newest(q, keep + 1)))
        if keep_one:  # never cut past the bound of the least advanced input: one timestamp stays processable
            self.kept = min(self.kept, Timestamp.previous_allowed(self._min_stream_bound(node)))
        for q in node.inputs:
            _drop_before(q, self.kept)

    @staticmethod
    def _min_stream_bound(node) -> int:
        bound = Timestamp.DONE
        for q in node.inputs:
            t = Timestamp.next_allowed(q.packets[-1][0].timestamp) if q.packets else q.bound
            bound = min(bound, t)
        return bound

    def _drop_surplus(self, node, keep_one: bool) -> None:
        if self.options.fixed_min_size:
            self._drop_all_surplus(node)
        else:
            self._drop_any_surplus(node, keep_one)

    def readiness(self, node) -> int | None:
        if self.pending is not None:
            return self.pending
        self._drop_surplus(node, keep_one=False)
        ts = node.scan()[0]
        if ts is not None:
            # MediaPipe's FillInputSet, run right after: this drops nothing more, but may lower `kept`.
            self._drop_surplus(node, keep_one=True)
            self.pending = ts
        return ts

    def fill(self, node, ts: int) -> list:
        self.pending = None
        return [q.pop_at(ts) for q in node.inputs]
