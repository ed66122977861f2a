"""Text format -> CalculatorGraphConfig, with protobuf's parse errors turned into GraphConfigError."""

from __future__ import annotations

import difflib
import re

from google.protobuf import descriptor_pool, text_format

from ..errors import ConfigIssue, GraphConfigError
from .. import registry
from . import options as options_mod
from .schema import CalculatorGraphConfig
from .source_map import SourceMap, build_source_map

_LOCATION = re.compile(r"^\s*\d+(?::\d+)?\s*:\s*")
_NO_FIELD = re.compile(r'Message type "([\w.]+)" has no field named "(\w+)"')
_NO_EXTENSION = re.compile(r'Extension "([\w.]+)" not registered')
_NO_TYPE = re.compile(r"Type ([\w.]+) not found in descriptor pool")
_CALCULATOR = re.compile(r"""\bcalculator\s*:\s*["']([^"']+)["']""")
_OPTIONS_NAME = re.compile(r"\[\s*(?:[\w.\-]+/)?([\w.]+?)(?:\.ext)?\s*\]")


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _explain(message: str) -> str:
    """Shorten protobuf's message and add what to do."""
    match = _NO_EXTENSION.search(message)
    if match:
        name = match.group(1)
        known = options_mod.known_extension_names()
        hint = _equivalent_options(name.removesuffix(".ext"), ".ext") or _suggest(name, known)
        return (f'unknown options extension "{name}"{hint} (no registered calculator takes these options: options '
                f"are written [<package>.<OptionsClass>.ext], and the calculator's module must be importable as a "
                f"plugin)")
    match = _NO_TYPE.search(message)
    if match:
        name = match.group(1)
        known = [n[: -len(".ext")] for n in options_mod.known_extension_names()]
        hint = _equivalent_options(name, "") or _suggest(name, known)
        return f'unknown options type "{name}" in node_options{hint}'
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


def _equivalent_options(full_name: str, suffix: str) -> str:
    """"; did you mean ..." naming the options of the calculators registered as doing the job of the calculator
    these options belong to (``mediapipe.TfLiteInferenceCalculatorOptions`` -> InferenceCalculator's)."""
    package, _, short = full_name.rpartition(".")
    if not short.endswith("Options"):
        return ""
    names = []
    for calculator in registry.equivalents(short.removesuffix("Options")):
        for (variant_of, message), _ in registry.variants().items():
            if variant_of == calculator and message.startswith(package + "."):
                names.append(message + suffix)
        options_class = getattr(registry.all_calculators().get(calculator), "Options", None)
        built = options_mod.options_type(options_class) if options_class is not None else None
        if built is not None:
            names.append(built.full_name + suffix)
    names = list(dict.fromkeys(names))[:3]
    return f"; did you mean {', '.join(names)}?" if names else ""


def _line_of_type(smap: SourceMap, type_name: str) -> int | None:
    for path, line in smap.lines.items():
        if path and path[-1][0].startswith("[") and path[-1][0].endswith("/" + type_name + "]"):
            return line
    return None


def _block_end(text: str, start: int) -> int | None:
    """The index just past the brace block opening at or after `start` (strings and comments skipped)."""
    i, n = start, len(text)
    while i < n and text[i] in " \t\r\n:":
        i += 1
    if i >= n or text[i] not in "{<":
        return None
    depth = 0
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c in "{<":
            depth += 1
        elif c in "}>":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _blank(text: str, begin: int, end: int) -> str:
    """`text` with [begin, end) turned into spaces, newlines kept (every line number stays right)."""
    return text[:begin] + re.sub(r"[^\n]", " ", text[begin:end]) + text[end:]


def _enclosing_any(text: str, begin: int) -> int | None:
    """Where the `node_options {` holding the Any entry at `begin` starts, if it does."""
    depth, i = 0, begin - 1
    while i >= 0:
        if text[i] in "}>":
            depth += 1
        elif text[i] in "{<":
            if depth == 0:
                match = re.search(r"node_options\s*:?\s*$", text[:i])
                return match.start() if match else None
            depth -= 1
        i -= 1
    return None


def _scrub_unknown(text: str, raw: str, line: int | None) -> tuple[str, str, int | None] | None:
    """Remove the options block that `raw` (a protobuf error) complains about; (text, name, line) or None."""
    match = _NO_EXTENSION.search(raw)
    if match and line is not None:
        name = match.group(1)
        offset = sum(len(l) + 1 for l in text.split("\n")[: line - 1])
        begin = text.rfind(f"[{name}]", 0, offset + len(text.split("\n")[line - 1]) + 1)
        if begin < 0:
            begin = text.find(f"[{name}]")
        if begin >= 0:
            end = _block_end(text, begin + len(name) + 2)
            if end is not None:
                return _blank(text, begin, end), name, line
        return None
    match = _NO_TYPE.search(raw)
    if match:
        name = match.group(1)
        found = re.search(r"\[\s*[\w.\-]+/" + re.escape(name) + r"\s*\]", text)
        if found is None:
            return None
        begin = found.start()
        end = _block_end(text, found.end())
        if end is None:
            return None
        holder = _enclosing_any(text, begin)
        if holder is not None:
            holder_end = _block_end(text, text.index("node_options", holder) + len("node_options"))
            if holder_end is not None:
                begin, end = holder, holder_end
        return _blank(text, begin, end), name, text.count("\n", 0, found.start()) + 1
    return None


MAX_SCRUBS = 200


def parse_graph_text_collecting(text: str, file: str | None = None
                                ) -> tuple[CalculatorGraphConfig, SourceMap, list[ConfigIssue]]:
    """Like :func:`parse_graph_text`, but options of types nobody registered do not stop the parse: each such
    block is reported (file, line, what it is) and left out, so that the rest of the graph is still checked and
    every problem is reported at once."""
    issues: list[ConfigIssue] = []
    original = text
    for _ in range(MAX_SCRUBS):
        try:
            config, smap = parse_graph_text(text, file, _original=original)
            smap.parse_issues = list(issues)
            return config, smap, issues
        except _Unknown as unknown:
            scrubbed = _scrub_unknown(text, unknown.raw, unknown.line)
            if scrubbed is None:
                raise unknown.error from None
            text, name, line = scrubbed
            issues.append(ConfigIssue(f"{_explain(unknown.raw)}", file, line))
    raise GraphConfigError(issues)


class _Unknown(Exception):
    def __init__(self, raw: str, line: int | None, error: GraphConfigError):
        super().__init__(raw)
        self.raw, self.line, self.error = raw, line, error


def parse_graph_text(text: str, file: str | None = None, *, _original: str | None = None
                     ) -> tuple[CalculatorGraphConfig, SourceMap]:
    """Parse a text-format graph; returns the message and the line numbers of its fields.

    Raises GraphConfigError (file, line and column in the message) when the text does not parse.
    """
    # Only the calculators the text names are imported (and their options types built): a graph pays for the
    # modules it uses. Options nobody among them registers make the parse load every calculator and try again,
    # so the outcome (and any error) is what it would be with the whole library loaded.
    registry.prepare(_CALCULATOR.findall(text), _OPTIONS_NAME.findall(text))
    options_mod.register_all()
    config = CalculatorGraphConfig()
    try:
        try:
            text_format.Parse(text, config)
        except text_format.ParseError as exc:
            if not (_NO_EXTENSION.search(str(exc)) or _NO_TYPE.search(str(exc))) or registry.all_loaded():
                raise
            registry.load_all()
            options_mod.register_all()
            config = CalculatorGraphConfig()
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
        error = GraphConfigError(ConfigIssue(f"syntax error: {message}", file, line))
        if _original is not None and (_NO_EXTENSION.search(raw) or _NO_TYPE.search(raw)):
            raise _Unknown(_LOCATION.sub("", raw, count=1), line, error) from None
        raise error from None
    except RecursionError:
        raise GraphConfigError(ConfigIssue("syntax error: the text nests too deeply", file)) from None
    except Exception as exc:  # noqa: BLE001 - anything else protobuf raises on malformed text
        raise GraphConfigError(ConfigIssue(f"cannot parse the graph text: {type(exc).__name__}: {exc}",
                                           file)) from None
    return config, build_source_map(text, file)


__all__ = ["parse_graph_text", "parse_graph_text_collecting"]
