"""Packets and timestamps.

A timestamp is a plain ``int`` of microseconds: cheap to compare and hash on the hot path. The special values mirror
MediaPipe's (``Timestamp::Unset()``, ``PreStream()``, ``PostStream()``, ``Done()``...) so that graphs written for
MediaPipe keep their meaning; they sit at the extremes of the int64 range and are never valid packet timestamps
except ``PRE_STREAM`` and ``POST_STREAM``.
"""

from __future__ import annotations

import operator
from dataclasses import FrozenInstanceError
from typing import Any

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class Timestamp:
    """Namespace of special timestamp values (all plain ints)."""

    UNSET = _INT64_MIN
    UNSTARTED = _INT64_MIN + 1
    PRE_STREAM = _INT64_MIN + 2
    MIN = _INT64_MIN + 3
    MAX = _INT64_MAX - 3
    POST_STREAM = _INT64_MAX - 2
    ONE_OVER_POST_STREAM = _INT64_MAX - 1
    DONE = _INT64_MAX

    _NAMES = {
        UNSET: "Unset", UNSTARTED: "Unstarted", PRE_STREAM: "PreStream", MIN: "Min", MAX: "Max",
        POST_STREAM: "PostStream", ONE_OVER_POST_STREAM: "OneOverPostStream", DONE: "Done",
    }

    @staticmethod
    def is_valid_packet_timestamp(ts: int) -> bool:
        return Timestamp.MIN <= ts <= Timestamp.MAX or ts in (Timestamp.PRE_STREAM, Timestamp.POST_STREAM)

    @staticmethod
    def next_allowed(ts: int) -> int:
        """The smallest timestamp a stream may carry after a packet at `ts`.

        A PreStream or PostStream packet is the only packet its stream ever carries (MediaPipe's rule).
        """
        if ts == Timestamp.PRE_STREAM or ts >= Timestamp.POST_STREAM:
            return Timestamp.ONE_OVER_POST_STREAM
        return ts + 1

    @staticmethod
    def next_allowed_mp(ts: int) -> int:
        """MediaPipe's ``NextAllowedInStream``: like `next_allowed`, but Max leads to OneOverPostStream and anything
        below Min to Min."""
        if ts >= Timestamp.MAX or ts == Timestamp.PRE_STREAM:
            return Timestamp.ONE_OVER_POST_STREAM
        if ts < Timestamp.MIN:
            return Timestamp.MIN
        return ts + 1

    @staticmethod
    def previous_allowed(ts: int) -> int:
        """MediaPipe's ``PreviousAllowedInStream``: the last timestamp settled below bound `ts`."""
        if ts <= Timestamp.MIN or ts == Timestamp.POST_STREAM:
            return Timestamp.UNSTARTED
        if ts > Timestamp.MAX:
            return Timestamp.MAX
        return ts - 1

    @staticmethod
    def describe(ts: int) -> str:
        return Timestamp._NAMES.get(ts, str(ts))


class _Empty:
    """The payload of an empty packet (a bound notification to observers of timestamp bounds)."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY = _Empty()


class Packet:
    """An immutable payload stamped with the time it belongs to.

    The payload itself is not copied: calculators must treat what they receive as read-only, as in MediaPipe.
    A plain slotted class rather than a frozen dataclass: one is made per send, and a frozen dataclass's
    ``__init__`` (``object.__setattr__`` per field) costs half again as much; equality, hashing, pickling and the
    refusal to be changed are the same.
    """

    __slots__ = ("value", "timestamp")
    __match_args__ = ("value", "timestamp")

    value: Any
    timestamp: int

    def __init__(self, value: Any, timestamp: int):
        _set_value(self, value)
        _set_timestamp(self, timestamp)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return (self.value, self.timestamp) == (other.value, other.timestamp)  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.value, self.timestamp))

    def __reduce__(self):
        return Packet, (self.value, self.timestamp)

    @property
    def is_empty(self) -> bool:
        """An empty packet: only a timestamp (observers of timestamp bounds get these)."""
        return self.value is EMPTY

    def __repr__(self) -> str:
        return f"Packet({type(self.value).__name__} @ {Timestamp.describe(self.timestamp)})"


_set_value = Packet.value.__set__  # type: ignore[attr-defined]  (the slots' descriptors: no __setattr__ call)
_set_timestamp = Packet.timestamp.__set__  # type: ignore[attr-defined]


def as_timestamp(value: Any, where: str) -> int:
    """`value` as an int timestamp (numpy integers included); a float, string or None is a StreamError."""
    if type(value) is int:
        return value
    try:
        return operator.index(value)
    except TypeError:
        from .errors import StreamError
        raise StreamError(f"{where}: timestamp {value!r} is not an integer (microseconds)") from None
