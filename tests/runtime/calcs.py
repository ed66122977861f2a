"""Small calculators for runtime tests (registered under names starting with 'Rt'); importing this module also
registers posegraph.testing's shipped doubles (CountSourceCalculator, DelayCalculator, CollectSinkCalculator)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import posegraph.testing  # noqa: F401  (the shipped doubles)
from posegraph import Calculator, Input, InputSidePacket, Output, calculator

CALLS: dict[str, list] = {}
_lock = threading.Lock()


def log(kind: str, name: str) -> None:
    with _lock:
        CALLS.setdefault(kind, []).append(name)


@dataclass
class SumOptions:
    mul: int = 1
    add: int = 0
    drop_mod: int = 0  # drop outputs whose value % drop_mod == 0 (0: never)


def sum_value(values, options: SumOptions):
    present = [v for v in values if v is not None]
    if not present:
        return None
    v = (sum(present) * options.mul + options.add) % 1_000_003
    if options.drop_mod and v % options.drop_mod == 0:
        return None
    return v


@calculator("RtSum")
class Sum(Calculator):
    """Sum of the present inputs, times mul plus add; outputs nothing when the result is dropped."""

    IN = Input[int]("", multiple=True)
    OUT = Output[int]("")
    Options = SumOptions

    def process(self, ctx):
        v = sum_value(ctx.values(self.IN), self.options)
        if v is not None:
            ctx.send(self.OUT, v)


@dataclass
class FailOptions:
    fail_at: int = -1          # process() raises at this timestamp
    fail_in: str = "process"   # or "open" / "close"


@calculator("RtFail")
class Fail(Calculator):
    """Forwards, and raises where told to; logs open/close calls."""

    IN = Input("")
    OUT = Output("")
    Options = FailOptions

    def open(self, ctx):
        log("open", self.name)
        if self.options.fail_in == "open":
            raise RuntimeError("boom in open")

    def process(self, ctx):
        if self.options.fail_in == "process" and ctx.timestamp == self.options.fail_at:
            explode_here(ctx.timestamp)
        ctx.send(self.OUT, ctx[self.IN])

    def close(self, ctx):
        log("close", self.name)
        if self.options.fail_in == "close":
            raise RuntimeError("boom in close")


def explode_here(ts):
    raise ValueError(f"bad value at {ts}")


@calculator("RtSideAdd")
class SideAdd(Calculator):
    """Adds the side packet OFFSET to every input."""

    IN = Input[int]("")
    OUT = Output[int]("")
    OFFSET = InputSidePacket[int]("OFFSET")

    def process(self, ctx):
        ctx.send(self.OUT, ctx[self.IN] + ctx.side(self.OFFSET))


@calculator("RtOverlap")
class Overlap(Calculator):
    """Forwards its input after a short sleep, recording the ``max_in_flight`` it was opened with and the most
    process() calls that overlapped (into CALLS["overlap:<node>"])."""

    IN = Input("")
    OUT = Output("")
    CONCURRENT_PROCESS = True

    def open(self, ctx):
        self._busy = 0
        log(f"overlap:{self.name}", ("max_in_flight", ctx.max_in_flight))

    def process(self, ctx):
        import time
        with _lock:
            self._busy += 1
            busy = self._busy
        log(f"overlap:{self.name}", ("busy", busy))
        time.sleep(0.002)
        with _lock:
            self._busy -= 1
        ctx.send(self.OUT, ctx[self.IN])


@calculator("RtSleep")
class Sleep(Calculator):
    """Forwards its input after sleeping as many milliseconds as the input's value, recording each call's
    (timestamp, start, end) in perf_counter seconds (into CALLS["sleep:<node>"]); calls may overlap."""

    IN = Input("")
    OUT = Output("")
    CONCURRENT_PROCESS = True

    def process(self, ctx):
        import time
        start = time.perf_counter()
        time.sleep(ctx[self.IN] / 1000.0)
        log(f"sleep:{self.name}", (ctx.timestamp, start, time.perf_counter()))
        ctx.send(self.OUT, ctx[self.IN])
