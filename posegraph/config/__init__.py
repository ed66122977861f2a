"""Graph files: the schema (graph.proto), parsing, typed options, subgraph expansion and validation.

    from posegraph.config import load_graph
    graph = load_graph("graphs/pose_tracking_cpu.pbtxt")      # or a shipped name: load_graph("pose_tracking_cpu")

``load_graph`` returns a :class:`~posegraph.config.model.ValidatedGraph` (nodes in topological order, options
parsed into each calculator's dataclass, subgraphs expanded) or raises :class:`~posegraph.errors.GraphConfigError`
listing every problem with file, line, node and stream.

Options are written in MediaPipe's syntax; the message of a calculator's ``Options`` dataclass ``XOptions`` is
``posegraph.XOptions``::

    node {
      calculator: "SsdAnchors"
      output_side_packet: "ANCHORS:anchors"
      options { [posegraph.SsdAnchorsOptions.ext] { num_layers: 5 strides: 8 strides: 16 } }
      # or: node_options { [type.googleapis.com/posegraph.SsdAnchorsOptions] { num_layers: 5 } }
    }
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from .. import registry
from ..errors import ConfigIssue, GraphConfigError
from . import options as _options
from .expand import Expander
from .finder import find_graph_file, is_file
from .inspect import GraphInspection, inspect_graph
from .model import (ExecutorSpec, NodeSpec, PortBinding, ProfilerSpec, SourceLocation, StreamRef,
                    ValidatedGraph)
from .options import OptionsTypeError, options_message_class
from .parse import parse_graph_text, parse_graph_text_collecting
from .schema import CalculatorGraphConfig, CalculatorOptions
from .source_map import SourceMap
from .validate import Validator, types_compatible

GraphSource = str | os.PathLike | Any


def _paths(search_paths: Iterable[str | os.PathLike] | str | os.PathLike) -> tuple:
    if isinstance(search_paths, (str, os.PathLike)):  # one folder given bare
        return (search_paths,)
    return tuple(search_paths)


def _looks_like_text(source: str) -> bool:
    return "{" in source or "\n" in source


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphConfigError(ConfigIssue(f"cannot read graph file: {exc}", str(path))) from None


def _resolve(source: GraphSource, search_paths: tuple) -> tuple[Any, SourceMap, str | None]:
    """(message, source map, file) of a load_graph source."""
    full_name = CalculatorGraphConfig.DESCRIPTOR.full_name
    if isinstance(source, CalculatorGraphConfig) or getattr(getattr(source, "DESCRIPTOR", None), "full_name",
                                                             None) == full_name:
        # Options are extensions registered at run time: a message parsed before that (e.g. read from bytes in a
        # fresh process) holds them as unknown fields, so parse it again once every options type is registered.
        registry.load_all()
        _options.register_all()
        config = CalculatorGraphConfig()
        config.ParseFromString(source.SerializeToString())
        return config, SourceMap(), None
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, os.PathLike):
        path = Path(source)
        text = _read(path)
        config, smap, _ = parse_graph_text_collecting(text, str(path))
        return config, smap, str(path)
    if not isinstance(source, str):
        raise TypeError(f"load_graph() takes a path, graph text, a graph name or a CalculatorGraphConfig, "
                        f"not {type(source).__name__}")
    if _looks_like_text(source):
        config, smap, _ = parse_graph_text_collecting(source, None)
        return config, smap, None
    path = Path(source)
    if not is_file(path) and not (source.endswith(".pbtxt") or os.sep in source or "/" in source):
        path = find_graph_file(source, search_paths)
    text = _read(path)
    config, smap, _ = parse_graph_text_collecting(text, str(path))
    return config, smap, str(path)


def load_graph(source: GraphSource, *, search_paths: Iterable[str | os.PathLike] = (),
               side_packet_names: Iterable[str] | None = None) -> ValidatedGraph:
    """Parse, expand and validate a graph.

    `source` is a path (``str`` or ``Path``), graph text (a ``str`` containing ``{`` or a newline), a
    ``CalculatorGraphConfig`` message, or the name of a shipped graph (``"pose_tracking_cpu"``, found like
    subgraphs: in `search_paths`, then in the ``posegraph.graphs`` package). Subgraphs are looked up next to the
    graph file, in `search_paths`, then in the package. `side_packet_names` are the names of side packets the
    application will supply (any iterable, e.g. the dict of side packets) in addition to the graph's declared
    ``input_side_packet`` entries; with None only the declared ones count.

    Raises GraphConfigError listing every problem found.
    """
    registry.load_plugins()
    search_paths = _paths(search_paths)
    config, smap, file = _resolve(source, search_paths)
    issues: list[ConfigIssue] = list(smap.parse_issues)
    expander = Expander(search_paths, issues)
    expanded = expander.graph(config, smap, file)
    validator = Validator(config, smap, file, expanded, side_packet_names, issues, expander.calculators,
                          search_paths)
    return validator.run()


__all__ = [
    "load_graph", "inspect_graph", "GraphInspection", "parse_graph_text", "find_graph_file", "options_message_class",
    "types_compatible",
    "CalculatorGraphConfig", "CalculatorOptions", "SourceMap", "OptionsTypeError",
    "ValidatedGraph", "NodeSpec", "PortBinding", "StreamRef", "SourceLocation", "ExecutorSpec", "ProfilerSpec",
    "GraphConfigError", "ConfigIssue",
]
