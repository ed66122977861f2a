"""One name per calculator: the library registers each class once, under the class's own name (MediaPipe's
names, as its api2 does), except the documented deprecated ``TfliteInferenceCalculator``, which warns."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from posegraph import Graph, registry
from posegraph.calculators.inference import inference_calculator

pytestmark = pytest.mark.timeout(60)

DEPRECATED = {"TfliteInferenceCalculator": "InferenceCalculator"}


def library_names() -> dict[str, type]:
    return {name: cls for name, cls in registry.all_calculators().items()
            if cls.__module__.startswith("posegraph.calculators.")}


def test_every_library_calculator_is_registered_under_its_class_name():
    for name, cls in library_names().items():
        assert name == cls.__name__, (name, cls)


def test_no_class_has_two_names_except_the_deprecated_alias():
    by_class: dict[type, list[str]] = {}
    for name, cls in library_names().items():
        by_class.setdefault(cls, []).append(name)
    assert {c: n for c, n in by_class.items() if len(n) > 1} == {}
    for old, new in DEPRECATED.items():
        assert issubclass(registry.get(old), registry.get(new))


def test_the_deprecated_inference_name_runs_and_warns_once(models, monkeypatch):
    monkeypatch.setattr(inference_calculator, "_warned_deprecated", False)
    image = np.zeros((1, 192, 192, 3), np.uint8)
    text = """
        input_stream: "in"  output_stream: "out"
        node { calculator: "TfliteInferenceCalculator" input_stream: "TENSORS:in" output_stream: "TENSORS:out"
               options { [posegraph.TfliteInferenceOptions.ext] { model: "movenet_lightning_int8" } } }
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            graph = Graph(text)
            out = graph.process({"in": [image]})["out"]
            graph.close()
            assert out[0].shape == (1, 1, 17, 3)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert sum("'TfliteInferenceCalculator' is deprecated" in m for m in messages) == 1
