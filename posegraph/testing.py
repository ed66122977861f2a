"""Test-double calculators for tests, benchmarks and plugin authors (like httpx's shipped mock transport).

Importing this module registers them; nothing else does, so production graphs never see them. Every port is
untagged (``input_stream: "in"``), so they compose like ``PassThroughCalculator``::

    import posegraph.testing  # noqa: F401  (registers the test calculators)

    graph = Graph('''
        output_stream: "out"
        node { calculator: "CountSourceCalculator" output_stream: "n"
               options { [posegraph.CountSourceOptions.ext] { count: 5 } } }
        node { calculator: "DelayCalculator" input_stream: "n" output_stream: "out"
               options { [posegraph.DelayOptions.ext] { ms: 2 fail_at: 3 } } }
        node { calculator: "CollectSinkCalculator" input_stream: "out"
               options { [posegraph.CollectSinkOptions.ext] { name: "seen" } } }
    ''')

- ``CountSourceCalculator``: a source of ``count`` integers (or of packets for ``seconds``), paced by
  ``interval_ms``; it reports its progress like a media source.
- ``DelayCalculator``: forwards its input after sleeping ``ms`` (the GIL is free, as in inference) or spinning
  ``busy_us`` (holding the GIL, the worst case for everything else in the process); raises ``InjectedFailure``
  at the timestamps in ``fail_at`` or when opening (``fail_open``), to test how a graph reports failures.
- ``CollectSinkCalculator``: keeps every packet it receives in ``collected(name)``, for graphs without outputs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .calculator import STOP, Calculator, Input, Output
from .packet import Packet
from .registry import calculator

__all__ = ["CollectSink", "CollectSinkOptions", "CountSource", "CountSourceOptions", "Delay", "DelayOptions",
           "InjectedFailure", "clear_collected", "collected"]


class InjectedFailure(RuntimeError):
    """The failure a DelayCalculator raises on purpose (``fail_at`` / ``fail_open``)."""


@dataclass
class CountSourceOptions:
    # Packets to emit: the values 0, 1, 2... at timestamps 0, step, 2 * step...
    count: int = 10
    step: int = 1
    # Sleep between packets (milliseconds; 0 = as fast as the graph takes them).
    interval_ms: float = 0.0
    # When > 0: emit for this many seconds instead of `count` packets.
    seconds: float = 0.0

    def __post_init__(self):
        if self.count < 0 or self.step < 1 or self.interval_ms < 0 or self.seconds < 0:
            raise ValueError("count, interval_ms and seconds must not be negative, and step must be at least 1")


@calculator("CountSourceCalculator")
class CountSource(Calculator):
    """Source: emits 0..count-1 (or for `seconds`) at timestamps 0, step, 2 * step..., then stops."""

    OUT = Output[int]("")
    Options = CountSourceOptions

    def open(self, ctx):
        self.i = 0
        self.stop_at = time.perf_counter() + self.options.seconds if self.options.seconds else None

    def process(self, ctx):
        opts = self.options
        if self.stop_at is not None:
            if time.perf_counter() >= self.stop_at:
                return STOP
        elif self.i >= opts.count:
            return STOP
        if opts.interval_ms:
            time.sleep(opts.interval_ms / 1000.0)
        ctx.send(self.OUT, self.i, timestamp=self.i * opts.step)
        self.i += 1
        return None

    def progress(self):
        """(done, total) like a media source; total is None when the source runs for a time."""
        return self.i, (None if self.stop_at is not None else self.options.count)


@dataclass
class DelayOptions:
    # Sleep this long per packet (the GIL is released, as in inference or OpenCV work).
    ms: float = 0.0
    # Spin this long per packet holding the GIL (pure-Python work).
    busy_us: float = 0.0
    # Raise InjectedFailure at these input timestamps, or in open().
    fail_at: list[int] = field(default_factory=list)
    fail_open: bool = False

    def __post_init__(self):
        if self.ms < 0 or self.busy_us < 0:
            raise ValueError("ms and busy_us must not be negative")


@calculator("DelayCalculator")
class Delay(Calculator):
    """Forwards its input after a delay (sleeping and/or busy), failing on purpose where told. Stateless, so
    process() may run on several workers at once (``max_in_flight``), as an inference node's may."""

    IN = Input("")
    OUT = Output("")
    CONCURRENT_PROCESS = True
    Options = DelayOptions

    def open(self, ctx):
        if self.options.fail_open:
            raise InjectedFailure(f"node '{self.name}': failure injected in open()")

    def process(self, ctx):
        opts = self.options
        if ctx.timestamp in opts.fail_at:
            raise InjectedFailure(f"node '{self.name}': failure injected at timestamp {ctx.timestamp}")
        if opts.ms:
            time.sleep(opts.ms / 1000.0)
        if opts.busy_us:
            end = time.perf_counter() + opts.busy_us / 1e6
            while time.perf_counter() < end:
                pass
        ctx.send(self.OUT, ctx[self.IN])


_collected: dict[str, list[Packet]] = {}
_collected_lock = threading.Lock()


def collected(name: str) -> list[Packet]:
    """The packets the CollectSinkCalculator(s) named `name` received so far, in arrival order (a copy)."""
    with _collected_lock:
        return list(_collected.get(name, ()))


def clear_collected(name: str | None = None) -> None:
    """Forget what the sinks named `name` (all sinks when None) collected."""
    with _collected_lock:
        if name is None:
            _collected.clear()
        else:
            _collected.pop(name, None)


@dataclass
class CollectSinkOptions:
    # The key of `collected()`; "" = the node's name.
    name: str = ""


@calculator("CollectSinkCalculator")
class CollectSink(Calculator):
    """Sink: keeps each input packet (value and timestamp) for `collected(name)`."""

    IN = Input("")
    Options = CollectSinkOptions

    def process(self, ctx):
        with _collected_lock:
            _collected.setdefault(self.options.name or self.name, []).append(Packet(ctx[self.IN], ctx.timestamp))
