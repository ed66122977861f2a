"""``posegraph run GRAPH --input MEDIA`` for graphs that take frames on an input stream (MediaPipe's graph files,
which have no source or sink nodes): the media flags feed and read the graph's streams instead of naming side
packets. The work is done by the calculator library's runner; this module only adapts the command line."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def run_stream_graph(graph: Any, args: argparse.Namespace) -> int:
    """Feed ``--input`` into the graph's image input stream, write its image output to ``--output`` and its
    landmark output to ``--landmarks``; ``--side`` sets the graph's side packets. Reports like ``posegraph run``:
    one summary line on stderr, the timing table with ``--profile`` or ``-v``."""
    from .calculators.mediapipe.runner import run_graph_file
    from .cli import _side_packets, start_opening_notice

    side = _side_packets(args, graph.spec.input_side_packets, media_flags=False)
    started = time.perf_counter()
    notice = start_opening_notice(args)
    try:
        result = run_graph_file(graph, input_path=args.input, output_path=args.output,
                                landmarks_path=args.landmarks, side=side, max_frames=args.max_frames,
                                timeout=args.timeout or 600, on_opened=notice.cancel)
    finally:
        notice.cancel()
    wall = time.perf_counter() - started - result.open_s
    if not args.quiet:  # the same line as `posegraph run` of a shipped graph
        outputs = ", ".join(f"{k}={v}" for k, v in result.outputs.items()) or "-"
        print(f"posegraph: ran {args.graph}: {result.frames} frames in {wall:.2f} s "
              f"({result.frames / max(wall, 1e-9):.1f} frames/s) after {result.open_s:.2f} s opening; "
              f"packets out: {outputs}", file=sys.stderr)
    if args.profile is not None or args.verbose:
        rows = graph.profile().table().splitlines()
        print("\n".join(rows[:-1][:2 + args.top] + rows[-1:]))
    return 0


__all__ = ["run_stream_graph"]
