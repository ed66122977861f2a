"""Ready-made pose tracking for apps that feed frames themselves, built on the shipped graphs.

    import cv2
    from posegraph.solutions import PoseTracker, draw_landmarks

    with PoseTracker() as tracker:                      # running_mode="video": tracking and smoothing
        frame = cv2.imread("person.jpg")                # BGR uint8, as OpenCV reads
        result = tracker.process(frame, bgr=True)
        if result.found:
            print(result.landmarks[0])                  # nose: x, y (normalised), z, visibility, presence
        annotated = draw_landmarks(frame, result, bgr=True)

Running modes follow MediaPipe Tasks: ``"image"`` (unrelated images, `detect`), ``"video"`` (frames of one video
with increasing timestamps, `detect_for_video`) and ``"live_stream"`` (`detect_async`; results arrive in
`result_callback`, and a frame that comes while the previous one is still being processed replaces the waiting one).
Frames are numpy uint8 arrays (RGB, or BGR with ``bgr=True``) or `ImageFrame`; anything else is refused with one
clear error. This module only loads shipped graphs and converts frames and results; everything else is the graph's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Sequence

import numpy as np

from .graph import Graph
from .segmentation_options import blazepose_side_packets, pose_mask

DEFAULT_FRAME_INTERVAL_US = 33_333  # timestamps for apps that do not give their own: 30 frames/s

__all__ = ["DetectedPose", "PoseTracker", "PoseTrackerResult", "RunningMode", "draw_landmarks"]


class RunningMode(str, Enum):
    """How frames relate to each other, as in MediaPipe Tasks."""

    IMAGE = "image"  # unrelated images: the detector runs on every one, no smoothing
    VIDEO = "video"  # frames of one video, timestamps increasing: tracking and smoothing
    LIVE_STREAM = "live_stream"  # like video, asynchronous: results go to a callback, busy frames are dropped


@dataclass(frozen=True)
class DetectedPose:
    """One person in one frame.

    `landmarks`: N x 5 float32 (x, y normalised to the image; z in the scale of x; visibility; presence), N = 33
    for BlazePose. `world_landmarks`: N x 3 metres, origin between the hips (None for 2-D models). `track_id`:
    stable across frames when several people are tracked. `roi`: the rotated region the landmarks came from.
    `segmentation_mask`: H x W float32 in [0, 1] at the image size, when the tracker was asked for masks.
    """

    landmarks: np.ndarray
    world_landmarks: np.ndarray | None
    score: float
    topology: str
    track_id: int | None = None
    roi: Any = None
    segmentation_mask: np.ndarray | None = None


@dataclass(frozen=True)
class PoseTrackerResult:
    """One frame's result: `poses` (empty when nobody is found), and the first pose's fields for convenience."""

    poses: list[DetectedPose]
    timestamp_us: int
    image_size: tuple[int, int]  # (width, height)
    roi: Any = None
    extras: dict = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.poses)

    @property
    def landmarks(self) -> np.ndarray | None:
        """The first pose's N x 5 landmarks, or None."""
        return self.poses[0].landmarks if self.poses else None

    @property
    def world_landmarks(self) -> np.ndarray | None:
        return self.poses[0].world_landmarks if self.poses else None

    @property
    def score(self) -> float:
        return self.poses[0].score if self.poses else 0.0

    @property
    def segmentation_mask(self) -> np.ndarray | None:
        return self.poses[0].segmentation_mask if self.poses else None

    @property
    def segmentation_masks(self) -> list[np.ndarray]:
        """Every pose's mask, for the poses that carry one (a tracker made with segmentation=True)."""
        return [p.segmentation_mask for p in self.poses if p.segmentation_mask is not None]


ResultCallback = Callable[[PoseTrackerResult, np.ndarray, int], None]  # (result, rgb image, timestamp in ms)


def _as_frame(frame: Any, bgr: bool, index: int):
    from .calculators.types import ImageFrame

    return ImageFrame.coerce(frame, bgr=bgr, source="frame", index=index)


def _detected(pose: Any) -> DetectedPose:
    return DetectedPose(landmarks=pose.landmarks, world_landmarks=pose.world_landmarks, score=float(pose.score),
                        topology=pose.topology, track_id=pose.track_id, roi=pose.roi,
                        segmentation_mask=pose_mask(pose))


class PoseTracker:
    """BlazePose as MediaPipe's PoseLandmarker (or ``mp.solutions.pose.Pose``): give it frames, get poses.

    `running_mode`: "image", "video" (default) or "live_stream" (then `result_callback` is required);
    `static_image_mode=True` is the same as running_mode="image". Otherwise the previous frame's landmarks give
    the next region and landmarks are smoothed over time (`smooth_landmarks`).
    `model_complexity` 0 (lite), 1 (full) or 2 (heavy, with its file as `landmark_model`) picks the landmark model,
    as MediaPipe; `landmark_model` selects any landmark model file with the same tensors.
    `segmentation` (MediaPipe's enable_segmentation) gives each pose a `segmentation_mask`, float32 H x W in [0, 1]
    (`result.segmentation_mask` is the first pose's, `result.segmentation_masks` all of them);
    `smooth_segmentation` also smooths it over tracked frames. `max_poses` > 1 tracks several people (graph
    `pose_landmark_multi_cpu`), each with a stable `track_id`; `detection_interval` is how many frames pass between
    searches for new people (default: the graph's, 10).
    """

    GRAPH = "pose_landmark_cpu"
    MULTI_GRAPH = "pose_landmark_multi_cpu"

    def __init__(self, static_image_mode: bool = False, smooth_landmarks: bool = True,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 min_presence_confidence: float = 0.5, landmark_model: str | None = None,
                 num_threads: int | None = None, max_poses: int = 1, detection_interval: int | None = None,
                 model_complexity: int = 0, segmentation: bool = False, smooth_segmentation: bool = False,
                 *, running_mode: RunningMode | str | None = None,
                 result_callback: ResultCallback | None = None):
        for name, value in (("min_detection_confidence", min_detection_confidence),
                            ("min_tracking_confidence", min_tracking_confidence),
                            ("min_presence_confidence", min_presence_confidence)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if int(max_poses) < 1:
            raise ValueError(f"max_poses must be >= 1, got {max_poses}")
        try:
            mode = RunningMode(running_mode if running_mode is not None
                               else ("image" if static_image_mode else "video"))
        except ValueError:
            raise ValueError(f"running_mode must be one of {[m.value for m in RunningMode]}, "
                             f"got {running_mode!r}") from None
        if (mode is RunningMode.LIVE_STREAM) != (result_callback is not None):
            raise ValueError("result_callback is required in live_stream mode and only allowed there")
        self.running_mode = mode
        self._callback = result_callback
        multi = int(max_poses) > 1
        self._graph = Graph(self.MULTI_GRAPH if multi else self.GRAPH, num_threads=num_threads)
        side = {"use_prev_landmarks": mode is not RunningMode.IMAGE, "smooth_landmarks": smooth_landmarks,
                "min_detection_confidence": min_detection_confidence,
                "min_tracking_confidence": min_tracking_confidence,
                "min_presence_confidence": min_presence_confidence}
        if landmark_model:
            side["landmark_model"] = landmark_model
        side.update(blazepose_side_packets(model_complexity, segmentation, smooth_segmentation, landmark_model))
        if multi:
            side.pop("smooth_segmentation", None)  # per-person masks are not smoothed (nor in MediaPipe Tasks)
            side["max_poses"] = int(max_poses)
            if detection_interval is not None:
                side["detection_interval"] = int(detection_interval)
        self._side = side
        self._last_ts: int | None = None
        self._index = 0
        self._lock = threading.Lock()
        self._live: _LiveWorker | None = None

    # -- the MediaPipe Tasks calls -----------------------------------------------------------------------------
    def detect(self, image: Any, *, bgr: bool = False) -> PoseTrackerResult:
        """Image mode: one unrelated image."""
        self._require(RunningMode.IMAGE, "detect")
        return self._run(image, None, bgr)

    def detect_for_video(self, image: Any, timestamp_ms: int, *, bgr: bool = False) -> PoseTrackerResult:
        """Video mode: the next frame of one video; `timestamp_ms` must increase."""
        self._require(RunningMode.VIDEO, "detect_for_video")
        return self._run(image, int(timestamp_ms) * 1000, bgr)

    def detect_async(self, image: Any, timestamp_ms: int, *, bgr: bool = False) -> None:
        """Live-stream mode: queue a frame; its result goes to `result_callback` (from a worker thread)."""
        self._require(RunningMode.LIVE_STREAM, "detect_async")
        frame = _as_frame(image, bgr, self._index)  # refuse bad frames here, in the caller's thread
        timestamp_us = int(timestamp_ms) * 1000
        if self._last_ts is not None and timestamp_us <= self._last_ts:
            raise ValueError(f"timestamps must increase: got {timestamp_ms} ms after {self._last_ts // 1000} ms")
        self._last_ts = timestamp_us
        if self._live is None:
            self._live = _LiveWorker(self)
        self._live.submit(frame, timestamp_us)

    @property
    def dropped_frames(self) -> int:
        """Live-stream frames replaced by a newer one before they were processed."""
        return self._live.dropped if self._live is not None else 0

    # -- the mp.solutions call -------------------------------------------------------------------------------
    def process(self, frame: Any, timestamp_us: int | None = None, *, bgr: bool = False) -> PoseTrackerResult:
        """Track the pose in one frame (image or video mode). Timestamps (microseconds) must increase; by default
        frames are 1/30 s apart, which is what the smoothing filters assume when an app gives no time."""
        if self.running_mode is RunningMode.LIVE_STREAM:
            raise ValueError("process() is for image and video modes; in live_stream mode call detect_async()")
        return self._run(frame, timestamp_us, bgr)

    def _require(self, mode: RunningMode, call: str) -> None:
        if self.running_mode is not mode:
            raise ValueError(f"{call}() needs running_mode={mode.value!r}; this tracker was created with "
                             f"running_mode={self.running_mode.value!r}")

    def _run(self, frame: Any, timestamp_us: int | None, bgr: bool) -> PoseTrackerResult:
        image = _as_frame(frame, bgr, self._index)
        with self._lock:
            if timestamp_us is None:
                timestamp_us = 0 if self._last_ts is None else self._last_ts + DEFAULT_FRAME_INTERVAL_US
            return self._process_frame(image, int(timestamp_us))

    def _process_frame(self, image, timestamp_us: int) -> PoseTrackerResult:
        if not self._graph.started:
            self._graph.start(self._side, synchronous=True)
        outputs = self._graph.process({"image": image}, timestamp=timestamp_us)
        self._last_ts = max(timestamp_us, self._last_ts or 0)
        self._index += 1
        poses = [_detected(p) for p in outputs.get("poses") or []]
        return PoseTrackerResult(poses, timestamp_us, (image.width, image.height), outputs.get("roi"))

    def profile(self):
        """The graph's per-node timing table."""
        return self._graph.profile()

    def close(self) -> None:
        """Finish queued live-stream frames, then close the graph (idempotent)."""
        if self._live is not None:
            self._live.close()
            self._live = None
        if self._graph.started and not self._graph.done:
            self._graph.close(timeout=30)

    def __enter__(self) -> "PoseTracker":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _LiveWorker:
    """One thread that runs the newest waiting frame; a frame that arrives while another waits replaces it."""

    def __init__(self, tracker: PoseTracker):
        self.tracker = tracker
        self.cond = threading.Condition()
        self.waiting: tuple[Any, int] | None = None
        self.closing = False
        self.dropped = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="posegraph-live-stream", daemon=True)
        self.thread.start()

    def submit(self, frame, timestamp_us: int) -> None:
        with self.cond:
            if self.error is not None:
                raise RuntimeError(f"the live-stream worker failed: {self.error}") from self.error
            if self.waiting is not None:
                self.dropped += 1
            self.waiting = (frame, timestamp_us)
            self.cond.notify()

    def _run(self) -> None:
        while True:
            with self.cond:
                while self.waiting is None and not self.closing:
                    self.cond.wait()
                if self.waiting is None:
                    return
                (frame, timestamp_us), self.waiting = self.waiting, None
            try:
                with self.tracker._lock:
                    result = self.tracker._process_frame(frame, timestamp_us)
                self.tracker._callback(result, frame.pixels, timestamp_us // 1000)
            except BaseException as exc:  # noqa: BLE001 - reported to the next submit() and to close()
                with self.cond:
                    self.error = exc
                return

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify()
        self.thread.join(60)
        if self.error is not None:
            raise RuntimeError(f"the live-stream worker failed: {self.error}") from self.error


def draw_landmarks(image: Any, result: PoseTrackerResult | Sequence[DetectedPose], *, bgr: bool = False,
                   visibility_threshold: float = 0.5, draw_roi: bool = False) -> np.ndarray:
    """A copy of `image` with the poses of `result` drawn (skeleton, joints, track ids), in the image's own
    channel order: pass ``bgr=True`` for OpenCV frames and get BGR back."""
    from .calculators.render.drawing import draw_poses
    from .calculators.types import Pose

    frame = _as_frame(image, bgr, 0)
    poses = result.poses if isinstance(result, PoseTrackerResult) else list(result)
    native = [Pose(landmarks=p.landmarks, topology=p.topology, score=p.score, world_landmarks=p.world_landmarks,
                   track_id=p.track_id, roi=p.roi) for p in poses]
    out = draw_poses(frame.pixels, native, visibility_threshold=visibility_threshold, draw_roi=draw_roi)
    return np.ascontiguousarray(out[:, :, ::-1]) if bgr else out
