"""Error types. Every error says where: file and line, node, stream, timestamp."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from .packet import Timestamp


class PosegraphError(Exception):
    """Base class of every error the runtime raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem found in a graph file."""

    message: str
    file: str | None = None
    line: int | None = None
    node: str | None = None
    stream: str | None = None

    def __str__(self) -> str:
        where = self.file or "<graph>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.node:
            parts.append(f"node '{self.node}'")
        if self.stream:
            parts.append(f"stream '{self.stream}'")
        return f"{': '.join(parts)}: {self.message}"


class GraphConfigError(PosegraphError, ValueError):
    """A graph file or config that cannot be loaded or fails validation; lists every issue found."""

    def __init__(self, issues: list[ConfigIssue] | ConfigIssue | str):
        if isinstance(issues, str):
            issues = [ConfigIssue(issues)]
        elif isinstance(issues, ConfigIssue):
            issues = [issues]
        self.issues: list[ConfigIssue] = list(issues)
        count = len(self.issues)
        head = "invalid graph" if count == 1 else f"invalid graph ({count} problems)"
        super().__init__(head + ":\n" + "\n".join(f"  {issue}" for issue in self.issues))


class CalculatorError(PosegraphError):
    """A calculator raised: names the node, the method and the timestamp; the original is the ``__cause__``."""

    def __init__(self, node: str, method: str, timestamp: int | None, original: BaseException):
        self.node = node
        self.method = method
        self.timestamp = timestamp
        self.original = original
        at = f" at timestamp {Timestamp.describe(timestamp)}" if timestamp is not None else ""
        self.original_traceback = "".join(traceback.format_exception(original))
        super().__init__(f"node '{node}' failed in {method}(){at}: {type(original).__name__}: {original}\n"
                         f"original traceback:\n{self.original_traceback}")
        self.__cause__ = original


class GraphCancelledError(PosegraphError):
    """The graph was cancelled before it finished."""


class StreamError(PosegraphError, ValueError):
    """Bad use of a stream: unknown name, timestamp not increasing, adding to a closed stream."""


class GraphTimeoutError(PosegraphError, TimeoutError):
    """A wait ran out of time; the graph is left running (call cancel() to stop it)."""


class DeadlockError(PosegraphError):
    """Every node is idle while packet sources are throttled by full queues (with ``report_deadlock``)."""


class WatchdogError(PosegraphError, TimeoutError):
    """A node did not return from open(), process() or close() within the watchdog's limit."""

    def __init__(self, node: str, method: str, seconds: float, timestamp: int | None = None):
        self.node = node
        self.method = method
        self.seconds = seconds
        self.timestamp = timestamp
        at = f" at timestamp {Timestamp.describe(timestamp)}" if timestamp is not None else ""
        super().__init__(f"node '{node}' has not returned from {method}(){at} after {seconds:g} s (watchdog); the "
                         f"graph was stopped")
