"""PassThrough: copies every input to the output with the same tag and index (renames streams, joins graphs).

MediaPipe's PassThroughCalculator: untagged ``input i -> output i``, and any tag as well (``TAG:i`` in to ``TAG:i``
out); every input must have its output and the other way round (checked when the graph is loaded).
"""

from posegraph import Calculator, Input, Output, calculator


@calculator("PassThroughCalculator")
class PassThroughCalculator(Calculator):
    """Forward every input packet unchanged; output TAG:i carries input TAG:i."""

    IN = Input("", multiple=True, optional=True)
    TAGGED_IN = Input("*", multiple=True, optional=True, doc="any tag: passed to the output of the same tag")
    OUT = Output("", multiple=True, optional=True)
    TAGGED_OUT = Output("*", multiple=True, optional=True, doc="any tag: from the input of the same tag")

    @classmethod
    def check_node(cls, ports, options):
        ins, outs = set(ports["input_stream"]), set(ports["output_stream"])
        if not ins:
            return ["needs at least one input stream"]
        if ins != outs:
            unmatched = sorted(ins ^ outs)
            return ["every input needs the output of the same tag and index and the other way round (unmatched: "
                    + ", ".join(f"{t or '<untagged>'}:{i}" for t, i in unmatched) + ")"]
        return []

    def open(self, ctx):
        self._tagged = [(Input(tag), index, Output(tag)) for tag, index in ctx.connected_inputs() if tag]

    def process(self, ctx):
        for i, value in enumerate(ctx.values(self.IN)):
            if value is not None:
                ctx.send(self.OUT, value, index=i)
        if self._tagged:
            for in_port, index, out_port in self._tagged:
                value = ctx.get(in_port, index)
                if value is not None:
                    ctx.send(out_port, value, index=index)
