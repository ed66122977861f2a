"""Options of a node message (for containers that build their contained calculators themselves)."""

from __future__ import annotations

from typing import Any

from posegraph import registry
from posegraph.calculator import Calculator
from posegraph.config import options as options_mod


def node_class(message: Any) -> type[Calculator]:
    """The class that serves a contained node: its registered calculator, the variant its options choose, or what
    the class specializes into."""
    name = message.calculator
    try:
        cls = registry.get(name)
    except KeyError as exc:
        raise ValueError(str(exc).strip("'\"")) from None
    names = [d.message_type.full_name for d, _ in message.options.ListFields()] if message.HasField("options") else []
    names += [a.type_url.rpartition("/")[2] for a in message.node_options]
    cls = registry.variant(name, names) or cls
    specialize = getattr(cls, "specialize", None)
    return specialize(message) if callable(specialize) else cls


def node_options(message: Any, cls: type[Calculator]) -> Any:
    """The options dataclass of a contained node (its defaults when it gives none); ValueError when they do not
    fit the calculator."""
    options_class = cls.Options
    given = []
    if message.HasField("options"):
        given += [value for _, value in message.options.ListFields()]
    for packed in message.node_options:
        found = options_mod.by_full_name(packed.type_url.rpartition("/")[2])
        if found is None:
            raise ValueError(f"unknown options type {packed.type_url!r} in contained node {message.calculator}")
        unpacked = found.message_class()
        packed.Unpack(unpacked)
        given.append(unpacked)
    if options_class is None:
        if given:
            raise ValueError(f"contained node {message.calculator} takes no options")
        return None
    expected = options_mod.options_type(options_class)
    for value in given:
        if value.DESCRIPTOR.full_name != expected.full_name:
            raise ValueError(f"contained node {message.calculator}: options {value.DESCRIPTOR.full_name} are not its "
                             f"options (expected {expected.full_name})")
        return options_mod.to_dataclass(value, expected)
    return options_mod.default_options(options_class)
