"""MediaPipe's core calculators: gate, thresholding, constants, flow limiting, vector splitting, switch container,
file contents and model blobs, tensors to floats."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posegraph import STOP, Calculator, Input, InputSidePacket, Output, OutputSidePacket, calculator
from posegraph.config.schema import CalculatorGraphConfig
from posegraph.registry import register_variant

from ...models import resolve_model
from ..core.constant_side_packet import ConstantSidePacketCalculator
from ..core.flow_limiter import FlowLimiterCalculator, FlowLimiterOptions
from ..core.gate import GateCalculator, GateOptions
from ..core.thresholding import ThresholdingCalculator, ThresholdingOptions
from ..landmarks.kernels import sigmoid
from ._options import node_class, node_options
from .types import RELEASED_EXACT_MATH, FileContents, TfliteModelRef

Node = CalculatorGraphConfig.Node


# --------------------------------------------------------------------------------------- variants of core ones


@dataclass
class MpGateOptions(GateOptions):
    __proto_name__ = "mediapipe.GateCalculatorOptions"


@dataclass
class MpThresholdingOptions(ThresholdingOptions):
    __proto_name__ = "mediapipe.ThresholdingCalculatorOptions"


@dataclass
class MpFlowLimiterOptions(FlowLimiterOptions):
    __proto_name__ = "mediapipe.FlowLimiterCalculatorOptions"
    in_flight_timeout: int = 0


class MpGate(GateCalculator):
    """GateCalculator with ``[mediapipe.GateCalculatorOptions.ext]`` (allow, empty_packets_as_allow)."""

    Options = MpGateOptions


class MpThresholding(ThresholdingCalculator):
    """ThresholdingCalculator with ``[mediapipe.ThresholdingCalculatorOptions.ext]`` (threshold)."""

    Options = MpThresholdingOptions


class MpFlowLimiter(FlowLimiterCalculator):
    """FlowLimiterCalculator with ``[mediapipe.FlowLimiterCalculatorOptions.ext]`` (max_in_flight, max_in_queue)
    and MediaPipe's side packets: OPTIONS (a FlowLimiterCalculatorOptions that replaces the node's) and
    MAX_IN_FLIGHT (an int, MediaPipe's older way to set max_in_flight)."""

    OPTIONS = InputSidePacket("OPTIONS", optional=True)
    MAX_IN_FLIGHT = InputSidePacket[int]("MAX_IN_FLIGHT", optional=True)
    Options = MpFlowLimiterOptions

    def open(self, ctx):
        if ctx.has_side(self.OPTIONS):
            given = ctx.side(self.OPTIONS)
            self.options = dataclasses.replace(self.options, max_in_flight=int(given.max_in_flight),
                                               max_in_queue=int(getattr(given, "max_in_queue", 0)))
        if ctx.has_side(self.MAX_IN_FLIGHT):
            self.options = dataclasses.replace(self.options, max_in_flight=int(ctx.side(self.MAX_IN_FLIGHT)))
        if self.options.max_in_flight < 1:
            raise ValueError(f"node '{self.name}': max_in_flight must be at least 1")
        super().open(ctx)


register_variant("GateCalculator", MpGateOptions.__proto_name__, MpGate)
register_variant("ThresholdingCalculator", MpThresholdingOptions.__proto_name__, MpThresholding)
register_variant("FlowLimiterCalculator", MpFlowLimiterOptions.__proto_name__, MpFlowLimiter)


@dataclass
class MpConstantValue:
    """One of ConstantSidePacketCalculatorOptions.ConstantSidePacket's scalar values (a oneof)."""

    int_value: int | None = None
    uint64_value: int | None = None
    int64_value: int | None = None
    float_value: float | None = None
    double_value: float | None = None
    bool_value: bool | None = None
    string_value: str | None = None

    def value(self) -> Any:
        given = [v for v in dataclasses.astuple(self) if v is not None]
        if len(given) != 1:
            raise ValueError("each packet needs exactly one value (int_value, float_value, bool_value, "
                             "string_value, ...)")
        return given[0]


@dataclass
class MpConstantSidePacketOptions:
    __proto_name__ = "mediapipe.ConstantSidePacketCalculatorOptions"
    packet: list[MpConstantValue] = field(default_factory=list)

    def __post_init__(self):
        for p in self.packet:
            p.value()


class MpConstantSidePacket(ConstantSidePacketCalculator):
    """ConstantSidePacketCalculator with ``[mediapipe.ConstantSidePacketCalculatorOptions.ext]``."""

    Options = MpConstantSidePacketOptions


register_variant("ConstantSidePacketCalculator", MpConstantSidePacketOptions.__proto_name__, MpConstantSidePacket)


# ------------------------------------------------------------------------------------------ split vectors


@dataclass
class Range:
    begin: int = 0
    end: int = 0


@dataclass
class SplitVectorCalculatorOptions:
    __proto_name__ = "mediapipe.SplitVectorCalculatorOptions"
    ranges: list[Range] = field(default_factory=list)
    element_only: bool = False
    combine_outputs: bool = False

    def __post_init__(self):
        for r in self.ranges:
            if not 0 <= r.begin < r.end:
                raise ValueError(f"range [{r.begin}, {r.end}) is empty or negative")
            if self.element_only and r.end - r.begin != 1:
                raise ValueError("element_only needs ranges of exactly one element")
        if self.element_only and self.combine_outputs:
            raise ValueError("element_only and combine_outputs cannot both be set")


class _SplitBase(Calculator):
    """Output i carries ``input[ranges[i].begin:ranges[i].end]`` (the element itself with element_only; all ranges
    joined on output 0 with combine_outputs). An input shorter than the ranges gives no packet (MediaPipe fails the
    graph there; its detection graphs never send one)."""

    IN = Input("")
    OUT = Output("", multiple=True)
    Options = SplitVectorCalculatorOptions

    def _parts(self, values):
        return [values[r.begin:r.end] for r in self.options.ranges]

    def _join(self, parts):
        return [x for p in parts for x in p]

    def process(self, ctx):
        values = ctx[self.IN]
        if values is None:
            return
        o = self.options
        if o.ranges and max(r.end for r in o.ranges) > len(values):
            return
        parts = self._parts(values)
        if o.combine_outputs:
            ctx.send(self.OUT, self._join(parts))
            return
        for i, part in enumerate(parts):
            ctx.send(self.OUT, part[0] if o.element_only else part, index=i)


@calculator("SplitTensorVectorCalculator")
class SplitTensorVectorCalculator(_SplitBase):
    """std::vector<Tensor> -> sub-vectors (lists of arrays)."""

    IN = Input[list]("")
    OUT = Output[list]("", multiple=True)


@calculator("SplitDetectionVectorCalculator")
class SplitDetectionVectorCalculator(_SplitBase):
    """std::vector<Detection> -> sub-vectors, or single Detections with element_only."""

    IN = Input[list]("")
    OUT = Output("", multiple=True)


class _SplitLandmarks(_SplitBase):
    IN = Input[np.ndarray]("")
    OUT = Output[np.ndarray]("", multiple=True)

    def _parts(self, values):
        return [np.ascontiguousarray(values[r.begin:r.end]) for r in self.options.ranges]

    def _join(self, parts):
        return np.concatenate(parts, axis=0)

    def process(self, ctx):
        values = ctx[self.IN]
        if values is None:
            return
        o = self.options
        if o.element_only:
            raise ValueError("element_only is not supported for landmark lists (a landmark is not a packet type "
                             "here)")
        super().process(ctx)


@calculator("SplitNormalizedLandmarkListCalculator")
class SplitNormalizedLandmarkListCalculator(_SplitLandmarks):
    """NormalizedLandmarkList (N x 5) -> landmark lists of the given ranges (or one, joined)."""


@calculator("SplitLandmarkListCalculator")
class SplitLandmarkListCalculator(_SplitLandmarks):
    """LandmarkList (world, N x 5) -> landmark lists of the given ranges (or one, joined)."""


# ------------------------------------------------------------------------------------------ switch container


@dataclass
class SwitchContainerOptions:
    __proto_name__ = "mediapipe.SwitchContainerOptions"
    contained_node: list[Node] = field(default_factory=list)
    select: int | None = None
    enable: bool | None = None
    synchronize_io: bool = False
    async_selection: bool = False
    tick_input_stream: list[str] = field(default_factory=list)


def _fresh(port):
    return type(port)(port.tag, port.type, optional=True, multiple=port.multiple, doc=port.doc)


@calculator("SwitchContainer")
class SwitchContainer(Calculator):
    """Runs one of its ``contained_node``s, chosen once at start by SELECT (side packet, an index) or ENABLE
    (side packet: true = node 1, false = node 0), else by the ``select``/``enable`` options. Its ports are those of
    the contained calculators, so the node is wired like the calculator it runs (MediaPipe's SwitchContainer with
    side-packet selection; selection by stream is not supported)."""

    SELECT = InputSidePacket[int]("SELECT", optional=True)
    ENABLE = InputSidePacket[bool]("ENABLE", optional=True)
    Options = SwitchContainerOptions
    _children: tuple = ()

    @classmethod
    def specialize(cls, message) -> type[Calculator]:
        options_message = None
        if message.HasField("options"):
            for descriptor, value in message.options.ListFields():
                if descriptor.message_type.full_name == SwitchContainerOptions.__proto_name__:
                    options_message = value
        for packed in message.node_options:
            if packed.type_url.endswith("/" + SwitchContainerOptions.__proto_name__):
                from posegraph.config import options as options_mod
                found = options_mod.by_full_name(SwitchContainerOptions.__proto_name__)
                options_message = found.message_class()
                packed.Unpack(options_message)
        if options_message is None or not options_message.contained_node:
            raise ValueError("a SwitchContainer needs contained_node entries in its SwitchContainerOptions")
        classes = []
        for i, node in enumerate(options_message.contained_node):
            try:
                child = node_class(node)
                child_options = node_options(node, child)
            except ValueError as exc:
                raise ValueError(f"contained_node {i} ({node.calculator or '?'}): {exc}") from None
            if node.input_stream or node.output_stream or node.input_side_packet or node.output_side_packet:
                raise ValueError(f"contained_node {i} ({node.calculator}): contained nodes take their streams from "
                                 f"the SwitchContainer node and declare none themselves")
            classes.append((child, child_options))
        knobs = {(c.INPUT_STREAM_HANDLER, c.TIMESTAMP_OFFSET, c.PROCESS_TIMESTAMP_BOUNDS) for c, _ in classes}
        if len(knobs) > 1:
            raise ValueError("its contained calculators handle their inputs differently; MediaPipe would "
                             "synchronise them, which is not supported here")
        handler, offset, bounds = knobs.pop()
        attrs: dict[str, Any] = {"_children": tuple(classes), "INPUT_STREAM_HANDLER": handler,
                                 "TIMESTAMP_OFFSET": offset, "PROCESS_TIMESTAMP_BOUNDS": bounds,
                                 "__doc__": cls.__doc__, "__module__": cls.__module__}
        for child, _ in classes:
            contract = child.contract
            for group in (contract.inputs, contract.outputs, contract.input_side_packets,
                          contract.output_side_packets):
                for tag, port in group.items():
                    key = f"_{type(port).__name__}_{tag or 'untagged'}"
                    if key not in attrs and not (tag in ("SELECT", "ENABLE") and "Side" in type(port).__name__):
                        attrs[key] = _fresh(port)
        names = ", ".join(dict.fromkeys(c.registered_name or c.__name__ for c, _ in classes))
        return type(f"SwitchContainer[{names}]", (cls,), attrs)

    def open(self, ctx):
        if not self._children:
            raise ValueError("SwitchContainer was not specialized for its contained nodes")
        o = self.options
        select = o.select or 0
        if o.enable is not None:
            select = 1 if o.enable else 0
        if ctx.has_side(self.SELECT):
            select = int(ctx.side(self.SELECT))
        if ctx.has_side(self.ENABLE):
            select = 1 if ctx.side(self.ENABLE) else 0
        if not 0 <= select < len(self._children):
            raise ValueError(f"node '{self.name}': selected contained node {select}, but there are "
                             f"{len(self._children)} (0..{len(self._children) - 1})")
        child_cls, child_options = self._children[select]
        self.selected = select
        self._child = child_cls(child_options, self.name)
        return self._child.open(ctx)

    def process(self, ctx):
        return self._child.process(ctx)

    def close(self, ctx):
        child = getattr(self, "_child", None)
        if child is not None:
            return child.close(ctx)


# ------------------------------------------------------------------------------------------ files and models


@dataclass
class LocalFileContentsCalculatorOptions:
    __proto_name__ = "mediapipe.LocalFileContentsCalculatorOptions"
    text_mode: bool = False


def resolve_resource(path: str) -> Path:
    """A file MediaPipe names by its resource path: the file itself when it exists, else a model of the manifest
    (``mediapipe/modules/pose_landmark/pose_landmark_lite.tflite`` is an alias of blazepose_landmark_lite), found
    in the model folders; ModelNotFoundError (listing every place looked in) when it is nowhere."""
    return resolve_model(path)


@calculator("LocalFileContentsCalculator")
class LocalFileContentsCalculator(Calculator):
    """FILE_PATH (side packet: a path, or a MediaPipe resource path of a known model) -> CONTENTS (the file's
    bytes, or its text with text_mode)."""

    FILE_PATH = InputSidePacket[str]("FILE_PATH", multiple=True)
    CONTENTS = OutputSidePacket("CONTENTS", multiple=True)
    Options = LocalFileContentsCalculatorOptions

    def open(self, ctx):
        i = 0
        while ctx.has_side(self.FILE_PATH, i):
            path = resolve_resource(str(ctx.side(self.FILE_PATH, i)))
            data = path.read_bytes()
            ctx.set_side(self.CONTENTS, FileContents(data.decode("utf-8") if self.options.text_mode else data, path),
                         index=i)
            i += 1

    def process(self, ctx):
        return STOP


@calculator("ResourceProviderCalculator")
class ResourceProviderCalculator(Calculator):
    """RESOURCE_ID (side packet: a MediaPipe resource path) -> RESOURCE (the file's contents), as at MediaPipe's
    HEAD (which replaced LocalFileContentsCalculator with it in the model loader)."""

    RESOURCE_ID = InputSidePacket[str]("RESOURCE_ID", multiple=True)
    RESOURCE = OutputSidePacket("RESOURCE", multiple=True)

    def open(self, ctx):
        i = 0
        while ctx.has_side(self.RESOURCE_ID, i):
            path = resolve_resource(str(ctx.side(self.RESOURCE_ID, i)))
            ctx.set_side(self.RESOURCE, FileContents(path.read_bytes(), path), index=i)
            i += 1

    def process(self, ctx):
        return STOP


@calculator("TfLiteModelCalculator")
class TfLiteModelCalculator(Calculator):
    """MODEL_BLOB or MODEL_RESOURCE (side packet: file contents) -> MODEL, the model an InferenceCalculator
    loads through its MODEL side packet."""

    MODEL_BLOB = InputSidePacket("MODEL_BLOB", optional=True)
    MODEL_RESOURCE = InputSidePacket("MODEL_RESOURCE", optional=True)
    MODEL = OutputSidePacket[TfliteModelRef]("MODEL")

    def open(self, ctx):
        blob = ctx.side(self.MODEL_BLOB) if ctx.has_side(self.MODEL_BLOB) else ctx.side(self.MODEL_RESOURCE)
        if blob is None:
            raise ValueError(f"node '{self.name}': give MODEL_BLOB or MODEL_RESOURCE")
        if isinstance(blob, FileContents):
            ctx.set_side(self.MODEL, TfliteModelRef(blob.path, None if blob.path else blob.data))
        else:
            ctx.set_side(self.MODEL, TfliteModelRef(None, bytes(blob)))

    def process(self, ctx):
        return STOP


# ------------------------------------------------------------------------------------------ tensors to floats


class Activation(enum.Enum):
    NONE = 0
    SIGMOID = 1


@dataclass
class TensorsToFloatsCalculatorOptions:
    __proto_name__ = "mediapipe.TensorsToFloatsCalculatorOptions"
    activation: Activation = Activation.NONE


@calculator("TensorsToFloatsCalculator")
class TensorsToFloatsCalculator(Calculator):
    """TENSORS (one tensor) -> FLOAT (its first value) and FLOATS (all values)."""

    TENSORS = Input[list]("TENSORS")
    FLOAT = Output[float]("FLOAT", optional=True)
    FLOATS = Output[list]("FLOATS", optional=True)
    Options = TensorsToFloatsCalculatorOptions

    def process(self, ctx):
        tensors = ctx[self.TENSORS]
        if not tensors:
            return
        values = np.asarray(tensors[0], dtype=np.float32).reshape(-1)
        if self.options.activation is Activation.SIGMOID:
            values = sigmoid(values, RELEASED_EXACT_MATH)
        ctx.send(self.FLOAT, float(values[0]))
        ctx.send(self.FLOATS, [float(v) for v in values])


__all__ = ["SwitchContainer", "SplitTensorVectorCalculator", "SplitDetectionVectorCalculator",
           "SplitNormalizedLandmarkListCalculator", "SplitLandmarkListCalculator", "LocalFileContentsCalculator",
           "ResourceProviderCalculator", "TfLiteModelCalculator", "TensorsToFloatsCalculator"]
