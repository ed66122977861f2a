"""MediaPipe's own graph files are test data in ../shared/mediapipe_graphs (never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))

GRAPHS = SHARED / "mediapipe_graphs" / "mediapipe"
LEGACY = SHARED / "reference" / "mediapipe_legacy"

POSE_GRAPH_FILES = [
    "modules/pose_detection/pose_detection_cpu.pbtxt",
    "modules/pose_landmark/pose_landmark_cpu.pbtxt",
    "modules/pose_landmark/pose_landmark_by_roi_cpu.pbtxt",
    "modules/pose_landmark/pose_landmark_filtering.pbtxt",
    "modules/pose_landmark/pose_landmark_model_loader.pbtxt",
    "modules/pose_landmark/pose_landmarks_to_roi.pbtxt",
    "modules/pose_landmark/pose_detection_to_roi.pbtxt",
    "modules/pose_landmark/tensors_to_pose_landmarks_and_segmentation.pbtxt",
    "modules/pose_landmark/pose_landmarks_and_segmentation_inverse_projection.pbtxt",
    "modules/pose_landmark/pose_segmentation_filtering.pbtxt",
    "graphs/pose_tracking/pose_tracking_cpu.pbtxt",
    "graphs/pose_tracking/subgraphs/pose_renderer_cpu.pbtxt",
]


@pytest.fixture(scope="session")
def mp_graphs(shared) -> Path:
    if not GRAPHS.is_dir():
        pytest.skip(f"MediaPipe's graph files not found at {GRAPHS}")
    return GRAPHS


@pytest.fixture(scope="session")
def legacy(shared) -> Path:
    if not LEGACY.is_dir():
        pytest.skip(f"legacy MediaPipe reference not found at {LEGACY}")
    return LEGACY
