"""A hand-written, sequential BlazePose (MediaPipe Pose, 2021 lite) pipeline: the baseline and verification harness.

It chains the pure functions of `posegraph.calculators` in the order of MediaPipe Tasks' PoseLandmarker graphs
(`pose_landmarker_graph.cc`, `pose_detector_graph.cc`, `pose_landmarks_detector_graph.cc`), with one LiteRT
interpreter per model and no graph runtime, so a benchmark can compare the graph against plain Python and the
accuracy harness (`compare_mediapipe.py`) can compare both against MediaPipe's own outputs.

Per frame:

1. ROI: in tracking mode the previous frame's ROI (from its raw auxiliary landmarks); else the detector:
   224x224 letterboxed crop in [-1, 1] -> 2254 anchors decoded (sigmoid, clip 100, score >= 0.5) -> weighted NMS
   (IoU 0.5 in Tasks, 0.3 in the legacy graph) -> letterbox removal -> ROI from keypoints 0/1 (90 degrees, x1.25,
   square_long). Tasks stream mode passes detector ROIs through the IoU association (min_tracking_confidence)
   before keeping the first.
2. Landmarks: 256x256 crop of the ROI in [0, 1] (replicate border) -> presence flag >= 0.5 else "no pose" (and
   tracking is lost) -> 39 landmarks (sigmoid visibility/presence) -> heatmap refinement (kernel 7) -> projection
   through the ROI; world landmarks rotated by the ROI rotation; next ROI from auxiliary landmarks 33/34.
3. Tracking mode only: smoothing (visibility low-pass 0.1, One Euro 0.05/80/1 with the next ROI as object scale;
   world One Euro 0.1/40/1), reset when a frame has no pose.

Static-image mode = MediaPipe IMAGE mode: detector on every frame, no smoothing.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from posegraph.calculators.detection.anchors import generate_anchors, pose_detection_anchor_options
from posegraph.calculators.detection.kernels import (decode_boxes, pose_detection_decode_options,
                                                     weighted_non_max_suppression)
from posegraph.calculators.detection.roi import (associate_rects, detection_letterbox_removal,
                                                 pose_roi_from_detection, rows_to_detections)
from posegraph.calculators.image.transforms import WarpBackend, image_to_tensor
from posegraph.calculators.landmarks.kernels import (decode_landmarks, decode_world_landmarks, landmarks_to_roi,
                                                     project_landmarks, project_world_landmarks,
                                                     refine_landmarks_from_heatmap)
from posegraph.calculators.landmarks.smoothing import LEGACY_POSE, TASKS_POSE, PoseLandmarkSmoother
from posegraph.calculators.types import Detection, NormalizedRect, Pose

__all__ = ["BlazePoseLoop", "DEFAULT_DETECTOR", "DEFAULT_LANDMARKER", "FrameTrace", "load_interpreter"]

_SHARED_MODELS = Path(os.environ.get("POSEGRAPH_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")) / "models"
DEFAULT_DETECTOR = _SHARED_MODELS / "blazepose_pose_detection.tflite"
DEFAULT_LANDMARKER = _SHARED_MODELS / "blazepose_pose_landmark_lite.tflite"

NUM_POSE_LANDMARKS = 33
TOPOLOGY = "blazepose33"


def _threshold(value: float) -> float:
    """A float proto option as the double MediaPipe compares against."""
    return float(np.float32(value))


def load_interpreter(path: str | Path, num_threads: int = 1) -> Any:
    """One LiteRT interpreter for `path`, tensors allocated (ai-edge-litert, else tflite-runtime)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - fallback for numpy<2 installs
        from tflite_runtime.interpreter import Interpreter
    interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter


@dataclass
class FrameTrace:
    """What happened on the last frame (for debugging and benchmarks)."""

    ran_detector: bool = False
    detections: list[Detection] = field(default_factory=list)
    roi: NormalizedRect | None = None
    presence: float = 0.0
    next_roi: NormalizedRect | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


class BlazePoseLoop:
    """Sequential BlazePose: `process(rgb, timestamp_us) -> Pose | None`.

    `static_image_mode=True` runs the detector on every frame (MediaPipe IMAGE mode); otherwise the previous frame's
    ROI is tracked and, with `smooth=True`, landmarks are filtered (MediaPipe VIDEO mode). `flavour` picks the
    Tasks graphs (the reference) or the legacy 2021 pbtxt graphs (NMS IoU 0.3, tracking lost below
    `min_tracking_confidence`, ROI from filtered auxiliary landmarks).
    """

    def __init__(self, detector_path: str | Path = DEFAULT_DETECTOR, landmark_path: str | Path = DEFAULT_LANDMARKER,
                 *, static_image_mode: bool = False, smooth: bool = True, num_threads: int = 1,
                 min_detection_confidence: float = 0.5, min_presence_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, flavour: Literal["tasks", "legacy"] = "tasks",
                 warp_backend: WarpBackend = "classic") -> None:
        self.static_image_mode = static_image_mode
        self.smooth = smooth and not static_image_mode
        self.min_detection_confidence = min_detection_confidence
        self.min_presence_confidence = min_presence_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.flavour = flavour
        self.warp_backend: WarpBackend = warp_backend
        self.nms_iou = 0.5 if flavour == "tasks" else 0.3

        self._det = load_interpreter(detector_path, num_threads)
        self._lmk = load_interpreter(landmark_path, num_threads)
        self._det_in = self._det.get_input_details()[0]["index"]
        self._lmk_in = self._lmk.get_input_details()[0]["index"]
        det_out = self._det.get_output_details()
        self._det_boxes = next(d["index"] for d in det_out if d["shape"][-1] == 12)
        self._det_scores = next(d["index"] for d in det_out if d["shape"][-1] == 1)
        by_size = {int(np.prod(d["shape"])): d["index"] for d in self._lmk.get_output_details()}
        self._lm_raw, self._lm_flag = by_size[195], by_size[1]
        self._lm_heatmap, self._lm_world = by_size[64 * 64 * 39], by_size[117]

        self._anchors = generate_anchors(pose_detection_anchor_options())
        self._decode_opts = pose_detection_decode_options(min_detection_confidence)
        self._smoother = PoseLandmarkSmoother(TASKS_POSE if flavour == "tasks" else LEGACY_POSE)
        self._prev_roi: NormalizedRect | None = None
        self.trace = FrameTrace()

    def reset(self) -> None:
        """Forget tracking and smoothing state (start of a new video)."""
        self._prev_roi = None
        self._smoother.reset()

    def warm_up(self) -> None:
        """Load (or compile) every kernel and run each model once, so that timings exclude one-off costs."""
        blank = np.zeros((64, 48, 3), dtype=np.uint8)
        self.detect(blank)
        roi = NormalizedRect(0.5, 0.5, 1.0, 0.75, 0.1)
        self.landmarks(blank, roi)
        lms = decode_landmarks(np.zeros(195, np.float32))
        lms = refine_landmarks_from_heatmap(lms, np.zeros((64, 64, 39), np.float32))
        projected = project_landmarks(lms, roi)
        world = project_world_landmarks(decode_world_landmarks(np.zeros(117, np.float32)), roi)
        next_roi = landmarks_to_roi(projected[33:35] + np.float32([[0, 0, 0, 0, 0], [0, -0.1, 0, 0, 0]]), 48, 64)
        self._smoother.smooth_landmarks(projected[:33], 48, 64, 0, next_roi)
        self._smoother.smooth_world(world[:33], 0)
        self._smoother.smooth_auxiliary(projected[33:35], 48, 64, 0)
        self.reset()

    # -- stages -----------------------------------------------------------------------------------------------

    def detect(self, rgb: np.ndarray) -> tuple[list[Detection], list[NormalizedRect]]:
        """Detector pass on the whole image: detections (image-normalised) and their expanded ROIs."""
        h, w = rgb.shape[:2]
        buf = self._det.tensor(self._det_in)()[0]
        padding = image_to_tensor(rgb, None, 224, 224, keep_aspect_ratio=True, value_range=(-1.0, 1.0),
                                  border="zero", backend=self.warp_backend, out=buf).padding
        del buf  # LiteRT refuses to invoke while a view of its buffers is alive
        self._det.invoke()
        raw_boxes = self._det.get_tensor(self._det_boxes)
        raw_scores = self._det.get_tensor(self._det_scores)
        rows, scores, _ = decode_boxes(raw_boxes, raw_scores, self._anchors, self._decode_opts)
        rows, scores = weighted_non_max_suppression(rows, scores, self.nms_iou)
        rows = detection_letterbox_removal(rows, padding)
        detections = rows_to_detections(rows, scores)
        rects = [pose_roi_from_detection(d, w, h) for d in detections]
        return detections, rects

    def landmarks(self, rgb: np.ndarray, roi: NormalizedRect) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Landmark pass on `roi`: (presence, 33 x 5 landmarks, 33 x 3 world landmarks, 2 x 5 auxiliary)."""
        buf = self._lmk.tensor(self._lmk_in)()[0]
        image_to_tensor(rgb, roi, 256, 256, keep_aspect_ratio=False, value_range=(0.0, 1.0), border="replicate",
                        backend=self.warp_backend, out=buf)
        del buf
        self._lmk.invoke()
        presence = float(self._lmk.get_tensor(self._lm_flag).reshape(-1)[0])
        if not presence > _threshold(self.min_presence_confidence):
            empty = np.zeros((0, 5), dtype=np.float32)
            return presence, empty, np.zeros((0, 3), dtype=np.float32), empty
        lms = decode_landmarks(self._lmk.get_tensor(self._lm_raw), 39, 256, 256)
        lms = refine_landmarks_from_heatmap(lms, self._lmk.get_tensor(self._lm_heatmap), kernel_size=7)
        # Landmark letterbox removal is the identity here (no keep_aspect_ratio for the square landmark ROI).
        projected = project_landmarks(lms, roi)
        world = decode_world_landmarks(self._lmk.get_tensor(self._lm_world), 39)[:NUM_POSE_LANDMARKS]
        world = project_world_landmarks(world, roi)
        return presence, projected[:NUM_POSE_LANDMARKS], world, projected[NUM_POSE_LANDMARKS:NUM_POSE_LANDMARKS + 2]

    # -- the loop ---------------------------------------------------------------------------------------------

    def process(self, rgb: np.ndarray, timestamp_us: int = 0) -> Pose | None:
        """Run one RGB uint8 frame; returns the pose or None (no detection, or presence below threshold)."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] < 3:
            raise ValueError("expected an H x W x 3 RGB uint8 image")
        h, w = rgb.shape[:2]
        trace = FrameTrace()
        self.trace = trace
        t0 = time.perf_counter()
        roi = None if self.static_image_mode else self._prev_roi
        if roi is None:
            trace.ran_detector = True
            detections, rects = self.detect(rgb)
            trace.detections = detections
            if not self.static_image_mode and self.flavour == "tasks":
                rects = associate_rects([[], rects], self.min_tracking_confidence)
            roi = rects[0] if rects else None
        t1 = time.perf_counter()
        trace.timings_ms["detector"] = (t1 - t0) * 1e3
        if roi is None:
            self._lost()
            return None
        trace.roi = roi
        presence, lms, world, aux = self.landmarks(rgb, roi)
        trace.presence = presence
        t2 = time.perf_counter()
        trace.timings_ms["landmarks"] = (t2 - t1) * 1e3
        threshold = _threshold(self.min_presence_confidence)
        if self.flavour == "legacy" and not self.static_image_mode and not trace.ran_detector:
            threshold = max(threshold, _threshold(self.min_tracking_confidence))
        # ThresholdingCalculator: pose present iff double(presence) > threshold.
        if not presence > threshold or lms.shape[0] == 0:
            self._lost()
            return None

        raw_aux = aux
        if self.smooth:
            if self.flavour == "legacy":
                aux = self._smoother.smooth_auxiliary(aux, w, h, timestamp_us)
            next_roi = landmarks_to_roi(aux if self.flavour == "legacy" else raw_aux, w, h)
            lms = self._smoother.smooth_landmarks(lms, w, h, timestamp_us, next_roi)
            world = self._smoother.smooth_world(world, timestamp_us)
        else:
            next_roi = landmarks_to_roi(raw_aux, w, h)
        trace.next_roi = next_roi
        if not self.static_image_mode:
            self._prev_roi = next_roi
        trace.timings_ms["post"] = (time.perf_counter() - t2) * 1e3
        return Pose(landmarks=lms, topology=TOPOLOGY, score=presence, world_landmarks=world, roi=roi,
                    extras={"auxiliary_landmarks": raw_aux, "next_roi": next_roi,
                            "detection": trace.detections[0] if trace.detections else None})

    def _lost(self) -> None:
        self._prev_roi = None
        self._smoother.reset()
