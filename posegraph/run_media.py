"""Media logic of ``posegraph run``: inputs and outputs checked up front, live mode, latency, watching, stopping.

The CLI calls these functions; they only look at a graph through its config and public API.

Live mode (on by default for cameras and streams, ``--live`` for files) rewrites the graph before it is built, the
way MediaPipe's LIVE_STREAM mode wires its graphs:

- a ``FlowLimiterCalculator`` goes between the ``MediaSourceCalculator`` and everything that consumes its frames,
  with the graph's first output stream (the result) as its FINISHED back edge: one frame in flight, the newest
  waiting frame replaces an older one, so the graph never falls behind the camera;
- the source runs on its own executor thread (a camera read or the pacing sleep never holds a worker), with the
  ``live`` option for files (frames released at their presentation times);
- the limiter's ALLOW stream and the source's CAPTURE_LOG side packet become visible to the run, which counts
  frames in = processed + dropped exactly and measures each result's latency from capture.

``--show`` and ``--dashboard`` also make the annotated stream (what the ``VideoSinkCalculator`` writes) a graph
output, with the renderer enabled even without ``--output``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import GraphCancelledError, GraphTimeoutError, PosegraphError

SOURCE_CALCULATOR = "MediaSourceCalculator"
SINK_CALCULATOR = "VideoSinkCalculator"
LIMITER_NODE = "live_flow_limiter"
CAPTURE_LOG = "live_capture_log"
ALLOW_STREAM = "live_allowed"
RENDER_ENABLE = "live_render_enable"
CAPTURE_EXECUTOR = "live_capture"
_WAIT_SLICE_S = 0.1
_SHOW_SLICE_S = 0.02  # --show redraws the window this often
_STOP_WAIT_S = 30.0


class MediaUsageError(ValueError):
    """A media flag that cannot work as given; the message says what to do instead."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop like Ctrl-C (outputs finalised), exit 143."""


def add_arguments(run: argparse.ArgumentParser) -> None:
    """The run command's media flags besides --input/--output/--landmarks."""
    run.add_argument("--live", action=argparse.BooleanOptionalAction, default=None,
                     help="live mode: a flow limiter keeps the graph real-time (newest frame wins), drops and "
                          "latency are reported; on by default for cameras and streams, --live paces a file at its "
                          "frame rate, --no-live reads a stream without dropping")
    run.add_argument("--show", action="store_true", help="open a window with the annotated video (needs an OpenCV "
                                                          "with a GUI; otherwise use --dashboard)")
    run.add_argument("--reconnect-timeout", type=float, default=None, metavar="S",
                     help="how long a dropped stream is retried before the run ends (default 30 s)")


# -- checking the paths ------------------------------------------------------------------------------------------------
def _same(a: str, b: str) -> bool:
    return os.path.abspath(os.path.expanduser(a)) == os.path.abspath(os.path.expanduser(b))


def check_paths(args: argparse.Namespace) -> None:
    """Refuse outputs that would overwrite each other or the input, and formats nobody can read, before running."""
    from .calculators.io.landmark_writers import landmarks_format
    from .calculators.io.live import parse_source
    from .calculators.io.video_sink import output_kind

    inputs = getattr(args, "input", None)
    output = getattr(args, "output", None)
    landmarks = getattr(args, "landmarks", None)
    named = [("--output", output), ("--landmarks", landmarks), ("--profile", getattr(args, "profile", None))]
    named = [(flag, value) for flag, value in named if value]
    for i, (flag, value) in enumerate(named):
        for other_flag, other in named[i + 1:]:
            if _same(value, other):
                raise MediaUsageError(f"{flag} and {other_flag} name the same file {value}: each output needs its "
                                      "own path")
        if inputs is not None and _same(value, str(inputs)):
            raise MediaUsageError(f"{flag} {value} is the input itself; write the output elsewhere")
    if inputs is not None:
        parse_source(inputs)  # unsupported URL schemes, bad camera indices
    if output:
        output_kind(output)
    if landmarks:
        if os.path.isdir(landmarks) or landmarks.endswith(("/", os.sep)):
            raise MediaUsageError(f"--landmarks {landmarks} is a folder; give a file such as poses.jsonl")
        landmarks_format(landmarks)


# -- planning: which graph to build ------------------------------------------------------------------------------------
@dataclass
class MediaPlan:
    """What the run builds: the graph (a name/path, or a rewritten config) and what to watch."""

    graph: Any
    search_paths: tuple = ()
    live: bool = False
    watch_stream: str | None = None
    result_stream: str | None = None
    side_packets: dict = field(default_factory=dict)
    show: bool = False


def load_config(source: str):
    """(CalculatorGraphConfig message, search paths) of a graph name, path or text, to be rewritten."""
    from .config import find_graph_file, parse_graph_text
    from .config.finder import is_file

    path = Path(source)
    if not is_file(path):
        if "{" in source or "\n" in source:
            config, _ = parse_graph_text(source, None)
            return config, ()
        path = find_graph_file(source)
    config, _ = parse_graph_text(path.read_text(encoding="utf-8"), str(path))
    return config, (str(path.parent),)


def _parse_node(text: str):
    from .config import parse_graph_text

    config, _ = parse_graph_text(f"node {{ {text} }}", None)
    return config.node[0]


def _split(ref: str) -> tuple[str, str]:
    """('TAG', 'name') of a 'TAG:name' / 'TAG:0:name' / 'name' reference."""
    parts = ref.split(":")
    return (parts[0] if len(parts) > 1 else ""), parts[-1]


def _find(config, calculator: str):
    nodes = [n for n in config.node if n.calculator == calculator]
    return nodes[0] if nodes else None


def rewrite_for_live(config, *, live: bool, paced: bool, watch: bool,
                     reconnect_timeout_s: float | None = None) -> tuple[str | None, str | None]:
    """Rewrite `config` in place (see the module docstring); returns (result stream, watched stream)."""
    source = _find(config, SOURCE_CALCULATOR)
    result = config.output_stream[0] if len(config.output_stream) else None
    if live:
        if source is None:
            raise MediaUsageError(f"live mode needs a graph that reads its frames with {SOURCE_CALCULATOR}; run "
                                  "this one with --no-live")
        if result is None:
            raise MediaUsageError("live mode needs a graph with an output stream (its result) to know when a frame "
                                  "is done; run this one with --no-live")
        index = next(i for i, ref in enumerate(source.output_stream) if _split(ref)[0] == "IMAGE")
        frames = _split(source.output_stream[index])[1]
        captured = f"{frames}_captured"
        source.output_stream[index] = f"IMAGE:{captured}"
        source.executor = CAPTURE_EXECUTOR
        executor = config.executor.add()
        executor.name, executor.num_threads = CAPTURE_EXECUTOR, 1
        config.node.append(_parse_node(
            f'name: "{LIMITER_NODE}" calculator: "FlowLimiterCalculator" input_stream: "{captured}" '
            f'input_stream: "FINISHED:{result}" input_stream_info {{ tag_index: "FINISHED" back_edge: true }} '
            f'output_stream: "{frames}" output_stream: "ALLOW:{ALLOW_STREAM}" '
            "options { [posegraph.FlowLimiterOptions.ext] { max_in_flight: 1 max_in_queue: 1 } }"))
        config.output_stream.append(ALLOW_STREAM)
    if source is not None:
        if not any(_split(ref)[0] == "CAPTURE_LOG" for ref in source.output_side_packet):
            source.output_side_packet.append(f"CAPTURE_LOG:{CAPTURE_LOG}")
        settings = []
        if paced:
            settings.append("live: true")
        if reconnect_timeout_s is not None:
            settings.append(f"reconnect_timeout_s: {float(reconnect_timeout_s)}")
        if settings:
            options = _parse_node(f'calculator: "{SOURCE_CALCULATOR}" options {{ '
                                  f'[posegraph.MediaSourceOptions.ext] {{ {" ".join(settings)} }} }}').options
            source.options.MergeFrom(options)
    watched = None
    sink = _find(config, SINK_CALCULATOR)
    if watch and sink is not None:
        watched = next((_split(ref)[1] for ref in sink.input_stream if _split(ref)[0] == "IMAGE"), None)
        if watched is not None:
            if watched not in config.output_stream:
                config.output_stream.append(watched)
            for node in config.node:
                if any(_split(ref)[1] == watched for ref in node.output_stream):
                    for i, ref in enumerate(node.input_side_packet):
                        if _split(ref)[0] == "ENABLE":
                            node.input_side_packet[i] = f"ENABLE:{RENDER_ENABLE}"
                            if RENDER_ENABLE not in config.input_side_packet:
                                config.input_side_packet.append(RENDER_ENABLE)
    return result, watched


def gui_available() -> bool:
    """Whether OpenCV can open a window here."""
    import cv2

    try:
        cv2.namedWindow("posegraph-probe", cv2.WINDOW_NORMAL)
        cv2.destroyWindow("posegraph-probe")
    except cv2.error:
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("win32", "darwin"))


def plan_run(args: argparse.Namespace) -> MediaPlan:
    """Check the media flags and decide which graph to build (the original, or one rewritten for live/watching)."""
    from .calculators.io.live import parse_source

    check_paths(args)
    spec = parse_source(args.input) if getattr(args, "input", None) is not None else None
    requested = getattr(args, "live", None)
    live = (spec is not None and spec.live) if requested is None else bool(requested)
    show = bool(getattr(args, "show", False))
    if show and not gui_available():
        raise MediaUsageError("--show needs a display and an OpenCV with a GUI (this one is headless: "
                              "pip uninstall opencv-python-headless && pip install opencv-python), or watch in a "
                              "browser with --dashboard")
    watch = show or getattr(args, "dashboard", None) is not None
    reconnect = getattr(args, "reconnect_timeout", None)
    if not (live or watch or reconnect is not None):
        return MediaPlan(args.graph)
    config, search = load_config(args.graph)
    if not (live or reconnect is not None or _find(config, SINK_CALCULATOR) is not None):
        return MediaPlan(args.graph)  # nothing to rewrite: keep the file (its errors name file and line)
    paced = live and spec is not None and not spec.live
    result, watched = rewrite_for_live(config, live=live, paced=paced, watch=watch, reconnect_timeout_s=reconnect)
    side = {RENDER_ENABLE: True} if RENDER_ENABLE in config.input_side_packet else {}
    return MediaPlan(config, search, live, watched, result, side, show)


# -- watching a run --------------------------------------------------------------------------------------------------
def _percentile(values, q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


class LiveMonitor:
    """Counts frames in/processed/dropped, measures latency (capture to result) and keeps the latest annotated
    frame; the dashboard and the summary read it. Observers must be attached before the graph starts."""

    HISTORY_S = 60.0

    def __init__(self, plan: MediaPlan):
        self.plan = plan
        self.live = plan.live
        self.processed = 0
        self.admitted = 0
        self.dropped = 0
        self.latencies_ms: list[float] = []
        self.processing_ms: list[float] = []  # admitted by the flow limiter -> result: the graph's own time
        self._admitted_at: dict[int, float] = {}
        self._lock = threading.Lock()
        self._log = None
        self._started = time.monotonic()
        self._results: deque = deque()  # (monotonic time, latency ms or nan) of recent results
        self._series: deque = deque(maxlen=240)  # (t, fps, latency p50 ms) twice a second
        self._latest = None  # (timestamp, ImageFrame)
        self._latest_seq = 0
        self._jpeg: tuple[int, bytes] | None = None
        self._frame_event = threading.Condition()

    def attach(self, graph) -> None:
        plan = self.plan
        if plan.result_stream in graph.outputs:
            graph.observe_output(plan.result_stream, self._on_result)
        if plan.live and ALLOW_STREAM in graph.outputs:
            graph.observe_output(ALLOW_STREAM, self._on_allow)
        if plan.watch_stream and plan.watch_stream in graph.outputs:
            graph.observe_output(plan.watch_stream, self._on_frame)

    def started(self, graph) -> None:
        self._started = time.monotonic()
        try:
            self._log = graph.side_packet(CAPTURE_LOG)
        except KeyError:
            self._log = None

    def _on_result(self, packet) -> None:
        now = time.monotonic()
        captured = self._log.take(packet.timestamp) if self._log is not None else None
        latency = (now - captured) * 1000 if captured is not None else float("nan")
        with self._lock:
            self.processed += 1
            if captured is not None:
                self.latencies_ms.append(latency)
            admitted = self._admitted_at.pop(packet.timestamp, None)
            if admitted is not None:
                self.processing_ms.append((now - admitted) * 1000)
            self._results.append((now, latency))
            while self._results and now - self._results[0][0] > self.HISTORY_S:
                self._results.popleft()

    def _on_allow(self, packet) -> None:
        now = time.monotonic()
        with self._lock:
            if packet.value:
                self.admitted += 1
                self._admitted_at[packet.timestamp] = now
            else:
                self.dropped += 1

    def _on_frame(self, packet) -> None:
        with self._frame_event:
            self._latest = packet.value
            self._latest_seq += 1
            self._frame_event.notify_all()

    # -- views -------------------------------------------------------------------------------------------------------
    @property
    def frames_in(self) -> int:
        return self._log.captured if self._log is not None else self.processed

    def latest_frame(self):
        return self._latest

    def latest_jpeg(self, quality: int = 75) -> tuple[int, bytes] | None:
        """(sequence number, JPEG bytes) of the newest annotated frame, encoded once per frame."""
        import cv2
        import numpy as np

        with self._frame_event:
            frame, seq = self._latest, self._latest_seq
        if frame is None:
            return None
        cached = self._jpeg
        if cached is not None and cached[0] == seq:
            return cached
        pixels = getattr(frame, "pixels", frame)
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(np.asarray(pixels), cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            return None
        self._jpeg = (seq, data.tobytes())
        return self._jpeg

    def wait_frame(self, after_seq: int, timeout: float) -> int:
        with self._frame_event:
            if self._latest_seq <= after_seq:
                self._frame_event.wait(timeout)
            return self._latest_seq

    def snapshot(self, window_s: float = 2.0) -> dict:
        """Numbers for the dashboard: counts, recent frames/s and latency, and a short history for the chart."""
        now = time.monotonic()
        with self._lock:
            recent = [lat for t, lat in self._results if now - t <= window_s]
            counts = {"frames_in": self.frames_in, "processed": self.processed, "dropped": self.dropped}
        latencies = [v for v in recent if v == v]
        fps = len(recent) / min(window_s, max(1e-9, now - self._started))
        p50, p95 = _percentile(latencies, 50), _percentile(latencies, 95)
        if not self._series or now - self._series[-1][0] >= 0.5:
            self._series.append((now, fps, p50 if p50 == p50 else None))
        return {**counts, "live": self.live, "fps": fps,
                "latency_p50_ms": p50 if p50 == p50 else None, "latency_p95_ms": p95 if p95 == p95 else None,
                "gaps": list(self._log.gaps) if self._log is not None else [],
                "video": self.plan.watch_stream is not None,
                "series": [[round(t - self._started, 2), round(f, 2), None if lat is None else round(lat, 2)]
                           for t, f, lat in self._series]}

    def summary(self, *, stopped: bool = False) -> str | None:
        """One line for the end of the run (None when there is nothing live to report)."""
        if not self.live:
            return None
        with self._lock:
            latencies = list(self.latencies_ms)
            processed, dropped = self.processed, self.dropped
        frames_in = self.frames_in
        unfinished = frames_in - processed - dropped
        text = f"live: {frames_in} frames in = {processed} processed + {dropped} dropped"
        if unfinished:
            text += f" + {unfinished} in flight when stopped" if stopped else f" (+{unfinished} unaccounted)"
        if latencies:
            text += (f"; latency capture->result p50 {_percentile(latencies, 50):.1f} ms, "
                     f"p95 {_percentile(latencies, 95):.1f} ms, max {max(latencies):.1f} ms")
        return text


# -- waiting and stopping ----------------------------------------------------------------------------------------------
def stop_graph(graph, timeout: float = _STOP_WAIT_S) -> None:
    """Cancel and wait until every node closed (sinks finalise their files); errors of the cancel are swallowed."""
    graph.cancel()
    try:
        graph.wait_until_done(timeout=timeout)
    except (GraphCancelledError, PosegraphError):
        pass


class _SigTerm:
    """Turn SIGTERM into `Terminated` in the main thread for the length of a run."""

    def __enter__(self):
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            def handler(signum, frame):
                raise Terminated()
            self._previous = signal.signal(signal.SIGTERM, handler)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _show_frame(monitor: LiveMonitor, state: dict) -> bool:
    """Draw the newest frame in the window; False when the user closed it (q or Esc)."""
    import cv2
    import numpy as np

    frame = monitor.latest_frame()
    if frame is not None and frame is not state.get("shown"):
        pixels = np.asarray(getattr(frame, "pixels", frame))
        cv2.imshow("posegraph", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        state["shown"] = frame
    key = cv2.waitKey(1) & 0xFF
    return key not in (ord("q"), 27)


def wait_for_run(graph, timeout: float | None, monitor: LiveMonitor | None = None) -> None:
    """Wait until the graph is done. Ctrl-C, SIGTERM, --timeout and closing the --show window stop it cleanly:
    the graph is cancelled and every node closed, so outputs written so far are finalised and playable. Ctrl-C
    re-raises KeyboardInterrupt, SIGTERM `Terminated`, --timeout GraphTimeoutError."""
    deadline = None if timeout is None else time.monotonic() + timeout
    show = monitor is not None and monitor.plan.show
    state: dict = {}
    with _SigTerm():
        try:
            while True:
                try:
                    slice_s = _SHOW_SLICE_S if show else _WAIT_SLICE_S if deadline is not None else None
                    graph.wait_until_done(timeout=slice_s)
                    return
                except GraphTimeoutError:
                    pass
                if show and not _show_frame(monitor, state):
                    stop_graph(graph)
                    return
                if deadline is not None and time.monotonic() >= deadline:
                    stop_graph(graph)
                    raise GraphTimeoutError(f"stopped after --timeout {timeout:g} s; the outputs written so far are "
                                            "complete and kept") from None
        except KeyboardInterrupt:
            stop_graph(graph)
            raise
        finally:
            if show:
                import cv2
                cv2.destroyAllWindows()


__all__ = ["LiveMonitor", "MediaPlan", "MediaUsageError", "Terminated", "add_arguments", "check_paths",
           "load_config", "plan_run", "rewrite_for_live", "stop_graph", "wait_for_run"]
