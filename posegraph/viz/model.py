"""What the visualizer draws: nodes, stream and side-packet edges, subgraph clusters, and validation issues.

The model is built without raising on a bad graph: the file is parsed, subgraphs are expanded and the graph is
validated while collecting every :class:`~posegraph.errors.ConfigIssue`, which is then attached to the node
(and the edges of the stream) it names. Only a file that does not parse at all yields a model with no nodes (its
syntax error is the one graph-level issue).

Node ids are short and DOM/DOT-safe: ``n<k>`` calculators, ``gi``/``go`` graph input/output streams, ``si``/``so``
graph input/output side packets, ``x`` references nobody produces, ``sg`` a collapsed subgraph; ``e<k>`` edges and
``c<k>`` clusters.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Iterable

from google.protobuf import text_format

from ..errors import ConfigIssue, GraphConfigError

NODE_KINDS = ("calculator", "input", "output", "side_in", "side_out", "missing", "subgraph")


@dataclass
class VPort:
    kind: str          # input_stream | output_stream | input_side_packet | output_side_packet
    tag: str
    index: int
    name: str          # the stream / side packet name
    back_edge: bool = False
    type: str = ""     # the port's declared type, when the calculator is known

    @property
    def label(self) -> str:
        tag = self.tag or "<untagged>"
        return tag if self.index == 0 else f"{tag}:{self.index}"


@dataclass
class VNode:
    id: str
    kind: str                       # one of NODE_KINDS
    name: str                       # node name, or the stream / side packet name for graph ports
    calculator: str = ""            # calculator name, subgraph type for a collapsed subgraph
    cluster: tuple[str, ...] = ()   # enclosing subgraph paths, outermost first
    file: str | None = None
    line: int | None = None
    ports: list[VPort] = field(default_factory=list)
    options_text: str = ""          # options as written (text format)
    options: dict[str, str] = field(default_factory=dict)  # effective option values (defaults included)
    settings: dict[str, str] = field(default_factory=dict)  # executor, input stream handler, max_in_flight...
    issues: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # node names inside a collapsed subgraph

    @property
    def where(self) -> str:
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def to_dict(self) -> dict:
        out = {"id": self.id, "kind": self.kind, "name": self.name, "calculator": self.calculator,
               "cluster": list(self.cluster), "where": self.where, "options_text": self.options_text,
               "options": self.options, "settings": self.settings, "issues": self.issues,
               "ports": [{"kind": p.kind, "label": p.label, "name": p.name, "back_edge": p.back_edge,
                          "type": p.type} for p in self.ports]}
        if self.members:
            out["members"] = self.members
        return out


@dataclass
class VEdge:
    id: str
    src: str            # node ids
    dst: str
    stream: str         # stream or side packet name
    side: bool = False  # a side packet (drawn dashed) rather than a stream
    back_edge: bool = False
    src_port: str = ""
    dst_port: str = ""
    issues: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "src": self.src, "dst": self.dst, "stream": self.stream, "side": self.side,
                "back_edge": self.back_edge, "src_port": self.src_port, "dst_port": self.dst_port,
                "issues": self.issues}


@dataclass
class VCluster:
    id: str
    path: str                 # the subgraph node's full name, e.g. "pose/landmarks"
    type: str                 # the subgraph's type (its calculator name in the parent)
    file: str | None = None   # where the subgraph node is written
    line: int | None = None
    subgraph_file: str = ""   # the subgraph's own file
    parent: str | None = None  # enclosing cluster path

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def to_dict(self) -> dict:
        where = f"{self.file}:{self.line}" if self.file and self.line is not None else (self.file or "")
        return {"id": self.id, "path": self.path, "name": self.name, "type": self.type, "where": where,
                "subgraph_file": self.subgraph_file, "parent": self.parent}


@dataclass
class GraphModel:
    title: str
    file: str | None
    nodes: list[VNode]
    edges: list[VEdge]
    clusters: list[VCluster]
    issues: list[str] = field(default_factory=list)   # every issue, as text (file:line: node: message)
    graph_issues: list[str] = field(default_factory=list)  # issues not attached to any node
    collapsed_view: bool = False

    def node(self, node_id: str) -> VNode:
        return self._by_id()[node_id]

    def _by_id(self) -> dict[str, VNode]:
        return {n.id: n for n in self.nodes}

    def by_name(self, name: str, kind: str = "calculator") -> VNode | None:
        return next((n for n in self.nodes if n.name == name and n.kind == kind), None)

    @property
    def valid(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict:
        return {"title": self.title, "file": self.file, "collapsed": self.collapsed_view,
                "nodes": [n.to_dict() for n in self.nodes], "edges": [e.to_dict() for e in self.edges],
                "clusters": [c.to_dict() for c in self.clusters], "issues": self.issues,
                "graph_issues": self.graph_issues}

    # -- views ---------------------------------------------------------------------------------------------
    def collapsed(self) -> "GraphModel":
        """Every top-level subgraph drawn as one node; edges inside a subgraph disappear."""
        top = [c for c in self.clusters if c.parent is None]
        if not top:
            return dataclasses.replace(self, collapsed_view=True)
        boxes: dict[str, VNode] = {}
        for k, c in enumerate(top):
            boxes[c.path] = VNode(f"sg{k}", "subgraph", c.path, c.type, (), c.file, c.line,
                                  settings={"subgraph file": c.subgraph_file} if c.subgraph_file else {})
        mapping: dict[str, str] = {}
        nodes: list[VNode] = []
        for n in self.nodes:
            if n.cluster:
                box = boxes[n.cluster[0]]
                mapping[n.id] = box.id
                box.members.append(n.name)
                box.issues += [f"{n.name}: {i}" for i in n.issues]
            else:
                mapping[n.id] = n.id
                nodes.append(n)
        nodes += boxes.values()
        edges: list[VEdge] = []
        seen: dict[tuple, VEdge] = {}
        for e in self.edges:
            src, dst = mapping[e.src], mapping[e.dst]
            if src == dst and src.startswith("sg"):
                continue  # inside one subgraph
            key = (src, dst, e.stream, e.side)
            if key in seen:
                seen[key].issues += [i for i in e.issues if i not in seen[key].issues]
                continue
            src_port = e.src_port if src == e.src else ""
            dst_port = e.dst_port if dst == e.dst else ""
            edge = VEdge(e.id, src, dst, e.stream, e.side, e.back_edge, src_port, dst_port, list(e.issues))
            seen[key] = edge
            edges.append(edge)
        for box in boxes.values():  # ports of the subgraph, as seen from outside
            box.ports = [VPort("input_side_packet" if e.side else "input_stream", e.dst_port or "", 0, e.stream,
                               e.back_edge) for e in edges if e.dst == box.id] + \
                        [VPort("output_side_packet" if e.side else "output_stream", "", 0, e.stream)
                         for e in edges if e.src == box.id]
        return GraphModel(self.title, self.file, nodes, edges, [], self.issues, self.graph_issues, True)


# --------------------------------------------------------------------------------------------- building


def _issue_text(issue: ConfigIssue) -> str:
    return str(issue)


def _fmt_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _effective_options(options: Any) -> dict[str, str]:
    if options is None or not dataclasses.is_dataclass(options):
        return {}
    return {f.name: _fmt_value(getattr(options, f.name, None)) for f in dataclasses.fields(options)}


def _written_options(message: Any) -> str:
    parts = []
    try:
        if message.HasField("options"):
            parts.append(text_format.MessageToString(message.options, as_one_line=False).strip())
        for packed in message.node_options:
            parts.append(text_format.MessageToString(packed, as_one_line=False).strip())
    except Exception:  # noqa: BLE001 - display only
        pass
    return "\n".join(p for p in parts if p)


def _settings(message: Any, executor: str) -> dict[str, str]:
    out = {}
    if executor:
        out["executor"] = executor
    try:
        if message.HasField("input_stream_handler"):
            out["input stream handler"] = message.input_stream_handler.input_stream_handler
        if message.HasField("max_in_flight"):
            out["max_in_flight"] = str(message.max_in_flight)
    except Exception:  # noqa: BLE001
        pass
    return out


class _Builder:
    def __init__(self, title: str, file: str | None):
        self.title, self.file = title, file
        self.nodes: list[VNode] = []
        self.edges: list[VEdge] = []
        self.clusters: dict[str, VCluster] = {}
        self.counters: dict[str, int] = {}
        self.graph_ports: dict[tuple[str, str], VNode] = {}  # (kind, name) -> vnode
        self.missing: dict[tuple[bool, str], VNode] = {}

    def new_id(self, prefix: str) -> str:
        k = self.counters.get(prefix, 0)
        self.counters[prefix] = k + 1
        return f"{prefix}{k}"

    def add_node(self, prefix: str, kind: str, name: str, **kw) -> VNode:
        node = VNode(self.new_id(prefix), kind, name, **kw)
        self.nodes.append(node)
        return node

    def graph_port(self, kind: str, name: str, file: str | None = None, line: int | None = None) -> VNode:
        key = (kind, name)
        node = self.graph_ports.get(key)
        if node is None:
            prefix = {"input": "gi", "output": "go", "side_in": "si", "side_out": "so"}[kind]
            node = self.add_node(prefix, kind, name, file=file, line=line)
            self.graph_ports[key] = node
        return node

    def missing_producer(self, side: bool, name: str) -> VNode:
        key = (side, name)
        node = self.missing.get(key)
        if node is None:
            what = "side packet" if side else "stream"
            node = self.add_node("x", "missing", name, issues=[f"{what} '{name}' has no producer"])
            self.missing[key] = node
        return node

    def edge(self, src: str, dst: str, stream: str, side: bool, back: bool, src_port: str, dst_port: str):
        self.edges.append(VEdge(self.new_id("e"), src, dst, stream, side, back, src_port, dst_port))

    def cluster(self, path: str, info: tuple, parent: str | None) -> None:
        if path not in self.clusters:
            type_name, file, line, sub_file = info
            self.clusters[path] = VCluster(self.new_id("c"), path, type_name, file, line, sub_file, parent)


def _ports(raw: Any) -> list[VPort]:
    from ..calculator import type_name

    ports = []
    for kind in ("input_stream", "output_stream", "input_side_packet", "output_side_packet"):
        for entry in raw.entries.get(kind, []):
            port_type = type_name(entry.port.type) if entry.port is not None else ""
            ports.append(VPort(kind, entry.ref.tag, entry.ref.index, entry.ref.name, entry.back_edge, port_type))
    return ports


def _wire(b: _Builder, calc_nodes: list[tuple[VNode, Any]], interface: dict[str, list[tuple[str, int | None]]]
          ) -> None:
    """Edges from each stream's producers to its consumers; graph ports and unproduced names become nodes.

    `interface`: the graph's own streams and side packets, kind -> [(name, line)]."""
    made: dict[tuple[bool, str], list[tuple[str, str]]] = {}
    for kind, side, vkind in (("input_stream", False, "input"), ("input_side_packet", True, "side_in")):
        for name, line in interface.get(kind, []):
            node = b.graph_port(vkind, name, b.file, line)
            made.setdefault((side, name), []).append((node.id, ""))
    for vnode, _ in calc_nodes:
        for p in vnode.ports:
            if p.kind in ("output_stream", "output_side_packet"):
                made.setdefault((p.kind == "output_side_packet", p.name), []).append((vnode.id, p.label))
    for vnode, _ in calc_nodes:
        for p in vnode.ports:
            if p.kind not in ("input_stream", "input_side_packet"):
                continue
            side = p.kind == "input_side_packet"
            producers = made.get((side, p.name))
            if not producers:
                if side:  # a side packet the application supplies without declaring it
                    producers = [(b.graph_port("side_in", p.name).id, "")]
                    made[(side, p.name)] = producers
                else:
                    producers = [(b.missing_producer(side, p.name).id, "")]
            for src, src_port in producers:
                b.edge(src, vnode.id, p.name, side, p.back_edge, src_port, p.label)
    for kind, side, vkind in (("output_stream", False, "output"), ("output_side_packet", True, "side_out")):
        for name, line in interface.get(kind, []):
            node = b.graph_port(vkind, name, b.file, line)
            producers = made.get((side, name)) or [(b.missing_producer(side, name).id, "")]
            for src, src_port in producers:
                b.edge(src, node.id, name, side, False, src_port, "")


def _attach_issues(model: GraphModel, issues: list[ConfigIssue]) -> None:
    calc = {n.name: n for n in model.nodes if n.kind == "calculator"}
    ports = {(n.kind, n.name): n for n in model.nodes if n.kind != "calculator"}
    for issue in issues:
        text = _issue_text(issue)
        model.issues.append(text)
        attached = False
        node = calc.get(issue.node) if issue.node else None
        short = issue.message
        where = f"{issue.file}:{issue.line}" if issue.file and issue.line is not None else (issue.file or "")
        detail = f"{short} ({where})" if where else short
        if node is not None:
            if detail not in node.issues:
                node.issues.append(detail)
            attached = True
        if issue.stream:
            for e in model.edges:
                if e.stream != issue.stream:
                    continue
                if node is None or e.dst == node.id or e.src == node.id:
                    if detail not in e.issues:
                        e.issues.append(detail)
                    attached = attached or node is not None
            if node is None:
                for kind in ("input", "output", "side_in", "side_out", "missing"):
                    target = ports.get((kind, issue.stream))
                    if target is not None:
                        if detail not in target.issues:
                            target.issues.append(detail)
                        attached = True
        if not attached:
            model.graph_issues.append(text)


def build_model(source: Any, *, search_paths: Iterable[str | os.PathLike] = (),
                side_packet_names: Iterable[str] | None = None) -> GraphModel:
    """The drawable model of a graph (path, text or shipped name), valid or not.

    Raises GraphConfigError only when there is no graph text at all (no such file or graph name, unreadable).
    """
    from ..config import inspect_graph

    is_text = isinstance(source, str) and ("{" in source or "\n" in source)
    title = "<graph text>" if is_text else str(source)
    found = inspect_graph(source, search_paths=search_paths, side_packet_names=side_packet_names)
    file, expanded = found.file, found.expanded
    if expanded is None:
        if file and found.config is not None:
            title = file
        model = GraphModel(title, file, [], [], [])
        _attach_issues(model, found.issues)
        return model
    if file:
        title = file
    issues = found.issues

    b = _Builder(title, file)
    calc_nodes = []
    for k, raw in enumerate(expanded.nodes):
        around = found.subgraphs_around(raw)
        for depth, sub in enumerate(around[:len(raw.subgraph_path)]):
            path = raw.subgraph_path[depth]
            b.cluster(path, (sub.type, sub.file, sub.line, sub.subgraph_file),
                      raw.subgraph_path[depth - 1] if depth else None)
        options = found.options[k] if k < len(found.options) else None
        vnode = b.add_node("n", "calculator", raw.name, calculator=raw.calculator, cluster=tuple(raw.subgraph_path),
                           file=raw.file, line=raw.line, ports=_ports(raw), options_text=_written_options(raw.message),
                           options=_effective_options(options), settings=_settings(raw.message, raw.executor))
        calc_nodes.append((vnode, raw))
    _wire(b, calc_nodes, {kind: [(e.ref.name, e.line) for e in entries]
                          for kind, entries in expanded.interface.entries.items()})
    order = {"input": 0, "side_in": 1, "missing": 2, "calculator": 3, "output": 4, "side_out": 5}
    b.nodes.sort(key=lambda n: order.get(n.kind, 3))
    model = GraphModel(title, file, b.nodes, b.edges, list(b.clusters.values()))
    _attach_issues(model, issues)
    return model


def model_from_spec(spec: Any, title: str | None = None) -> GraphModel:
    """The model of an already validated graph (``Graph.spec``); subgraph types are not known there."""
    from ..calculator import type_name

    file = spec.source.file
    b = _Builder(title or str(spec.source), file)
    calc_nodes = []
    for ns in spec.nodes:
        for depth, path in enumerate(ns.subgraph_path):
            b.cluster(path, ("", None, None, ""), ns.subgraph_path[depth - 1] if depth else None)
        ports = []
        for kind, bindings in (("input_stream", ns.inputs), ("output_stream", ns.outputs),
                               ("input_side_packet", ns.input_side_packets),
                               ("output_side_packet", ns.output_side_packets)):
            for bnd in bindings:
                ports.append(VPort(kind, bnd.port.tag, bnd.index, bnd.name, bnd.back_edge, type_name(bnd.port.type)))
        settings = {"input stream handler": ns.input_stream_handler}
        if ns.executor:
            settings["executor"] = ns.executor
        if ns.max_in_flight != 1:
            settings["max_in_flight"] = str(ns.max_in_flight)
        vnode = b.add_node("n", "calculator", ns.name, calculator=ns.calculator, cluster=tuple(ns.subgraph_path),
                           file=ns.location.file, line=ns.location.line, ports=ports,
                           options=_effective_options(ns.options), settings=settings)
        calc_nodes.append((vnode, ns))
    interface = {"input_stream": spec.input_streams, "output_stream": spec.output_streams,
                 "input_side_packet": spec.input_side_packets, "output_side_packet": spec.output_side_packets}
    _wire(b, calc_nodes, {kind: [(name, None) for name in names] for kind, names in interface.items()})
    order = {"input": 0, "side_in": 1, "missing": 2, "calculator": 3, "output": 4, "side_out": 5}
    b.nodes.sort(key=lambda n: order.get(n.kind, 3))
    return GraphModel(b.title, file, b.nodes, b.edges, list(b.clusters.values()))


__all__ = ["GraphModel", "VNode", "VEdge", "VCluster", "VPort", "build_model", "model_from_spec"]
