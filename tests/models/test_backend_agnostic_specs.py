"""Decoders and crops size and check themselves against the tensor specs the inference node publishes, whatever
its backend: the MoveNet pipeline runs unchanged behind OpenVINO given an IR with the same tensors (converted from
the shipped .tflite in the test), and never opens the model as TFLite there."""

from __future__ import annotations

import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.inference import specs as specs_module
from posegraph.calculators.inference.base import ModelMismatchError
from posegraph.calculators.inference.tflite_model import TfliteModel
from posegraph.calculators.io.images import read_image
from posegraph.calculators.types import ImageFrame
from posegraph.errors import CalculatorError

pytestmark = pytest.mark.timeout(120)

TFLITE = "movenet_singlepose_lightning_int8.tflite"

PIPELINE = """
input_stream: "frames"  input_side_packet: "model"  output_stream: "poses"
node { calculator: "ImageToTensorCalculator" input_stream: "IMAGE:frames" input_side_packet: "MODEL:model"
       output_stream: "TENSORS:tensors" output_stream: "MATRIX:matrix"
       options { [posegraph.ImageToTensorOptions.ext] { range_min: 0 range_max: 255 keep_aspect_ratio: false
                                                        border_mode: ZERO } } }
node { calculator: "InferenceCalculator" name: "infer" input_stream: "TENSORS:tensors" input_side_packet: "MODEL:model"
       output_stream: "TENSORS:outputs" output_side_packet: "SPECS:specs"
       options { [posegraph.InferenceOptions.ext] { backend: "%s" } } }
node { calculator: "MoveNetDecoderCalculator" name: "decoder" input_stream: "TENSORS:outputs"
       input_stream: "MATRIX:matrix" input_side_packet: "MODEL:model" output_stream: "POSES:poses" }
"""


@pytest.fixture(scope="module")
def movenet_ir(models, tmp_path_factory):
    ov = pytest.importorskip("openvino")
    path = tmp_path_factory.mktemp("ir") / "movenet_lightning.xml"
    ov.save_model(ov.Core().read_model(str(models / TFLITE)), str(path))
    return path


def run(backend: str, model, image: np.ndarray):
    graph = Graph(PIPELINE % backend)
    poses = []
    graph.observe_output("poses", lambda p: poses.append(p.value))
    graph.start({"model": str(model)})
    graph.add_packet("frames", ImageFrame(image), 0)
    graph.close()
    return poses[0]


def test_movenet_runs_unchanged_behind_openvino(models, media, movenet_ir, monkeypatch):
    image = read_image(media / "fitness_squat.bmp")
    expected = run("tflite", models / TFLITE, image)
    assert len(expected) == 1

    def no_tflite(*args, **kwargs):
        raise AssertionError("a node opened the model as TFLite behind the OpenVINO backend")

    monkeypatch.setattr(TfliteModel, "__init__", no_tflite)
    got = run("openvino", movenet_ir, image)
    assert len(got) == 1
    # The int8 model runs through OpenVINO's own (dequantised) kernels: keypoints differ by a few steps of the
    # int8 output's quantisation (0.0041 here) at most, typically by none or one; no keypoint is swapped or lost.
    diff = np.abs(got[0].landmarks[:, :2] - expected[0].landmarks[:, :2])
    print("max keypoint difference (normalised):", diff.max(), "scores:", got[0].score, expected[0].score)
    assert diff.max() < 0.025 and np.median(diff) <= 0.0042
    assert abs(got[0].score - expected[0].score) < 0.1


def test_the_published_specs_describe_the_model_for_any_backend(models, movenet_ir):
    tflite = specs_module.model_specs(models / TFLITE)
    ir = specs_module.model_specs(movenet_ir)
    assert tflite.kind == "TFLite model" and ir.kind == "OpenVINO model"
    for specs in (tflite, ir):
        assert [t.shape for t in specs.inputs] == [(1, 192, 192, 3)]
        assert [t.dtype for t in specs.inputs] == [np.uint8]
        assert [t.shape for t in specs.outputs] == [(1, 1, 17, 3)]


def test_a_decoder_refuses_a_model_with_other_tensors_whatever_the_backend(models, media, movenet_ir):
    graph = Graph("""
        input_stream: "t"  input_stream: "m"  input_side_packet: "model"  output_stream: "poses"
        node { calculator: "MoveNetDecoderCalculator" name: "decoder" input_stream: "TENSORS:t"
               input_stream: "MATRIX:m" input_side_packet: "MODEL:model" output_stream: "POSES:poses" }
    """)
    with pytest.raises((CalculatorError, ModelMismatchError)) as info:
        graph.start({"model": str(models / "openpose_mobilenet_v2_dm10_368x432_weight_quant.tflite")})
    assert "decoder" in str(info.value) and "[1, 1, 17, 3]" in str(info.value)
