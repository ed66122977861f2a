"""BeginLoop / EndLoop: run a sub-graph once per element of a list (e.g. once per detected person).

MediaPipe's calculators: BeginLoop gives each element its own loop-internal timestamp (consecutive integers), so the
body is an ordinary streaming graph; BATCH_END, stamped with the last element's internal timestamp (or a fresh one
for an empty list), carries the outer timestamp, and EndLoop gathers the body's results into one list at that outer
timestamp. As in MediaPipe, an empty batch gives no list, only a bound, and a timestamp where ITERABLE only
advanced its bound is an empty batch too. The pose graphs want the other behaviour, a list for every ITERABLE packet
(``[]`` when the body gave nothing) and none in between: ``EndLoopOptions.emit_empty`` together with
``BeginLoopOptions.batch_end_on_bounds: false`` name it.
"""

from dataclasses import dataclass

from posegraph import Calculator, Input, Output, calculator


@dataclass
class BeginLoopOptions:
    # A BATCH_END (an empty batch) also where ITERABLE only advanced its bound, as MediaPipe does. False: batches
    # only for ITERABLE packets, so that an EndLoop with emit_empty gives exactly one list per ITERABLE packet.
    batch_end_on_bounds: bool = True


@calculator("BeginLoopCalculator")
class BeginLoopCalculator(Calculator):
    """ITERABLE (a list) -> ITEM per element; CLONE:i inputs are repeated beside each element. Timestamps where
    ITERABLE only advanced its bound are empty batches (MediaPipe's process-timestamp-bounds), unless
    ``batch_end_on_bounds`` is false."""

    ITERABLE = Input[list]("ITERABLE")
    TICK = Input("TICK", optional=True)
    CLONE_IN = Input("CLONE", multiple=True, optional=True)
    ITEM = Output("ITEM")
    CLONE_OUT = Output("CLONE", multiple=True, optional=True)
    BATCH_END = Output[int]("BATCH_END")
    TIMESTAMP_OFFSET = None
    PROCESS_TIMESTAMP_BOUNDS = True
    Options = BeginLoopOptions

    def open(self, ctx):
        self._next_ts = 0

    def process(self, ctx):
        last = self._next_ts
        items = ctx[self.ITERABLE]
        if items is None and not self.options.batch_end_on_bounds:
            return  # a bound only: no batch (the loop's timestamps move with the next one)
        clones = ctx.values(self.CLONE_IN)
        for item in items if items is not None else ():
            ctx.send(self.ITEM, item, timestamp=self._next_ts)
            for i, clone in enumerate(clones):
                if clone is not None:
                    ctx.send(self.CLONE_OUT, clone, index=i, timestamp=self._next_ts)
            self._next_ts += 1
        if last == self._next_ts:
            self._next_ts += 1
            ctx.set_next_bound(self.ITEM, self._next_ts)
            for i in range(ctx.count(self.CLONE_IN)):
                ctx.set_next_bound(self.CLONE_OUT, self._next_ts, index=i)
        ctx.send(self.BATCH_END, ctx.timestamp, timestamp=self._next_ts - 1)


@dataclass
class EndLoopOptions:
    # Emit a list at every BATCH_END, [] when the body gave nothing (MediaPipe emits nothing and only advances the
    # bound). The pose graphs use it to get a list at every frame.
    emit_empty: bool = False


@calculator("EndLoopCalculator")
class EndLoopCalculator(Calculator):
    """ITEM results (one per element, or none where the body dropped it) -> ITERABLE list at the outer timestamp."""

    ITEM = Input("ITEM")
    BATCH_END = Input[int]("BATCH_END")
    ITERABLE = Output[list]("ITERABLE")
    Options = EndLoopOptions
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        self._items: list | None = None

    def process(self, ctx):
        item = ctx.packet(self.ITEM)
        if item is not None:
            if self._items is None:
                self._items = []
            self._items.append(item.value)
        end = ctx.packet(self.BATCH_END)
        if end is not None:
            if self._items is not None or self.options.emit_empty:
                ctx.send(self.ITERABLE, self._items if self._items is not None else [], timestamp=end.value)
                self._items = None
            else:
                ctx.set_next_bound(self.ITERABLE, end.value + 1)
