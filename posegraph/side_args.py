"""``KEY=VALUE`` side packets given on a command line (``--side``), parsed the same way by every command."""

from __future__ import annotations

from typing import Any, Iterable

from .cli_report import UsageError


def parse_side_value(text: str) -> Any:
    """``true``/``false`` -> bool, integers and floats -> numbers, anything else stays a string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_side_args(items: Iterable[str] | None) -> dict[str, Any]:
    """``--side`` items as side packets (a later KEY wins); a usage error names an item without ``KEY=``."""
    side: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--side expects KEY=VALUE, got {item!r}")
        side[key] = parse_side_value(value)
    return side


__all__ = ["parse_side_args", "parse_side_value"]
