"""Helpers for the ports of MediaPipe's framework tests: the small test calculators those tests use, and a harness
that feeds a graph step by step and records every observed stream as (timestamp, value) pairs."""

from __future__ import annotations

from typing import Any

from posegraph import Calculator, Graph, Input, Output, Timestamp, calculator

EMPTY = None  # MediaPipe's empty packet inside a pair


@calculator("MpMakePairCalculator")
class MakePair(Calculator):
    """MediaPipe's MakePairCalculator: (input 0, input 1) at every timestamp where either has a packet; an empty
    input is None in the pair."""

    IN = Input("", multiple=True)
    OUT = Output("")

    def process(self, ctx):
        a, b = ctx.values(self.IN)
        ctx.send(self.OUT, (a, b))


@calculator("MpPacketOnCloseCalculator")
class PacketOnClose(Calculator):
    """MediaPipe's PacketOnCloseCalculator (previous_loopback_calculator_test.cc): forwards its input and sends
    the sum at Max from close()."""

    IN = Input("")
    OUT = Output("")

    def open(self, ctx):
        self.sum = 0

    def process(self, ctx):
        self.sum += ctx[self.IN]
        ctx.send(self.OUT, ctx[self.IN])

    def close(self, ctx):
        ctx.send(self.OUT, self.sum, timestamp=Timestamp.MAX)


class Harness:
    """A started graph whose `observe` streams are recorded in `got[name]` as (timestamp, value)."""

    def __init__(self, text: str, observe: list[str], side: dict | None = None, **kwargs: Any):
        self.graph = Graph(text, **kwargs)
        self.got: dict[str, list[tuple[int, Any]]] = {name: [] for name in observe}
        for name in observe:
            self.graph.observe_output(name, lambda p, name=name: self.got[name].append((p.timestamp, p.value)))
        self.graph.start(side or {})

    def send(self, stream: str, value: Any, timestamp: int) -> None:
        self.graph.add_packet(stream, value, timestamp)

    def idle(self) -> None:
        self.graph.wait_until_idle(timeout=10)

    def close(self) -> None:
        self.graph.close(timeout=10)
