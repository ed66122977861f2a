"""From parsed graph messages to a flat list of nodes: stream references parsed, subgraphs expanded.

A node whose ``calculator`` is not a registered calculator but the ``type`` of a graph file is replaced by that
graph's nodes (recursively):

* the subgraph's graph-level ``input_stream``/``output_stream``/``input_side_packet``/``output_side_packet``
  (``TAG:name``) are its ports; the subgraph node's references are matched to them by TAG:INDEX, and the
  subgraph's internal name is replaced by the parent's name;
* every other internal stream, side packet and node name gets the prefix ``<subgraph node name>/``;
* an input port the parent leaves unconnected is dropped from the internal nodes (as MediaPipe does), so an
  internal calculator that requires it reports a missing port;
* a back edge on the subgraph node's input marks the internal inputs fed by it; ``executor`` on the subgraph node
  applies to internal nodes that do not choose one;
* internal nodes keep the subgraph file and line in their location.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import registry
from ..calculator import Port
from ..errors import ConfigIssue, GraphConfigError
from . import finder
from .model import StreamRef
from .parse import parse_graph_text_collecting
from .source_map import SourceMap
from .streams import KIND_WORDS, KINDS, RefError, assign_indexes, parse_ref, parse_tag_index

MAX_SUBGRAPH_DEPTH = 16
MAX_EXPANDED_NODES = 10_000  # nodes made while expanding one graph (shipped graphs: <100); a few small files
# that each use the next one many times would otherwise fan out to millions




@dataclass
class Entry:
    """One reference of a node (or of a graph's interface) to a stream or side packet."""

    ref: StreamRef
    line: int | None
    back_edge: bool = False
    port: Port | None = None  # filled by validation when the tag is in the calculator's contract


@dataclass
class RawNode:
    message: Any  # the node's CalculatorGraphConfig.Node as written (not modified)
    name: str
    calculator: str
    file: str | None
    smap: SourceMap
    base: tuple  # the node's path in `smap`
    entries: dict[str, list[Entry]]
    bad_kinds: set[str] = field(default_factory=set)  # kinds with malformed references
    subgraph_path: tuple[str, ...] = ()
    executor: str = ""
    executor_file: str | None = None
    executor_line: int | None = None
    dropped: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> tag -> why it was dropped
    failed: bool = False  # a subgraph node that could not be expanded (already reported): kept for its wiring

    @property
    def line(self) -> int | None:
        return self.smap.line(*self.base)

    def line_of(self, *path: tuple[str, int]) -> int | None:
        return self.smap.line(*self.base, *path)

    def issue(self, message: str, line: int | None = None, stream: str | None = None) -> ConfigIssue:
        return ConfigIssue(message, self.file, line if line is not None else self.line, self.name, stream)


@dataclass
class Interface:
    """A graph's own streams and side packets (its ports, when it is used as a subgraph)."""

    entries: dict[str, list[Entry]]


@dataclass
class Expanded:
    nodes: list[RawNode]
    interface: Interface
    executors: list[tuple[Any, str | None, int | None]]  # (ExecutorConfig, file, line) from subgraphs


_parse_lock = threading.Lock()
_parse_cache: dict[Path, tuple[int, int, Any, SourceMap]] = {}


def parse_file(path: Path) -> tuple[Any, SourceMap, str]:
    """Parse a graph file (cached by modification time); GraphConfigError when unreadable or malformed."""
    file = str(path)
    try:
        stat = path.stat()
        with _parse_lock:
            cached = _parse_cache.get(path)
        if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
            return cached[2], cached[3], file
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphConfigError(ConfigIssue(f"cannot read graph file: {exc}", file)) from None
    config, smap, _ = parse_graph_text_collecting(text, file)
    with _parse_lock:
        _parse_cache[path] = (stat.st_mtime_ns, stat.st_size, config, smap)
    return config, smap, file


def default_node_names(nodes: Any) -> list[str]:
    """Written names, else the calculator name with _2, _3... for repeats (never clashing with written ones)."""
    used = {n.name for n in nodes if n.name}
    counts: dict[str, int] = {}
    names = []
    for node in nodes:
        if node.name:
            names.append(node.name)
            continue
        base = node.calculator or "node"
        k = counts.get(base, 0)
        while True:
            k += 1
            candidate = base if k == 1 else f"{base}_{k}"
            if candidate not in used:
                break
        counts[base] = k
        used.add(candidate)
        names.append(candidate)
    return names


def _prefix(node_name: str) -> str:
    return "/".join(re.sub(r"[^A-Za-z0-9_.\-]", "_", part) or "_" for part in node_name.split("/")) + "/"


def _label(tag: str, index: int) -> str:
    if not tag:
        return f"untagged index {index}"
    return tag if index == 0 else f"{tag}:{index}"


class Expander:
    def __init__(self, search_paths: tuple[str | os.PathLike, ...], issues: list[ConfigIssue]):
        self.search_paths = tuple(search_paths)
        self.issues = issues
        self.calculators = registry.catalog()  # names known; a module is imported when its class is looked up
        self.node_count = 0
        self._found: dict[tuple[str, Path | None], Path | None] = {}  # one lookup per type and folder per load

    def find_subgraph(self, type_name: str, near: Path | None) -> Path | None:
        key = (type_name, near)
        if key not in self._found:
            self._found[key] = finder.find_subgraph(type_name, finder.search_dirs(self.search_paths, near))
        return self._found[key]

    # -- references -------------------------------------------------------------------------------------

    def entries(self, values: list[str], smap: SourceMap, base: tuple, kind: str, file: str | None,
                node: str | None) -> tuple[list[Entry], bool]:
        parsed = []
        lines = [smap.line(*base, (kind, j)) for j in range(len(values))]
        ok = True
        for j, text in enumerate(values):
            try:
                parsed.append(parse_ref(text))
            except RefError as exc:
                where = "graph " if node is None else ""
                self.issues.append(ConfigIssue(f"bad {where}{KIND_WORDS[kind]}: {exc}", file, lines[j], node, text))
                parsed.append(None)
                ok = False
        refs, problems = assign_indexes(parsed)
        for position, message in problems:
            self.issues.append(ConfigIssue(f"{KIND_WORDS[kind]}s: {message}", file, lines[position], node))
            ok = False
        return [Entry(ref, lines[j]) for j, ref in enumerate(refs) if ref is not None], ok

    def raw_node(self, message: Any, smap: SourceMap, index: int, file: str | None, name: str) -> RawNode:
        base = (("node", index),)
        self.node_count += 1
        if self.node_count > MAX_EXPANDED_NODES:
            # Stop at once (not one issue per node): the expansion would take minutes and gigabytes.
            raise GraphConfigError(ConfigIssue(
                f"subgraph expansion makes more than {MAX_EXPANDED_NODES} nodes (stopped while expanding this "
                f"file); check for subgraphs that use each other many times over", file,
                smap.line(*base), name))
        node = RawNode(message, name, message.calculator, file, smap, base, {})
        for kind in KINDS:
            node.entries[kind], ok = self.entries(list(getattr(message, kind)), smap, base, kind, file, name)
            if not ok:
                node.bad_kinds.add(kind)
        node.executor = message.executor
        node.executor_file, node.executor_line = file, node.line_of(("executor", 0))
        inputs = {(e.ref.tag, e.ref.index): e for e in node.entries["input_stream"]}
        for j, info in enumerate(message.input_stream_info):
            line = node.line_of(("input_stream_info", j))
            try:
                key = parse_tag_index(info.tag_index)
            except RefError as exc:
                self.issues.append(node.issue(f"bad input_stream_info tag_index: {exc}", line))
                continue
            entry = inputs.get(key)
            if entry is None:
                if "input_stream" not in node.bad_kinds:
                    have = ", ".join(sorted(_label(*k) for k in inputs)) or "none"
                    self.issues.append(node.issue(
                        f"input_stream_info names {_label(*key)} ({info.tag_index!r}), which is not an input "
                        f"stream of this node (its inputs: {have})", line))
                continue
            entry.back_edge = entry.back_edge or info.back_edge
        return node

    # -- graphs -------------------------------------------------------------------------------------------

    def graph(self, config: Any, smap: SourceMap, file: str | None, stack: tuple[str, ...] | None = None
              ) -> Expanded:
        """Expand one graph; `stack` lists the subgraph types being expanded (None for the top-level graph)."""
        top = stack is None
        if top:
            stack = (config.type,) if config.type else ()
        interface = Interface({})
        for kind in KINDS:
            interface.entries[kind], _ = self.entries(list(getattr(config, kind)), smap, (), kind, file, None)
        names = default_node_names(config.node)
        near = Path(file).parent if file else None
        nodes: list[RawNode] = []
        executors: list[tuple[Any, str | None, int | None]] = []
        if not top:  # a subgraph's executors join the top-level graph's
            executors += [(e, file, smap.line(("executor", j))) for j, e in enumerate(config.executor)]
        for index, message in enumerate(config.node):
            raw = self.raw_node(message, smap, index, file, names[index])
            if not message.calculator or message.calculator in self.calculators:
                nodes.append(raw)
                continue
            path = self.find_subgraph(message.calculator, near)
            if path is None:
                nodes.append(raw)  # validation reports the unknown calculator
                continue
            sub = self.subgraph(raw, path, stack)
            if sub is None:  # reported; keep the node so that its outputs do not look unproduced
                raw.failed = True
                nodes.append(raw)
            else:
                nodes += sub.nodes
                executors += sub.executors
        return Expanded(nodes, interface, executors)

    def subgraph(self, parent: RawNode, path: Path, stack: tuple[str, ...]) -> Expanded | None:
        type_name = parent.calculator
        calc_line = parent.line_of(("calculator", 0))
        if type_name in stack:
            self.issues.append(parent.issue(f"subgraph recursion: {' -> '.join(stack + (type_name,))} "
                                            f"(a graph cannot contain itself)", calc_line))
            return None
        if len(stack) > MAX_SUBGRAPH_DEPTH:
            self.issues.append(parent.issue(f"subgraphs nest more than {MAX_SUBGRAPH_DEPTH} deep (at {type_name}, "
                                            f"{path})", calc_line))
            return None
        try:
            config, smap, file = parse_file(path)
        except GraphConfigError as exc:
            self.issues += exc.issues
            return None
        msg = parent.message
        for field_name, what in (("input_stream_handler", "input_stream_handler"),
                                 ("options", "options"), ("max_in_flight", "max_in_flight")):
            if msg.HasField(field_name):
                self.issues.append(parent.issue(
                    f"'{what}' cannot be set on subgraph node {type_name} ({file}): it applies to calculators "
                    f"only", parent.line_of((field_name, 0))))
        if len(msg.node_options):
            self.issues.append(parent.issue(f"'node_options' cannot be set on subgraph node {type_name} ({file}): "
                                            f"subgraphs take no options", parent.line_of(("node_options", 0))))
        self.issues += [i for i in smap.parse_issues if i not in self.issues]
        sub = self.graph(config, smap, file, stack + (type_name,))

        maps: dict[str, dict[str, str]] = {"stream": {}, "side": {}}
        ignored: dict[str, dict[str, str]] = {"input_stream": {}, "input_side_packet": {}}
        for kind in KINDS:
            family = maps["side" if "side" in kind else "stream"]
            ports = {(e.ref.tag, e.ref.index): e for e in sub.interface.entries[kind]}
            given = {(e.ref.tag, e.ref.index): e for e in parent.entries[kind]}
            for key, entry in given.items():
                port = ports.get(key)
                if port is None:
                    have = ", ".join(_label(*k) for k in ports) or "none"
                    self.issues.append(parent.issue(
                        f"subgraph {type_name} ({file}) has no {KIND_WORDS[kind]} {_label(*key)}; its "
                        f"{KIND_WORDS[kind]}s: {have}", entry.line, entry.ref.name))
                    continue
                inner = port.ref.name
                if inner in family and family[inner] != entry.ref.name:
                    self.issues.append(parent.issue(
                        f"subgraph {type_name} ({file}) uses '{inner}' for two ports, which would join "
                        f"'{family[inner]}' and '{entry.ref.name}'; pass streams through a calculator instead",
                        entry.line, entry.ref.name))
                    continue
                family[inner] = entry.ref.name
            if kind in ignored:
                for key, port in ports.items():
                    if key not in given and port.ref.name not in family:
                        ignored[kind][port.ref.name] = _label(*key)

        back_edges = {e.ref.name for e in parent.entries["input_stream"] if e.back_edge}
        prefix = _prefix(parent.name)
        for node in sub.nodes:
            node.name = f"{parent.name}/{node.name}"
            node.subgraph_path = (parent.name,) + tuple(f"{parent.name}/{p}" for p in node.subgraph_path)
            for kind in KINDS:
                family = maps["side" if "side" in kind else "stream"]
                drop = ignored.get(kind, {})
                renamed = []
                for entry in node.entries[kind]:
                    if entry.ref.name in drop:
                        node.dropped.setdefault(kind, {})[entry.ref.tag] = (
                            f"subgraph port {drop[entry.ref.name]} of '{parent.name}' is not connected")
                        continue
                    name = family.get(entry.ref.name, prefix + entry.ref.name)
                    back = entry.back_edge or (kind == "input_stream" and name in back_edges)
                    renamed.append(Entry(StreamRef(entry.ref.tag, entry.ref.index, name), entry.line, back))
                if len(renamed) != len(node.entries[kind]):  # re-number untagged references after dropping
                    untagged = 0
                    for entry in renamed:
                        if not entry.ref.tag:
                            entry.ref = StreamRef("", untagged, entry.ref.name)
                            untagged += 1
                node.entries[kind] = renamed
            if parent.executor and not node.executor:
                node.executor, node.executor_file, node.executor_line = \
                    parent.executor, parent.executor_file, parent.executor_line
        return sub


__all__ = ["Expander", "Expanded", "RawNode", "Entry", "Interface", "parse_file", "default_node_names"]
