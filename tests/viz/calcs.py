"""Calculators for the visualizer/profiler tests (registered under names starting with 'VizTest')."""

from __future__ import annotations

import time
from dataclasses import dataclass

from posegraph import STOP, Calculator, Input, Output, calculator


@dataclass
class VizTestTickerOptions:
    count: int = 20
    interval_ms: float = 0.0

    def __post_init__(self):
        if self.count < 0 or self.interval_ms < 0:
            raise ValueError("count and interval_ms must not be negative")


@calculator("VizTestTicker")
class VizTestTicker(Calculator):
    """Source: emits 0..count-1 at timestamps 0, 1000, 2000... (one every interval_ms)."""

    TICK = Output[int]("TICK")
    Options = VizTestTickerOptions

    def open(self, ctx):
        self.i = 0

    def process(self, ctx):
        if self.i >= self.options.count:
            return STOP
        if self.options.interval_ms:
            time.sleep(self.options.interval_ms / 1000.0)
        ctx.send(self.TICK, self.i, timestamp=self.i * 1000)
        self.i += 1


@dataclass
class VizTestWorkOptions:
    ms: float = 1.0


@calculator("VizTestWork")
class VizTestWork(Calculator):
    """Takes `ms` milliseconds (sleeping: the GIL is free, as in inference) and forwards its input."""

    IN = Input("IN")
    OUT = Output("OUT")
    Options = VizTestWorkOptions

    def process(self, ctx):
        time.sleep(self.options.ms / 1000.0)
        ctx.send(self.OUT, ctx[self.IN])
