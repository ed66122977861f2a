"""MediaPipe calculator names posegraph does not register, and the posegraph calculators that do their job, so
that a graph written for MediaPipe gets "did you mean InferenceCalculator" for ``TfLiteInferenceCalculator``
instead of names that merely look alike."""

from __future__ import annotations

from posegraph.registry import register_equivalent

EQUIVALENTS: dict[str, tuple[str, ...]] = {
    # the TFLite-era calculators (mediapipe/calculators/tflite) and their tensor-era successors
    "TfLiteInferenceCalculator": ("InferenceCalculator",),
    "InferenceCalculatorCpu": ("InferenceCalculator",),
    "InferenceCalculatorXnnpack": ("InferenceCalculator",),
    "TfLiteConverterCalculator": ("ImageToTensorCalculator",),
    "TfLiteTensorsToDetectionsCalculator": ("TensorsToDetectionsCalculator",),
    "TfLiteTensorsToLandmarksCalculator": ("TensorsToLandmarksCalculator",),
    "TfLiteTensorsToFloatsCalculator": ("TensorsToFloatsCalculator",),
    "TfLiteTensorsToSegmentationCalculator": ("TensorsToSegmentationCalculator",),
    "TfLiteCustomOpResolverCalculator": ("InferenceCalculator",),
    # image preparation
    "ImageTransformationCalculator": ("ImageToTensorCalculator",),
    "ImageCroppingCalculator": ("ImageToTensorCalculator",),
    "ImageCloneCalculator": ("PassThroughCalculator",),
    "ColorConvertCalculator": ("FromImageCalculator",),
    # media in and out (posegraph graphs read and write media themselves)
    "OpenCvVideoDecoderCalculator": ("MediaSourceCalculator",),
    "OpenCvImageEncoderCalculator": ("VideoSinkCalculator",),
    "OpenCvVideoEncoderCalculator": ("VideoSinkCalculator",),
    # loops over vectors
    "BeginLoopNormalizedRectCalculator": ("BeginLoopCalculator",),
    "BeginLoopDetectionCalculator": ("BeginLoopCalculator",),
    "EndLoopNormalizedLandmarkListVectorCalculator": ("EndLoopCalculator",),
    "EndLoopLandmarkListVectorCalculator": ("EndLoopCalculator",),
    "EndLoopNormalizedRectCalculator": ("EndLoopCalculator",),
    # misc
    "ClipDetectionVectorSizeCalculator": ("SplitDetectionVectorCalculator",),
    "SplitNormalizedLandmarkListVectorCalculator": ("SplitNormalizedLandmarkListCalculator",),
    "ConcatenateNormalizedLandmarkListCalculator": ("SplitNormalizedLandmarkListCalculator",),
    "LandmarksToRenderDataCalculatorGpu": ("LandmarksToRenderDataCalculator",),
    "PoseLandmarksToRenderData": ("LandmarksToRenderDataCalculator",),
}

for _name, _targets in EQUIVALENTS.items():
    register_equivalent(_name, *_targets)
