"""Mux: at each timestamp, the packet of the data input that SELECT names (MediaPipe's MuxCalculator)."""

from posegraph import Calculator, Input, InputSidePacket, Output, calculator


@calculator("MuxCalculator")
class MuxCalculator(Calculator):
    """OUTPUT carries INPUT:select, where select comes from the SELECT stream (with the Mux input stream handler:
    only the selected input needs to be settled) or from the SELECT side packet (default handler)."""

    SELECT = Input[int]("SELECT", optional=True)
    SELECT_SIDE = InputSidePacket[int]("SELECT", optional=True)
    INPUT = Input("INPUT", multiple=True)
    OUTPUT = Output("OUTPUT")
    INPUT_STREAM_HANDLER = "MuxInputStreamHandler"

    @classmethod
    def check_node(cls, ports, options):
        streams = any(t == "SELECT" for t, _ in ports["input_stream"])
        sides = any(t == "SELECT" for t, _ in ports["input_side_packet"])
        return [] if streams != sides else ["give SELECT as a stream or as a side packet (exactly one)"]

    def open(self, ctx):
        self._side = ctx.side(self.SELECT_SIDE) if ctx.has_side(self.SELECT_SIDE) else None

    def process(self, ctx):
        if self._side is None and not ctx.has(self.SELECT):
            return
        select = self._side if self._side is not None else ctx[self.SELECT]
        if not 0 <= select < ctx.count(self.INPUT):
            raise ValueError(f"SELECT {select} is not an INPUT index (0..{ctx.count(self.INPUT) - 1})")
        value = ctx.get(self.INPUT, select)
        if value is not None:
            ctx.send(self.OUTPUT, value)
