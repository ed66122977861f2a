"""Input coercion: what a graph input stream accepts beyond the exact type its consumers declare.

The runtime knows no payload types. A port type may define ``__posegraph_coerce__(value) -> value`` (a classmethod
that returns an instance or raises TypeError saying what it expects); when every typed consumer of a graph input
stream declares the same such type, `Graph.add_packet` passes values through it once, before they fan out. So an
app can feed a numpy frame where calculators take an image type, and a wrong value fails at the call that sent it.
"""

from __future__ import annotations

from typing import Any, Callable

COERCE_HOOK = "__posegraph_coerce__"


def input_coercers(spec: Any) -> dict[str, Callable[[Any], Any]]:
    """{graph input stream: coercion function} for the streams whose consumers agree on a coercible type."""
    inputs = set(spec.input_streams)
    types: dict[str, set] = {}
    for node in spec.nodes:
        for binding in node.inputs:
            if binding.name in inputs and isinstance(binding.port.type, type):
                types.setdefault(binding.name, set()).add(binding.port.type)
    coercers = {}
    for stream, declared in types.items():
        hooks = {t for t in declared if callable(getattr(t, COERCE_HOOK, None))}
        if len(hooks) == 1:
            coercers[stream] = getattr(hooks.pop(), COERCE_HOOK)
    return coercers


__all__ = ["COERCE_HOOK", "input_coercers"]
