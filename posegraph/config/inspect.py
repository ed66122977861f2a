"""`inspect_graph`: a graph read as far as it goes, with every problem collected, for tools that show invalid graphs
too (the visualizer draws a graph with its errors on it; `load_graph` raises instead)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable

from .. import registry
from ..errors import ConfigIssue, GraphConfigError
from .expand import Expander
from .validate import Validator

__all__ = ["EnclosingSubgraph", "GraphInspection", "inspect_graph"]


@dataclass(frozen=True)
class EnclosingSubgraph:
    """A subgraph node that an expanded node came from: its type, where the parent graph writes it, and the
    subgraph file."""

    type: str
    file: str | None
    line: int | None
    subgraph_file: str


@dataclass
class GraphInspection:
    """What `inspect_graph` found. `expanded` is None when the text did not parse (the issues say why)."""

    config: Any
    file: str | None
    expanded: Any | None
    options: list[Any] = field(default_factory=list)  # per expanded node, its options dataclass (or None)
    issues: list[ConfigIssue] = field(default_factory=list)
    enclosing: dict[int, list[EnclosingSubgraph]] = field(default_factory=dict)  # id(node) -> outermost first

    def subgraphs_around(self, node: Any) -> list[EnclosingSubgraph]:
        return self.enclosing.get(id(node), [])


class _RecordingExpander(Expander):
    """Remembers, for every expanded node, the subgraph nodes around it."""

    def __init__(self, *args):
        super().__init__(*args)
        self.enclosing: dict[int, list[EnclosingSubgraph]] = {}

    def subgraph(self, parent, path, stack):
        sub = super().subgraph(parent, path, stack)
        if sub is not None:
            info = EnclosingSubgraph(parent.calculator, parent.file, parent.line, str(path))
            for node in sub.nodes:
                self.enclosing.setdefault(id(node), []).insert(0, info)
        return sub


def inspect_graph(source: Any, *, search_paths: Iterable[str | os.PathLike] = (),
                  side_packet_names: Iterable[str] | None = None) -> GraphInspection:
    """Parse, expand and validate like `load_graph`, collecting every problem instead of raising.

    Raises GraphConfigError only when there is no graph text at all (no such file or graph name, unreadable).
    """
    from . import _paths, _resolve

    registry.load_plugins()
    paths = _paths(search_paths)
    try:
        config, smap, file = _resolve(source, paths)
    except GraphConfigError as exc:
        if not all(i.message.startswith(("syntax error", "cannot parse")) for i in exc.issues):
            raise  # no such graph, or unreadable: nothing to inspect
        return GraphInspection(None, getattr(exc.issues[0], "file", None) if exc.issues else None, None,
                               issues=list(exc.issues))
    issues: list[ConfigIssue] = []
    expander = _RecordingExpander(paths, issues)
    try:
        expanded = expander.graph(config, smap, file)
    except GraphConfigError as exc:  # defensive: expansion reports through `issues`
        return GraphInspection(config, file, None, issues=issues + list(exc.issues))
    validator = Validator(config, smap, file, expanded, side_packet_names, issues, expander.calculators, paths)
    try:
        validator.run()
    except GraphConfigError:
        pass  # the issues are in `issues`
    except Exception as exc:  # noqa: BLE001 - report what we have, and say validation broke
        issues.append(ConfigIssue(f"validation stopped early: {type(exc).__name__}: {exc}", file))
    return GraphInspection(config, file, expanded, list(validator.options), issues, expander.enclosing)
