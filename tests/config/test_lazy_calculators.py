"""Calculators load lazily: the library declares which module defines each name (``calculators/_index.py``) and
a graph imports only the modules it uses; plugins through the entry-point group load as before."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

from posegraph import Calculator, GraphConfigError, Output, load_graph, registry

pytestmark = pytest.mark.timeout(120)


def _python(script: str, timeout: int = 110) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_declared_tables_are_what_the_modules_register():
    """Each declared module registers exactly its declared names when imported first, and importing every module
    of the package registers nothing that is not declared."""
    out = _python("""
        import importlib, pkgutil
        import posegraph.calculators as lib
        from posegraph import registry
        from posegraph.calculators._index import CALCULATOR_MODULES, VARIANT_MODULES
        problems = []
        for name, module in CALCULATOR_MODULES.items():
            importlib.import_module(module)
            cls = registry._calculators.get(name)
            if cls is None:
                problems.append(f"{module} does not register {name}")
            elif cls.__module__ != module:
                problems.append(f"{name} is defined in {cls.__module__}, declared in {module}")
        for key, module in VARIANT_MODULES.items():
            importlib.import_module(module)
            if key not in registry._variants:
                problems.append(f"{module} does not register the variant {key}")
        for info in pkgutil.walk_packages(lib.__path__, lib.__name__ + "."):
            importlib.import_module(info.name)
        for name, cls in registry._calculators.items():
            if CALCULATOR_MODULES.get(name) != cls.__module__:
                problems.append(f"{name} ({cls.__module__}) is not declared in calculators/_index.py")
        for key, cls in registry._variants.items():
            if VARIANT_MODULES.get(key) != cls.__module__:
                problems.append(f"variant {key} ({cls.__module__}) is not declared in calculators/_index.py")
        print("\\n".join(problems))
    """)
    assert out.strip() == ""


def test_a_movenet_graph_imports_only_what_it_uses(media, tmp_path):
    """Building and running MoveNet (no video output) imports none of the other families' calculators, nor
    networkx, ray, av or openvino."""
    out = _python(f"""
        import sys
        from posegraph import Graph
        graph = Graph("movenet_singlepose")
        graph.start({{"input_path": {str(media / "video_dance_single_synthetic.mp4")!r}, "output_video_path": "",
                      "landmarks_path": {str(tmp_path / "out.jsonl")!r}, "max_frames": 3}})
        graph.wait_until_done(timeout=100)
        graph.close()
        print(" ".join(sorted(sys.modules)))
    """)
    loaded = set(out.split())
    assert "posegraph.calculators.movenet.decoder" in loaded  # the check can fail
    unwanted = [m for m in loaded if m.split(".")[0] in ("networkx", "ray", "av", "openvino")
                or m.startswith(tuple(f"posegraph.calculators.{family}." for family in (
                    "openpose", "posenet", "segmentation", "topdown", "tracking", "classify", "detection",
                    "landmarks.kernels", "mediapipe.core", "mediapipe.image", "mediapipe.render")))]
    assert unwanted == []


def test_movenet_posenet_and_openpose_run_without_numba(media, tmp_path):
    """MoveNet (tracking and static-image mode) and PoseNet (single- and multi-pose) work on axis-aligned uint8 crops,
    OpenPose on a [0, 255] float letterbox, with numpy / plain Python kernels: running them imports neither Numba
    nor llvmlite (~120 MB of memory). MoveNet's tracking run loads one interpreter: the static-image refine pass loads its own on its
    first packet. PoseNet's inference node runs two frames at once (max_in_flight: 2), on two pooled interpreters
    that single- and multi-pose share."""
    out = _python(f"""
        import sys
        from posegraph import Graph
        from posegraph.calculators.inference.model_pool import POOL
        runs = [("movenet_singlepose", {{}}), ("movenet_singlepose", {{"use_prev_landmarks": False}}),
                ("posenet_singlepose", {{}}), ("posenet_multipose", {{}}), ("openpose_multipose", {{}})]
        for name, extra in runs:
            graph = Graph(name)
            graph.start({{"input_path": {str(media / "video_dance_single_synthetic.mp4")!r},
                          "output_video_path": "", "landmarks_path": {str(tmp_path / "out.jsonl")!r},
                          "max_frames": 3, **extra}})
            graph.wait_until_done(timeout=100)
            graph.close()
            print(name, "numba" in sys.modules, "llvmlite" in sys.modules, POOL.idle_count(), flush=True)
    """)
    assert out.split("\n")[:5] == ["movenet_singlepose False False 1", "movenet_singlepose False False 2",
                                    "posenet_singlepose False False 4", "posenet_multipose False False 4",
                                    "openpose_multipose False False 5"]


def test_names_are_known_without_importing_their_modules():
    out = _python("""
        import sys
        from posegraph import registry
        assert "OpenPoseDecoderCalculator" in registry.names()
        assert "OpenPoseDecoderCalculator" in registry.catalog()
        assert registry.suggest("OpenPoseDecoderCalculatr")[0] == "OpenPoseDecoderCalculator"
        assert registry.equivalents("TfLiteInferenceCalculator") == ["InferenceCalculator"]
        print("posegraph.calculators.openpose.decoder" in sys.modules, "numba" in sys.modules)
        print(registry.get("OpenPoseDecoderCalculator").__module__)
    """)
    assert out.split() == ["False", "False", "posegraph.calculators.openpose.decoder"]


class _Plugged(Calculator):
    OUT = Output("OUT", int)


@pytest.fixture
def fresh_registry(monkeypatch):
    """The registry as a process that has not loaded its plugins yet, restored afterwards."""
    for attr in ("_calculators", "_variants", "_lazy", "_lazy_variants", "_plugin_errors"):
        monkeypatch.setattr(registry, attr, dict(getattr(registry, attr)))
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry, "_all_loaded", False)

    def install(**values: str) -> None:
        eps = [EntryPoint(name=name, value=v, group=registry.ENTRY_POINT_GROUP) for name, v in values.items()]
        monkeypatch.setattr(registry, "entry_points", lambda group: eps if group == registry.ENTRY_POINT_GROUP else [])
    return install


def test_plugins_by_class_by_declared_module_and_broken_ones(fresh_registry, tmp_path, monkeypatch):
    (tmp_path / "lazy_plugin_pkg").mkdir()
    (tmp_path / "lazy_plugin_pkg" / "__init__.py").write_text(
        'CALCULATOR_MODULES = {"LazyPluginCalculator": "lazy_plugin_pkg.calc", "BrokenLazyCalculator": '
        '"lazy_plugin_pkg.broken"}\n')
    (tmp_path / "lazy_plugin_pkg" / "calc.py").write_text(
        "from posegraph import Calculator, Output, calculator\n"
        "@calculator('LazyPluginCalculator')\n"
        "class LazyPluginCalculator(Calculator):\n"
        "    OUT = Output('OUT', int)\n")
    (tmp_path / "lazy_plugin_pkg" / "broken.py").write_text("raise RuntimeError('no such library')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh_registry(Plugged=f"{__name__}:_Plugged", lazy="lazy_plugin_pkg", broken="no_such_plugin_module_xyz")
    with pytest.warns(UserWarning, match="no_such_plugin_module_xyz"):
        assert registry.is_known("Plugged")
    assert registry.get("Plugged") is _Plugged
    assert "LazyPluginCalculator" in registry.names() and "lazy_plugin_pkg.calc" not in sys.modules
    assert registry.get("LazyPluginCalculator").__module__ == "lazy_plugin_pkg.calc"
    with pytest.warns(UserWarning, match="no such library"):
        with pytest.raises(KeyError, match="'BrokenLazyCalculator' could not be loaded from lazy_plugin_pkg.broken"):
            registry.get("BrokenLazyCalculator")
    assert set(registry.plugin_errors()) == {"no_such_plugin_module_xyz", "lazy_plugin_pkg.broken"}
    with pytest.raises(GraphConfigError, match="'BrokenLazyCalculator' could not be loaded .*no such library"):
        load_graph('node { calculator: "BrokenLazyCalculator" }')
    sys.modules.pop("lazy_plugin_pkg.calc", None)
    sys.modules.pop("lazy_plugin_pkg", None)
