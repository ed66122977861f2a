"""What the driver needs from an execution engine (a local process pool, a Ray actor pool).

An engine owns long-lived workers, each running one graph at a time (`FileRunner`). The driver keeps at most
`capacity()` files in flight (back-pressure: a worker never holds more than `in_flight` files) and collects
`Completion`s: a worker's `FileOutcome`, or the news that the worker died while it held the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .worker import FileOutcome, FileTask

EventCallback = Callable[[str, dict[str, Any]], None]


@dataclass
class WorkerSettings:
    """Everything a worker is built from; the same for every worker of a batch."""

    graph_config: str                   # the expanded, validated graph in text format (subgraphs inlined)
    threads: int = 1                    # Graph(num_threads=...) of each graph
    side: dict[str, Any] = field(default_factory=dict)   # side packets given to every file
    preload: tuple[str, ...] = ()       # modules imported in each worker before the graph is built
    file_timeout: float | None = None


@dataclass
class Completion:
    task: FileTask
    outcome: FileOutcome | None         # None: the worker was lost
    lost: str | None = None             # why the worker was lost (exit code, Ray error)
    started: bool = True                # False: the task was lost before the worker began it (free retry)
    worker: str | None = None


class Engine:
    """Base class: `start`, `capacity`, `submit`, `wait`, `close`."""

    name = "engine"
    workers = 0
    in_flight = 1

    def start(self) -> None:
        raise NotImplementedError

    def capacity(self) -> int:
        raise NotImplementedError

    def submit(self, task: FileTask) -> dict[str, Any]:
        """Hand a task to a worker; returns ``{"worker": name, "pid": pid or None}``."""
        raise NotImplementedError

    def wait(self, timeout: float) -> list[Completion]:
        raise NotImplementedError

    def busy(self) -> int:
        raise NotImplementedError

    def close(self, kill: bool = False) -> None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "workers": self.workers, "in_flight_per_worker": self.in_flight}


__all__ = ["Completion", "Engine", "EventCallback", "WorkerSettings"]
