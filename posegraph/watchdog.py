"""The watchdog: names a node that has not returned from open(), process() or close() in time, and fails the run.

A calculator cannot be interrupted from outside (Python threads cannot be killed), so the watchdog does what can be
done: the run fails with a `WatchdogError` naming the node, method and timestamp, every other node that opened is
closed, and every wait returns. The stuck call keeps its (daemon) thread until it returns, if ever.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Watchdog:
    """Limits in seconds per calculator method; None turns the check off for that method.

    process() is off by default (a slow model on a slow machine is not a hang); open() and close() get a generous
    limit so that a hang there can never block ``start()`` or ``close()`` forever.
    """

    open_s: float | None = 600.0
    process_s: float | None = None
    close_s: float | None = 600.0

    @classmethod
    def of(cls, value: "Watchdog | float | None") -> "Watchdog":
        """A Watchdog from a Graph argument: a Watchdog, a number (the limit for every method) or None (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, Watchdog):
            return value
        seconds = float(value)
        if seconds <= 0:
            raise ValueError(f"watchdog limit must be positive, not {value!r}")
        return cls(seconds, seconds, seconds)

    def limit(self, method: str) -> float | None:
        return {"open": self.open_s, "process": self.process_s, "close": self.close_s}[method]


class CallWatch:
    """Calls in progress, checked by one daemon thread while the run lasts.

    `begin`/`end` are plain dict operations (atomic under the GIL), so the hot path takes no lock.
    """

    def __init__(self, limits: Watchdog, on_stuck: Callable[[str, str, int | None, float], None]):
        self.limits = limits
        self._on_stuck = on_stuck
        self.calls: dict[int, tuple[str, str, int | None, float]] = {}
        self._stop = threading.Event()
        steps = [s for s in (limits.open_s, limits.process_s, limits.close_s) if s]
        self._period = min([0.5] + [s / 4 for s in steps])
        self._thread: threading.Thread | None = None

    def begin(self, key: int, node: str, method: str, timestamp: int | None) -> None:
        self.calls[key] = (node, method, timestamp, time.monotonic())

    def end(self, key: int) -> None:
        self.calls.pop(key, None)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="posegraph-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end (safe under the scheduler lock; `join` waits for it)."""
        self._stop.set()

    def join(self, timeout: float = 1.0) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            now = time.monotonic()
            for node, method, timestamp, started in list(self.calls.values()):
                limit = self.limits.limit(method)
                if limit is not None and now - started > limit:
                    self._on_stuck(node, method, timestamp, limit)
                    return
