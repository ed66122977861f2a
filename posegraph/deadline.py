"""A blocking wait's time limit, waited out in short slices so that the waiter notices failure or cancellation."""

from __future__ import annotations

import threading
import time

from .errors import GraphTimeoutError

POLL_SLICE_S = 0.1  # every blocking wait wakes at least this often to notice failure or cancellation


class Deadline:
    """`timeout` seconds from now (None: no limit). Each `wait` on a condition lasts one slice at most, so the
    caller's loop re-checks its predicate and the graph's error between slices."""

    __slots__ = ("at",)

    def __init__(self, timeout: float | None):
        self.at = None if timeout is None else time.monotonic() + timeout

    def wait(self, cond: threading.Condition, message: str) -> None:
        """Wait on `cond` (held) for a slice, or until the deadline if sooner; GraphTimeoutError(`message`) once
        the deadline has passed."""
        remaining = POLL_SLICE_S if self.at is None else min(POLL_SLICE_S, self.at - time.monotonic())
        if remaining <= 0:
            raise GraphTimeoutError(message)
        cond.wait(remaining)


__all__ = ["Deadline", "POLL_SLICE_S"]
