"""PassThrough: copies each untagged input i to untagged output i (renames streams, joins graphs)."""

from posegraph import Calculator, Input, Output, calculator


@calculator("PassThroughCalculator")
class PassThrough(Calculator):
    """Forward every input packet unchanged; output i carries input i."""

    IN = Input("", multiple=True)
    OUT = Output("", multiple=True)

    def process(self, ctx):
        for i, packet in enumerate(ctx.values(self.IN)):
            if packet is not None:
                ctx.send(self.OUT, packet, index=i)
