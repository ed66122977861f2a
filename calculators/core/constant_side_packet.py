"""ConstantSidePacket: side packets whose values are written in the graph file."""

from dataclasses import dataclass, field

from posegraph import STOP, Calculator, OutputSidePacket, calculator


@dataclass
class ConstantValue:
    int_value: int | None = None
    float_value: float | None = None
    bool_value: bool | None = None
    string_value: str | None = None

    def value(self):
        given = [v for v in (self.int_value, self.float_value, self.bool_value, self.string_value) if v is not None]
        if len(given) != 1:
            raise ValueError("each packet needs exactly one of int_value, float_value, bool_value, string_value")
        return given[0]


@dataclass
class ConstantSidePacketOptions:
    packet: list[ConstantValue] = field(default_factory=list)

    def __post_init__(self):
        for p in self.packet:
            p.value()


@calculator("ConstantSidePacketCalculator")
class ConstantSidePacketCalculator(Calculator):
    """Output side packet PACKET:i carries ``options.packet[i]``."""

    PACKET = OutputSidePacket("PACKET", multiple=True)
    Options = ConstantSidePacketOptions

    def open(self, ctx):
        for i, constant in enumerate(self.options.packet):
            ctx.set_side(self.PACKET, constant.value(), index=i)

    def process(self, ctx):  # it has no inputs, so it runs as a source that has nothing to emit
        return STOP
