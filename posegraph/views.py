"""Read-only snapshots of a running graph for the CLI, the dashboard and tools (never the runtime's internals).

``graph.nodes`` returns one `NodeView` per node, taken under the graph lock: what the node is, where it stands, its
input queues and its counters. Views are frozen; take a new one to see progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueueView:
    """One input queue of a node."""

    stream: str
    size: int        # packets waiting
    limit: int       # max_queue_size in force (grown by deadlock relief); <= 0: unbounded
    bound: int       # the next timestamp the stream may deliver
    back_edge: bool


@dataclass(frozen=True)
class NodeView:
    """One node of a graph, as it was when the view was taken."""

    name: str
    calculator: str                  # the registered calculator name
    state: str                       # "created", "opened" or "closed"
    is_source: bool
    in_flight: int                   # process()/close() calls running now
    queues: tuple[QueueView, ...]
    outputs: tuple[str, ...]         # output stream names
    process_count: int
    process_ns: int
    dropped: int
    errors: int
    emitted: int                     # frames a source sent
    instance: Any = None             # the calculator object while the run lasts (None after it): for tools only

    @property
    def queued(self) -> int:
        return sum(q.size for q in self.queues)


def node_view(node: Any) -> NodeView:
    """A view of one NodeRuntime (the caller holds the graph lock)."""
    stats = node.stats
    return NodeView(
        name=node.name, calculator=node.spec.calculator, state=node.state, is_source=node.is_source,
        in_flight=node.in_flight,
        queues=tuple(QueueView(q.name, len(q.packets), q.limit, q.bound, q.back_edge) for q in node.inputs),
        outputs=tuple(out.name for out in node.outputs), process_count=stats.process_count,
        process_ns=stats.process_ns, dropped=stats.dropped, errors=stats.errors, emitted=stats.emitted,
        instance=node.calculator)
