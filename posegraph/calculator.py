"""The calculator contract: typed ports declared on the class, typed options, open/process/close.

A calculator declares its ports as class attributes, the way MediaPipe's Node API declares ``kIn``/``kOut``
constants; the validator, ``posegraph calculators``, the visualizer and the docs all read the same declaration::

    @calculator("ThresholdCalculator")     # registered under the class's own name, as MediaPipe's api2 does
    class ThresholdCalculator(Calculator):
        \"\"\"Emits whether a score passes a threshold.\"\"\"
        SCORE = Input[float]("SCORE")
        FLAG = Output[bool]("FLAG")
        Options = ThresholdOptions          # a dataclass; parsed from the node's options block

        def process(self, ctx):
            ctx.send(self.FLAG, ctx[self.SCORE] >= self.options.threshold)

Calculators know nothing about scheduling: they see one timestamp at a time through a context.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

PortType = Any


class _Stop:
    """Returned from ``process`` by a source (a node without inputs) when it has nothing more to emit."""

    _instance: ClassVar["_Stop | None"] = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "STOP"


STOP = _Stop()


class Port:
    """A named, typed connection point of a calculator.

    `tag` is the TAG of ``TAG:INDEX:name`` ("" for untagged streams). `multiple` ports take any number of
    indices (``TAG:0:a``, ``TAG:1:b``); others take only index 0. The type is checked between connected ports
    where both sides declare one.
    """

    kind: ClassVar[str] = "port"

    def __init__(self, tag: str = "", type: PortType = Any, *, optional: bool = False, multiple: bool = False,
                 doc: str = ""):
        self.tag = tag
        self.type = type
        self.optional = optional
        self.multiple = multiple
        self.doc = doc
        self.attribute = ""

    def __class_getitem__(cls, item: PortType):
        def make(tag: str = "", **kwargs):
            return cls(tag, item, **kwargs)
        return make

    def __set_name__(self, owner: type, name: str) -> None:
        self.attribute = name

    def describe(self) -> str:
        tag = self.tag or "<untagged>"
        extras = [w for w, on in (("optional", self.optional), ("multiple", self.multiple)) if on]
        extra = f" ({', '.join(extras)})" if extras else ""
        return f"{tag}: {type_name(self.type)}{extra}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tag!r}, {type_name(self.type)})"


class Input(Port):
    kind = "input stream"


class Output(Port):
    kind = "output stream"


class InputSidePacket(Port):
    kind = "input side packet"


class OutputSidePacket(Port):
    kind = "output side packet"


def type_name(t: PortType) -> str:
    if t is Any:
        return "Any"
    return getattr(t, "__name__", None) if isinstance(t, type) else str(t).replace("typing.", "")


@dataclass(frozen=True)
class Contract:
    """Everything a calculator class declares, collected once per class (MediaPipe's CalculatorContract): its
    ports, and how the scheduler must treat it."""

    inputs: dict[str, Input]
    outputs: dict[str, Output]
    input_side_packets: dict[str, InputSidePacket]
    output_side_packets: dict[str, OutputSidePacket]
    input_stream_handler: str = "default"
    timestamp_offset: int | None = 0
    process_timestamp_bounds: bool = False
    concurrent_process: bool = False  # process() may run on several workers at once (max_in_flight > 1)

    def ports(self, kind: type[Port]) -> dict[str, Port]:
        return {Input: self.inputs, Output: self.outputs, InputSidePacket: self.input_side_packets,
                OutputSidePacket: self.output_side_packets}[kind]


def _collect_contract(cls: type) -> Contract:
    found: dict[type[Port], dict[str, Port]] = {Input: {}, Output: {}, InputSidePacket: {}, OutputSidePacket: {}}
    for klass in reversed(cls.__mro__):
        for value in vars(klass).values():
            for kind, ports in found.items():
                if isinstance(value, kind):
                    ports[value.tag] = value
    return Contract(found[Input], found[Output], found[InputSidePacket], found[OutputSidePacket],
                    getattr(cls, "INPUT_STREAM_HANDLER", "default"), getattr(cls, "TIMESTAMP_OFFSET", 0),
                    getattr(cls, "PROCESS_TIMESTAMP_BOUNDS", False), getattr(cls, "CONCURRENT_PROCESS", False))


class Calculator:
    """Base class of every calculator.

    Lifecycle (the rules of MediaPipe's ``api2/node.h``, which posegraph keeps):
      * One instance per node per run: ``Graph.start()`` creates fresh calculators; nothing survives a run.
      * ``open(ctx)`` runs once, before anything else, in the graph's node order; input side packets are available,
        output side packets may be set and packets may be sent (they reach the graph before the first process()).
        If open() raises, no other method of this instance is called.
      * ``process(ctx)`` fires at one input timestamp ``ctx.timestamp``:
          - default handler: once every input stream is settled at that timestamp (a packet there, or a bound past
            it) and at least one carries a packet; ``ctx[PORT]`` is None for the inputs without one ("empty");
          - immediate handler: as soon as any input has a packet; the other inputs are empty;
          - with ``PROCESS_TIMESTAMP_BOUNDS``, also when only a bound moved (every input empty), at the newest
            settled timestamp (bound - 1), and, immediate handler, once at ``Timestamp.MAX`` when a stream closes;
          - a source (no input streams, at least one output) is called repeatedly at timestamp 0 until it returns
            ``STOP``; a node with neither input nor output streams is never processed.
        Returning ``STOP`` from a non-source node closes every source and graph input stream: the graph drains
        what is in flight and finishes (MediaPipe's ``tool::StatusStop``).
      * ``close(ctx)`` runs exactly once whenever open() succeeded: after the last process() when every input is
        done, or when the run fails or is cancelled. It may still send packets.
      * Threading: the runtime never calls two methods of one instance at once, unless ``CONCURRENT_PROCESS`` is
        set and the node asks for ``max_in_flight > 1`` (then process() may overlap itself, never open/close).
        A calculator needs no locks of its own for its state.

    Class-level knobs (collected into ``contract``):
      * ``Options``: a dataclass of typed options (or None).
      * ``INPUT_STREAM_HANDLER``: "default" or "immediate" (see above); a node's ``input_stream_handler`` wins.
      * ``TIMESTAMP_OFFSET``: outputs are at input timestamp + offset, so downstream bounds advance even when
        nothing is sent. ``None`` opts out (the calculator manages bounds itself).
      * ``PROCESS_TIMESTAMP_BOUNDS``: also call ``process`` when only an input's bound advanced.
      * ``CONCURRENT_PROCESS``: process() is safe to run on several workers at once on this instance.
    """

    Options: ClassVar[type | None] = None
    INPUT_STREAM_HANDLER: ClassVar[str] = "default"
    TIMESTAMP_OFFSET: ClassVar[int | None] = 0
    PROCESS_TIMESTAMP_BOUNDS: ClassVar[bool] = False
    CONCURRENT_PROCESS: ClassVar[bool] = False
    contract: ClassVar[Contract] = Contract({}, {}, {}, {})
    registered_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.contract = _collect_contract(cls)
        if cls.Options is not None and not dataclasses.is_dataclass(cls.Options):
            raise TypeError(f"{cls.__name__}.Options must be a dataclass, got {cls.Options!r}")

    def __init__(self, options: Any = None, name: str = ""):
        self.options = options if options is not None else (self.Options() if self.Options else None)
        self.name = name or type(self).__name__

    @classmethod
    def check_node(cls, ports: dict[str, list[tuple[str, int]]], options: Any) -> list[str]:
        """Rules on one node's wiring and options beyond the declared ports, checked when the graph is loaded
        (MediaPipe's ``GetContract`` checks). `ports` maps "input_stream", "output_stream", "input_side_packet",
        "output_side_packet" to the (tag, index) pairs the node connects. Returns the problems found."""
        return []

    def open(self, ctx: "OpenContext") -> None:
        """Called once before the first ``process``; input side packets are available here."""

    def process(self, ctx: "ProcessContext") -> Any:
        """Called once per input timestamp (or repeatedly for a source until it returns STOP)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement process()")

    def close(self, ctx: "CloseContext") -> None:
        """Called exactly once after the last ``process`` of an opened node, also when the graph fails."""


# The contexts live in posegraph.context (which needs nothing from here at import time); re-exported for users.
from .context import CloseContext, OpenContext, ProcessContext  # noqa: E402

__all__ = ["Calculator", "Contract", "Input", "Output", "InputSidePacket", "OutputSidePacket", "Port", "STOP",
           "OpenContext", "ProcessContext", "CloseContext", "type_name"]
