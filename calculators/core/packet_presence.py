"""PacketPresence: emits True/False at every settled timestamp depending on whether PACKET carried something."""

from posegraph import Calculator, Input, Output, calculator


@calculator("PacketPresenceCalculator")
class PacketPresenceCalculator(Calculator):
    """PRESENCE is True at timestamps where PACKET has a packet and False where only its bound moved past."""

    PACKET = Input("PACKET")
    PRESENCE = Output[bool]("PRESENCE")
    PROCESS_TIMESTAMP_BOUNDS = True

    def process(self, ctx):
        ctx.send(self.PRESENCE, ctx.has(self.PACKET))
