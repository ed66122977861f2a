"""First-call stalls: per node of each shipped graph, its first process() time against its steady state.

    python tools/first_call.py [--frames N] [--video PATH] [--json OUT.json] [GRAPH ...]

Each graph runs twice in its own fresh process (the first run warms Numba's cache, the second is measured), as
an application starting up would. A node whose first call is much slower than its median later call compiles or
loads something lazily inside the frame loop; that work belongs in open(). Flagged: first > 5x the median and
more than 20 ms above it. Open times are shown beside (where such work should go).
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
RATIO, MARGIN_MS = 5.0, 20.0

WORKER = """
import json, sys
from posegraph import Graph
name, video, frames, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
graph = Graph(name)
graph.start({"input_path": video, "output_video_path": "", "landmarks_path": out, "max_frames": frames})
graph.wait_until_done(timeout=600)
graph.close()
print(json.dumps([[s.name, s.open_ns, list(s.samples)] for s in graph.node_stats()]))
"""


def top_level_graphs() -> list[str]:
    """Shipped graphs an application runs (those reading input_path), not subgraphs."""
    return sorted(p.stem for p in (REPO / "graphs").glob("*.pbtxt")
                  if not any(line.startswith("type:") for line in p.read_text().splitlines()))


def run(name: str, video: str, frames: int) -> list | str:
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "out.jsonl")
        for _ in range(2):
            done = subprocess.run([sys.executable, "-c", WORKER, name, video, str(frames), out], capture_output=True,
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
        result = run(name, args.video, args.frames)
        if isinstance(result, str):
            print(f"{name}: not run: {result}")
            continue
        graphs += 1
        print(name)
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
