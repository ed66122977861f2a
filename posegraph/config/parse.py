"""Text format -> CalculatorGraphConfig, with protobuf's parse errors turned into GraphConfigError."""

from __future__ import annotations

import difflib
import re

from google.protobuf import descriptor_pool, text_format

from ..errors import ConfigIssue, GraphConfigError
from . import options as options_mod
from .schema import CalculatorGraphConfig
from .source_map import SourceMap, build_source_map

_LOCATION = re.compile(r"^\s*\d+(?::\d+)?\s*:\s*")
_NO_FIELD = re.compile(r'Message type "([\w.]+)" has no field named "(\w+)"')
_NO_EXTENSION = re.compile(r'Extension "([\w.]+)" not registered')
_NO_TYPE = re.compile(r"Type ([\w.]+) not found in descriptor pool")


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _explain(message: str) -> str:
    """Shorten protobuf's message and add what to do."""
    match = _NO_EXTENSION.search(message)
    if match:
        name = match.group(1)
        known = options_mod.known_extension_names()
        return (f'unknown options extension "{name}"{_suggest(name, known)} (options are written '
                f"[posegraph.<OptionsClass>.ext]; the calculator's module must be importable as a plugin)")
    match = _NO_TYPE.search(message)
    if match:
        name = match.group(1)
        known = [n[: -len(".ext")] for n in options_mod.known_extension_names()]
        return f'unknown options type "{name}" in node_options{_suggest(name, known)}'
    match = _NO_FIELD.search(message)
    if match:
        type_name, field = match.groups()
        plan = options_mod.plan_for_message(type_name)
        if plan is not None and field in plan.skipped:
            return f'option "{field}" of {type_name} cannot be set from a graph file: {plan.skipped[field]}'
        try:
            names = [f.name for f in descriptor_pool.Default().FindMessageTypeByName(type_name).fields]
        except KeyError:
            names = []
        return f'{type_name} has no field named "{field}"{_suggest(field, names)}'
    return message


def _line_of_type(smap: SourceMap, type_name: str) -> int | None:
    for path, line in smap.lines.items():
        if path and path[-1][0].startswith("[") and path[-1][0].endswith("/" + type_name + "]"):
            return line
    return None


def parse_graph_text(text: str, file: str | None = None) -> tuple[CalculatorGraphConfig, SourceMap]:
    """Parse a text-format graph; returns the message and the line numbers of its fields.

    Raises GraphConfigError (file, line and column in the message) when the text does not parse.
    """
    options_mod.register_all()
    config = CalculatorGraphConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as exc:
        raw = str(exc)
        line = exc.GetLine()
        column = exc.GetColumn()
        message = _explain(_LOCATION.sub("", raw, count=1))
        if line is None:
            match = _NO_TYPE.search(raw)
            if match:
                line = _line_of_type(build_source_map(text, file), match.group(1))
        if column is not None:
            message = f"column {column}: {message}"
        raise GraphConfigError(ConfigIssue(f"syntax error: {message}", file, line)) from None
    except RecursionError:
        raise GraphConfigError(ConfigIssue("syntax error: the text nests too deeply", file)) from None
    except Exception as exc:  # noqa: BLE001 - anything else protobuf raises on malformed text
        raise GraphConfigError(ConfigIssue(f"cannot parse the graph text: {type(exc).__name__}: {exc}",
                                           file)) from None
    return config, build_source_map(text, file)


__all__ = ["parse_graph_text"]
