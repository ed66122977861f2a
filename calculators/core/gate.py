"""Gate: lets packets through at a timestamp only when allowed (by an ALLOW/DISALLOW stream or side packet)."""

from dataclasses import dataclass

from posegraph import Calculator, Input, InputSidePacket, Output, calculator


@dataclass
class GateOptions:
    # With no ALLOW/DISALLOW stream or side packet, what to do.
    allow: bool = False
    # An ALLOW/DISALLOW stream with no packet at a timestamp counts as allow (else as disallow).
    empty_packets_as_allow: bool = False


@calculator("GateCalculator")
class Gate(Calculator):
    """Untagged inputs pass to the matching untagged outputs while allowed; STATE_CHANGE reports flips.

    Exactly one of ALLOW/DISALLOW may be given, as a stream or as a side packet. A disallowed timestamp emits
    nothing, but the bound still advances, so nodes below move on (MediaPipe semantics).
    """

    IN = Input("", multiple=True)
    ALLOW = Input[bool]("ALLOW", optional=True)
    DISALLOW = Input[bool]("DISALLOW", optional=True)
    ALLOW_SIDE = InputSidePacket[bool]("ALLOW", optional=True)
    DISALLOW_SIDE = InputSidePacket[bool]("DISALLOW", optional=True)
    OUT = Output("", multiple=True)
    STATE_CHANGE = Output[bool]("STATE_CHANGE", optional=True)
    Options = GateOptions

    def open(self, ctx):
        given = [ctx.has_side(self.ALLOW_SIDE), ctx.has_side(self.DISALLOW_SIDE)]
        if sum(given) > 1:
            raise ValueError("give only one of the ALLOW and DISALLOW side packets")
        self._side = None
        if given[0]:
            self._side = bool(ctx.side(self.ALLOW_SIDE))
        elif given[1]:
            self._side = not bool(ctx.side(self.DISALLOW_SIDE))
        self._last_state = None

    def _allowed(self, ctx) -> bool:
        if ctx.connected(self.ALLOW) or ctx.connected(self.DISALLOW):
            port, invert = (self.ALLOW, False) if ctx.connected(self.ALLOW) else (self.DISALLOW, True)
            packet = ctx.packet(port)
            if packet is None:
                return self.options.empty_packets_as_allow
            return bool(packet.value) != invert
        if self._side is not None:
            return self._side
        return self.options.allow

    def process(self, ctx):
        allowed = self._allowed(ctx)
        if self._last_state is not None and allowed != self._last_state:
            ctx.send(self.STATE_CHANGE, allowed)
        self._last_state = allowed
        if allowed:
            for i, value in enumerate(ctx.values(self.IN)):
                if value is not None:
                    ctx.send(self.OUT, value, index=i)
