"""TfliteInference: the original module of the inference calculator, kept so that imports keep working.

The calculators (``InferenceCalculator`` and its original name ``TfliteInferenceCalculator``, both with a
``backend`` option: tflite or openvino) live in `inference_calculator`; importing this module registers them.
"""

from __future__ import annotations

from .inference_calculator import (BACKENDS, Inference, InferenceOptions, TfliteInference,  # noqa: F401
                                   TfliteInferenceOptions, parse_shape)
from .tflite_model import ModelMismatchError, TfliteModel  # noqa: F401

__all__ = ["BACKENDS", "Inference", "InferenceOptions", "TfliteInference", "TfliteInferenceOptions", "parse_shape"]
