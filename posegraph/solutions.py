"""Ready-made pose trackers for apps that feed frames themselves, built on the shipped graphs.

    from posegraph.solutions import PoseTracker
    with PoseTracker() as tracker:
        for frame in frames:                    # RGB uint8 arrays (gray, RGBA and BGR are handled too)
            result = tracker.process(frame)
            if result.landmarks is not None:
                print(result.landmarks[0])      # nose: x, y, z, visibility, presence

This module only loads shipped graphs (`pose_landmark_cpu`; `pose_landmark_multi_cpu` for ``max_poses > 1``) and
converts frames and results; everything else is the graph's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graph import Graph
from .segmentation_options import blazepose_side_packets, segmentation_masks

DEFAULT_FRAME_INTERVAL_US = 33_333  # timestamps for apps that do not give their own: 30 frames/s


@dataclass(frozen=True)
class PoseTrackerResult:
    """One frame's result; `landmarks` is None when nobody is found.

    `landmarks`: 33 x 5 (x, y normalised to the image; z in the scale of x; visibility; presence).
    `world_landmarks`: 33 x 3 metres, origin between the hips. `roi`: the rotated region the landmarks came from.
    """

    landmarks: np.ndarray | None
    world_landmarks: np.ndarray | None
    roi: Any
    score: float
    timestamp_us: int
    poses: list
    segmentation_masks: list = field(default_factory=list)  # one float32 H x W per pose, with segmentation=True

    @property
    def segmentation_mask(self) -> np.ndarray | None:
        """The first pose's mask (float32 H x W in [0, 1]), or None."""
        return self.segmentation_masks[0] if self.segmentation_masks else None

    @property
    def found(self) -> bool:
        return self.landmarks is not None


class PoseTracker:
    """BlazePose, as MediaPipe's ``mp.solutions.pose.Pose``: call ``process(rgb_frame)`` per frame.

    `static_image_mode` runs the detector on every frame (unrelated images); otherwise the previous frame's
    landmarks give the next region and landmarks are smoothed over time (`smooth_landmarks`).
    `model_complexity` 0 (lite), 1 (full) or 2 (heavy, with its file as `landmark_model`) picks the landmark model,
    as MediaPipe; `landmark_model` selects any landmark model file with the same tensors.
    `segmentation` (MediaPipe's enable_segmentation) adds `result.segmentation_mask`, float32 H x W in [0, 1] (and
    one per pose in `result.segmentation_masks`); `smooth_segmentation` also smooths it over tracked frames.
    `max_poses` > 1 tracks several people (graph `pose_landmark_multi_cpu`): `result.poses` holds them all, each with
    a `track_id` stable across frames, and `result.landmarks` is the first (lowest id); `detection_interval` is how
    many frames pass between searches for new people while people are tracked (default: the graph's, 10).
    """

    GRAPH = "pose_landmark_cpu"
    MULTI_GRAPH = "pose_landmark_multi_cpu"

    def __init__(self, static_image_mode: bool = False, smooth_landmarks: bool = True,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 min_presence_confidence: float = 0.5, landmark_model: str | None = None,
                 num_threads: int | None = None, max_poses: int = 1, detection_interval: int | None = None,
                 model_complexity: int = 0, segmentation: bool = False, smooth_segmentation: bool = False):
        for name, value in (("min_detection_confidence", min_detection_confidence),
                            ("min_tracking_confidence", min_tracking_confidence),
                            ("min_presence_confidence", min_presence_confidence)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if int(max_poses) < 1:
            raise ValueError(f"max_poses must be >= 1, got {max_poses}")
        multi = int(max_poses) > 1
        self._graph = Graph(self.MULTI_GRAPH if multi else self.GRAPH, num_threads=num_threads)
        side = {"use_prev_landmarks": not static_image_mode, "smooth_landmarks": smooth_landmarks,
                "min_detection_confidence": min_detection_confidence,
                "min_tracking_confidence": min_tracking_confidence,
                "min_presence_confidence": min_presence_confidence}
        if landmark_model:
            side["landmark_model"] = landmark_model
        side.update(blazepose_side_packets(model_complexity, segmentation, smooth_segmentation, landmark_model))
        if multi:
            side.pop("smooth_segmentation", None)  # per-person masks are not smoothed (nor in MediaPipe Tasks)
        if multi:
            side["max_poses"] = int(max_poses)
            if detection_interval is not None:
                side["detection_interval"] = int(detection_interval)
        self._side = side
        self._last_ts: int | None = None
        self._index = 0

    def process(self, frame: np.ndarray, timestamp_us: int | None = None, *, bgr: bool = False) -> PoseTrackerResult:
        """Track the pose in one frame. Timestamps (microseconds) must increase; by default frames are 1/30 s
        apart, which is what the smoothing filters assume when an app gives no time."""
        from .calculators.io.images import to_rgb
        from .calculators.types import ImageFrame

        if timestamp_us is None:
            timestamp_us = 0 if self._last_ts is None else self._last_ts + DEFAULT_FRAME_INTERVAL_US
        if not self._graph.started:
            self._graph.start(self._side, synchronous=True)
        image = ImageFrame(to_rgb(np.asarray(frame), bgr=bgr), "frame", self._index)
        outputs = self._graph.process({"image": image}, timestamp=int(timestamp_us))
        self._last_ts = int(timestamp_us)
        self._index += 1
        poses = outputs.get("poses") or []
        if not poses:
            return PoseTrackerResult(None, None, outputs.get("roi"), 0.0, int(timestamp_us), [])
        pose = poses[0]
        return PoseTrackerResult(pose.landmarks, pose.world_landmarks, pose.roi, pose.score, int(timestamp_us),
                                 poses, segmentation_masks(poses))

    def profile(self):
        return self._graph.profile()

    def close(self) -> None:
        if self._graph.started and not self._graph.done:
            self._graph.close(timeout=30)

    def __enter__(self) -> "PoseTracker":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
