"""Calculator names -> classes, filled by the ``@calculator`` decorator and the ``posegraph.calculators``
entry-point group.

The runtime itself ships no calculators: its own library registers through the same entry-point group as a
third-party package would (see ``pyproject.toml``), so a plugin is never second-class.

A plugin module may also *declare* calculators instead of importing them all: ``CALCULATOR_MODULES`` (name ->
module) and ``VARIANT_MODULES`` ((name, options message) -> module). The registry then knows those names (for
validation, "did you mean", listings) and imports a module only when one of its names is asked for, so a process
pays in memory and start-up only for the calculators its graphs use.
"""

from __future__ import annotations

import difflib
import importlib
import threading
import warnings
from importlib.metadata import entry_points
from typing import Callable, Iterator, Mapping, TypeVar

from .calculator import Calculator

ENTRY_POINT_GROUP = "posegraph.calculators"

C = TypeVar("C", bound=type[Calculator])

_calculators: dict[str, type[Calculator]] = {}
# another framework's calculator name -> posegraph calculators that do its job ("did you mean" suggests them first)
_equivalents: dict[str, tuple[str, ...]] = {}
# (calculator name, options message full name) -> the class that serves nodes written with those options
_variants: dict[tuple[str, str], type[Calculator]] = {}
_plugin_errors: dict[str, str] = {}
# declared by a plugin, imported on first use: calculator name -> module, (name, options message) -> module
_lazy: dict[str, str] = {}
_lazy_variants: dict[tuple[str, str], str] = {}
_plugins_loaded = False
_all_loaded = False
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
    """Load every entry of the entry-point group once (a module declaring its calculators is not imported further
    until they are used); a broken plugin is reported, not fatal."""
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
                else:
                    _declare(loaded)
            except Exception as exc:  # noqa: BLE001 - a plugin must not break the runtime
                _plugin_errors[ep.value] = f"{type(exc).__name__}: {exc}"
                warnings.warn(f"posegraph: could not load calculator plugin {ep.value!r}: {exc}", stacklevel=2)


def _declare(module: object) -> None:
    """Remember the calculators and variants a plugin module declares without importing them."""
    for name, where in dict(getattr(module, "CALCULATOR_MODULES", None) or {}).items():
        _lazy.setdefault(name, where)
    for key, where in dict(getattr(module, "VARIANT_MODULES", None) or {}).items():
        _lazy_variants.setdefault(tuple(key), where)


def _import(module: str) -> bool:
    """Import a declared module; a failure is reported like a broken plugin (warning + plugin_errors). Not under
    `_lock`: the module's own ``register`` calls take it, and another thread may be importing the same module."""
    if module in _plugin_errors:
        return False
    try:
        importlib.import_module(module)
        return True
    except Exception as exc:  # noqa: BLE001 - one broken module must not break the others
        _plugin_errors[module] = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"posegraph: could not load calculator module {module!r}: {exc}", stacklevel=3)
        return False


def _ensure(name: str) -> None:
    if name not in _calculators and name in _lazy:
        _import(_lazy[name])


def load_all() -> None:
    """Import every declared module (listings, the visualizer, error messages that compare with everything)."""
    global _all_loaded
    load_plugins()
    for module in dict.fromkeys(list(_lazy.values()) + list(_lazy_variants.values())):
        _import(module)
    _all_loaded = True


def all_loaded() -> bool:
    """Whether every declared module has been imported (or failed to)."""
    return _all_loaded


def names() -> list[str]:
    """Every calculator name known, registered or declared, without importing anything more."""
    load_plugins()
    return sorted(set(_calculators) | set(_lazy))


def is_known(name: str) -> bool:
    load_plugins()
    return name in _calculators or name in _lazy


def prepare(calculators, options_messages=()) -> None:
    """Import the modules of the named calculators and of their variants for `options_messages` (what a graph
    text mentions), so that their options types exist before the text is parsed. Unknown names are skipped."""
    load_plugins()
    messages = set(options_messages)
    for name in dict.fromkeys(calculators):
        _ensure(name)
        for (of, message), module in list(_lazy_variants.items()):
            if of == name and message in messages and (of, message) not in _variants:
                _import(module)


def loaded() -> list[type[Calculator]]:
    """The classes imported so far (calculators and variants), for building their options types."""
    with _lock:
        return list(dict.fromkeys(list(_calculators.values()) + list(_variants.values())))


def get(name: str) -> type[Calculator]:
    """The class registered as `name`; KeyError with close matches otherwise."""
    load_plugins()
    _ensure(name)
    try:
        return _calculators[name]
    except KeyError:
        failed = load_error(name)
        if failed is not None:
            raise KeyError(failed) from None
        hint = suggest(name)
        raise KeyError(f"unknown calculator '{name}'" + (f"; did you mean {', '.join(hint)}?" if hint else ""))


def load_error(name: str) -> str | None:
    """Why the declared calculator `name` is not available (its module failed to import), or None."""
    failed = _plugin_errors.get(_lazy.get(name, ""))
    return None if failed is None else f"calculator '{name}' could not be loaded from {_lazy[name]}: {failed}"


def register_equivalent(name: str, *calculators: str) -> None:
    """Declare that the calculators named `calculators` do the job of `name`, a calculator of another framework
    that is not registered here (MediaPipe's ``TfLiteInferenceCalculator`` -> ``InferenceCalculator``), so that
    "did you mean" points there instead of at names that merely look alike."""
    with _lock:
        _equivalents[name] = tuple(dict.fromkeys(_equivalents.get(name, ()) + calculators))


def equivalents(name: str) -> list[str]:
    """Registered calculators declared to do the job of `name` (see register_equivalent)."""
    load_plugins()
    return [n for n in _equivalents.get(name, ()) if is_known(n)]


def suggest(name: str, limit: int = 3) -> list[str]:
    known = names()
    first = equivalents(name)
    close = difflib.get_close_matches(name, known, n=limit, cutoff=0.6)
    if not close:
        lower = {n.lower(): n for n in known}
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
        if (name, message) not in _variants and (name, message) in _lazy_variants:
            _import(_lazy_variants[(name, message)])
        found = _variants.get((name, message))
        if found is not None:
            return found
    return None


def variants_of(name: str) -> list[type[Calculator]]:
    """Every variant registered for calculator `name`."""
    load_plugins()
    for (of, _), module in list(_lazy_variants.items()):
        if of == name:
            _import(module)
    return list(dict.fromkeys(cls for (n, _), cls in _variants.items() if n == name))


def variants() -> dict[tuple[str, str], type[Calculator]]:
    load_all()
    return dict(_variants)


def all_calculators() -> dict[str, type[Calculator]]:
    """Every calculator, imported (listings and the visualizer; a graph needs only ``catalog()``)."""
    load_all()
    return dict(sorted(_calculators.items()))


class Catalog(Mapping[str, type[Calculator]]):
    """The calculators as a mapping that imports a declared module only when its class is looked up: ``in`` and
    iteration use the names alone."""

    def __getitem__(self, name: str) -> type[Calculator]:
        load_plugins()
        _ensure(name)
        return _calculators[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and is_known(name)

    def __iter__(self) -> Iterator[str]:
        return iter(names())

    def __len__(self) -> int:
        return len(names())


def catalog() -> Catalog:
    return Catalog()


def plugin_errors() -> dict[str, str]:
    load_plugins()
    return dict(_plugin_errors)
