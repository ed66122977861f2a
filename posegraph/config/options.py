"""Typed calculator options without protoc: each ``Options`` dataclass becomes a proto2 message at run time.

For a calculator whose ``Options`` is the dataclass ``SsdAnchorsOptions``, this module builds (once, cached) a
FileDescriptorProto equivalent to::

    syntax = "proto2";
    package posegraph;
    import "posegraph/config/graph.proto";
    message SsdAnchorsOptions {
      extend CalculatorOptions { optional SsdAnchorsOptions ext = <number derived from the full name>; }
      optional int64 num_layers = 1;
      repeated int64 strides = 2;
      ...
    }

adds it to ``descriptor_pool.Default()`` and makes its classes, so that graph files can write MediaPipe's syntax::

    options { [posegraph.SsdAnchorsOptions.ext] { num_layers: 5 strides: 8 strides: 16 } }
    node_options { [type.googleapis.com/posegraph.SsdAnchorsOptions] { num_layers: 5 } }

Field kinds: bool, int (int64), float (double), str, bytes, enum.Enum subclasses (values written by member name),
nested dataclasses (nested messages), messages of graph.proto itself (``CalculatorGraphConfig.Node``, for
containers whose options hold nodes), ``list[...]``/``tuple[X, ...]`` of those (repeated), and ``X | None``.
Fields of other types are left out of the message (not settable from a graph file) and remembered, so that the
"no field named" error can say why. Unset fields keep the dataclass defaults.

The message name is ``posegraph.<ClassName>`` (``posegraph.<CalculatorName>Options`` for a nested class called
``Options``), or ``Options.__proto_name__`` when the class sets it (a full name such as ``"mypkg.MyOptions"``).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import hashlib
import re
import sys
import threading
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from .. import registry
from .schema import PROTO_NAME, CalculatorOptions

_FDP = descriptor_pb2.FieldDescriptorProto
_SCALARS: dict[type, int] = {bool: _FDP.TYPE_BOOL, int: _FDP.TYPE_INT64, float: _FDP.TYPE_DOUBLE,
                             str: _FDP.TYPE_STRING, bytes: _FDP.TYPE_BYTES}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_FIRST_EXTENSION = 20000
_LAST_EXTENSION = 2**29 - 1  # the largest field number protobuf allows
ANY_PREFIX = "type.googleapis.com/"


class OptionsTypeError(TypeError):
    """An Options dataclass that cannot be turned into a message (name clash, unsupported layout)."""


@dataclass
class _FieldPlan:
    """How one dataclass field maps to one message field and back."""

    name: str
    number: int
    repeated: bool
    kind: str  # "scalar", "enum" or "message"
    py_type: Any  # the scalar type, the enum class or the dataclass
    container: type = list  # list or tuple, for repeated fields


@dataclass
class _MessagePlan:
    dataclass: type
    full_name: str
    fields: dict[str, _FieldPlan] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # field name -> why it is not in the message


@dataclass
class OptionsType:
    """An Options dataclass together with its message class and its CalculatorOptions extension."""

    dataclass: type
    full_name: str
    message_class: type
    extension: Any  # FieldDescriptor of `ext`
    plans: dict[str, _MessagePlan]  # message full name -> plan, for the root and every nested message

    @property
    def root(self) -> _MessagePlan:
        return self.plans[self.full_name]

    @property
    def extension_name(self) -> str:
        return f"{self.full_name}.ext"

    @property
    def type_url(self) -> str:
        return ANY_PREFIX + self.full_name


_lock = threading.RLock()
_by_class: dict[type, OptionsType] = {}
_by_full_name: dict[str, OptionsType] = {}
_failures: dict[type, str] = {}
_added_files: dict[str, bytes] = {}
_numbers: dict[int, str] = {}


# ----------------------------------------------------------------------------------------------- naming


def message_name_for(options_class: type) -> str:
    """The full proto name of an Options dataclass's message."""
    explicit = options_class.__dict__.get("__proto_name__")
    if explicit:
        name = str(explicit)
    else:
        short = options_class.__name__
        if short == "Options":  # a nested `class Options` of a calculator: name it after the calculator
            outer = options_class.__qualname__.split(".")
            outer = [p for p in outer[:-1] if _IDENT.match(p)]
            short = (outer[-1] if outer else "") + "Options"
        name = f"posegraph.{short}"
    if not all(_IDENT.match(part) for part in name.split(".")):
        raise OptionsTypeError(f"{options_class.__qualname__}: {name!r} is not a valid protobuf message name; "
                               f"set __proto_name__ to a dotted name such as 'mypkg.MyOptions'")
    return name


def extension_number(full_name: str) -> int:
    """The preferred extension field number of `full_name` (a hash; collisions are probed by the caller)."""
    digest = hashlib.sha256(full_name.encode("utf-8")).digest()
    return _FIRST_EXTENSION + int.from_bytes(digest[:8], "big") % (_LAST_EXTENSION - _FIRST_EXTENSION + 1)


def _free_extension_number(full_name: str) -> int:
    pool = descriptor_pool.Default()
    number = extension_number(full_name)
    for _ in range(1000):
        owner = _numbers.get(number)
        if owner is None:
            try:
                existing = pool.FindExtensionByNumber(CalculatorOptions.DESCRIPTOR, number)
            except KeyError:
                existing = None
            owner = existing.full_name[: -len(".ext")] if existing is not None else None
        if owner is None or owner == full_name:
            return number
        number = _FIRST_EXTENSION + (number - _FIRST_EXTENSION + 1) % (_LAST_EXTENSION - _FIRST_EXTENSION + 1)
    raise OptionsTypeError(f"no free extension number for {full_name}")  # pragma: no cover


# ------------------------------------------------------------------------------------------- type analysis


def _unwrap_optional(t: Any) -> Any:
    origin = typing.get_origin(t)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(t) if a is not type(None)]
        if len(args) == 1 and len(args) < len(typing.get_args(t)):
            return args[0]
        raise OptionsTypeError(f"union {t} is not supported (only X | None)")
    return t


def _element(t: Any) -> tuple[bool, type, Any]:
    """(repeated, container, element type) of a field annotation."""
    t = _unwrap_optional(t)
    origin = typing.get_origin(t)
    if origin in (list, tuple, typing.Sequence, collections.abc.Sequence):
        args = typing.get_args(t)
        container = tuple if origin is tuple else list
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                args = args[:1]
            elif args and all(a == args[0] for a in args):
                args = args[:1]
        if len(args) != 1:
            raise OptionsTypeError(f"{t} is not supported (use list[X] or tuple[X, ...])")
        inner = _unwrap_optional(args[0])
        if typing.get_origin(inner) is not None:
            raise OptionsTypeError(f"nested containers such as {t} are not supported")
        return True, container, inner
    if t in (list, tuple):
        raise OptionsTypeError(f"bare {t.__name__} is not supported (use list[X])")
    return False, list, t


def _classify(t: Any) -> str:
    if isinstance(t, type) and issubclass(t, enum.Enum):
        if not len(t):
            raise OptionsTypeError(f"enum {t.__name__} has no members")
        for member in t:
            if not _IDENT.match(member.name):
                raise OptionsTypeError(f"enum member {t.__name__}.{member.name} is not a valid identifier")
        return "enum"
    if t in _SCALARS:
        return "scalar"
    if isinstance(t, type) and dataclasses.is_dataclass(t):
        return "message"
    if isinstance(t, type) and hasattr(t, "DESCRIPTOR") and hasattr(t.DESCRIPTOR, "full_name") and \
            t.DESCRIPTOR.file.name == PROTO_NAME:
        return "proto"  # a message of graph.proto itself (a CalculatorGraphConfig.Node), kept as a message
    raise OptionsTypeError(f"type {getattr(t, '__name__', t)} is not supported in graph files")


def _type_hints(cls: type) -> dict[str, Any]:
    """Resolved field annotations; fields whose string annotation cannot be resolved stay strings."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - e.g. a class defined in a function under `from __future__ import annotations`
        pass
    module = sys.modules.get(cls.__module__)
    namespace = dict(vars(module)) if module is not None else {}
    namespace.setdefault(cls.__name__, cls)
    hints: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if isinstance(f.type, str):
            try:
                hints[f.name] = eval(f.type, namespace)  # noqa: S307 - the class's own annotation
            except Exception:  # noqa: BLE001
                hints[f.name] = f.type
        else:
            hints[f.name] = f.type
    return hints


# ----------------------------------------------------------------------------------------- message building


class _Builder:
    """Builds the DescriptorProto of one Options dataclass and its nested messages and enums."""

    def __init__(self, full_name: str, root_proto: descriptor_pb2.DescriptorProto):
        self.full_name = full_name
        self.root = root_proto
        self.messages: dict[type, str] = {}  # dataclass -> message full name
        self.enums: dict[type, str] = {}  # enum class -> enum full name
        self.plans: dict[str, _MessagePlan] = {}
        self.root_symbols: set[str] = {"ext"}

    def _unique(self, base: str) -> str:
        name, n = base, 2
        while name in self.root_symbols:
            name, n = f"{base}_{n}", n + 1
        self.root_symbols.add(name)
        return name

    def build(self, cls: type) -> None:
        self.messages[cls] = self.full_name
        self._fill(self.root, cls, self.full_name)

    def _message(self, cls: type) -> str:
        if cls not in self.messages:
            proto = self.root.nested_type.add()
            proto.name = self._unique(cls.__name__ if _IDENT.match(cls.__name__) else "Message")
            self.messages[cls] = f"{self.full_name}.{proto.name}"
            self._fill(proto, cls, self.messages[cls])
        return self.messages[cls]

    def _enum(self, cls: type[enum.Enum]) -> str:
        if cls not in self.enums:
            values = [m.name for m in cls]
            base = cls.__name__ if _IDENT.match(cls.__name__) else "Enum"
            if any(v in self.root_symbols for v in values) or len(set(values)) != len(values):
                # enum values share their enclosing scope: give a clashing enum a scope of its own
                holder = self.root.nested_type.add()
                holder.name = self._unique(base + "Scope")
                target, scope = holder, f"{self.full_name}.{holder.name}"
                name = base
            else:
                target, scope = self.root, self.full_name
                name = self._unique(base)
                self.root_symbols.update(values)
            proto = target.enum_type.add()
            proto.name = name
            for number, member in enumerate(cls):
                proto.value.add(name=member.name, number=number)
            self.enums[cls] = f"{scope}.{name}"
        return self.enums[cls]

    def _fill(self, proto: descriptor_pb2.DescriptorProto, cls: type, full_name: str) -> None:
        plan = _MessagePlan(cls, full_name)
        self.plans[full_name] = plan
        hints = _type_hints(cls)
        number = 0
        if proto is self.root:
            self.root_symbols.update(f.name for f in dataclasses.fields(cls))
            if "ext" in {f.name for f in dataclasses.fields(cls)}:
                raise OptionsTypeError(f"{cls.__qualname__} has a field named 'ext', which is reserved for the "
                                       f"options extension")
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            if not _IDENT.match(f.name):
                plan.skipped[f.name] = "its name is not an ASCII identifier"
                continue
            annotation = hints.get(f.name, f.type)
            if isinstance(annotation, str):
                plan.skipped[f.name] = (f"its annotation {annotation!r} cannot be resolved (define the types it "
                                        f"names at module level)")
                continue
            try:
                repeated, container, inner = _element(annotation)
                kind = _classify(inner)
            except OptionsTypeError as exc:
                plan.skipped[f.name] = str(exc)
                continue
            number += 1
            fp = proto.field.add(name=f.name, number=number,
                                 label=_FDP.LABEL_REPEATED if repeated else _FDP.LABEL_OPTIONAL)
            if kind == "scalar":
                fp.type = _SCALARS[inner]
            elif kind == "enum":
                fp.type = _FDP.TYPE_ENUM
                fp.type_name = "." + self._enum(inner)
            elif kind == "proto":
                fp.type = _FDP.TYPE_MESSAGE
                fp.type_name = "." + inner.DESCRIPTOR.full_name
            else:
                fp.type = _FDP.TYPE_MESSAGE
                fp.type_name = "." + self._message(inner)
            plan.fields[f.name] = _FieldPlan(f.name, number, repeated, kind, inner, container)


def _build(options_class: type) -> OptionsType:
    full_name = message_name_for(options_class)
    existing = _by_full_name.get(full_name)
    if existing is not None and existing.dataclass is not options_class and \
            (existing.dataclass.__module__, existing.dataclass.__qualname__) != \
            (options_class.__module__, options_class.__qualname__):
        raise OptionsTypeError(
            f"{options_class.__module__}.{options_class.__qualname__} and {existing.dataclass.__module__}."
            f"{existing.dataclass.__qualname__} both map to the options message {full_name}; set "
            f"__proto_name__ on one of them")
    package, _, short = full_name.rpartition(".")
    file_proto = descriptor_pb2.FileDescriptorProto(name=f"posegraph/options/{full_name}.proto",
                                                    package=package, syntax="proto2", dependency=[PROTO_NAME])
    root = file_proto.message_type.add(name=short)
    builder = _Builder(full_name, root)
    builder.build(options_class)
    number = _free_extension_number(full_name)
    root.extension.add(name="ext", number=number, label=_FDP.LABEL_OPTIONAL, type=_FDP.TYPE_MESSAGE,
                       type_name="." + full_name, extendee=".posegraph.CalculatorOptions")
    data = file_proto.SerializeToString(deterministic=True)
    pool = descriptor_pool.Default()
    previous = _added_files.get(file_proto.name)
    if previous is None:
        try:
            other = pool.FindFileContainingSymbol(full_name)
        except KeyError:
            other = None
        if other is not None:
            raise OptionsTypeError(f"the message name {full_name} of {options_class.__qualname__} is already "
                                   f"defined in {other.name}; set __proto_name__ to another name")
        pool.AddSerializedFile(data)
        _added_files[file_proto.name] = data
    elif previous != data:
        raise OptionsTypeError(f"{options_class.__qualname__} changed its fields after its options message "
                               f"{full_name} was built; a message cannot be redefined in one process")
    classes = message_factory.GetMessageClassesForFiles([file_proto.name], pool)
    _numbers[number] = full_name
    return OptionsType(options_class, full_name, classes[full_name], pool.FindExtensionByName(full_name + ".ext"),
                       builder.plans)


# ----------------------------------------------------------------------------------------------- public


def options_type(options_class: type) -> OptionsType:
    """The OptionsType of a dataclass (built once); OptionsTypeError when it cannot be expressed."""
    with _lock:
        found = _by_class.get(options_class)
        if found is not None:
            return found
        if options_class in _failures:
            raise OptionsTypeError(_failures[options_class])
        if not (isinstance(options_class, type) and dataclasses.is_dataclass(options_class)):
            raise OptionsTypeError(f"{options_class!r} is not a dataclass")
        try:
            built = _build(options_class)
        except OptionsTypeError as exc:
            _failures[options_class] = str(exc)
            raise
        _by_class[options_class] = built
        _by_full_name[built.full_name] = built
        return built


def options_message_class(calculator_class: type) -> type | None:
    """The protobuf message class of a calculator's ``Options`` (None for a calculator without options)."""
    options_class = getattr(calculator_class, "Options", None)
    if options_class is None:
        return None
    return options_type(options_class).message_class


def register_all() -> None:
    """Build the options messages of every calculator imported so far (idempotent; cheap once built).

    Must run before a graph text is parsed, so that ``[posegraph.X.ext]`` and Any type URLs resolve (the parser
    first imports the calculators the text names: ``registry.prepare``). A calculator whose options cannot be
    expressed is remembered and reported when a graph gives it options.
    """
    for calculator_class in registry.loaded():
        options_class = getattr(calculator_class, "Options", None)
        if options_class is None or options_class in _by_class or options_class in _failures:
            continue
        try:
            options_type(options_class)
        except OptionsTypeError:
            pass


def failure(options_class: type) -> str | None:
    """Why `options_class` has no message, if building it failed."""
    return _failures.get(options_class)


def by_full_name(full_name: str) -> OptionsType | None:
    return _by_full_name.get(full_name)


def plan_for_message(full_name: str) -> _MessagePlan | None:
    """The plan of a root or nested options message, for error messages."""
    for options in list(_by_full_name.values()):
        plan = options.plans.get(full_name)
        if plan is not None:
            return plan
    return None


def known_extension_names() -> list[str]:
    return sorted(o.extension_name for o in _by_full_name.values())


def to_dataclass(message: Any, options: OptionsType) -> Any:
    """Convert a parsed options message into the dataclass instance (unset fields keep their defaults).

    Raises ValueError with a readable message for a missing required field; exceptions from the dataclass's
    ``__init__``/``__post_init__`` propagate.
    """
    return _convert_message(message, options.dataclass, options)


def _convert_message(message: Any, cls: type, options: OptionsType) -> Any:
    plan = options.plans[message.DESCRIPTOR.full_name]
    kwargs: dict[str, Any] = {}
    for descriptor, value in message.ListFields():
        if descriptor.is_extension:
            continue
        fp = plan.fields.get(descriptor.name)
        if fp is None:  # pragma: no cover - the message is built from the plan
            continue
        if fp.repeated:
            kwargs[fp.name] = fp.container(_convert_value(v, fp, options) for v in value)
        else:
            kwargs[fp.name] = _convert_value(value, fp, options)
    missing = [f.name for f in dataclasses.fields(cls)
               if f.init and f.name not in kwargs and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        where = "" if cls is options.dataclass else f" (in {cls.__name__})"
        raise ValueError(f"required option{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(repr(m) for m in missing)} not set{where}")
    return cls(**kwargs)


def _convert_value(value: Any, fp: _FieldPlan, options: OptionsType) -> Any:
    if fp.kind == "enum":
        members = list(fp.py_type)
        if not 0 <= value < len(members):
            raise ValueError(f"option '{fp.name}': {value} is not a member of {fp.py_type.__name__}")
        return members[value]
    if fp.kind == "message":
        return _convert_message(value, fp.py_type, options)
    if fp.kind == "proto":
        copy = fp.py_type()
        copy.CopyFrom(value)
        return copy
    return fp.py_type(value)


def default_options(options_class: type) -> Any:
    """``Options()`` with a readable error when the dataclass has required fields."""
    missing = [f.name for f in dataclasses.fields(options_class)
               if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ValueError(f"required option{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(repr(m) for m in missing)} not set (the node has no options block)")
    return options_class()


__all__ = ["OptionsType", "OptionsTypeError", "options_type", "options_message_class", "register_all",
           "to_dataclass", "default_options", "message_name_for", "extension_number", "ANY_PREFIX"]
