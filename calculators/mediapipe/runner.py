"""Running a graph that takes frames on an input stream (MediaPipe's graphs: ``image``, ``input_video``) on a
media file: frames in, the image output written as a video or image, landmarks written as JSONL (or CSV, COCO JSON).

MediaPipe's graph files have no source or sink nodes: the application feeds the input stream and reads the
output streams. ``posegraph run FILE`` does that here. A file is fed frame by frame, each frame only once the graph
has finished the previous one (as MediaPipe's examples read files), so a flow limiter drops nothing; a camera is
fed as it delivers, so a flow limiter drops frames the graph cannot keep up with. Each frame's landmarks are
written as soon as the frame is complete, so a long run holds no landmarks in memory and a failed one keeps the
frames it finished.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import cv2
import numpy as np

from ..io.images import IMAGE_EXTENSIONS, list_images, read_image
from ..io.landmark_writers import LandmarksWriter, open_landmarks_writer
from ..io.partial import check_writable
from ..io.video import VideoReader, VideoWriter
from ..types import ImageFrame, Pose
from .types import to_pose

IMAGE_INPUTS = ("image", "input_video", "input_image", "input_frame", "frames", "input")
IMAGE_OUTPUTS = ("output_video", "output_image", "output_frame")
LANDMARK_OUTPUTS = ("pose_landmarks", "landmarks")
WORLD_OUTPUTS = ("pose_world_landmarks", "world_landmarks")
ROI_OUTPUTS = ("pose_rect_from_landmarks", "roi_from_landmarks")


@dataclass(frozen=True)
class StreamPlan:
    """Which of a graph's streams carry the frames in, the image out, and the landmarks out."""

    image_input: str
    image_output: str | None = None
    landmarks: str | None = None
    world_landmarks: str | None = None


def _first(names: Iterable[str], choices: tuple[str, ...]) -> str | None:
    names = list(names)
    return next((c for c in choices if c in names), None)


def plan_streams(input_streams: list[str], output_streams: list[str]) -> StreamPlan:
    """The stream plan of a graph; ValueError when it has no input stream that can take frames."""
    if not input_streams:
        raise ValueError("the graph has no input stream to feed frames into")
    image_input = input_streams[0] if len(input_streams) == 1 else _first(input_streams, IMAGE_INPUTS)
    if image_input is None:
        raise ValueError(f"cannot tell which input stream takes the frames among {', '.join(input_streams)} "
                         f"(expected one of {', '.join(IMAGE_INPUTS)})")
    return StreamPlan(image_input, _first(output_streams, IMAGE_OUTPUTS), _first(output_streams, LANDMARK_OUTPUTS),
                      _first(output_streams, WORLD_OUTPUTS))


SOLUTION_FRAME_INTERVAL_US = 33333


def solution_timestamp(index: int) -> int:
    """The timestamp at which MediaPipe's legacy solutions (``mp.solutions``, ``SolutionBase.process``) feed frame
    `index` of a video: their simulated clock advances by 33333 us *before* each frame, so frame 0 is at 33333 us.
    It matters: the One Euro filter keeps its configured 30 Hz on a frame at timestamp 0 and on the frame after it,
    and re-estimates the rate from the timestamps otherwise, which changes the smoothed landmarks from frame 1 on."""
    return (index + 1) * SOLUTION_FRAME_INTERVAL_US


@dataclass
class SourceFrame:
    index: int
    timestamp_us: int
    frame: ImageFrame


def is_camera(path: str) -> bool:
    return path.startswith("camera:")


def read_frames(path: str, *, max_frames: int | None = None,
                timestamps: str = "media") -> tuple[Iterator[SourceFrame], float, bool]:
    """(frames, fps, is_still): an image (one frame at 0), a folder of images (one frame each), a video file or
    ``camera:N``. `timestamps` is
    "media" (the container's timestamps) or "mediapipe" (frame i at (i + 1) * 33333 us, as MediaPipe's legacy
    solution feeds it: `solution_timestamp`)."""
    p = Path(path)
    if not is_camera(path) and p.is_dir():
        listing = list_images(p)
        if not listing.images:
            raise ValueError(f"folder {p} holds no images" + (f" ({len(listing.skipped)} other files skipped)"
                                                                if listing.skipped else ""))
        images = listing.images[:max_frames] if max_frames is not None else listing.images

        def each_image() -> Iterator[SourceFrame]:
            for i, image in enumerate(images):  # one frame per image, 33333 us apart
                yield SourceFrame(i, i * 33333, ImageFrame(read_image(image), image.name, i))
        return each_image(), 30.0, False
    if not is_camera(path) and p.suffix.lower() in IMAGE_EXTENSIONS:
        pixels = read_image(p)
        return iter([SourceFrame(0, 0, ImageFrame(pixels, p.name, 0))]), 30.0, True
    reader = VideoReader(int(path.split(":", 1)[1]) if is_camera(path) else p)
    name = reader.source if is_camera(path) else p.name

    def generate() -> Iterator[SourceFrame]:
        with reader:
            for frame in reader:
                if max_frames is not None and frame.index >= max_frames:
                    return
                ts = solution_timestamp(frame.index) if timestamps == "mediapipe" else frame.timestamp_us
                yield SourceFrame(frame.index, ts, ImageFrame(np.ascontiguousarray(frame.rgb), name, frame.index))
    return generate(), reader.fps, False


@dataclass
class RunResult:
    frames: int = 0
    outputs: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    landmarks: dict[int, Any] = field(default_factory=dict)
    world_landmarks: dict[int, Any] = field(default_factory=dict)
    open_s: float = 0.0  # how long starting the graph took (models loaded, kernels compiled or loaded)


def run_on_frames(graph: Any, frames: Iterable[SourceFrame], plan: StreamPlan, side: dict[str, Any], *,
                  wait_for_graph: bool = True, on_image: Any = None, timeout: float | None = 600,
                  on_landmarks: Any = None, on_frame_done: Any = None, on_opened: Any = None) -> RunResult:
    """Feed `frames` to a posegraph ``Graph`` (not started) and collect its landmark outputs per timestamp.

    `on_landmarks(stream, timestamp, value)`, when given, receives the landmark and world landmark packets instead
    of `RunResult.landmarks` / `world_landmarks`; `on_frame_done(timestamp)` is called once the graph has finished
    a frame (with `wait_for_graph` only); `on_opened()` once the graph has started."""
    result = RunResult(outputs={name: 0 for name in graph.spec.output_streams})

    def count(name):
        def observe(packet):
            result.outputs[name] += 1
            if name in (plan.landmarks, plan.world_landmarks) and on_landmarks is not None:
                on_landmarks(name, packet.timestamp, packet.value)
            elif name == plan.landmarks:
                result.landmarks[packet.timestamp] = packet.value
            elif name == plan.world_landmarks:
                result.world_landmarks[packet.timestamp] = packet.value
            elif name == plan.image_output and on_image is not None:
                on_image(packet.timestamp, packet.value)
        return observe

    for name in graph.spec.output_streams:
        graph.observe_output(name, count(name))
    started = time.perf_counter()
    graph.start(side)
    result.open_s = time.perf_counter() - started
    if on_opened is not None:
        on_opened()
    try:
        for item in frames:
            graph.add_packet(plan.image_input, item.frame, timestamp=item.timestamp_us)
            result.frames += 1
            if wait_for_graph:
                graph.wait_until_idle(timeout=timeout)
                if on_frame_done is not None:
                    on_frame_done(item.timestamp_us)
        graph.close(timeout=timeout)
    except BaseException:
        graph.cancel()
        raise
    return result


class _LandmarkLines:
    """One line per frame, written once the frame is complete: by `frame_done` (files: the graph finished it), or
    once every landmark stream has passed its timestamp (cameras: packets of a stream come in timestamp order, and a
    frame without a pose has none); the rest at `close` after a run that ended well (after a failure they may be
    incomplete: left out). Holds only the frames not yet written."""

    def __init__(self, writer: LandmarksWriter, plan: StreamPlan):
        self._writer = writer
        self._landmarks_stream, self._world_stream = plan.landmarks, plan.world_landmarks
        self._streams = [s for s in (plan.landmarks, plan.world_landmarks) if s is not None]
        self._lock = threading.Lock()
        self._frames: dict[int, tuple[int, int, int, str]] = {}  # fed, not written: timestamp -> index, w, h, name
        self._values: dict[str, dict[int, Any]] = {s: {} for s in self._streams}
        self._passed = {s: -math.inf for s in self._streams}

    def fed(self, item: SourceFrame) -> None:
        with self._lock:
            self._frames[item.timestamp_us] = (item.index, item.frame.width, item.frame.height, item.frame.source)

    def packet(self, stream: str, ts: int, value: Any) -> None:
        with self._lock:
            self._values[stream][ts] = value
            self._passed[stream] = ts
            self._write_upto(min(self._passed.values()))

    def frame_done(self, ts: int) -> None:
        with self._lock:
            self._write_upto(ts)

    def close(self, run_completed: bool) -> Path | None:
        if run_completed:
            with self._lock:
                self._write_upto(math.inf)
        return self._writer.close()

    def _write_upto(self, ts: float) -> None:
        for frame_ts in sorted(t for t in self._frames if t <= ts):
            index, width, height, source = self._frames.pop(frame_ts)
            landmarks = self._values[self._landmarks_stream].pop(frame_ts, None)
            world = None if self._world_stream is None else self._values[self._world_stream].pop(frame_ts, None)
            poses: list[Pose] = [] if landmarks is None else [to_pose(landmarks, world)]
            self._writer.write_frame(source, index, frame_ts, width, height, poses)


def run_graph_file(graph: Any, *, input_path: str, output_path: str | None = None,
                   landmarks_path: str | None = None, side: dict[str, Any] | None = None,
                   max_frames: int | None = None, timeout: float | None = 600,
                   timestamps: str = "media", on_opened: Any = None) -> RunResult:
    """`posegraph run FILE` for a graph with an image input stream; `on_opened()` once the graph has started."""
    plan = plan_streams(graph.spec.input_streams, graph.spec.output_streams)
    if output_path and plan.image_output is None:
        raise ValueError(f"the graph has no image output stream to write to {output_path} (expected one of "
                         f"{', '.join(IMAGE_OUTPUTS)})")
    if landmarks_path and plan.landmarks is None:
        raise ValueError(f"the graph has no landmark output stream to write to {landmarks_path} (expected one of "
                         f"{', '.join(LANDMARK_OUTPUTS)})")
    frames, fps, still = read_frames(input_path, max_frames=max_frames, timestamps=timestamps)
    folder = not is_camera(input_path) and Path(input_path).is_dir()
    if output_path:  # now, not after the frames
        check_writable(output_path, folder=folder)
    lines = _LandmarkLines(open_landmarks_writer(landmarks_path), plan) if landmarks_path else None
    sources: dict[int, str] = {}  # timestamp -> image name, for a folder's outputs

    def remember(source: Iterator[SourceFrame]) -> Iterator[SourceFrame]:
        for item in source:
            if folder:
                sources[item.timestamp_us] = item.frame.source
            if lines is not None:
                lines.fed(item)
            yield item

    writer = None

    def write_image(target: Path, pixels: Any) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(target), cv2.cvtColor(np.asarray(pixels), cv2.COLOR_RGB2BGR)):
            raise ValueError(f"cannot write image {target} (unknown extension?)")

    def on_image(ts: int, value: Any) -> None:
        nonlocal writer
        pixels = getattr(value, "pixels", value)
        if still:
            write_image(Path(output_path), pixels)
            return
        if folder:  # a folder of images in, a folder of images out (same names, PNG)
            write_image(Path(output_path) / (Path(sources.pop(ts)).stem + ".png"), pixels)
            return
        if writer is None:
            writer = VideoWriter(output_path, fps)
        writer.write(np.asarray(pixels))

    completed = False
    try:
        result = run_on_frames(graph, remember(frames), plan, side or {}, wait_for_graph=not is_camera(input_path),
                               on_image=on_image if output_path else None, timeout=timeout,
                               on_landmarks=None if lines is None else lines.packet,
                               on_frame_done=None if lines is None else lines.frame_done, on_opened=on_opened)
        completed = True
        return result
    finally:
        if writer is not None:
            writer.close()
        if lines is not None:
            lines.close(completed)


__all__ = ["solution_timestamp", "StreamPlan", "plan_streams", "read_frames", "run_on_frames", "run_graph_file", "RunResult"]
