"""Merge: at each timestamp, the first input (in declaration order) that has a packet."""

from posegraph import Calculator, Input, Output, calculator


@calculator("MergeCalculator")
class MergeCalculator(Calculator):
    """Emit the value of the first present untagged input; inputs must all be settled, hence the default handler."""

    IN = Input("", multiple=True)
    OUT = Output("")

    def process(self, ctx):
        for value in ctx.values(self.IN):
            if value is not None:
                ctx.send(self.OUT, value)
                return
