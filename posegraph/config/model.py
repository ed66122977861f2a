"""The validated graph: what the config layer hands to the scheduler.

Everything here is resolved and checked: calculator classes found, ports bound to stream names, options parsed
into the calculator's dataclass, subgraphs expanded, nodes in topological order (back edges ignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..calculator import Calculator, Port


@dataclass(frozen=True)
class SourceLocation:
    """Where something was written: file and 1-based line (either may be unknown)."""

    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.file is None:
            return "<graph>"
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class StreamRef:
    """A parsed ``TAG:INDEX:name`` reference."""

    tag: str
    index: int
    name: str

    def __str__(self) -> str:
        return f"{self.tag}:{self.index}:{self.name}" if self.tag or self.index else self.name


@dataclass(frozen=True)
class PortBinding:
    """One port index of a node connected to a named stream or side packet."""

    port: Port
    index: int
    name: str
    back_edge: bool = False


@dataclass
class NodeSpec:
    """A node ready to instantiate."""

    name: str
    calculator: str
    calculator_class: type[Calculator]
    options: Any
    inputs: list[PortBinding] = field(default_factory=list)
    outputs: list[PortBinding] = field(default_factory=list)
    input_side_packets: list[PortBinding] = field(default_factory=list)
    output_side_packets: list[PortBinding] = field(default_factory=list)
    input_stream_handler: str = "default"
    input_stream_handler_options: Any = None  # the MediaPipeOptions message of the handler config, if any
    executor: str = ""
    max_in_flight: int = 1
    location: SourceLocation = field(default_factory=SourceLocation)
    subgraph_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExecutorSpec:
    name: str
    num_threads: int
    thread_name_prefix: str = ""


@dataclass(frozen=True)
class ProfilerSpec:
    """From ``profiler_config``: whether to keep a trace and where to write it when the graph finishes."""

    trace_enabled: bool = False
    trace_path: str = ""
    samples_per_node: int = 10000


@dataclass
class ValidatedGraph:
    nodes: list[NodeSpec]
    input_streams: list[str]
    output_streams: list[str]
    input_side_packets: list[str]
    output_side_packets: list[str]
    max_queue_size: int
    num_threads: int
    executors: list[ExecutorSpec]
    profiler: ProfilerSpec
    source: SourceLocation
    graph_type: str = ""
    config: Any = None  # the expanded CalculatorGraphConfig message
