"""posegraph: a MediaPipe-style dataflow graph runtime in Python.

The runtime knows nothing about pose: calculators (registered by name or entry point) do the work, graph files
(``.pbtxt``) wire them, and the scheduler runs them on a thread pool with MediaPipe's timestamp semantics.
"""

from .calculator import (STOP, Calculator, CloseContext, Contract, Input, InputSidePacket, OpenContext, Output,
                         OutputSidePacket, Port, ProcessContext)
from .errors import (CalculatorError, ConfigIssue, DeadlockError, GraphCancelledError, GraphConfigError,
                     GraphTimeoutError, PosegraphError, StreamError, WatchdogError)
from .packet import Packet, Timestamp
from .registry import calculator, register

__version__ = "0.1.0"


def __getattr__(name):  # Graph pulls in protobuf and the config layer: import it on first use
    if name in ("Graph", "OutputPoller"):
        from . import graph
        return getattr(graph, name)
    if name == "load_graph":
        from .config import load_graph
        return load_graph
    raise AttributeError(f"module 'posegraph' has no attribute {name!r}")


__all__ = ["STOP", "Calculator", "CalculatorError", "CloseContext", "ConfigIssue", "Contract", "DeadlockError",
           "Graph", "WatchdogError",
           "GraphCancelledError", "GraphConfigError", "GraphTimeoutError", "Input", "InputSidePacket",
           "OpenContext", "Output", "OutputPoller", "OutputSidePacket", "Packet", "PosegraphError", "Port",
           "ProcessContext", "StreamError", "Timestamp", "calculator", "load_graph", "register"]
