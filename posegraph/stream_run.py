"""``posegraph run GRAPH --input MEDIA`` for graphs that take frames on an input stream (MediaPipe's graph files,
which have no source or sink nodes): the media flags feed and read the graph's streams instead of naming side
packets. The work is done by the calculator library's runner; this module only adapts the command line."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .errors import GraphConfigError


def _side(args: argparse.Namespace, declared: list[str]) -> dict[str, Any]:
    from .cli import parse_side_value

    side: dict[str, Any] = {}
    for item in args.side or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise GraphConfigError(f"--side expects KEY=VALUE, got {item!r}")
        side[key] = parse_side_value(value)
    if getattr(args, "static", False):
        side["use_prev_landmarks"] = False
    unknown = sorted(set(side) - set(declared))
    if unknown:
        raise GraphConfigError(f"this graph does not take {', '.join(unknown)}; its side packets are: "
                               f"{', '.join(declared) or '(none)'}")
    return side


def run_stream_graph(graph: Any, args: argparse.Namespace) -> int:
    """Feed ``--input`` into the graph's image input stream, write its image output to ``--output`` and its
    landmark output to ``--landmarks``; ``--side`` sets the graph's side packets."""
    from .calculators.mediapipe.runner import run_graph_file

    side = _side(args, graph.spec.input_side_packets)
    started = time.perf_counter()
    result = run_graph_file(graph, input_path=args.input, output_path=args.output,
                            landmarks_path=args.landmarks, side=side, max_frames=args.max_frames,
                            timeout=args.timeout or 600)
    if not args.quiet:
        wall = time.perf_counter() - started
        print(f"ran {args.graph} on {result.frames} frames in {wall:.2f} s; packets out: "
              + ", ".join(f"{k}={v}" for k, v in result.outputs.items()))
        rows = graph.profile().table().splitlines()
        print("\n".join(rows[:-1][:2 + args.top] + rows[-1:]), file=sys.stdout)
    return 0


__all__ = ["run_stream_graph"]
