"""Validation of an expanded graph, collecting every issue, and the ValidatedGraph it yields.

Checks: calculators exist; tags are in the calculator's contract, required ports are connected, only ``multiple``
ports take index > 0; each stream and side packet has exactly one producer (graph inputs and side packets the
application supplies count); graph outputs are produced; connected ports have compatible types; no cycle without
a back edge; node names are unique; options parse into the calculator's Options dataclass; executors, input stream
handlers, max_in_flight and graph settings are valid.
"""

from __future__ import annotations

import copy

import difflib
import heapq
import os
import types
import typing
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Iterable

from .. import registry
from ..calculator import Calculator, Input, InputSidePacket, Output, OutputSidePacket, type_name
from ..errors import ConfigIssue, GraphConfigError
from . import finder
from . import options as options_mod
from .expand import Entry, Expanded, RawNode
from .model import (ExecutorSpec, NodeSpec, PortBinding, ProfilerSpec, SourceLocation, ValidatedGraph)
from .schema import CalculatorGraphConfig
from .source_map import SourceMap
from .streams import KIND_WORDS, KINDS, format_ref

PORT_KINDS = {"input_stream": Input, "output_stream": Output, "input_side_packet": InputSidePacket,
              "output_side_packet": OutputSidePacket}

from ..stream_handlers import ALIASES as HANDLERS  # noqa: E402
from ..stream_handlers import NAMES as HANDLER_NAMES  # noqa: E402

MAX_NUM_THREADS = 1024  # a graph file cannot ask for more worker threads than this (each costs a stack)


def trace_path_problem(path: str) -> str | None:
    """Why a graph file's ``profiler_config.trace_path`` is refused, or None.

    A graph file is data, not a program: it must not choose where files are written. It may name a relative path
    that stays inside the working directory (no ``..``, no drive or root); the caller chooses any other place
    (``Graph(trace_path=...)``, ``--profile``), and that choice overrides the graph's.
    """
    if not path:
        return None
    if "\x00" in path:
        return "contains a NUL character"
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or PureWindowsPath(path).drive or PureWindowsPath(path).root:
        return "is absolute"
    if ".." in pure.parts:
        return "leaves the working directory ('..')"
    if path.startswith("~"):
        return "starts with '~'"
    return None


# --------------------------------------------------------------------------------------------- types


def _is_union(t: Any) -> bool:
    return typing.get_origin(t) in (typing.Union, types.UnionType)


def types_compatible(producer: Any, consumer: Any) -> bool:
    """Whether a port of type `producer` may feed a port of type `consumer`.

    ``Any`` on either side matches everything; classes compare with ``issubclass``; generic aliases such as
    ``list[Detection]`` need the same origin and pairwise-matching arguments (``Any`` matching any argument); a
    union consumer accepts any member, a union producer needs every member accepted.
    """
    if producer is Any or consumer is Any or producer == consumer:
        return True
    if _is_union(consumer):
        return any(types_compatible(producer, member) for member in typing.get_args(consumer)) or (
            _is_union(producer) and all(types_compatible(member, consumer) for member in typing.get_args(producer)))
    if _is_union(producer):
        return all(types_compatible(member, consumer) for member in typing.get_args(producer))
    p_origin, c_origin = typing.get_origin(producer), typing.get_origin(consumer)
    if p_origin is not None or c_origin is not None:
        if p_origin is None or c_origin is None or p_origin != c_origin:
            return False
        p_args, c_args = typing.get_args(producer), typing.get_args(consumer)
        if len(p_args) != len(c_args):
            return False
        return all(a is Any or b is Any or a == b for a, b in zip(p_args, c_args, strict=True))
    if isinstance(producer, type) and isinstance(consumer, type):
        try:
            return issubclass(producer, consumer)
        except TypeError:  # pragma: no cover - exotic metaclasses
            return False
    return False


# --------------------------------------------------------------------------------------------- helpers


def _where(file: str | None, line: int | None) -> str:
    where = file or "<graph>"
    return f"{where}:{line}" if line is not None else where


def _close(word: str, choices: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(word, sorted(set(choices)), n=3, cutoff=0.6)


def _tag_label(tag: str) -> str:
    return tag or "<untagged>"


def _thread_pool_options(executor: Any) -> Any:
    """The ThreadPoolExecutorOptions extension of an ExecutorConfig, or None."""
    if not executor.HasField("options"):
        return None
    from google.protobuf import descriptor_pool
    ext = descriptor_pool.Default().FindExtensionByName("posegraph.ThreadPoolExecutorOptions.ext")
    return executor.options.Extensions[ext] if executor.options.HasExtension(ext) else None


def _normalize_handler(value: str) -> str | None:
    return HANDLERS.get(value.strip().lower())


class _Producer:
    """Who makes a stream or side packet: a node's output, the graph's input, or the application."""

    def __init__(self, what: str, file: str | None, line: int | None, node: int | None = None,
                 entry: Entry | None = None):
        self.what, self.file, self.line, self.node, self.entry = what, file, line, node, entry

    def __str__(self) -> str:
        return f"{self.what} ({_where(self.file, self.line)})" if self.file or self.line is not None else self.what


class Validator:
    def __init__(self, top: Any, smap: SourceMap, file: str | None, expanded: Expanded,
                 side_packet_names: Iterable[str] | None, issues: list[ConfigIssue], calculators: dict,
                 search_paths: tuple = ()):
        self.top, self.smap, self.file = top, smap, file
        self.search_paths = tuple(search_paths)
        self.nodes: list[RawNode] = expanded.nodes
        self.interface = expanded.interface
        self.extra_executors = expanded.executors
        self.side_packet_names = list(side_packet_names) if side_packet_names is not None else []
        self.issues = issues
        self.calculators = calculators
        self.classes: list[type[Calculator] | None] = []
        self.options: list[Any] = []

    def add(self, message: str, file: str | None = None, line: int | None = None, node: str | None = None,
            stream: str | None = None) -> None:
        self.issues.append(ConfigIssue(message, file, line, node, stream))

    def graph_line(self, *path) -> int | None:
        return self.smap.line(*path)

    # -- per node ---------------------------------------------------------------------------------------

    def check_nodes(self) -> None:
        for node in self.nodes:
            cls = self.check_calculator(node)
            self.classes.append(cls)
            if cls is not None:
                self.check_ports(node, cls)
            self.options.append(self.check_options(node, cls) if cls is not None else None)
            if cls is not None:  # the calculator's own rules on its wiring and options (MediaPipe's GetContract)
                ports = {kind: [(e.ref.tag, e.ref.index) for e in node.entries[kind]] for kind in KINDS}
                for problem in cls.check_node(ports, self.options[-1]):
                    self.issues.append(node.issue(f"{node.calculator}: {problem}", node.line_of(("calculator", 0))))
            if node.message.HasField("max_in_flight") and node.message.max_in_flight < 1:
                self.issues.append(node.issue(f"max_in_flight must be at least 1, got {node.message.max_in_flight}",
                                              node.line_of(("max_in_flight", 0))))

    def check_calculator(self, node: RawNode) -> type[Calculator] | None:
        if node.failed:
            return None
        line = node.line_of(("calculator", 0))
        if not node.calculator:
            self.issues.append(node.issue("node has no 'calculator'", line))
            return None
        cls = self.calculators.get(node.calculator)
        if cls is None and registry.load_error(node.calculator):
            self.issues.append(node.issue(registry.load_error(node.calculator), line))
            return None
        if cls is None:
            near = Path(node.file).parent if node.file else None
            subgraphs = finder.graph_types(finder.search_dirs(self.search_paths, near))
            hints = list(dict.fromkeys(registry.suggest(node.calculator) + _close(node.calculator, subgraphs)))
            hint = f"; did you mean {', '.join(hints)}?" if hints else ""
            self.issues.append(node.issue(f"unknown calculator '{node.calculator}'{hint} (neither a registered "
                                          f"calculator nor a subgraph type)", line))
            return None
        return self.specialize(node, cls)

    def specialize(self, node: RawNode, cls: type[Calculator]) -> type[Calculator] | None:
        """The class that serves this node: a variant chosen by the node's options type (another framework's
        dialect of the same calculator), or what the class's ``specialize(node_message)`` makes of the node (a
        container whose ports come from its options)."""
        message = node.message
        names = [d.message_type.full_name for d, _ in message.options.ListFields()] if \
            message.HasField("options") else []
        names += [a.type_url.rpartition("/")[2] for a in message.node_options]
        chosen = registry.variant(node.calculator, names)
        if chosen is None and not names and not self._fits(node, cls):  # no options: the tags tell the dialect
            chosen = next((v for v in registry.variants_of(node.calculator) if self._fits(node, v)), None)
        cls = chosen or cls
        specialize = getattr(cls, "specialize", None)
        if callable(specialize):
            try:
                cls = specialize(message)
            except ValueError as exc:
                self.issues.append(node.issue(f"{node.calculator}: {exc}", node.line_of(("calculator", 0))))
                return None
        return cls

    @staticmethod
    def _fits(node: RawNode, cls: type[Calculator]) -> bool:
        """Whether every tag the node uses is a port of `cls`."""
        for kind in KINDS:
            ports = cls.contract.ports(PORT_KINDS[kind])
            if any(entry.ref.tag not in ports for entry in node.entries[kind]):
                return False
        return True

    def check_ports(self, node: RawNode, cls: type[Calculator]) -> None:
        for kind in KINDS:
            ports = cls.contract.ports(PORT_KINDS[kind])
            word = KIND_WORDS[kind]
            for entry in node.entries[kind]:
                port = ports.get(entry.ref.tag)
                if port is None and "*" in ports:  # a port that takes any tag (e.g. PassThroughCalculator)
                    port = copy.copy(ports["*"])
                    port.tag = entry.ref.tag
                if port is None:
                    valid = ", ".join(_tag_label(t) for t in ports) or "none"
                    self.issues.append(node.issue(
                        f"{node.calculator} has no {word} tag {_tag_label(entry.ref.tag)} (in "
                        f"'{format_ref(entry.ref)}'); its {word} tags: {valid}", entry.line, entry.ref.name))
                    continue
                if entry.ref.index > 0 and not port.multiple:
                    self.issues.append(node.issue(
                        f"{word} {_tag_label(entry.ref.tag)}:{entry.ref.index} of {node.calculator}: port "
                        f"{_tag_label(entry.ref.tag)} takes a single {word} (it is not 'multiple'), so only "
                        f"index 0 is allowed", entry.line, entry.ref.name))
                    continue
                entry.port = port
            if kind in node.bad_kinds:
                continue
            given = {e.ref.tag for e in node.entries[kind]}
            for tag, port in ports.items():
                if not port.optional and tag not in given and tag != "*":
                    dropped = node.dropped.get(kind, {}).get(tag)
                    why = f" ({dropped})" if dropped else ""
                    self.issues.append(node.issue(
                        f"{node.calculator} requires {word} {_tag_label(tag)} ({port.describe()}), which is not "
                        f"connected{why}", node.line_of(("calculator", 0))))

    def check_options(self, node: RawNode, cls: type[Calculator]) -> Any:
        message = node.message
        given: list[tuple[Any, Any, int | None, str]] = []  # (OptionsType | None, message, line, label)
        if message.HasField("options"):
            for descriptor, value in message.options.ListFields():
                label = f"[{descriptor.full_name}]"
                line = node.line_of(("options", 0), (label, 0))
                given.append((options_mod.by_full_name(descriptor.message_type.full_name), value, line, label))
        for j, packed in enumerate(message.node_options):
            type_name_ = packed.type_url.rpartition("/")[2]
            label = f"[{packed.type_url}]"
            line = node.line_of(("node_options", j))
            found = options_mod.by_full_name(type_name_)
            if found is None:
                self.issues.append(node.issue(f"unknown options type {type_name_!r} in node_options", line))
                continue
            unpacked = found.message_class()
            try:
                ok = packed.Unpack(unpacked)
            except Exception:  # noqa: BLE001 - a malformed Any built in code
                ok = False
            if not ok:
                self.issues.append(node.issue(f"node_options {label} cannot be decoded", line))
                continue
            given.append((found, unpacked, line, label))

        options_class = cls.Options
        if options_class is None:
            if given:
                self.issues.append(node.issue(f"{node.calculator} takes no options, but the node gives "
                                              f"{', '.join(g[3] for g in given)}", given[0][2]))
            return None
        try:
            expected = options_mod.options_type(options_class)
        except options_mod.OptionsTypeError as exc:
            expected = None
            if given:
                self.issues.append(node.issue(f"the options of {node.calculator} cannot be written in a graph "
                                              f"file: {exc}", given[0][2]))
                return None
        chosen = None
        seen_any = set()
        for found, value, line, label in given:
            if expected is None or found is None or found.full_name != expected.full_name:
                want = (f"options {{ [{expected.extension_name}] {{ ... }} }} or node_options "
                        f"{{ [{expected.type_url}] {{ ... }} }}") if expected else type_name(options_class)
                self.issues.append(node.issue(f"options {label} are not the options of {node.calculator} "
                                              f"(expected {want})", line))
                continue
            if "/" in label:  # node_options (Any)
                if found.full_name in seen_any:
                    self.issues.append(node.issue(f"node_options {label} is given twice", line))
                    continue
                seen_any.add(found.full_name)
            if chosen is None:  # `options` comes first and wins over node_options of the same type
                chosen = (value, line, label)
        if chosen is not None:
            value, line, label = chosen
            try:
                return options_mod.to_dataclass(value, expected)
            except Exception as exc:  # noqa: BLE001 - __post_init__ validation, required fields
                why = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
                self.issues.append(node.issue(f"invalid options {label} for {node.calculator}: {why}", line))
                return None
        try:
            return options_mod.default_options(options_class)
        except Exception as exc:  # noqa: BLE001
            self.issues.append(node.issue(f"{node.calculator}: {exc}", node.line_of(("calculator", 0))))
            return None

    # -- wiring -----------------------------------------------------------------------------------------

    def producers(self, family: str) -> dict[str, list[_Producer]]:
        out_kind = "output_stream" if family == "stream" else "output_side_packet"
        graph_kind = "input_stream" if family == "stream" else "input_side_packet"
        made: dict[str, list[_Producer]] = {}
        for entry in self.interface.entries[graph_kind]:
            made.setdefault(entry.ref.name, []).append(
                _Producer(f"graph {KIND_WORDS[graph_kind]}", self.file, entry.line, None, entry))
        if family == "side":
            for name in self.side_packet_names:
                if name not in made:
                    made[name] = [_Producer("the application (side_packet_names)", None, None)]
        for k, node in enumerate(self.nodes):
            for entry in node.entries[out_kind]:
                made.setdefault(entry.ref.name, []).append(_Producer(f"node '{node.name}'", node.file, entry.line,
                                                                     k, entry))
        return made

    def check_wiring(self, family: str) -> dict[str, list[_Producer]]:
        made = self.producers(family)
        in_kind = "input_stream" if family == "stream" else "input_side_packet"
        noun = "stream" if family == "stream" else "side packet"
        for name, producers in made.items():
            for extra in producers[1:]:
                self.add(f"{noun} '{name}' is produced twice: by {producers[0]} and by {extra}",
                         extra.file, extra.line, self.nodes[extra.node].name if extra.node is not None else None,
                         name)
        for node in self.nodes:
            for entry in node.entries[in_kind]:
                producers = made.get(entry.ref.name)
                if not producers:
                    hint = _close(entry.ref.name, made)
                    tip = f"; did you mean {', '.join(hint)}?" if hint else (
                        f"; declare it with a graph-level {in_kind}" + (
                            " or pass it in side_packet_names" if family == "side" else ""))
                    self.issues.append(node.issue(f"{KIND_WORDS[in_kind]} '{entry.ref.name}' has no producer{tip}",
                                                  entry.line, entry.ref.name))
                    continue
                producer = producers[0]
                if entry.port is None or producer.entry is None or producer.entry.port is None:
                    continue
                p_type, c_type = producer.entry.port.type, entry.port.type
                if not types_compatible(p_type, c_type):
                    self.issues.append(node.issue(
                        f"type mismatch on {noun} '{entry.ref.name}': {producer} produces {type_name(p_type)} "
                        f"({_tag_label(producer.entry.ref.tag)}) but {node.calculator} expects "
                        f"{type_name(c_type)} ({_tag_label(entry.ref.tag)})", entry.line, entry.ref.name))
        graph_out = "output_stream" if family == "stream" else "output_side_packet"
        for entry in self.interface.entries[graph_out]:
            if entry.ref.name not in made:
                hint = _close(entry.ref.name, made)
                tip = f"; did you mean {', '.join(hint)}?" if hint else ""
                self.add(f"graph {KIND_WORDS[graph_out]} '{entry.ref.name}' has no producer{tip}", self.file,
                         entry.line, None, entry.ref.name)
        return made

    def dependency_graph(self, streams: dict, sides: dict) -> list[tuple[int, int, dict]]:
        """(producer node, consumer node, edge data) for every input not marked as a back edge."""
        edges = []
        for k, node in enumerate(self.nodes):
            for kind, made in (("input_stream", streams), ("input_side_packet", sides)):
                for entry in node.entries[kind]:
                    if entry.back_edge:
                        continue
                    for producer in made.get(entry.ref.name, [])[:1]:
                        if producer.node is not None:
                            edges.append((producer.node, k, {"stream": entry.ref.name, "entry": entry,
                                                             "side": kind != "input_stream"}))
        return edges

    def check_cycles(self, edges: list[tuple[int, int, dict]]) -> bool:
        """Report every cycle without a back edge. networkx (18 MB of RSS) is imported only when there is one."""
        if _topological_order(len(self.nodes), edges) is not None:
            return False
        import networkx as nx
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(range(len(self.nodes)))
        for u, v, data in edges:
            graph.add_edge(u, v, **data)
        found = False
        for component in nx.strongly_connected_components(graph):
            members = sorted(component)
            if len(members) == 1 and not graph.has_edge(members[0], members[0]):
                continue
            found = True
            cycle = nx.find_cycle(graph.subgraph(members), source=members[0])
            steps, last = [], None
            for u, v, key in cycle:
                data = graph.edges[u, v, key]
                steps.append((u, v, data))
                last = (v, data)
            text = f"'{self.nodes[steps[0][0]].name}'" + "".join(
                f" -[{d['stream']}]-> '{self.nodes[v].name}'" for _, v, d in steps)
            streams = [d["stream"] for _, _, d in steps]
            node_index, data = last
            node = self.nodes[node_index]
            entry = data["entry"]
            tag_index = entry.ref.tag + (f":{entry.ref.index}" if entry.ref.index else "") if entry.ref.tag else (
                f":{entry.ref.index}" if entry.ref.index else "")
            if any(d["side"] for _, _, d in steps):
                advice = "side packets cannot form cycles"
            else:
                advice = (f"mark the input that closes the loop, e.g. input_stream_info {{ tag_index: "
                          f"\"{tag_index}\" back_edge: true }} on node '{node.name}'")
            self.issues.append(node.issue(f"cycle without a back edge through streams "
                                          f"{', '.join(repr(s) for s in streams)}: {text}; {advice}",
                                          entry.line, entry.ref.name))
        # free the graph by reference counting: the views networkx caches (edges, in_degree) point back at it
        graph.clear()
        vars(graph).clear()
        return found

    def check_names(self) -> None:
        seen: dict[str, RawNode] = {}
        for node in self.nodes:
            first = seen.get(node.name)
            if first is not None:
                self.issues.append(node.issue(f"duplicate node name '{node.name}' (first at "
                                              f"{_where(first.file, first.line)})", node.line_of(("name", 0))))
            else:
                seen[node.name] = node

    # -- graph settings -----------------------------------------------------------------------------------

    def executors(self) -> tuple[list[ExecutorSpec], int | None]:
        specs: dict[str, ExecutorSpec] = {}
        where: dict[str, str] = {}
        default_threads = None
        declared = [(e, self.file, self.graph_line(("executor", j))) for j, e in enumerate(self.top.executor)]
        for executor, file, line in declared + self.extra_executors:
            threads = executor.num_threads if executor.HasField("num_threads") else None
            pool_options = _thread_pool_options(executor)  # MediaPipe's syntax: type + ThreadPoolExecutorOptions
            if executor.type not in ("", "ThreadPoolExecutor"):
                self.add(f"executor '{executor.name}': unknown type '{executor.type}' (posegraph has "
                         f"ThreadPoolExecutor)", file, line)
            if pool_options is not None and pool_options.HasField("num_threads"):
                if threads is not None and threads != pool_options.num_threads:
                    self.add(f"executor '{executor.name}': num_threads given twice ({threads} and "
                             f"{pool_options.num_threads} in ThreadPoolExecutorOptions)", file, line)
                threads = pool_options.num_threads
                if threads <= 0 and not executor.name:
                    threads = None  # MediaPipe: -1 or 0 on the default executor means one per CPU
            if threads is not None and threads < 1:
                self.add(f"executor '{executor.name}': num_threads must be at least 1, got {threads}", file, line)
                threads = None
            elif threads is not None and threads > MAX_NUM_THREADS:
                self.add(f"executor '{executor.name}': num_threads {threads} is more than the limit of "
                         f"{MAX_NUM_THREADS} threads", file, line)
                threads = None
            if not executor.name:
                if file != self.file:
                    continue  # a subgraph cannot configure the default executor
                if self.top.HasField("num_threads"):
                    self.add("the default executor is configured twice: by num_threads and by an executor "
                             "without a name", file, line)
                default_threads = threads
                continue
            if executor.name in specs:
                spec = specs[executor.name]
                if file == self.file or threads not in (None, spec.num_threads):
                    self.add(f"executor '{executor.name}' is declared twice (first at {where[executor.name]})",
                             file, line)
                continue
            prefix = pool_options.thread_name_prefix if pool_options is not None else ""
            specs[executor.name] = ExecutorSpec(executor.name, threads or 1, prefix)
            where[executor.name] = _where(file, line)
        for node in self.nodes:
            if node.executor and node.executor not in specs:
                known = ", ".join(sorted(specs)) or "none declared"
                hint = _close(node.executor, specs)
                tip = f"; did you mean {', '.join(hint)}?" if hint else ""
                self.issues.append(ConfigIssue(f"unknown executor '{node.executor}'{tip} (declared executors: "
                                               f"{known}; declare it with executor {{ name: \"{node.executor}\" "
                                               f"num_threads: 1 }})", node.executor_file, node.executor_line,
                                               node.name))
        return list(specs.values()), default_threads

    def handlers(self) -> list[str]:
        graph_default = "default"
        if self.top.HasField("input_stream_handler"):
            value = self.top.input_stream_handler.input_stream_handler
            normalized = _normalize_handler(value)
            if normalized is None:
                self.add(f"unknown input stream handler '{value}' (known: {HANDLER_NAMES})", self.file,
                         self.graph_line(("input_stream_handler", 0)))
            else:
                graph_default = normalized
        result = []
        for k, node in enumerate(self.nodes):
            cls = self.classes[k]
            chosen = graph_default
            if cls is not None and cls.INPUT_STREAM_HANDLER != Calculator.INPUT_STREAM_HANDLER:
                chosen = _normalize_handler(cls.INPUT_STREAM_HANDLER) or cls.INPUT_STREAM_HANDLER
            if node.message.HasField("input_stream_handler"):
                value = node.message.input_stream_handler.input_stream_handler
                normalized = _normalize_handler(value)
                if normalized is None:
                    self.issues.append(node.issue(f"unknown input stream handler '{value}' (known: "
                                                  f"{HANDLER_NAMES})", node.line_of(("input_stream_handler", 0))))
                else:
                    chosen = normalized
            result.append(chosen)
        return result

    def settings(self, default_threads: int | None) -> tuple[int, int, ProfilerSpec]:
        top = self.top
        num_threads = default_threads or os.cpu_count() or 1
        if top.HasField("num_threads"):
            if top.num_threads < 0:
                self.add(f"num_threads must not be negative, got {top.num_threads} (0 means one per CPU)",
                         self.file, self.graph_line(("num_threads", 0)))
            elif top.num_threads > MAX_NUM_THREADS:
                self.add(f"num_threads {top.num_threads} is more than the limit of {MAX_NUM_THREADS} threads "
                         f"(0 means one per CPU)", self.file, self.graph_line(("num_threads", 0)))
            elif top.num_threads > 0:
                num_threads = top.num_threads
        max_queue_size = (top.max_queue_size or 100) if top.max_queue_size >= 0 else 0  # MediaPipe: 0 is 100; -1 unbounded
        profiler = ProfilerSpec()
        if top.HasField("profiler_config"):
            pc = top.profiler_config
            if pc.samples_per_node < 1:
                self.add(f"profiler_config.samples_per_node must be at least 1, got {pc.samples_per_node}",
                         self.file, self.graph_line(("profiler_config", 0), ("samples_per_node", 0)))
            trace_path = pc.trace_path
            problem = trace_path_problem(trace_path)
            if problem:
                self.add(f"profiler_config.trace_path {trace_path!r} {problem}: a graph file may only name a "
                         f"relative path inside the working directory; to write elsewhere, remove it from the graph "
                         f"and pass the path to the program (Graph(trace_path=...) or posegraph run --profile PATH)",
                         self.file, self.graph_line(("profiler_config", 0), ("trace_path", 0)))
                trace_path = ""
            profiler = ProfilerSpec(pc.trace_enabled, trace_path, max(pc.samples_per_node, 1))
        return num_threads, max_queue_size, profiler

    # -- result -------------------------------------------------------------------------------------------

    def expanded_config(self) -> Any:
        config = CalculatorGraphConfig()
        config.CopyFrom(self.top)
        del config.node[:]
        for node in self.nodes:
            out = config.node.add()
            out.CopyFrom(node.message)
            out.name = node.name
            for kind in KINDS:
                del getattr(out, kind)[:]
                getattr(out, kind).extend(format_ref(e.ref) for e in node.entries[kind])
            del out.input_stream_info[:]
            for entry in node.entries["input_stream"]:
                if entry.back_edge:
                    tag_index = entry.ref.tag + (f":{entry.ref.index}" if entry.ref.index or not entry.ref.tag
                                                 else "")
                    out.input_stream_info.add(tag_index=tag_index, back_edge=True)
            if node.executor:
                out.executor = node.executor
        return config

    def node_specs(self, order: list[int], handlers: list[str]) -> list[NodeSpec]:
        specs = []
        for k in order:
            node, cls = self.nodes[k], self.classes[k]
            bindings = {kind: [PortBinding(e.port, e.ref.index, e.ref.name, e.back_edge) for e in node.entries[kind]]
                        for kind in KINDS}
            max_in_flight = node.message.max_in_flight if node.message.max_in_flight >= 1 else 1
            handler_config = (node.message.input_stream_handler if node.message.HasField("input_stream_handler")
                              else self.top.input_stream_handler)
            specs.append(NodeSpec(
                name=node.name, calculator=node.calculator, calculator_class=cls, options=self.options[k],
                inputs=bindings["input_stream"], outputs=bindings["output_stream"],
                input_side_packets=bindings["input_side_packet"], output_side_packets=bindings["output_side_packet"],
                input_stream_handler=handlers[k], executor=node.executor, max_in_flight=max_in_flight,
                input_stream_handler_options=(handler_config.options if handler_config.HasField("options")
                                              else None),
                location=SourceLocation(node.file, node.line), subgraph_path=node.subgraph_path))
        return specs

    def run(self) -> ValidatedGraph:
        self.check_nodes()
        self.check_names()
        streams = self.check_wiring("stream")
        sides = self.check_wiring("side")
        dependency = self.dependency_graph(streams, sides)
        return self._finish(dependency, streams, sides)

    def _finish(self, dependency: list[tuple[int, int, dict]], streams: dict, sides: dict) -> ValidatedGraph:
        cyclic = self.check_cycles(dependency)
        executors, default_threads = self.executors()
        handlers = self.handlers()
        num_threads, max_queue_size, profiler = self.settings(default_threads)
        if self.issues:
            top = self.file
            self.issues.sort(key=lambda i: (i.file != top, i.file or "", i.line if i.line is not None else 0))
            raise GraphConfigError(self.issues)
        assert not cyclic
        order = _topological_order(len(self.nodes), dependency)
        declared_sides = [e.ref.name for e in self.interface.entries["input_side_packet"]]
        consumed = {e.ref.name for n in self.nodes for e in n.entries["input_side_packet"]}
        supplied = [n for n in self.side_packet_names if n in consumed and n not in declared_sides
                    and not any(p.node is not None for p in sides.get(n, []))]
        return ValidatedGraph(
            nodes=self.node_specs(order, handlers),
            input_streams=[e.ref.name for e in self.interface.entries["input_stream"]],
            output_streams=[e.ref.name for e in self.interface.entries["output_stream"]],
            input_side_packets=declared_sides + supplied,
            output_side_packets=[e.ref.name for e in self.interface.entries["output_side_packet"]],
            max_queue_size=max_queue_size, num_threads=num_threads, executors=executors, profiler=profiler,
            source=SourceLocation(self.file), graph_type=self.top.type, config=self.expanded_config())


def _topological_order(count: int, edges: list[tuple[int, int, dict]]) -> list[int] | None:
    """Nodes 0..count-1 in the lexicographically smallest order that puts every producer before its consumers
    (Kahn's algorithm with a min-heap: the order networkx's lexicographical_topological_sort gives); None when
    the edges form a cycle."""
    successors: list[list[int]] = [[] for _ in range(count)]
    indegree = [0] * count
    for u, v, _ in edges:
        successors[u].append(v)
        indegree[v] += 1
    ready = [k for k in range(count) if indegree[k] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        k = heapq.heappop(ready)
        order.append(k)
        for child in successors[k]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    return order if len(order) == count else None


__all__ = ["Validator", "types_compatible", "HANDLERS"]
