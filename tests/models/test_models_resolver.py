"""Model manifest and resolver: search order, verification and the error text a user sees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from posegraph.models import (
    ENV_VAR,
    ManifestError,
    ModelIntegrityError,
    ModelNotFoundError,
    ModelSpec,
    find_spec,
    load_manifest,
    model_search_dirs,
    resolve_model,
    sha256_of,
)
from posegraph.models.manifest import parse_manifest

pytestmark = pytest.mark.timeout(60)

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
MODELS = SHARED / "models"
requires_shared = pytest.mark.skipif(not MODELS.is_dir(), reason=f"shared models not found at {MODELS} "
                                     "(expected ../shared beside the checkout, or set POSEGRAPH_SHARED)")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No POSEGRAPH_MODELS, a cache and a current directory inside tmp_path."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    work = tmp_path / "project" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return tmp_path


def _touch(path: Path, content: bytes = b"model") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


# --- manifest ------------------------------------------------------------------------------------------------------

def test_manifest_lists_every_shared_model_with_tensors():
    specs = load_manifest()
    expected = {
        "blazepose_detector": "blazepose_pose_detection.tflite",
        "blazepose_landmark_lite": "blazepose_pose_landmark_lite.tflite",
        "movenet_lightning_int8": "movenet_singlepose_lightning_int8.tflite",
        "pose_classifier_yoga": "pose_classifier_yoga.tflite",
        "pose_classifier_yoga_labels": "pose_classifier_yoga_labels.txt",
        "openpose_mobilenet_v2": "openpose_mobilenet_v2_dm10_368x432_weight_quant.tflite",
        "posenet_customop": "posenet_mobilenet_v1_075_353x481_quant_decoder_customop.tflite",
        "posenet": "posenet_mobilenet_v1_075_353x481_quant_nodecoder.tflite",
        "pp_tinypose_128x96": "openvino/pp_tinypose_128x96_fp16.xml",
        "picodet_pedestrian_192": "openvino/picodet_s_192_lcnet_pedestrian_fp16.xml",
    }
    for name, file in expected.items():
        assert isinstance(specs[name], ModelSpec)
        assert specs[name].file == file
    detector = specs["blazepose_detector"]
    assert detector.input_shapes == ((1, 224, 224, 3),)
    assert detector.output_shapes == ((1, 2254, 12), (1, 2254, 1))
    posenet = specs["posenet"]
    assert posenet.inputs[0].quant_scale == pytest.approx(0.0078125)
    assert posenet.inputs[0].quant_zero_point == 128
    assert [t.quant_zero_point for t in posenet.outputs] == [180, 134, 118]
    assert specs["posenet_customop"].custom_ops == ("PosenetDecoderOp",)
    assert specs["pp_tinypose_128x96"].outputs[1].dtype == "int64"
    assert specs["pp_tinypose_128x96"].companions[0].file.endswith(".bin")
    assert specs["pose_classifier_yoga"].labels == "pose_classifier_yoga_labels"


@requires_shared
def test_manifest_sizes_and_hashes_match_the_shared_files():
    for spec in load_manifest().values():
        path = MODELS / spec.file
        assert path.stat().st_size == spec.size, spec.name
        assert sha256_of(path) == spec.sha256, spec.name
        for companion in spec.companions:
            assert sha256_of(MODELS / companion.file) == companion.sha256


def test_find_spec_accepts_name_file_name_relative_path_and_stem():
    spec = find_spec("pp_tinypose_128x96")
    assert spec is not None
    assert find_spec("pp_tinypose_128x96_fp16.xml") is spec
    assert find_spec("openvino/pp_tinypose_128x96_fp16.xml") is spec
    assert find_spec("pp_tinypose_128x96_fp16") is spec
    assert find_spec("no_such_model") is None


@pytest.mark.parametrize("text, message", [
    ("models = 3", "[models.<name>]"),
    ("[models.x]\nfile = 'a.tflite'\n", "missing required key"),
    ("[models.x]\nfile='a'\nformat='tflite'\nsize=1\nsha256='abc'\nsource='s'\n", "64 hex digits"),
    ("[models.x]\nfile='a'\nformat='tflite'\nsize=1\nsha256='" + "0" * 64 + "'\nsource='s'\nbogus=1\n", "unknown keys"),
    ("[models.x\n", "invalid TOML"),
])
def test_malformed_manifest_is_reported(text, message):
    with pytest.raises(ManifestError, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_manifest(text)


# --- search order --------------------------------------------------------------------------------------------------

def test_existing_path_is_returned_as_is(isolated):
    model = _touch(isolated / "elsewhere" / "mine.tflite")
    assert resolve_model(model) == model
    assert resolve_model(str(model)) == model
    # Relative to the current directory.
    _touch(Path.cwd() / "local.tflite")
    assert resolve_model("local.tflite") == Path.cwd() / "local.tflite"


def test_search_order(isolated, monkeypatch):
    name = "custom_model.tflite"
    explicit = _touch(isolated / "explicit" / name)
    env_a = _touch(isolated / "env_a" / name)
    env_b = _touch(isolated / "env_b" / name)
    cwd_shared = _touch(isolated / "project" / "shared" / "models" / name)  # ../shared/models from cwd
    cache = _touch(isolated / "cache" / "posegraph" / "models" / name)
    monkeypatch.setenv(ENV_VAR, os.pathsep.join([str(env_a.parent), "", str(env_b.parent)]))

    order = [explicit, env_a, env_b, cwd_shared, cache]
    for expected in order:
        search = [explicit.parent] if explicit.exists() else None
        assert resolve_model(name, search) == expected
        expected.unlink()
    with pytest.raises(ModelNotFoundError):
        resolve_model(name, [explicit.parent])


def test_search_dirs_list_every_origin(isolated, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(isolated / "env"))
    dirs = model_search_dirs([isolated / "arg"])
    origins = [d.origin for d in dirs]
    assert dirs[0].path == isolated / "arg" and origins[0] == "search_paths argument"
    assert dirs[1].path == isolated / "env" and origins[1] == f"${ENV_VAR}"
    assert dirs[2].path == isolated / "project" / "shared" / "models"
    assert any("repository checkout" in o for o in origins)
    assert dirs[-1].path == isolated / "cache" / "posegraph" / "models"


def test_repository_relative_shared_folder_is_searched(isolated):
    """From an unrelated current directory the checkout's ../shared/models is still found."""
    if not MODELS.is_dir():
        pytest.skip(f"shared models not found at {MODELS}")
    path = resolve_model("blazepose_detector")
    assert path.name == "blazepose_pose_detection.tflite"
    assert path.parent.resolve() == MODELS.resolve()


def test_manifest_subfolder_and_flat_layouts(isolated):
    spec = find_spec("pp_tinypose_128x96")
    folder = isolated / "flat"
    # A flat folder (xml and bin side by side, no openvino/ sub-folder) works too.
    _touch(folder / spec.file_name, b"x" * spec.size)
    _touch(folder / Path(spec.companions[0].file).name, b"x" * spec.companions[0].size)
    assert resolve_model("pp_tinypose_128x96", [folder]) == folder / spec.file_name
    nested = isolated / "nested"
    _touch(nested / spec.file, b"x" * spec.size)
    _touch(nested / spec.companions[0].file, b"x" * spec.companions[0].size)
    assert resolve_model("pp_tinypose_128x96", [nested, folder]) == nested / spec.file


def test_found_file_is_verified_against_the_manifest(isolated):
    spec = find_spec("blazepose_detector")
    folder = isolated / "models"
    _touch(folder / spec.file, b"\0" * (spec.size // 2))
    with pytest.raises(ModelIntegrityError, match=r"has 1481144 bytes, the manifest expects 2962288.*truncated"):
        resolve_model("blazepose_detector", [folder])
    assert resolve_model("blazepose_detector", [folder], verify="none") == folder / spec.file
    _touch(folder / spec.file, b"\0" * spec.size)  # right size, wrong content
    assert resolve_model(spec.file, [folder]) == folder / spec.file
    with pytest.raises(ModelIntegrityError, match="sha256"):
        resolve_model(spec.file, [folder], verify="sha256")


def test_missing_companion_is_reported(isolated):
    spec = find_spec("picodet_pedestrian_192")
    folder = isolated / "models"
    _touch(folder / spec.file, b"x" * spec.size)
    with pytest.raises(ModelIntegrityError, match="companion file .*picodet_s_192_lcnet_pedestrian_fp16.bin"):
        resolve_model("picodet_pedestrian_192", [folder])


# --- error text ----------------------------------------------------------------------------------------------------

def test_not_found_error_lists_every_place_and_the_fix(isolated, monkeypatch):
    # Hide the checkout's ../shared/models, which does hold this model.
    monkeypatch.setattr("posegraph.models.resolver._repository_root", lambda start: None)
    env_dir = isolated / "env"
    monkeypatch.setenv(ENV_VAR, str(env_dir))
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("movenet_lightning_int8", [isolated / "arg"], verify="none")
    error = info.value
    assert isinstance(error, FileNotFoundError)
    text = str(error)
    file = "movenet_singlepose_lightning_int8.tflite"
    for folder in (isolated / "arg", env_dir, isolated / "project" / "shared" / "models",
                   isolated / "cache" / "posegraph" / "models"):
        assert str(folder / file) in text
    assert text.index(str(isolated / "arg")) < text.index(str(env_dir)) < text.index(str(isolated / "cache"))
    assert "search_paths argument" in text and f"${ENV_VAR}" in text
    assert f"set {ENV_VAR}" in text
    assert "posegraph models pull movenet_lightning_int8" in text and "google-coral/test_data" in text
    assert error.name == "movenet_lightning_int8"
    assert error.spec is find_spec("movenet_lightning_int8")
    assert all(isinstance(p, Path) for p in error.searched) and len(error.searched) >= 5
    assert "[Errno" not in text


def test_not_found_error_for_unknown_name_suggests_close_names(isolated):
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("blazepose_detectr")
    text = str(info.value)
    assert "Did you mean 'blazepose_detector'" in text
    assert f"({ENV_VAR} is not set)" in text


def test_not_found_error_for_missing_absolute_path(isolated):
    missing = isolated / "nowhere" / "x.tflite"
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model(missing)
    text = str(info.value)
    assert str(missing) in text and "never searched for elsewhere" in text
    assert info.value.searched == (missing,)


def test_folder_and_empty_name_are_rejected(isolated):
    with pytest.raises(ModelNotFoundError, match="is a folder"):
        resolve_model(isolated)
    with pytest.raises(ValueError):
        resolve_model("  ")
    with pytest.raises(ValueError):
        resolve_model("x.tflite", verify="md5")  # type: ignore[arg-type]
