"""How many model calls run in this process right now, so that interpreter threads follow the idle cores.

An interpreter's threads spin while they wait for work, so two interpreters of two threads each on two cores (a
detector and a landmark model of consecutive frames, or two frames in flight) burn a core's worth of spinning and
slow each other down, while one interpreter alone leaves a core idle with one thread. An InferenceCalculator node
with max_in_flight > 1 (and auto threads) asks the gauge at each call: alone, the call gets its interpreter with the
full thread count; beside other calls, one with half as many.
"""

from __future__ import annotations

import threading

__all__ = ["CoreGauge", "GAUGE"]


class CoreGauge:
    """A counter of running calls; `enter()` returns how many others were running."""

    def __init__(self):
        self._running = 0
        self._lock = threading.Lock()

    def enter(self) -> int:
        with self._lock:
            others = self._running
            self._running += 1
        return others

    def leave(self) -> None:
        with self._lock:
            self._running -= 1

    @property
    def running(self) -> int:
        return self._running


GAUGE = CoreGauge()
