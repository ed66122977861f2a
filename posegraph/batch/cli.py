"""``posegraph batch``: the command, contributed through the ``posegraph.commands`` entry-point group."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import GraphConfigError
from ..side_args import parse_side_args


def _pairs(items: list[str] | None, flag: str, form: str) -> dict[str, str] | None:
    if not items:
        return None
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise GraphConfigError(f"{flag} expects {form}, got {item!r}")
        pairs[key] = value
    return pairs


def _printer(total: int, stream=sys.stderr):
    state = {"n": 0}
    width = len(str(total))

    def on_event(kind: str, info: dict[str, Any]) -> None:
        if kind not in ("done", "failed", "skipped", "retry"):
            return
        name = info["input"].rsplit("/", 1)[-1]
        if kind == "retry":
            stream.write(f"{'':>{2 * width + 3}} {info['status']:<7} {name}: {info.get('error')}\n")
            stream.flush()
            return
        state["n"] += 1
        head = f"[{state['n']:>{width}}/{total}] {info['status']:<7} {name}"
        if kind == "done":
            head += f"  {info['frames']} frames  {info['seconds']:.2f} s  ({info['worker']})"
        elif kind == "failed":
            head += f"  {info.get('error')}"
        stream.write(head + "\n")
        stream.flush()

    return on_event


def cmd_batch(args: argparse.Namespace) -> int:
    from .driver import run_batch
    from .inputs import expand_inputs

    side = parse_side_args(args.side)
    total = len(expand_inputs(args.inputs))
    summary = run_batch(
        args.graph, args.inputs, args.out, engine=args.engine, workers=args.workers, threads=args.threads,
        address=args.address, side=side, max_frames=args.max_frames,
        outputs=_pairs(args.per_file, "--per-file", "SIDE_PACKET=SUFFIX (e.g. landmarks_path=.jsonl)"),
        video=args.video, preload=args.preload or (), retries=args.retries, file_timeout=args.file_timeout,
        transfer=args.transfer, in_flight=args.in_flight, force=args.force, ray_num_cpus=args.ray_num_cpus,
        ray_env=_pairs(args.ray_env, "--ray-env", "KEY=VALUE"),
        on_event=None if args.quiet else _printer(total), verbose=args.verbose)
    print(summary.text())
    return summary.exit_code


def register(subparsers) -> None:
    """Adds ``posegraph batch`` (entry point ``posegraph.commands: batch``)."""
    p = subparsers.add_parser(
        "batch", help="run a graph over many media files (local process pool or Ray), resumably",
        description="Run GRAPH once per input file: side packet input_path is the file, per-file outputs go to "
                    "OUT/<file stem><suffix> (landmarks_path -> .jsonl by default). Rerunning with the same OUT "
                    "skips files whose outputs are complete (verified) and redoes the rest. Writes "
                    "OUT/manifest.jsonl (one line per file per run) and OUT/summary.json.")
    p.add_argument("graph", help="a .pbtxt path or a shipped graph name")
    p.add_argument("--inputs", nargs="+", required=True, metavar="GLOB|FILE|DIR|@LIST",
                   help="input files: globs (quote them; ** recurses), files, folders, or list files "
                        "(@list or *.txt, one entry per line)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created; reused to resume)")
    p.add_argument("--engine", choices=("local", "ray"), default="local")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--workers", type=int, help="worker processes / Ray actors (default: cores / threads)")
    p.add_argument("--threads", type=int,
                   help="threads per graph (default: local cores / workers, Ray 1; each actor reserves as many "
                        "CPUs)")
    p.add_argument("--max-frames", type=int, dest="max_frames", help="side packet max_frames for every file")
    p.add_argument("--video", nargs="?", const=".mp4", metavar="SUFFIX",
                   help="also write the annotated video (side packet output_video_path) as OUT/<stem>.mp4 "
                        "(or SUFFIX)")
    p.add_argument("--per-file", action="append", metavar="SIDE=SUFFIX", dest="per_file",
                   help="per-file output side packets and their suffixes (repeatable; replaces the default "
                        "landmarks_path=.jsonl and --video)")
    p.add_argument("--side", action="append", metavar="KEY=VALUE", help="side packet for every file (repeatable)")
    p.add_argument("--preload", action="append", metavar="MODULE|FILE.py",
                   help="import in every worker before building the graph (calculators not installed as "
                        "plugins; repeatable)")
    p.add_argument("--retries", type=int, default=1,
                   help="extra attempts for a file whose worker died (default 1; failing graphs are not retried)")
    p.add_argument("--file-timeout", type=float, dest="file_timeout", metavar="S",
                   help="cancel a file's graph after S seconds and record it as failed")
    p.add_argument("--transfer", choices=("auto", "paths", "bytes"), default="auto",
                   help="Ray: read inputs and write outputs at shared paths, or ship bytes through the object "
                        "store (auto: paths when every Ray node is this machine)")
    p.add_argument("--in-flight", type=int, default=2, dest="in_flight",
                   help="most files handed to one worker at a time (default 2: one running, one queued so "
                        "the worker never waits for the driver)")
    p.add_argument("--ray-env", action="append", metavar="KEY=VALUE", dest="ray_env",
                   help="Ray: environment variable of every actor, e.g. POSEGRAPH_MODELS=/data/models (repeatable)")
    p.add_argument("--ray-num-cpus", type=int, dest="ray_num_cpus",
                   help="CPUs of the local Ray this command starts (default: all)")
    p.add_argument("--force", action="store_true", help="redo every file, complete or not")
    p.add_argument("--quiet", action="store_true", help="no per-file progress lines")
    p.add_argument("--verbose", action="store_true", help="show Ray's logs and worker output")
    p.set_defaults(func=cmd_batch)


__all__ = ["cmd_batch", "register"]
