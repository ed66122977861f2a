"""Gate: lets packets through at a timestamp only when allowed (by an ALLOW/DISALLOW stream or side packet).

MediaPipe's GateCalculator: exactly one of ALLOW/DISALLOW, as a stream or as a side packet (checked when the graph
is loaded); with neither, the `allow` option decides. A disallowed timestamp emits nothing, but the bound still
advances (offset 0), so nodes below move on; a side packet that disallows closes the outputs at once.
"""

import enum
from dataclasses import dataclass

from posegraph import Calculator, Input, InputSidePacket, Output, Timestamp, calculator


class GateState(enum.Enum):
    UNSPECIFIED = 0
    GATE_UNINITIALIZED = 1
    GATE_ALLOW = 2
    GATE_DISALLOW = 3


@dataclass
class GateOptions:
    # An ALLOW/DISALLOW stream with no packet at a timestamp counts as allow (else as disallow).
    empty_packets_as_allow: bool = False
    # With no ALLOW/DISALLOW stream or side packet, what to do.
    allow: bool = False
    # The state before the first timestamp: STATE_CHANGE reports the first decision unless it is uninitialized.
    initial_gate_state: GateState = GateState.GATE_UNINITIALIZED


@calculator("GateCalculator")
class GateCalculator(Calculator):
    """Untagged inputs pass to the matching untagged outputs while allowed; STATE_CHANGE reports flips."""

    IN = Input("", multiple=True, optional=True)
    ALLOW = Input[bool]("ALLOW", optional=True)
    DISALLOW = Input[bool]("DISALLOW", optional=True)
    ALLOW_SIDE = InputSidePacket[bool]("ALLOW", optional=True)
    DISALLOW_SIDE = InputSidePacket[bool]("DISALLOW", optional=True)
    OUT = Output("", multiple=True, optional=True)
    STATE_CHANGE = Output[bool]("STATE_CHANGE", optional=True)
    Options = GateOptions

    @classmethod
    def check_node(cls, ports, options):
        problems = []
        streams = {t for t, _ in ports["input_stream"]} & {"ALLOW", "DISALLOW"}
        sides = {t for t, _ in ports["input_side_packet"]} & {"ALLOW", "DISALLOW"}
        if streams and sides:
            problems.append("ALLOW/DISALLOW is given both as a stream and as a side packet; give one")
        if len(streams) > 1 or len(sides) > 1:
            problems.append("give only one of ALLOW and DISALLOW")
        n_in = sum(1 for t, _ in ports["input_stream"] if t == "")
        n_out = sum(1 for t, _ in ports["output_stream"] if t == "")
        if n_in != n_out:
            problems.append(f"the number of data output streams ({n_out}) must match the data input streams ({n_in})")
        return problems

    def open(self, ctx):
        self._side = None
        if ctx.has_side(self.ALLOW_SIDE):
            self._side = bool(ctx.side(self.ALLOW_SIDE))
        elif ctx.has_side(self.DISALLOW_SIDE):
            self._side = not bool(ctx.side(self.DISALLOW_SIDE))
        self._closed = False
        self._last_state = self.options.initial_gate_state

    def process(self, ctx):
        allow = self.options.empty_packets_as_allow
        if self._side is not None:
            allow = self._side
        elif ctx.connected(self.ALLOW) or ctx.connected(self.DISALLOW):
            if (packet := ctx.packet(self.ALLOW)) is not None:
                allow = bool(packet.value)
            if (packet := ctx.packet(self.DISALLOW)) is not None:
                allow = not bool(packet.value)
        else:
            allow = self.options.allow
        state = GateState.GATE_ALLOW if allow else GateState.GATE_DISALLOW
        if self._last_state != GateState.GATE_UNINITIALIZED and self._last_state != state:
            ctx.send(self.STATE_CHANGE, allow)
        self._last_state = state
        if not allow:
            if self._side is not None and not self._closed:
                self._closed = True
                for i in range(ctx.count(self.IN)):
                    ctx.set_next_bound(self.OUT, Timestamp.DONE, index=i)
            return
        for i, value in enumerate(ctx.values(self.IN)):
            if value is not None:
                ctx.send(self.OUT, value, index=i)
