"""``posegraph graphs``: the shipped graphs, one line each, with the options (side packets) they take.

Read from the files' header comments and top-level declarations only (no calculators are imported), so listing is
instant and a graph that needs an optional package is still listed.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from .media_packets import FLAG_FOR_SIDE

_TOP = re.compile(r'^(type|input_stream|input_side_packet|output_stream)\s*:\s*"([^"]*)"', re.M)



@dataclass(frozen=True)
class GraphInfo:
    """What `posegraph graphs` shows for one shipped graph file."""

    name: str
    path: Path
    summary: str
    subgraph_type: str | None
    input_streams: tuple[str, ...]
    side_packets: tuple[str, ...]

    @property
    def runnable(self) -> bool:
        """Runnable from the command line: no graph input streams to feed (its source node reads media)."""
        return not self.input_streams and self.subgraph_type is None


def _summary(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        if not body:
            break
        lines.append(body)
    paragraph = " ".join(lines)
    match = re.match(r"(.+?)\.(\s|$)", paragraph)
    sentence = match.group(1) if match else paragraph
    return sentence if len(sentence) <= 110 else sentence[:107].rsplit(" ", 1)[0] + " ..."


def _strip_tag(binding: str) -> str:
    return binding.rsplit(":", 1)[-1]


def graph_info(path: Path) -> GraphInfo:
    text = path.read_text(encoding="utf-8", errors="replace")
    found: dict[str, list[str]] = {}
    for key, value in _TOP.findall(text):
        found.setdefault(key, []).append(value)
    return GraphInfo(name=path.stem, path=path, summary=_summary(text),
                     subgraph_type=(found.get("type") or [None])[0],
                     input_streams=tuple(_strip_tag(s) for s in found.get("input_stream", ())),
                     side_packets=tuple(_strip_tag(s) for s in found.get("input_side_packet", ())))


def shipped_graphs() -> list[GraphInfo]:
    """Every ``.pbtxt`` of the installed ``posegraph.graphs`` package, runnable graphs first, then subgraphs."""
    from .config.finder import package_graph_dirs

    infos = []
    for folder in package_graph_dirs()[:1]:
        infos += [graph_info(p) for p in sorted(folder.glob("*.pbtxt"))]
    return sorted(infos, key=lambda g: (not g.runnable, g.name))


def _options(info: GraphInfo) -> str:
    parts = [FLAG_FOR_SIDE.get(s, f"{s}=") for s in info.side_packets]
    return " ".join(dict.fromkeys(parts))  # --static appears once even if declared twice


def cmd_graphs(args: argparse.Namespace) -> int:
    infos = shipped_graphs()
    if args.name:
        infos = [g for g in infos if args.name.lower() in g.name.lower()]
    width = max((len(g.name) for g in infos), default=0)
    shown_subgraph_header = False
    for info in infos:
        if not info.runnable and not shown_subgraph_header:
            print("\nsubgraphs (use from Python, or as `calculator:` in a graph file):")
            shown_subgraph_header = True
        print(f"{info.name:<{width}}  {info.summary}")
        if info.runnable:
            print(f"{'':<{width}}    options: {_options(info) or '-'}")
        else:
            side = ", ".join(info.side_packets) or "-"
            print(f"{'':<{width}}    calculator: {info.subgraph_type or '-'}; streams in: "
                  f"{', '.join(info.input_streams) or '-'}; side packets: {side}")
    if infos and not args.name:
        print("\nrun one: posegraph run NAME --input clip.mp4 [options]; `name=` options are --side name=VALUE")
    return 0


def register(sub) -> None:
    parser = sub.add_parser("graphs", help="list the shipped graphs with one line each and their options",
                            description="List the graphs that ship with posegraph: what each does and the options "
                                        "it takes (flags of `posegraph run`, or --side KEY=VALUE).")
    parser.add_argument("name", nargs="?", help="only graphs whose name contains this")
    parser.set_defaults(func=cmd_graphs)


__all__ = ["GraphInfo", "cmd_graphs", "graph_info", "register", "shipped_graphs"]
