"""Running a graph that takes frames on an input stream (MediaPipe's graphs: ``image``, ``input_video``) on a
media file: frames in, the image output written as a video or image, landmarks written as JSONL.

MediaPipe's graph files have no source or sink nodes: the application feeds the input stream and reads the
output streams. ``posegraph run FILE`` does that here. A file is fed frame by frame, each frame only once the graph
has finished the previous one (as MediaPipe's examples read files), so a flow limiter drops nothing; a camera is
fed as it delivers, so a flow limiter drops frames the graph cannot keep up with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import cv2
import numpy as np

from ..io.images import IMAGE_EXTENSIONS, list_images, read_image
from ..io.jsonl import JsonlWriter
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


def run_on_frames(graph: Any, frames: Iterable[SourceFrame], plan: StreamPlan, side: dict[str, Any], *,
                  wait_for_graph: bool = True, on_image: Any = None, timeout: float | None = 600) -> RunResult:
    """Feed `frames` to a posegraph ``Graph`` (not started) and collect its landmark outputs per timestamp."""
    result = RunResult(outputs={name: 0 for name in graph.spec.output_streams})

    def count(name):
        def observe(packet):
            result.outputs[name] += 1
            if name == plan.landmarks:
                result.landmarks[packet.timestamp] = packet.value
            elif name == plan.world_landmarks:
                result.world_landmarks[packet.timestamp] = packet.value
            elif name == plan.image_output and on_image is not None:
                on_image(packet.timestamp, packet.value)
        return observe

    for name in graph.spec.output_streams:
        graph.observe_output(name, count(name))
    graph.start(side)
    try:
        for item in frames:
            graph.add_packet(plan.image_input, item.frame, timestamp=item.timestamp_us)
            result.frames += 1
            if wait_for_graph:
                graph.wait_until_idle(timeout=timeout)
        graph.close(timeout=timeout)
    except BaseException:
        graph.cancel()
        raise
    return result


def run_graph_file(graph: Any, *, input_path: str, output_path: str | None = None,
                   landmarks_path: str | None = None, side: dict[str, Any] | None = None,
                   max_frames: int | None = None, timeout: float | None = 600,
                   timestamps: str = "media") -> RunResult:
    """`posegraph run FILE` for a graph with an image input stream."""
    plan = plan_streams(graph.spec.input_streams, graph.spec.output_streams)
    if output_path and plan.image_output is None:
        raise ValueError(f"the graph has no image output stream to write to {output_path} (expected one of "
                         f"{', '.join(IMAGE_OUTPUTS)})")
    if landmarks_path and plan.landmarks is None:
        raise ValueError(f"the graph has no landmark output stream to write to {landmarks_path} (expected one of "
                         f"{', '.join(LANDMARK_OUTPUTS)})")
    frames, fps, still = read_frames(input_path, max_frames=max_frames, timestamps=timestamps)
    sizes: dict[int, tuple[int, int, int, str]] = {}

    def remember(source: Iterator[SourceFrame]) -> Iterator[SourceFrame]:
        for item in source:
            sizes[item.timestamp_us] = (item.index, item.frame.width, item.frame.height, item.frame.source)
            yield item

    writer = None

    folder = not is_camera(input_path) and Path(input_path).is_dir()

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
            write_image(Path(output_path) / (Path(sizes[ts][3]).stem + ".png"), pixels)
            return
        if writer is None:
            Path(output_path).parent.mkdir(parents=True, exist_ok=True)
            writer = VideoWriter(output_path, fps)
        writer.write(np.asarray(pixels))

    try:
        result = run_on_frames(graph, remember(frames), plan, side or {}, wait_for_graph=not is_camera(input_path),
                               on_image=on_image if output_path else None, timeout=timeout)
    finally:
        if writer is not None:
            writer.close()
    if landmarks_path:
        Path(landmarks_path).parent.mkdir(parents=True, exist_ok=True)
        with JsonlWriter(landmarks_path) as out:
            for ts in sorted(sizes):
                index, width, height, source = sizes[ts]
                poses: list[Pose] = []
                if ts in result.landmarks:
                    poses = [to_pose(result.landmarks[ts], result.world_landmarks.get(ts))]
                out.write_frame(source, index, ts, width, height, poses)
    return result


__all__ = ["solution_timestamp", "StreamPlan", "plan_streams", "read_frames", "run_on_frames", "run_graph_file", "RunResult"]
