"""Helpers for the top-down (PicoDet + PP-TinyPose) tests: the shipped graph, fed frame by frame from Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
GRAPH_FILE = REPO / "graphs" / "tinypose_topdown.pbtxt"
SOURCE_AND_SINKS = ("MediaSourceCalculator", "PoseRendererCalculator", "VideoSinkCalculator",
                    "LandmarksSinkCalculator")

# COCO-17 names in the column order of tfexamples_pose_landmark_truth.csv.
COCO17 = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
          "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
          "left_ankle", "right_ankle")


def openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


needs_openvino = pytest.mark.skipif(not openvino_available(), reason="optional dependency openvino not installed "
                                    "(pip install 'posegraph[openvino]')")


def streaming_config(options: dict[str, dict[str, Any]] | None = None, outputs: tuple[str, ...] = ("poses",)):
    """The shipped graph with its media source and sinks replaced by a graph input stream ``frames``.

    `options` maps a calculator name to option values to override on its node(s), e.g.
    ``{"HeatmapPoseDecodeCalculator": {"method": "argmax"}}``.
    """
    from posegraph.config import parse_graph_text

    config, _ = parse_graph_text(GRAPH_FILE.read_text(encoding="utf-8"), str(GRAPH_FILE))
    nodes = [n for n in config.node if n.calculator not in SOURCE_AND_SINKS]
    del config.node[:]
    config.node.extend(nodes)
    del config.input_side_packet[:]
    del config.output_stream[:]
    config.input_stream.append("frames")
    config.output_stream.extend(outputs)
    for node in config.node:
        for key, value in (options or {}).get(node.calculator, {}).items():
            _, extension = options_message_class_for(node.calculator)
            message = node.options.Extensions[extension]
            setattr(message, key, value)
    return config


def options_message_class_for(calculator_name: str):
    """(message class, CalculatorOptions extension) of a registered calculator's Options."""
    from posegraph import registry
    from posegraph.config.options import options_type

    cls = registry.get(calculator_name)
    kind = options_type(cls.Options)
    return kind.message_class, kind.extension


def load_frame(media: Path, name: str):
    from posegraph.calculators.io.images import read_image
    from posegraph.calculators.types import ImageFrame

    return ImageFrame(read_image(media / name), name)


def truth(media: Path, row: int) -> np.ndarray:
    """17 x 2 pixel keypoints of tfexamples_pose_landmark_truth.csv (row 1 = woman_standing, 2 = man_suit)."""
    table = np.loadtxt(media / "ground_truth" / "tfexamples_pose_landmark_truth.csv", delimiter=",", skiprows=1)
    return table[row - 1].reshape(17, 2)
