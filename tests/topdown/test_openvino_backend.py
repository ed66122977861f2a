"""The OpenVINO backend of the inference calculator: the wrapper on the real IR files, its errors, the missing
optional dependency (simulated), and the calculator with both backends and both names."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.inference.openvino_model import OpenVinoMissingError, OpenVinoModel, import_openvino
from posegraph.calculators.inference.tflite_model import (InputTensorError, ModelLoadError, ModelMismatchError,
                                                          TfliteModel)
from posegraph.errors import CalculatorError, GraphConfigError
from posegraph.models import find_spec

from .helpers import needs_openvino

pytestmark = pytest.mark.timeout(120)

DETECTOR = "picodet_pedestrian_192"
POSE = "pp_tinypose_128x96"


def model_path(models: Path, name: str) -> Path:
    return models / find_spec(name).file


@pytest.fixture(scope="module")
def tinypose(models) -> OpenVinoModel:
    pytest.importorskip("openvino")
    return OpenVinoModel(model_path(models, POSE))


# -- the wrapper on the real models ----------------------------------------------------------------------------------
@needs_openvino
@pytest.mark.parametrize("name", [DETECTOR, POSE])
def test_ir_models_match_their_manifest_entries(models, name):
    spec = find_spec(name)
    model = OpenVinoModel(model_path(models, name))
    model.check_shapes(spec.inputs, spec.outputs)  # shapes and dtypes
    assert [t.name for t in model.inputs] == [t.name for t in spec.inputs]
    assert [t.name for t in model.outputs] == [t.name for t in spec.outputs]
    outputs = model.run(*[np.zeros(t.shape, t.dtype) for t in model.inputs])
    assert [o.shape for o in outputs] == [tuple(t.shape) for t in spec.outputs]
    assert [o.dtype for o in outputs] == [np.dtype(t.dtype) for t in spec.outputs]
    assert "openvino" in model.runtime and Path(spec.file).name in repr(model)


@needs_openvino
def test_outputs_are_copies_that_survive_the_next_call(tinypose):
    rng = np.random.default_rng(0)
    first_input = rng.normal(size=(1, 3, 128, 96)).astype(np.float32)
    first = tinypose.run(first_input)
    kept = first[0].copy()
    tinypose.run(rng.normal(size=(1, 3, 128, 96)).astype(np.float32))
    np.testing.assert_array_equal(first[0], kept)
    again = tinypose.run(first_input)
    np.testing.assert_allclose(again[0], kept, rtol=1e-5, atol=1e-6)  # deterministic
    assert np.array_equal(again[1], again[0].reshape(17, -1).argmax(axis=1)[None])  # the model's own argmax output


@needs_openvino
def test_wrong_inputs_are_refused_before_inference(tinypose):
    with pytest.raises(InputTensorError, match="expects dtype float32"):
        tinypose.run(np.zeros((1, 3, 128, 96), np.float64))
    with pytest.raises(InputTensorError, match=r"expects shape \[1, 3, 128, 96\]"):
        tinypose.run(np.zeros((1, 128, 96, 3), np.float32))
    with pytest.raises(InputTensorError, match="has 1 input"):
        tinypose.run()
    with pytest.raises(ModelMismatchError) as info:
        tinypose.check_shapes([(1, 3, 256, 192)], [(1, 17, 64, 48), (1, 17)])
    assert "input 0 'image'" in str(info.value) and "output 0" in str(info.value)


@needs_openvino
def test_f32_is_the_default_precision_and_bf16_can_be_asked_for(models):
    default = OpenVinoModel(model_path(models, POSE))
    assert default.precision == "f32"
    assert default._compiled.get_property("INFERENCE_PRECISION_HINT").to_string() == "f32"
    with pytest.raises(ValueError, match="precision"):
        OpenVinoModel(model_path(models, POSE), precision="int4")
    with pytest.raises(ValueError, match="num_threads"):
        OpenVinoModel(model_path(models, POSE), num_threads=0)


# -- damaged files ---------------------------------------------------------------------------------------------------
@needs_openvino
def test_damaged_ir_files_are_reported_with_their_names(models, tmp_path):
    source = model_path(models, POSE)
    lonely = tmp_path / "lonely.xml"
    shutil.copyfile(source, lonely)
    with pytest.raises(ModelLoadError, match=r"weights file lonely\.bin is missing"):
        OpenVinoModel(lonely)

    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        OpenVinoModel(empty)

    not_ir = tmp_path / "not_ir.xml"
    not_ir.write_bytes(b"<html><body>404</body></html>")
    not_ir.with_suffix(".bin").write_bytes(b"\0" * 16)
    with pytest.raises(ModelLoadError, match="not an OpenVINO IR"):
        OpenVinoModel(not_ir)

    truncated = tmp_path / "truncated.xml"  # unknown to the manifest: OpenVINO's own error, with the file named
    shutil.copyfile(source, truncated)
    truncated.with_suffix(".bin").write_bytes(source.with_suffix(".bin").read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="truncated.xml cannot be read"):
        OpenVinoModel(truncated)

    known = tmp_path / source.name  # a manifest file: its .bin size is checked before OpenVINO sees it
    shutil.copyfile(source, known)
    known.with_suffix(".bin").write_bytes(source.with_suffix(".bin").read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="has 1000 bytes but the manifest expects 2600722"):
        OpenVinoModel(known)

    with pytest.raises(ModelLoadError, match="give the .xml"):
        OpenVinoModel(models / "movenet_singlepose_lightning_int8.tflite")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        OpenVinoModel(tmp_path / "missing.xml")


# -- the optional dependency -----------------------------------------------------------------------------------------
def test_missing_openvino_raises_an_import_error_with_the_install_command(models, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # makes `import openvino` raise ImportError
    with pytest.raises(OpenVinoMissingError) as info:
        import_openvino()
    assert isinstance(info.value, ImportError)
    assert "pip install 'posegraph[openvino]'" in str(info.value)
    with pytest.raises(OpenVinoMissingError, match=r"posegraph\[openvino\]"):
        OpenVinoModel(model_path(models, POSE))


def test_missing_openvino_fails_the_graph_at_start_naming_the_node(models, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    graph = Graph("""
        input_stream: "in"  output_stream: "out"
        node { calculator: "InferenceCalculator" name: "pose_model" input_stream: "TENSORS:in"
               output_stream: "TENSORS:out"
               options { [posegraph.InferenceOptions.ext] { backend: "openvino" model: "pp_tinypose_128x96" } } }
    """)
    with pytest.raises(CalculatorError) as info:
        graph.start()
    assert "node 'pose_model' failed in open(): OpenVinoMissingError" in str(info.value)
    assert "pip install 'posegraph[openvino]'" in str(info.value)
    assert isinstance(info.value.__cause__, OpenVinoMissingError)


# -- the calculator --------------------------------------------------------------------------------------------------
def run_inference(calculator: str, options: str, inputs: list[np.ndarray]) -> list[np.ndarray]:
    message = "InferenceOptions" if calculator == "InferenceCalculator" else "TfliteInferenceOptions"
    graph = Graph(f"""
        input_stream: "in"  output_stream: "out"
        node {{ calculator: "{calculator}" input_stream: "TENSORS:in" output_stream: "TENSORS:out"
               options {{ [posegraph.{message}.ext] {{ {options} }} }} }}
    """)
    out = graph.process({"in": inputs})["out"]
    graph.close()
    return out


@needs_openvino
def test_inference_calculator_runs_openvino_like_the_wrapper(models):
    rng = np.random.default_rng(1)
    tensor = rng.normal(size=(1, 3, 128, 96)).astype(np.float32)
    expected = OpenVinoModel(model_path(models, POSE)).run(tensor)
    options = 'backend: "openvino" model: "pp_tinypose_128x96" input_shapes: "1x3x128x96" output_shapes: "1x17x32x24"'
    for calculator in ("InferenceCalculator", "TfliteInferenceCalculator"):
        got = run_inference(calculator, options + ' output_shapes: "1x17"', [tensor])
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got[1], expected[1])


def test_tflite_stays_the_default_backend_under_both_names(models):
    image = np.random.default_rng(2).integers(0, 256, size=(1, 192, 192, 3)).astype(np.uint8)
    expected = TfliteModel(models / "movenet_singlepose_lightning_int8.tflite").run(image)
    for calculator in ("TfliteInferenceCalculator", "InferenceCalculator"):
        got = run_inference(calculator, 'model: "movenet_lightning_int8" output_shapes: "1x1x17x3"', [image])
        np.testing.assert_array_equal(got[0], expected[0])


@needs_openvino
def test_a_model_that_does_not_fit_the_node_is_refused_at_start(models):
    graph = Graph("""
        input_stream: "in"  output_stream: "out"
        node { calculator: "InferenceCalculator" name: "detector" input_stream: "TENSORS:in"
               output_stream: "TENSORS:out"
               options { [posegraph.InferenceOptions.ext] { backend: "openvino" model: "picodet_pedestrian_192"
                                                           input_shapes: "1x3x320x320" } } }
    """)
    with pytest.raises(Exception) as info:
        graph.start()
    assert "detector" in str(info.value) and "320" in str(info.value)


@pytest.mark.parametrize("options, message", [
    ('backend: "onnx" model: "x"', "backend must be one of"),
    ('backend: "openvino" model: "x" precision: "fp8"', "precision must be one of"),
    ('model: "x" device: "GPU"', "CPU only"),
])
def test_bad_backend_options_are_graph_file_errors(options, message):
    with pytest.raises(GraphConfigError, match=message):
        Graph(f"""
            input_stream: "in"  output_stream: "out"
            node {{ calculator: "InferenceCalculator" input_stream: "TENSORS:in" output_stream: "TENSORS:out"
                   options {{ [posegraph.InferenceOptions.ext] {{ {options} }} }} }}
        """)


@pytest.mark.parametrize("backend, model, hint", [
    ("tflite", "pp_tinypose_128x96", 'set backend: "openvino"'),
    ("openvino", "movenet_lightning_int8", 'set backend: "tflite"'),
])
def test_a_model_of_the_other_format_names_the_right_backend(models, backend, model, hint):
    graph = Graph(f"""
        input_stream: "in"  output_stream: "out"
        node {{ calculator: "InferenceCalculator" input_stream: "TENSORS:in" output_stream: "TENSORS:out"
               options {{ [posegraph.InferenceOptions.ext] {{ backend: "{backend}" model: "{model}" }} }} }}
    """)
    with pytest.raises(Exception) as info:
        graph.start()
    assert hint in str(info.value)
