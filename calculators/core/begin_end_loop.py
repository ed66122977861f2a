"""BeginLoop / EndLoop: run a sub-graph once per element of a list (e.g. once per detected person).

BeginLoop gives each element its own loop-internal timestamp (consecutive integers), so the body is an ordinary
streaming graph; BATCH_END, stamped after the last element, carries the outer timestamp, and EndLoop gathers the
body's results into one list at that outer timestamp.
"""

from posegraph import Calculator, Input, Output, calculator


@calculator("BeginLoopCalculator")
class BeginLoop(Calculator):
    """ITERABLE (a list) -> ITEM per element; CLONE:i inputs are repeated beside each element."""

    ITERABLE = Input[list]("ITERABLE")
    CLONE_IN = Input("CLONE", multiple=True, optional=True)
    ITEM = Output("ITEM")
    CLONE_OUT = Output("CLONE", multiple=True, optional=True)
    BATCH_END = Output[int]("BATCH_END")
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        self._next_ts = 0

    def process(self, ctx):
        items = ctx[self.ITERABLE]
        if items is None:
            items = []  # ITERABLE empty at this timestamp (clones only): an empty batch
        clones = ctx.values(self.CLONE_IN)
        for item in items:
            ctx.send(self.ITEM, item, timestamp=self._next_ts)
            for i, clone in enumerate(clones):
                if clone is not None:
                    ctx.send(self.CLONE_OUT, clone, index=i, timestamp=self._next_ts)
            self._next_ts += 1
        ctx.send(self.BATCH_END, ctx.timestamp, timestamp=self._next_ts)
        self._next_ts += 1
        for i in range(ctx.count(self.CLONE_IN)):
            ctx.set_next_bound(self.CLONE_OUT, self._next_ts, index=i)
        ctx.set_next_bound(self.ITEM, self._next_ts)


@calculator("EndLoopCalculator")
class EndLoop(Calculator):
    """ITEM results (one per element, or none where the body dropped it) -> ITERABLE list at the outer timestamp."""

    ITEM = Input("ITEM")
    BATCH_END = Input[int]("BATCH_END")
    ITERABLE = Output[list]("ITERABLE")
    TIMESTAMP_OFFSET = None

    def open(self, ctx):
        self._items: list = []

    def process(self, ctx):
        item = ctx.packet(self.ITEM)
        if item is not None:
            self._items.append(item.value)
        end = ctx.packet(self.BATCH_END)
        if end is not None:
            ctx.send(self.ITERABLE, self._items, timestamp=end.value)
            self._items = []
