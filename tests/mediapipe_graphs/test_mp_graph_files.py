"""MediaPipe's pose graph files load unchanged: options with MediaPipe's extension names and Any type URLs,
subgraphs found in the mediapipe/ tree, MediaPipe's tags; problems reported all at once."""

from __future__ import annotations

import pytest

from posegraph.config import GraphConfigError, load_graph
from posegraph.config.parse import parse_graph_text_collecting

# every pose graph file the issue names, relative to ../shared/mediapipe_graphs/mediapipe
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


@pytest.mark.parametrize("relative", POSE_GRAPH_FILES)
def test_each_pose_graph_file_validates_unchanged(mp_graphs, relative):
    spec = load_graph(mp_graphs / relative)
    assert spec.nodes


def test_pose_landmark_cpu_uses_mediapipe_subgraphs_and_dialects(mp_graphs):
    spec = load_graph(mp_graphs / "modules/pose_landmark/pose_landmark_cpu.pbtxt")
    assert spec.input_streams == ["image"]
    assert {"model_complexity", "smooth_landmarks", "use_prev_landmarks"} <= set(spec.input_side_packets)
    by_name = {n.name: n for n in spec.nodes}
    # subgraphs come from the mediapipe/ tree, not from posegraph's own graphs of the same type
    assert "PoseDetectionCpu/SsdAnchorsCalculator" in by_name
    nms = by_name["PoseDetectionCpu/NonMaxSuppressionCalculator"]
    assert nms.options.min_suppression_threshold == pytest.approx(0.3)
    assert nms.options.algorithm.name == "WEIGHTED"
    loader = by_name["PoseLandmarkByRoiCpu/PoseLandmarkModelLoader/SwitchContainer"]
    assert loader.options.select == 1 and len(loader.options.contained_node) == 3
    assert "PACKET" in loader.calculator_class.contract.output_side_packets
    smoothing = by_name["PoseLandmarkFiltering/SwitchContainer_2"]
    assert {"NORM_LANDMARKS", "IMAGE_SIZE", "OBJECT_SCALE_ROI"} <= set(smoothing.calculator_class.contract.inputs)
    itt = by_name["PoseDetectionCpu/ImageToTensorCalculator"]
    assert itt.options.border_mode.name == "BORDER_ZERO"


def test_posegraph_dialect_of_the_same_calculators_is_unchanged():
    spec = load_graph("pose_tracking_cpu")  # posegraph's own graph: posegraph's options and tags
    names = {n.calculator for n in spec.nodes}
    assert "NonMaxSuppressionCalculator" in names and "TensorsToLandmarksCalculator" in names


BROKEN = """
input_stream: "image"
node {
  calculator: "RecolourCalculator"
  input_stream: "IMAGE:image"
  output_stream: "IMAGE:out"
  options { [mediapipe.RecolourCalculatorOptions.ext] { color { r: 1 } } }
}
node {
  calculator: "GateCalculator"
  input_stream: "image"
  output_stream: "gated"
  options { [mediapipe.GateCalculatorOptions.ext] { allow: true } }
  node_options { [type.googleapis.com/mediapipe.NoSuchOptions] { x: 1 } }
}
node {
  calculator: "TfLiteInferenceCalculator"
  input_stream: "TENSORS:gated"
  output_stream: "TENSORS:t"
}
"""


def test_unknown_options_do_not_stop_the_loader_and_names_map_to_posegraph():
    config, _, issues = parse_graph_text_collecting(BROKEN, "broken.pbtxt")
    assert len(config.node) == 3 and len(issues) == 2
    with pytest.raises(GraphConfigError) as err:
        load_graph(BROKEN)
    text = str(err.value)
    assert "mediapipe.RecolourCalculatorOptions" in text and "mediapipe.NoSuchOptions" in text
    assert "unknown calculator 'RecolourCalculator'" in text and "RecolorCalculator" in text
    # MediaPipe names posegraph knows under another name are suggested first
    assert "unknown calculator 'TfLiteInferenceCalculator'; did you mean InferenceCalculator" in text


def test_without_options_the_tags_choose_mediapipes_dialect():
    spec = load_graph("""
input_stream: "frames"
input_stream: "detections"
input_side_packet: "max_in_flight"
node {
  calculator: "FlowLimiterCalculator"
  input_stream: "frames"
  input_stream: "FINISHED:done"
  input_stream_info { tag_index: "FINISHED" back_edge: true }
  input_side_packet: "MAX_IN_FLIGHT:max_in_flight"
  output_stream: "limited"
}
node { calculator: "PassThroughCalculator" input_stream: "limited" output_stream: "done" }
node { calculator: "NonMaxSuppressionCalculator" input_stream: "detections" output_stream: "kept" }
""")
    classes = {n.calculator: n.calculator_class for n in spec.nodes}
    assert "MAX_IN_FLIGHT" in classes["FlowLimiterCalculator"].contract.input_side_packets
    assert "" in classes["NonMaxSuppressionCalculator"].contract.inputs
    # posegraph's own spelling keeps posegraph's class
    spec = load_graph('input_stream: "d"\nnode { calculator: "NonMaxSuppressionCalculator" '
                      'input_stream: "DETECTIONS:d" output_stream: "DETECTIONS:k" }')
    assert "DETECTIONS" in spec.nodes[0].calculator_class.contract.inputs
