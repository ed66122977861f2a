"""The app graphs spell out their media source and sinks (README, design: why not a shared subgraph); this keeps
the nine copies alike: the same side-packet names, and the annotated stream that live mode taps made by a renderer
that the video path enables."""

from __future__ import annotations

import pytest

from posegraph import media_packets as mp
from posegraph.config import parse_graph_text
from posegraph.config.finder import package_graph_dirs


def _app_graphs():
    graphs = []
    for folder in package_graph_dirs():
        for path in sorted(folder.glob("*.pbtxt")):
            config, _ = parse_graph_text(path.read_text(encoding="utf-8"), str(path))
            if any(node.calculator == "MediaSourceCalculator" for node in config.node):
                graphs.append(pytest.param(config, id=path.stem))
    return graphs


def _one(config, calculator: str):
    nodes = [node for node in config.node if node.calculator == calculator]
    assert len(nodes) == 1, f"{len(nodes)} {calculator} nodes"
    return nodes[0]


def _ports(refs) -> dict[str, str]:
    return dict(ref.split(":", 1) for ref in refs)


def test_there_are_nine_app_graphs():
    assert len(_app_graphs()) == 9


@pytest.mark.parametrize("config", _app_graphs())
def test_app_graph_source_and_sinks_are_alike(config):
    source = _one(config, "MediaSourceCalculator")
    assert _ports(source.input_side_packet) == {"INPUT_PATH": mp.INPUT_PATH, "MAX_FRAMES": mp.MAX_FRAMES}
    frames = _ports(source.output_stream)["IMAGE"]
    fps = _ports(source.output_side_packet)["FPS"]

    sink = _one(config, "VideoSinkCalculator")
    assert _ports(sink.input_side_packet) == {"OUTPUT_PATH": mp.OUTPUT_VIDEO_PATH, "FPS": fps}
    renderer = _one(config, "PoseRendererCalculator")
    assert _ports(renderer.output_stream)["IMAGE"] == _ports(sink.input_stream)["IMAGE"]
    assert _ports(renderer.input_stream)["IMAGE"] == frames
    assert _ports(renderer.input_side_packet)["ENABLE"] == mp.OUTPUT_VIDEO_PATH  # no drawing without a video

    landmarks = _one(config, "LandmarksSinkCalculator")
    assert _ports(landmarks.input_side_packet)["OUTPUT_PATH"] == mp.LANDMARKS_PATH
    assert _ports(landmarks.input_stream)["POSES"] == _ports(renderer.input_stream)["POSES"]

    declared = set(config.input_side_packet)
    assert {mp.INPUT_PATH, mp.MAX_FRAMES, mp.OUTPUT_VIDEO_PATH, mp.LANDMARKS_PATH} <= declared
