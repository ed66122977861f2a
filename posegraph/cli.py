"""The posegraph command: run, validate, draw and profile dataflow graphs; list graphs, calculators and models.

The CLI stays generic: media flags are shorthands for side packets with conventional names
(``--input`` -> ``input_path``, ``--output`` -> ``output_video_path``, ``--landmarks`` -> ``landmarks_path``,
``--max-frames`` -> ``max_frames``, ``--static`` -> ``use_prev_landmarks=false``), which the graph declares
and its source and sink calculators consume. Anything else goes through ``--side KEY=VALUE``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import threading
import time
from typing import Any, Sequence

from . import __version__, media_packets as media
from .cli_report import (EXIT_INTERRUPTED, EXIT_USAGE, UsageError, one_line_warnings, quiet_native_stderr,
                         report)
from .side_args import parse_side_args, parse_side_value

MEDIA_FLAGS = media.RUN_FLAGS  # flag -> side packet
OPENING_NOTICE_S = 1.5  # opening longer than this is announced


def start_opening_notice(args: argparse.Namespace) -> threading.Timer:
    """A line on stderr if opening the graph takes over OPENING_NOTICE_S (cancel the timer once it is open): a
    first run compiles the kernels (~5 s for BlazePose, cached afterwards), which would otherwise pass in silence."""
    notice = threading.Timer(OPENING_NOTICE_S, print, args=(f"posegraph: opening {args.graph} (loading models; a "
                             "first run also compiles kernels, which are cached for the next runs) ...",),
                             kwargs={"file": sys.stderr, "flush": True})
    notice.daemon = True
    if not args.quiet:
        notice.start()
    return notice


def _side_packets(args: argparse.Namespace, declared: list[str], media_flags: bool = True) -> dict[str, Any]:
    """The run's side packets: ``--side KEY=VALUE`` items, the media flags (when the graph reads them as side
    packets) and ``--static``; one usage error for any the graph does not declare."""
    side = parse_side_args(args.side)
    for flag, name in MEDIA_FLAGS.items() if media_flags else ():
        value = getattr(args, flag, None)
        if value is not None:
            side[name] = value
    if getattr(args, "static", False) and media.USE_PREV_LANDMARKS in declared:  # no tracking state: nothing to do
        side[media.USE_PREV_LANDMARKS] = False
    if getattr(args, "masks", None) and media.ENABLE_SEGMENTATION in declared:
        side.setdefault(media.ENABLE_SEGMENTATION, True)  # --masks needs the masks computed
    unknown = sorted(set(side) - set(declared))
    if unknown:
        flags = {name: media.flag(dest) for dest, name in MEDIA_FLAGS.items()}
        names = ", ".join(flags.get(u, u) for u in unknown)
        raise UsageError(f"{args.graph} does not take {names}; its options (side packets) are: "
                         f"{', '.join(declared) or '(none)'} (see `posegraph graphs`)")
    return side


DEFAULT_WATCHDOG_S = 300.0  # a stuck node, not a slow model: minutes per frame is a hang on any machine


def _watchdog(seconds: float):
    """The run's watchdog: `--watchdog` seconds for any one process() call (0: no limit), generous limits for
    open() and close(), so that a stuck node is named and the run fails instead of waiting forever."""
    from .watchdog import Watchdog

    defaults = Watchdog()
    return Watchdog(defaults.open_s, seconds if seconds > 0 else None, defaults.close_s)


def cmd_run(args: argparse.Namespace) -> int:
    from . import run_media
    from .cli_progress import FinishedFrames, Progress
    from .graph import Graph

    plan = run_media.plan_run(args)  # checks the media flags; live mode / watching rewrite the graph
    graph = Graph(plan.graph, search_paths=plan.search_paths, num_threads=args.threads,
                  trace_path=args.profile or None, watchdog=_watchdog(args.watchdog))
    if graph.spec.input_streams and args.input and os.path.isfile(args.graph):
        # a graph file fed through its image input stream (MediaPipe's graph files); the shipped subgraphs are for
        # Python and get the usage error below
        from .stream_run import run_stream_graph
        return run_stream_graph(graph, args)
    if graph.spec.input_streams:
        raise UsageError(f"{args.graph} has input streams ({', '.join(graph.spec.input_streams)}) that the "
                         f"command line cannot feed: it is a subgraph for Python (posegraph.Graph, "
                         f"posegraph.solutions); `posegraph graphs` lists the graphs that run from the command line "
                         f"(a graph file with an image input stream, such as MediaPipe's, runs with --input MEDIA)")
    side = _side_packets(args, graph.spec.input_side_packets) | plan.side_packets
    if media.INPUT_PATH in graph.spec.input_side_packets and media.INPUT_PATH not in side:
        raise UsageError(f"{args.graph} needs --input PATH (an image, a folder of images, a video file, a camera "
                         f"number or a stream URL)")
    monitor = run_media.LiveMonitor(plan)
    monitor.attach(graph)
    finished = FinishedFrames(graph)
    dashboard = None
    if args.dashboard is not None:
        from .viz.dashboard import Dashboard
        dashboard = Dashboard(graph, port=None if args.dashboard < 0 else args.dashboard, live=monitor)
        print(f"dashboard: {dashboard.start()} (closes when the run ends)", file=sys.stderr, flush=True)
    started = time.perf_counter()
    notice = start_opening_notice(args)
    try:
        graph.start(side)
    except BaseException:
        if dashboard is not None:
            dashboard.close()
        raise
    finally:
        notice.cancel()
    opened = time.perf_counter()
    monitor.started(graph)
    progress = None if args.quiet else Progress(graph, finished, sys.stderr).start()
    try:
        run_media.wait_for_run(graph, args.timeout, monitor)  # Ctrl-C, SIGTERM, --timeout: outputs finalised
    except KeyboardInterrupt as exc:
        if progress is not None:
            progress.stop()
            progress = None
        if (line := monitor.summary(stopped=True)) and not args.quiet:
            print(line, file=sys.stderr)
        if isinstance(exc, run_media.Terminated):
            print("posegraph: terminated (SIGTERM); outputs written so far are kept", file=sys.stderr)
            return 143
        raise
    finally:
        if progress is not None:
            progress.stop()
        if dashboard is not None:
            dashboard.close()
    wall = time.perf_counter() - opened
    frames = finished()
    if not args.quiet:
        # Opening (models loaded, kernels compiled on a first run and cached) is shown apart: included, it made a
        # first run of the flagship read 10 frames/s instead of 60
        outputs = ", ".join(f"{k}={v}" for k, v in finished.delivered.items()) or "-"
        print(f"posegraph: ran {args.graph}: {frames} frames in {wall:.2f} s ({frames / max(wall, 1e-9):.1f} "
              f"frames/s) after {opened - started:.2f} s opening; packets out: {outputs}", file=sys.stderr)
        if line := monitor.summary():
            print(line, file=sys.stderr)
    if args.profile is not None or args.verbose:
        rows = graph.profile().table().splitlines()
        print("\n".join(rows[:-1][:2 + args.top] + rows[-1:]))
        if args.profile:
            print(f"trace written to {args.profile} (open in https://ui.perfetto.dev or chrome://tracing)",
                  file=sys.stderr)
    return 0


def cmd_viz(args: argparse.Namespace) -> int:
    from .viz import FORMATS, draw

    output = args.output
    if output is None:
        stem = args.graph.rsplit("/", 1)[-1].removesuffix(".pbtxt") if not _is_text(args.graph) else "graph"
        output = f"{stem}.html"
    if not output.lower().endswith(FORMATS):
        raise UsageError(f"cannot tell the format of {output}: use one of {', '.join(FORMATS)}")
    from . import registry

    registry.load_plugins()  # importing the calculators is not drawing: keep it out of the time reported
    trace = None
    if args.profile:
        from .viz import load_trace
        trace = load_trace(args.profile)
    started = time.perf_counter()
    model = draw(args.graph, output, profile=trace, collapsed=args.collapsed, engine=args.layout,
                 search_paths=args.search_path or ())
    took = time.perf_counter() - started
    calcs = sum(1 for n in model.nodes if n.kind == "calculator")
    print(f"wrote {output} ({calcs} nodes, {len(model.clusters)} subgraphs; {took:.2f} s)")
    if trace is not None:
        names = {n.name for n in model.nodes if n.kind == "calculator"}
        timed = names & {r.node for r in trace.rows}
        if len(timed) < len(names):
            print(f"posegraph: the trace times {len(timed)} of the graph's {len(names)} nodes (is it a trace of this "
                  f"graph?)", file=sys.stderr)
    if model.issues:
        print(f"posegraph: the graph has {len(model.issues)} problem(s), marked in the drawing:", file=sys.stderr)
        for issue in model.issues:
            print(f"  {issue}", file=sys.stderr)
        return 2 if args.strict else 0
    return 0


def _is_text(source: str) -> bool:
    return "{" in source or "\n" in source


def cmd_profile(args: argparse.Namespace) -> int:
    import json

    from .viz.trace import load_trace, table

    trace = load_trace(args.trace)
    if args.json:
        print(json.dumps(trace.to_dict(), indent=2))
    else:
        print(table(trace, args.top))
    if args.html:
        from pathlib import Path

        from .viz.report import render_timeline_html
        Path(args.html).parent.mkdir(parents=True, exist_ok=True)
        Path(args.html).write_text(render_timeline_html(trace), encoding="utf-8")
        print(f"timeline written to {args.html}", file=sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .config import load_graph

    spec = load_graph(args.graph)
    print(f"{args.graph}: OK ({len(spec.nodes)} nodes after subgraph expansion; inputs: "
          f"{', '.join(spec.input_streams) or '-'}; outputs: {', '.join(spec.output_streams) or '-'}; "
          f"side packets: {', '.join(spec.input_side_packets) or '-'})")
    return 0


def _describe_options(options_cls) -> list[str]:
    if options_cls is None:
        return []
    lines = []
    for f in dataclasses.fields(options_cls):
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = repr(f.default_factory())  # type: ignore[misc]
        else:
            default = "required"
        type_text = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        lines.append(f"      {f.name}: {type_text} = {default}")
    return lines


def cmd_calculators(args: argparse.Namespace) -> int:
    from . import registry

    for name, cls in registry.all_calculators().items():
        if args.name and args.name.lower() not in name.lower():
            continue
        doc = (cls.__doc__ or "").strip().splitlines()
        print(f"{name}  ({cls.__module__}.{cls.__qualname__})")
        if doc:
            print(f"  {doc[0]}")
        contract = cls.contract
        for title, ports in (("inputs", contract.inputs), ("outputs", contract.outputs),
                             ("input side packets", contract.input_side_packets),
                             ("output side packets", contract.output_side_packets)):
            if ports:
                print(f"  {title}: " + "; ".join(p.describe() for p in ports.values()))
        if cls.Options is not None:
            print(f"  options [{cls.Options.__name__}]:")
            print("\n".join(_describe_options(cls.Options)))
    for module, error in registry.plugin_errors().items():
        print(f"plugin {module} failed to load: {error}", file=sys.stderr)
    return 0


def build_parser(plugins: bool = True) -> argparse.ArgumentParser:
    """The argument parser; `plugins` adds the commands of installed packages (importing them costs time)."""
    parser = argparse.ArgumentParser(
        prog="posegraph", description=__doc__.splitlines()[0],
        epilog="Start with `posegraph graphs` (what ships) and `posegraph run pose_tracking_cpu --input clip.mp4 "
               "--output out.mp4`. Models: `posegraph models list`. Exit codes: 0 ok, 1 the run failed, 2 usage or "
               "graph error, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"posegraph {__version__}")
    _add_common_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="one of:")

    run = sub.add_parser("run", help="run a graph (a .pbtxt path or a shipped graph name)",
                         description="Run a graph that reads media itself (see `posegraph graphs`), or a MediaPipe "
                                     "graph file fed through its image input stream. Quiet by default: a progress "
                                     "bar on stderr and one summary line; the per-node timing table with --profile "
                                     "or -v.")
    run.add_argument("graph", help="a shipped graph name (`posegraph graphs` lists them) or a .pbtxt file")
    run.add_argument("--input", help="image, folder of images, video file, camera (0, camera:0, /dev/video0) or "
                                     f"stream (rtsp://, rtmp://, http(s)://, udp://) (side packet {media.INPUT_PATH})")
    run.add_argument("--output", help="annotated video (.mp4: H.264), image, or folder/ for one image per input "
                                      f"(side packet {media.OUTPUT_VIDEO_PATH})")
    run.add_argument("--landmarks", help="landmarks file: .jsonl, .json (COCO keypoint results) or .csv "
                                         f"(side packet {media.LANDMARKS_PATH})")
    run.add_argument("--max-frames", type=int, dest="max_frames", help="stop after N frames")
    run.add_argument("--static", action="store_true", help="static-image mode: no tracking between frames")
    run.add_argument("--masks", metavar="DIR/|MASKS.mp4", help="person masks: one 8-bit PNG per frame in DIR, or a "
                     f"mask video (side packet {media.MASKS_PATH}; sets {media.ENABLE_SEGMENTATION})")
    run.add_argument("--model-complexity", type=int, choices=(0, 1, 2), dest="model_complexity",
                     help=f"BlazePose landmark model: 0 lite, 1 full, 2 heavy (side packet {media.MODEL_COMPLEXITY})")
    run.add_argument("--side", action="append", metavar="KEY=VALUE", help="input side packet (repeatable)")
    run.add_argument("--profile", nargs="?", const="", default=None, metavar="TRACE.json",
                     help="print the per-node timing table; with a file name also write a Chrome trace of every "
                          "process() call (open it in Perfetto)")
    run.add_argument("--threads", type=int, help="worker threads (default: the graph's num_threads or cores)")
    run.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    run.add_argument("--watchdog", type=float, default=DEFAULT_WATCHDOG_S, metavar="SECONDS",
                     help=f"fail the run, naming the node, when one process() call takes longer than this "
                          f"(default {DEFAULT_WATCHDOG_S:g} s; 0 turns it off); open() and close() get 600 s")
    run.add_argument("--top", type=int, default=8, help="rows of the per-node timing table")
    run.add_argument("--dashboard", nargs="?", type=int, const=-1, default=None, metavar="PORT",
                     help="serve a live view on http://127.0.0.1:PORT/ while the graph runs (default port 8765, "
                          "or any free one; 0: any free one)")
    from .run_media import add_arguments as add_media_arguments
    add_media_arguments(run)  # --live/--no-live, --show, --reconnect-timeout
    run.set_defaults(func=cmd_run)

    viz = sub.add_parser("viz", help="draw a graph: .html (pan/zoom/search), .svg, .dot or .png")
    viz.add_argument("graph", help="a .pbtxt path or a shipped graph name")
    viz.add_argument("-o", "--output", help="output file; the format follows the extension (default GRAPH.html)")
    viz.add_argument("--profile", metavar="TRACE.json", help="overlay timings from `posegraph run --profile`")
    viz.add_argument("--collapsed", action="store_true", help="draw subgraphs as single nodes (svg/dot/png)")
    viz.add_argument("--layout", choices=("auto", "dot", "builtin"), default="auto",
                     help="layout engine: Graphviz dot, or the built-in layered layout (auto: dot if installed)")
    viz.add_argument("--search-path", action="append", metavar="DIR", help="where to look for subgraphs")
    viz.add_argument("--strict", action="store_true", help="exit with status 2 when the graph has problems")
    viz.set_defaults(func=cmd_viz)

    profile = sub.add_parser("profile", help="per-node timing table (and timeline page) from a trace")
    profile.add_argument("trace", help="a trace written by `posegraph run --profile TRACE.json`")
    profile.add_argument("--html", metavar="OUT.html", help="also write a self-contained timeline page")
    profile.add_argument("--json", action="store_true", help="print the table as JSON")
    profile.add_argument("--top", type=int, default=None, help="only the N slowest nodes")
    profile.set_defaults(func=cmd_profile)

    validate = sub.add_parser("validate", help="check a graph and report every problem")
    validate.add_argument("graph", help="a shipped graph name or a .pbtxt file")
    validate.set_defaults(func=cmd_validate)

    calcs = sub.add_parser("calculators", help="list registered calculators with contracts and options")
    calcs.add_argument("name", nargs="?", help="only calculators whose name contains this")
    calcs.set_defaults(func=cmd_calculators)

    from . import cli_graphs, cli_models
    cli_graphs.register(sub)
    cli_models.register(sub)
    if plugins:
        _add_plugin_commands(sub)
    for name, command in sub.choices.items():
        _add_common_flags(command)
        for nested in _subparsers(command):
            _add_common_flags(nested)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [p for action in parser._actions if isinstance(action, argparse._SubParsersAction)  # noqa: SLF001
            for p in action.choices.values()]


def _add_common_flags(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """--quiet, -v and --debug, accepted before or after the command name (``posegraph run g --debug``)."""
    default = (lambda value: value) if top else (lambda value: argparse.SUPPRESS)
    for flags, kwargs in ((("-q", "--quiet"), dict(action="store_true", default=default(False),
                                                    help="no progress or summary; only errors")),
                          (("-v", "--verbose"), dict(action="store_true", default=default(False),
                                                      help="more detail (the per-node timing table after a run)")),
                          (("--debug",), dict(action="store_true", default=default(False),
                                              help="show tracebacks and the messages of native libraries"))):
        try:
            parser.add_argument(*flags, **kwargs)
        except argparse.ArgumentError:  # a plugin command already defines it
            pass


COMMANDS_ENTRY_POINT_GROUP = "posegraph.commands"


def _add_plugin_commands(sub) -> None:
    """Subcommands contributed by packages: an entry point in ``posegraph.commands`` names a function
    ``register(subparsers)`` that adds its parser and sets ``func`` (a function of the parsed args returning the
    exit code). A broken plugin is reported and skipped."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=COMMANDS_ENTRY_POINT_GROUP):
        try:
            ep.load()(sub)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the CLI
            print(f"posegraph: command plugin {ep.name} ({ep.value}) failed to load: {exc}", file=sys.stderr)


BUILTIN_COMMANDS = {"run", "viz", "profile", "validate", "calculators", "graphs", "models"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        plugins = command not in BUILTIN_COMMANDS and "--version" not in argv  # importing plugins costs seconds
        args = build_parser(plugins=plugins).parse_args(argv)
    except SystemExit as exc:  # argparse printed usage and the problem (code 2), or --help/--version (code 0)
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    debug = bool(getattr(args, "debug", False))
    try:
        with one_line_warnings(not debug), quiet_native_stderr(not debug):
            return args.func(args)
    except KeyboardInterrupt:
        print("posegraph: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `posegraph graphs | head`: the reader left; not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - every error becomes one message and an exit code
        return report(exc, debug=debug)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["EXIT_USAGE", "main", "build_parser", "parse_side_value"]
