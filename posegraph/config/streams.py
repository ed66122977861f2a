"""Stream and side-packet references: ``TAG:INDEX:name``, ``TAG:name`` and ``name`` (MediaPipe's rules).

* Tags are ``[A-Z_][A-Z0-9_]*``; names are ``[a-z_][a-z0-9_]*``, optionally behind ``prefix/`` segments, which
  subgraph expansion produces (``pose_landmarks/roi``).
* ``TAG:name`` is index 0 of TAG; untagged references are indexed 0, 1, 2... in the order written.
* Within one node and one kind, every TAG:INDEX appears once and the indexes of a tag are 0..n-1 with no gaps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import StreamRef

TAG_RE = re.compile(r"[A-Z_][A-Z0-9_]*\Z")
NAME_RE = re.compile(r"(?:[A-Za-z0-9_.\-]+/)*[a-z_][a-z0-9_]*\Z")
INDEX_RE = re.compile(r"(?:0|[1-9][0-9]*)\Z")
MAX_INDEX = 10000  # as MediaPipe's collection item limit

KINDS = ("input_stream", "output_stream", "input_side_packet", "output_side_packet")
KIND_WORDS = {"input_stream": "input stream", "output_stream": "output stream",
              "input_side_packet": "input side packet", "output_side_packet": "output side packet"}


class RefError(ValueError):
    """A malformed reference; the message says what is wrong."""


@dataclass(frozen=True)
class Parsed:
    tag: str
    index: int | None  # None: not written (untagged: positional; tagged: 0)
    name: str


def _check_name(name: str, text: str) -> None:
    if not name:
        raise RefError(f"'{text}' has no name")
    if not NAME_RE.match(name):
        if TAG_RE.match(name):
            raise RefError(f"'{text}': '{name}' looks like a tag, but names are lowercase "
                           f"([a-z_][a-z0-9_]*); write TAG:name")
        raise RefError(f"'{text}': '{name}' is not a valid name (lowercase letters, digits and _, "
                       f"not starting with a digit)")


def _check_tag(tag: str, text: str) -> None:
    if not TAG_RE.match(tag):
        raise RefError(f"'{text}': '{tag}' is not a valid tag (uppercase letters, digits and _, "
                       f"not starting with a digit)")


def _check_index(index: str, text: str) -> int:
    if not INDEX_RE.match(index):
        raise RefError(f"'{text}': '{index}' is not a valid index (a non-negative integer without leading zeros)")
    value = int(index)
    if value >= MAX_INDEX:
        raise RefError(f"'{text}': index {value} is too large (at most {MAX_INDEX - 1})")
    return value


def parse_ref(text: str) -> Parsed:
    """Parse one ``TAG:INDEX:name`` / ``TAG:name`` / ``name`` string."""
    parts = text.split(":")
    if len(parts) == 1:
        _check_name(parts[0], text)
        return Parsed("", None, parts[0])
    if len(parts) == 2:
        tag, name = parts
        if not tag:
            raise RefError(f"'{text}': empty tag before ':'")
        _check_tag(tag, text)
        _check_name(name, text)
        return Parsed(tag, None, name)
    if len(parts) == 3:
        tag, index, name = parts
        if not tag:
            raise RefError(f"'{text}': an index needs a tag (TAG:INDEX:name)")
        _check_tag(tag, text)
        value = _check_index(index, text)
        _check_name(name, text)
        return Parsed(tag, value, name)
    raise RefError(f"'{text}' has too many ':' (expected TAG:INDEX:name, TAG:name or name)")


def parse_tag_index(text: str) -> tuple[str, int]:
    """Parse an ``input_stream_info.tag_index``: ``TAG``, ``TAG:INDEX``, ``:INDEX`` or ``""``."""
    if ":" in text:
        tag, _, index = text.partition(":")
        if tag:
            _check_tag(tag, text)
        return tag, _check_index(index, text)
    if text:
        _check_tag(text, text)
    return text, 0


def assign_indexes(parsed: list[Parsed | None]) -> tuple[list[StreamRef | None], list[tuple[int, str]]]:
    """Turn one node's parsed references of one kind into StreamRefs.

    Returns the refs (None where the input was None) and problems as (position, message).
    """
    refs: list[StreamRef | None] = []
    problems: list[tuple[int, str]] = []
    untagged = 0
    seen: dict[tuple[str, int], str] = {}
    for position, item in enumerate(parsed):
        if item is None:
            refs.append(None)
            continue
        if item.tag:
            index = item.index or 0
        else:
            index, untagged = untagged, untagged + 1
        key = (item.tag, index)
        if key in seen:
            label = f"{item.tag}:{index}" if item.tag else f"untagged index {index}"
            problems.append((position, f"{label} is given twice ('{seen[key]}' and '{item.name}')"))
            refs.append(None)
            continue
        seen[key] = item.name
        refs.append(StreamRef(item.tag, index, item.name))
    by_tag: dict[str, set[int]] = {}
    for tag, index in seen:
        by_tag.setdefault(tag, set()).add(index)
    for tag, indexes in by_tag.items():
        missing = sorted(set(range(max(indexes) + 1)) - indexes)
        if missing:
            position = next(p for p, r in enumerate(refs) if r is not None and r.tag == tag
                            and r.index == max(indexes))
            shown = ", ".join(str(m) for m in missing[:5]) + (", ..." if len(missing) > 5 else "")
            problems.append((position, f"tag {tag or '<untagged>'} uses indexes up to {max(indexes)} but "
                                       f"index {shown} is not given"))
    return refs, problems


def format_ref(ref: StreamRef) -> str:
    """The canonical text of a reference: ``name``, ``TAG:name`` (index 0) or ``TAG:INDEX:name``."""
    if not ref.tag:
        return ref.name
    return f"{ref.tag}:{ref.name}" if ref.index == 0 else f"{ref.tag}:{ref.index}:{ref.name}"


__all__ = ["parse_ref", "parse_tag_index", "assign_indexes", "format_ref", "RefError", "KINDS", "KIND_WORDS"]
