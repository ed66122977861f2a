"""TfliteModel on the real shared models, and its errors for damaged files and wrong inputs."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from posegraph.calculators.inference.tflite_model import (
    InputTensorError,
    ModelLoadError,
    ModelMismatchError,
    TensorSpec,
    TfliteModel,
    TfliteRuntimeMissingError,
)
from posegraph.models import find_spec, load_manifest

pytestmark = pytest.mark.timeout(60)

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
MODELS = SHARED / "models"
MEDIA = SHARED / "media"
if not MODELS.is_dir():
    pytest.skip(f"shared models not found at {MODELS} (expected ../shared beside the checkout, or set "
                "POSEGRAPH_SHARED)", allow_module_level=True)

DETECTOR = MODELS / "blazepose_pose_detection.tflite"


@pytest.fixture(scope="module")
def detector() -> TfliteModel:
    return TfliteModel(DETECTOR)


def test_detector_tensors_match_the_manifest(detector):
    spec = find_spec("blazepose_detector")
    assert detector.runtime in ("ai_edge_litert", "tflite_runtime")
    assert [t.name for t in detector.inputs] == ["input_1"]
    assert [t.shape for t in detector.inputs] == [(1, 224, 224, 3)]
    assert [t.name for t in detector.outputs] == ["Identity", "Identity_1"]
    assert [t.shape for t in detector.outputs] == list(spec.output_shapes)
    assert all(t.dtype == np.float32 and not t.quantized for t in detector.inputs + detector.outputs)
    assert isinstance(detector.inputs[0], TensorSpec)
    detector.check_shapes(spec.inputs, spec.outputs)
    detector.check_shapes([(1, 224, 224, 3)], [(1, -1, 12), (1, 2254, 1)])
    assert "blazepose_pose_detection.tflite" in repr(detector)


@pytest.mark.parametrize("name", [n for n, s in load_manifest().items() if s.format == "tflite" and not s.custom_ops])
def test_every_runnable_tflite_model_matches_its_manifest_entry(name):
    spec = find_spec(name)
    model = TfliteModel(MODELS / spec.file)
    model.check_shapes(spec.inputs, spec.outputs)
    for want, have in zip(spec.inputs + spec.outputs, model.inputs + model.outputs):
        assert have.name == want.name
        if want.quant_scale is not None:
            assert have.quant_scale == pytest.approx(want.quant_scale, rel=1e-6)
            assert have.quant_zero_point == want.quant_zero_point
    outputs = model.run(*[np.zeros(t.shape, t.dtype) for t in model.inputs])
    assert [o.shape for o in outputs] == list(spec.output_shapes)


def test_detector_finds_the_person_in_a_real_photo(detector):
    """Letterbox to 224, scale to [-1, 1]: the best anchor's score is high (0.984 per the model manifest)."""
    image = cv2.cvtColor(cv2.imread(str(MEDIA / "yoga_warrior2_beach.jpg")), cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    scale = 224 / max(h, w)
    resized = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((224, 224, 3), np.uint8)
    top, left = (224 - resized.shape[0]) // 2, (224 - resized.shape[1]) // 2
    canvas[top:top + resized.shape[0], left:left + resized.shape[1]] = resized
    tensor = (canvas.astype(np.float32) / 127.5 - 1.0)[None]
    boxes, logits = detector.run(tensor)
    assert boxes.shape == (1, 2254, 12) and logits.shape == (1, 2254, 1)
    assert 1 / (1 + np.exp(-logits.max())) > 0.9


def test_outputs_are_copies_that_survive_the_next_run(detector):
    first = detector.run(np.zeros((1, 224, 224, 3), np.float32))
    kept = [o.copy() for o in first]
    detector.run(np.ones((1, 224, 224, 3), np.float32))
    for a, b in zip(first, kept):
        assert np.array_equal(a, b)
        assert a.flags.writeable and a.flags.owndata


def test_non_contiguous_input_is_accepted(detector):
    base = np.zeros((1, 224, 448, 3), np.float32)
    view = base[:, :, ::2]
    assert not view.flags.c_contiguous
    assert detector.run(view)[0].shape == (1, 2254, 12)


def test_wrong_inputs_name_the_tensor_and_both_shapes(detector):
    with pytest.raises(InputTensorError, match=r"'input_1' expects dtype float32, got float64"):
        detector.run(np.zeros((1, 224, 224, 3)))
    with pytest.raises(InputTensorError, match=r"'input_1' expects shape \[1, 224, 224, 3\].*got \[1, 256, 256, 3\]"):
        detector.run(np.zeros((1, 256, 256, 3), np.float32))
    with pytest.raises(InputTensorError, match=r"has 1 input\(s\).*got 2 array\(s\)"):
        detector.run(np.zeros((1, 224, 224, 3), np.float32), np.zeros(1, np.float32))


def test_check_shapes_reports_expected_and_actual(detector):
    landmark = find_spec("blazepose_landmark_lite")
    with pytest.raises(ModelMismatchError) as info:
        detector.check_shapes(landmark.inputs, landmark.outputs)
    text = str(info.value)
    assert "blazepose_pose_detection.tflite" in text
    assert "expected shape [1, 256, 256, 3], actual [1, 224, 224, 3]" in text
    assert "5 output(s) expected, the model has 2" in text
    with pytest.raises(ModelMismatchError, match=r"output 1 'Identity_1': expected shape \[1, 2254, 2\]"):
        detector.check_shapes(None, [(1, 2254, 12), (1, 2254, 2)])


def test_dynamic_batch_dimension_is_resized_on_demand():
    classifier = TfliteModel(MODELS / "pose_classifier_yoga.tflite")
    assert classifier.inputs[0].shape_signature == (-1, 51)
    batch = np.random.default_rng(0).uniform(1.0, 300.0, (4, 51)).astype(np.float32)  # pixel-scale y, x, score
    (probs,) = classifier.run(batch)
    assert probs.shape == (4, 5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # Back to batch 1 gives what a fresh interpreter gives. (Not row 2 of the batch: this model's graph is not
    # batch-independent although it declares a dynamic batch, so classify one sample per run.)
    (single,) = classifier.run(batch[2:3])
    assert single.shape == (1, 5)
    np.testing.assert_array_equal(single, TfliteModel(MODELS / "pose_classifier_yoga.tflite").run(batch[2:3])[0])
    with pytest.raises(InputTensorError, match=r"expects shape \[-1, 51\]"):
        classifier.run(np.zeros((4, 50), np.float32))


def test_concurrent_use_is_refused(detector):
    detector._lock.acquire()
    try:
        with pytest.raises(RuntimeError, match="one TfliteModel per thread"):
            detector.run(np.zeros((1, 224, 224, 3), np.float32))
    finally:
        detector._lock.release()


def test_sequential_use_from_another_thread_is_fine(detector):
    results = []
    thread = threading.Thread(target=lambda: results.append(detector.run(np.zeros((1, 224, 224, 3), np.float32))))
    thread.start()
    thread.join()
    assert results[0][0].shape == (1, 2254, 12)


# --- damaged and wrong files ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("keep", [0.5, 0.9, 100 / 2962288])
def test_truncated_model_names_the_file(tmp_path, keep):
    data = DETECTOR.read_bytes()
    truncated = tmp_path / DETECTOR.name
    truncated.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ModelLoadError) as info:
        TfliteModel(truncated)
    text = str(info.value)
    assert str(truncated) in text
    assert "cannot be loaded" in text
    assert "expects 2962288 bytes" in text and "truncated" in text
    assert info.value.path == truncated


def test_empty_model(tmp_path):
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"empty\.tflite is empty \(0 bytes\)"):
        TfliteModel(empty)


@pytest.mark.parametrize("content, message", [
    (b"this is not a model at all, just text\n", "not a TFLite model"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 3\n", "Git LFS pointer"),
    (b"<!DOCTYPE html><html>Not found</html>", "HTML/XML document"),
    (b"abc", "not a TFLite model"),
])
def test_non_tflite_files(tmp_path, content, message):
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message) as info:
        TfliteModel(path)
    assert str(path) in str(info.value)


def test_openvino_xml_is_not_a_tflite_model():
    with pytest.raises(ModelLoadError, match="HTML/XML"):
        TfliteModel(MODELS / "openvino" / "pp_tinypose_128x96_fp16.xml")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tflite does not exist"):
        TfliteModel(tmp_path / "nope.tflite")
    with pytest.raises(ModelLoadError, match="is not a file"):
        TfliteModel(tmp_path)


def test_unresolved_custom_op_is_a_load_error():
    path = MODELS / "posenet_mobilenet_v1_075_353x481_quant_decoder_customop.tflite"
    with pytest.raises(ModelLoadError, match=r"PosenetDecoderOp.*custom operator") as info:
        TfliteModel(path)
    assert path.name in str(info.value)


def test_bad_thread_count():
    with pytest.raises(ValueError, match="num_threads"):
        TfliteModel(DETECTOR, num_threads=0)
    assert TfliteModel(DETECTOR, num_threads=None).num_threads == 1


def test_missing_runtime_says_what_to_install(monkeypatch):
    for module in ("ai_edge_litert", "ai_edge_litert.interpreter", "tflite_runtime", "tflite_runtime.interpreter"):
        monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(TfliteRuntimeMissingError, match="pip install ai-edge-litert"):
        TfliteModel(DETECTOR)
