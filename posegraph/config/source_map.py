"""Where each field of a text-format graph was written: a light scanner over protobuf text format.

``text_format.Parse`` builds the message but forgets positions; this scanner walks the same text once more and
records the line of every field occurrence by its path, e.g. ``(("node", 2), ("input_stream", 1))`` is the second
``input_stream`` of the third ``node`` block. Indexes count occurrences of a field name inside one message, which
for repeated fields is the index in the parsed list.

It tolerates any input (it never raises on malformed text) and always terminates: every loop consumes at least one
token per turn, so the work is linear in the token count. Positions are best-effort extras, the parser is the judge
of validity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

Path = tuple[tuple[str, int], ...]

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\f\v]+)
  | (?P<newline>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)
  | (?P<word>[A-Za-z0-9_.+\-]+)
  | (?P<punct>.)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    text: str
    line: int
    kind: str  # "string", "word" or "punct"


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    line = 1
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "newline":
            line += 1
        elif kind in ("string", "word", "punct"):
            tokens.append(Token(match.group(), line, kind))
    return tokens


_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _escape(match: re.Match) -> str:
    octal, hex2, hex4, hex8, other = match.groups()
    if other is not None:
        return _SIMPLE.get(other, other)
    code = int(octal, 8) if octal else int(hex2 or hex4 or hex8, 16)
    return chr(code) if code <= 0x10FFFF else "\ufffd"


def unquote(token: str) -> str:
    """The value of a string token (C-style escapes decoded best-effort; never raises)."""
    body = token[1:-1] if len(token) >= 2 and token[-1] == token[0] else token[1:]
    return _ESCAPE.sub(_escape, body) if "\\" in body else body


@dataclass
class SourceMap:
    """Line numbers of the fields of one parsed graph text."""

    file: str | None = None
    lines: dict[Path, int] = field(default_factory=dict)
    values: dict[Path, str] = field(default_factory=dict)  # string values, for lookups before parsing
    # Problems found while parsing that did not stop it (options of unknown types, left out): reported with the rest
    parse_issues: list = field(default_factory=list)

    def line(self, *path: tuple[str, int]) -> int | None:
        """The line of `path`, or of its nearest recorded ancestor."""
        while path:
            found = self.lines.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return None

    def exact(self, *path: tuple[str, int]) -> int | None:
        return self.lines.get(path)


class _Scanner:
    def __init__(self, text: str, smap: SourceMap):
        self.tokens = tokenize(text)
        self.pos = 0
        self.smap = smap

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> Token | None:
        token = self.peek()
        self.pos += 1
        return token

    def message(self, path: Path, close: str | None, depth: int) -> None:
        counts: dict[str, int] = {}
        while True:
            token = self.peek()
            if token is None:
                return
            if token.text == close and token.kind == "punct":
                self.pos += 1
                return
            if token.kind == "punct" and token.text in "}>" and close is not None:
                self.pos += 1  # mismatched close: treat as the end of this message
                return
            if token.kind == "punct" and token.text == "[":
                name = self.bracketed_name()
            elif token.kind == "word":
                name = token.text
                self.pos += 1
            else:
                self.pos += 1  # separators and stray characters
                continue
            self.field(path, name, token.line, counts, depth)

    def bracketed_name(self) -> str:
        parts = []
        self.pos += 1  # '['
        while (token := self.next()) is not None and token.text != "]":
            parts.append(token.text)
        return "[" + "".join(parts) + "]"

    def field(self, path: Path, name: str, line: int, counts: dict[str, int], depth: int) -> None:
        token = self.peek()
        if token is not None and token.text == ":":
            self.pos += 1
            token = self.peek()
        if token is None:
            return
        if token.kind == "punct" and token.text in "{<":
            self.sub_message(path, name, line, counts, depth)
        elif token.kind == "punct" and token.text == "[":  # list value: [a, b] or [{...}, {...}]
            self.pos += 1
            while (token := self.peek()) is not None and token.text != "]":
                start = self.pos
                if token.kind == "punct" and token.text in "{<":
                    self.sub_message(path, name, token.line, counts, depth)
                elif token.kind == "punct" and token.text in ",;":
                    self.pos += 1
                elif token.kind == "punct" and token.text in "}>":
                    return
                else:
                    self.scalar(path, name, token.line, counts)
                if self.pos == start:  # a token no branch consumes (e.g. ':' in a list): skip it, never spin
                    self.pos += 1
            self.pos += 1
        else:
            self.scalar(path, name, line, counts)

    def sub_message(self, path: Path, name: str, line: int, counts: dict[str, int], depth: int) -> None:
        opener = self.next()
        index = counts.get(name, 0)
        counts[name] = index + 1
        key = path + ((name, index),)
        self.smap.lines.setdefault(key, line)
        if depth > 200:  # absurd nesting: skip to the end rather than recurse without bound
            self.pos = len(self.tokens)
            return
        self.message(key, "}" if opener.text == "{" else ">", depth + 1)

    def scalar(self, path: Path, name: str, line: int, counts: dict[str, int]) -> None:
        index = counts.get(name, 0)
        counts[name] = index + 1
        key = path + ((name, index),)
        self.smap.lines.setdefault(key, line)
        token = self.peek()
        if token is None:
            return
        if token.kind == "string":
            value = []
            while (token := self.peek()) is not None and token.kind == "string":  # "a" "b" concatenates
                value.append(unquote(token.text))
                self.pos += 1
            self.smap.values.setdefault(key, "".join(value))
        elif token.kind == "word":
            self.pos += 1
            self.smap.values.setdefault(key, token.text)
        elif token.kind == "punct" and token.text == "-":
            self.pos += 1
            nxt = self.peek()
            if nxt is not None and nxt.kind == "word":
                self.pos += 1


def build_source_map(text: str, file: str | None = None) -> SourceMap:
    smap = SourceMap(file)
    _Scanner(text, smap).message((), None, 0)
    return smap


def top_level_value(text: str, name: str) -> str | None:
    """The value of a top-level scalar field (e.g. a graph's ``type``) without a full parse."""
    return build_source_map(text).values.get(((name, 0),))


__all__ = ["SourceMap", "build_source_map", "top_level_value", "tokenize", "Token"]
