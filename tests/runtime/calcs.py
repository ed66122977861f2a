"""Small calculators for runtime tests (registered under names starting with 'Rt')."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from posegraph import STOP, Calculator, Input, InputSidePacket, Output, calculator

CALLS: dict[str, list] = {}
_lock = threading.Lock()


def log(kind: str, name: str) -> None:
    with _lock:
        CALLS.setdefault(kind, []).append(name)


@dataclass
class CountOptions:
    count: int = 10
    step: int = 1


@calculator("RtCountSource")
class CountSource(Calculator):
    """Emits 0..count-1 at timestamps 0, step, 2*step..."""

    OUT = Output[int]("")
    Options = CountOptions

    def open(self, ctx):
        self.i = 0

    def process(self, ctx):
        if self.i >= self.options.count:
            return STOP
        ctx.send(self.OUT, self.i, timestamp=self.i * self.options.step)
        self.i += 1

    def progress(self):
        return self.i, self.options.count


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
class SleepOptions:
    seconds: float = 0.01


@calculator("RtSleep")
class Sleep(Calculator):
    """Sleeps (releasing the GIL) then forwards; stands in for inference. Stateless, so process() may overlap."""

    IN = Input("")
    OUT = Output("")
    CONCURRENT_PROCESS = True
    Options = SleepOptions

    def process(self, ctx):
        time.sleep(self.options.seconds)
        ctx.send(self.OUT, ctx[self.IN])


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
