"""First-call stalls: per node of each shipped graph, its first process() time against its steady state.

    python tools/first_call.py [--frames N] [--video PATH] [--json OUT.json] [GRAPH ...]

Each graph runs twice in its own fresh process (the first run warms Numba's cache, the second is measured), as
an application starting up would. A node whose first call is much slower than its median later call compiles or
loads something lazily inside the frame loop; that work belongs in open(). Flagged: first > 3x the median and
more than 2 ms above it (a first frame 2 ms late is visible in a live view at 30 frames/s; the first criterion of
5x and 20 ms let ~30 ms of kernel loading through in BlazePose's first frame). Graphs that track between frames
also run in static-image mode (side packet use_prev_landmarks = false), where the nodes a tracking run calls once
(the person detector's) run every frame and so have a steady state. Open times are shown beside (where such work
should go).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "media" / "video_dance_single_synthetic.mp4"
RATIO, MARGIN_MS = 3.0, 2.0

WORKER = """
import json, sys
from posegraph import Graph
name, video, frames, out, static = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "static"
graph = Graph(name)
side = {"input_path": video, "output_video_path": "", "landmarks_path": out, "max_frames": frames}
graph.start({**side, "use_prev_landmarks": False} if static else side)
graph.wait_until_done(timeout=600)
graph.close()
print(json.dumps([[s.name, s.open_ns, list(s.samples)] for s in graph.node_stats()]))
"""


def top_level_graphs() -> list[str]:
    """Shipped graphs an application runs (those reading input_path), not subgraphs."""
    return sorted(p.stem for p in (REPO / "graphs").glob("*.pbtxt")
                  if not any(line.startswith("type:") for line in p.read_text().splitlines()))


def tracks(name: str) -> bool:
    """Whether the graph tracks between frames (and can run in static-image mode instead)."""
    return 'input_side_packet: "use_prev_landmarks"' in (REPO / "graphs" / f"{name}.pbtxt").read_text()


def run(name: str, video: str, frames: int, static: bool = False) -> list | str:
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "out.jsonl")
        for _ in range(2):
            done = subprocess.run([sys.executable, "-c", WORKER, name, video, str(frames), out,
                                   "static" if static else "tracking"], capture_output=True,
                                  text=True, timeout=900)
            if done.returncode != 0:
                return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("graphs", nargs="*", help="graph names (default: every shipped top-level graph)")
    parser.add_argument("--frames", type=int, default=20, help="frames per run (default 20)")
    parser.add_argument("--video", default=str(DEFAULT_VIDEO), help="input video")
    parser.add_argument("--json", type=Path, default=None, help="also write the counts as JSON")
    args = parser.parse_args(argv)
    flagged = graphs = 0
    for name in args.graphs or top_level_graphs():
        for static in (False, True) if tracks(name) else (False,):
            label = f"{name} (static-image mode)" if static else name
            result = run(name, args.video, args.frames, static)
            if isinstance(result, str):
                print(f"{label}: not run: {result}")
                continue
            graphs += not static
            print(label)
            for node, open_ns, samples in result:
                if len(samples) < 3:
                    continue
                first, steady = samples[0] / 1e6, statistics.median(samples[1:]) / 1e6
                stall = first > RATIO * steady and first - steady > MARGIN_MS
                flagged += stall
                print(f"  {'STALL' if stall else '     '} {node:48s} first {first:8.2f} ms  steady {steady:7.2f} ms  "
                      f"open {open_ns / 1e6:8.1f} ms")
    print(f"{flagged} node(s) with a first-call stall")
    if args.json:
        args.json.write_text(json.dumps({"graphs": graphs, "stalls": flagged}))
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
