"""Input stream handlers: when a node is ready and which packets its process() gets (MediaPipe's handlers).

"default" and "immediate" are the scheduler's hot paths (`NodeRuntime.scan` and `NodeRuntime.immediate_readiness`);
the others are small policy objects, one module each, with two methods:

    readiness(node) -> the timestamp to run at, Timestamp.DONE to close, or None (not ready)
    fill(node, ts)  -> the packets of one call, one per input (None where empty), popped from the queues

Both run under the scheduler lock.
"""

from __future__ import annotations

from .barrier import BarrierInputStreamHandler
from .early_close import EarlyCloseInputStreamHandler
from .fixed_size import FixedSizeInputStreamHandler
from .mux import MuxInputStreamHandler
from .sync_set import SyncSetInputStreamHandler

POLICIES = {"early_close": EarlyCloseInputStreamHandler, "barrier": BarrierInputStreamHandler,
            "sync_set": SyncSetInputStreamHandler, "mux": MuxInputStreamHandler,
            "fixed_size": FixedSizeInputStreamHandler}

# Names accepted in graph files (case-insensitive) -> canonical name.
ALIASES = {"default": "default", "defaultinputstreamhandler": "default",
           "immediate": "immediate", "immediateinputstreamhandler": "immediate",
           "early_close": "early_close", "earlycloseinputstreamhandler": "early_close",
           "barrier": "barrier", "barrierinputstreamhandler": "barrier",
           "sync_set": "sync_set", "syncsetinputstreamhandler": "sync_set",
           "mux": "mux", "muxinputstreamhandler": "mux",
           "fixed_size": "fixed_size", "fixedsizeinputstreamhandler": "fixed_size"}
NAMES = ("DefaultInputStreamHandler (default), ImmediateInputStreamHandler (immediate), "
         "EarlyCloseInputStreamHandler (early_close), BarrierInputStreamHandler (barrier), "
         "SyncSetInputStreamHandler (sync_set), MuxInputStreamHandler (mux), "
         "FixedSizeInputStreamHandler (fixed_size)")


def policy_for(handler: str, node):
    """The policy object of a handler for one node, or None for the scheduler's built-in default/immediate."""
    cls = POLICIES.get(handler)
    if cls is None or not getattr(cls, "applies", lambda node: True)(node):
        return None
    return cls(node)


__all__ = ["ALIASES", "NAMES", "POLICIES", "policy_for", "BarrierInputStreamHandler",
           "EarlyCloseInputStreamHandler", "FixedSizeInputStreamHandler",
           "MuxInputStreamHandler", "SyncSetInputStreamHandler"]
