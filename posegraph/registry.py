"""Calculator names -> classes, filled by the ``@calculator`` decorator and the ``posegraph.calculators``
entry-point group.

The runtime itself ships no calculators: its own library registers through the same entry-point group as a
third-party package would (see ``pyproject.toml``), so a plugin is never second-class.
"""

from __future__ import annotations

import difflib
import threading
import warnings
from importlib.metadata import entry_points
from typing import Callable, TypeVar

from .calculator import Calculator

ENTRY_POINT_GROUP = "posegraph.calculators"

C = TypeVar("C", bound=type[Calculator])

_calculators: dict[str, type[Calculator]] = {}
# another framework's calculator name -> posegraph calculators that do its job ("did you mean" suggests them first)
_equivalents: dict[str, tuple[str, ...]] = {}
# (calculator name, options message full name) -> the class that serves nodes written with those options
_variants: dict[tuple[str, str], type[Calculator]] = {}
_plugin_errors: dict[str, str] = {}
_plugins_loaded = False
_lock = threading.RLock()


def register(cls: type[Calculator], name: str | None = None, *, replace: bool = False) -> type[Calculator]:
    """Register `cls` under `name` (default: the class name)."""
    if not (isinstance(cls, type) and issubclass(cls, Calculator)):
        raise TypeError(f"{cls!r} is not a Calculator subclass")
    name = name or cls.__name__
    with _lock:
        existing = _calculators.get(name)
        if existing is not None and existing is not cls and not replace:
            same = (existing.__module__, existing.__qualname__) == (cls.__module__, cls.__qualname__)
            if not same:  # a module reloaded in tests re-registers itself; anything else is a clash
                raise ValueError(f"calculator name '{name}' is already registered by "
                                 f"{existing.__module__}.{existing.__qualname__}")
        _calculators[name] = cls
        if not cls.registered_name:
            cls.registered_name = name
    return cls


def calculator(name: str | None = None, *, replace: bool = False) -> Callable[[C], C]:
    """Class decorator: ``@calculator("Name")`` registers the class under that name."""
    def decorate(cls: C) -> C:
        register(cls, name, replace=replace)
        return cls
    return decorate


def load_plugins() -> None:
    """Import every module named in the entry-point group once; a broken plugin is reported, not fatal."""
    global _plugins_loaded
    with _lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = ep.load()
                if isinstance(loaded, type) and issubclass(loaded, Calculator):
                    register(loaded, ep.name if ep.name != loaded.__name__ else None)
            except Exception as exc:  # noqa: BLE001 - a plugin must not break the runtime
                _plugin_errors[ep.value] = f"{type(exc).__name__}: {exc}"
                warnings.warn(f"posegraph: could not load calculator plugin {ep.value!r}: {exc}", stacklevel=2)


def get(name: str) -> type[Calculator]:
    """The class registered as `name`; KeyError with close matches otherwise."""
    load_plugins()
    try:
        return _calculators[name]
    except KeyError:
        hint = suggest(name)
        raise KeyError(f"unknown calculator '{name}'" + (f"; did you mean {', '.join(hint)}?" if hint else ""))


def register_equivalent(name: str, *calculators: str) -> None:
    """Declare that the calculators named `calculators` do the job of `name`, a calculator of another framework
    that is not registered here (MediaPipe's ``TfLiteInferenceCalculator`` -> ``InferenceCalculator``), so that
    "did you mean" points there instead of at names that merely look alike."""
    with _lock:
        _equivalents[name] = tuple(dict.fromkeys(_equivalents.get(name, ()) + calculators))


def equivalents(name: str) -> list[str]:
    """Registered calculators declared to do the job of `name` (see register_equivalent)."""
    load_plugins()
    return [n for n in _equivalents.get(name, ()) if n in _calculators]


def suggest(name: str, limit: int = 3) -> list[str]:
    load_plugins()
    names = list(_calculators)
    first = equivalents(name)
    close = difflib.get_close_matches(name, names, n=limit, cutoff=0.6)
    if not close:
        lower = {n.lower(): n for n in names}
        close = [lower[n] for n in difflib.get_close_matches(name.lower(), list(lower), n=limit, cutoff=0.5)]
    return list(dict.fromkeys(first + close))[:max(limit, len(first))]


def register_variant(name: str, options_message: str, cls: type[Calculator]) -> type[Calculator]:
    """Serve nodes of calculator `name` whose options are the message `options_message` with `cls`.

    This is how one calculator name speaks two dialects: posegraph's own (the registered class) and another
    framework's (MediaPipe's ``[mediapipe.XOptions.ext]``, with its tags and packet shapes), chosen per node by
    the options the node is written with, so neither dialect's graphs change.
    """
    if not (isinstance(cls, type) and issubclass(cls, Calculator)):
        raise TypeError(f"{cls!r} is not a Calculator subclass")
    with _lock:
        _variants[(name, options_message)] = cls
        if not cls.registered_name:
            cls.registered_name = name
    return cls


def variant(name: str, options_messages) -> type[Calculator] | None:
    """The variant of calculator `name` for a node written with any of `options_messages`, if one is registered."""
    load_plugins()
    for message in options_messages:
        found = _variants.get((name, message))
        if found is not None:
            return found
    return None


def variants_of(name: str) -> list[type[Calculator]]:
    """Every variant registered for calculator `name`."""
    load_plugins()
    return list(dict.fromkeys(cls for (n, _), cls in _variants.items() if n == name))


def variants() -> dict[tuple[str, str], type[Calculator]]:
    load_plugins()
    return dict(_variants)


def all_calculators() -> dict[str, type[Calculator]]:
    load_plugins()
    return dict(sorted(_calculators.items()))


def plugin_errors() -> dict[str, str]:
    load_plugins()
    return dict(_plugin_errors)
