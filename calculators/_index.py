"""Which module of the library defines each calculator and each variant, so that the registry imports only the
modules a graph uses (importing all of them costs ~100 MB of RSS: Numba, OpenCV, every kernel).

Kept honest by ``tests/config/test_lazy_calculators.py``, which imports every module and compares what registers
with these tables. A new calculator module must be added here, or the registry will not know its names.
"""

from __future__ import annotations

# module (relative to posegraph.calculators) -> the calculator names importing it registers
MODULES: dict[str, tuple[str, ...]] = {
    "classify.analytics": ("PoseAnalyticsCalculator",),
    "classify.angles": ("JointAnglesCalculator",),
    "classify.knn": ("KnnPoseClassifierCalculator",),
    "classify.model_classifier": ("PoseClassifierCalculator",),
    "classify.repetition": ("RepetitionCounterCalculator",),
    "core.begin_end_loop": ("BeginLoopCalculator", "EndLoopCalculator",),
    "core.constant_side_packet": ("ConstantSidePacketCalculator",),
    "core.flow_limiter": ("FlowLimiterCalculator",),
    "core.gate": ("GateCalculator",),
    "core.merge": ("MergeCalculator",),
    "core.mux": ("MuxCalculator",),
    "core.packet_presence": ("PacketPresenceCalculator",),
    "core.pass_through": ("PassThroughCalculator",),
    "core.previous_loopback": ("PreviousLoopbackCalculator",),
    "core.split_vector": ("SplitVectorCalculator",),
    "core.thresholding": ("ThresholdingCalculator",),
    "detection.detections_to_rois": ("DetectionsToRoisCalculator",),
    "detection.letterbox_removal": ("DetectionLetterboxRemovalCalculator",),
    "detection.non_max_suppression": ("NonMaxSuppressionCalculator",),
    "detection.tensors_to_detections": ("TensorsToDetectionsCalculator",),
    "image.image_to_tensor": ("ImageToTensorCalculator",),
    "inference.inference_calculator": ("InferenceCalculator", "TfliteInferenceCalculator",),
    "io.landmarks_sink": ("LandmarksSinkCalculator",),
    "io.mask_sink": ("MaskSinkCalculator",),
    "io.media_source": ("MediaSourceCalculator",),
    "io.video_sink": ("VideoSinkCalculator",),
    "landmarks.landmark_projection": ("LandmarkProjectionCalculator",),
    "landmarks.landmarks_to_roi": ("LandmarksToRoiCalculator",),
    "landmarks.model_complexity": ("PoseLandmarkModelCalculator",),
    "landmarks.pose_result": ("PoseResultCalculator",),
    "landmarks.smoothing_calculator": ("LandmarksSmoothingCalculator",),
    "landmarks.tensors_to_landmarks": ("TensorsToLandmarksCalculator",),
    "mediapipe.core": (
        "LocalFileContentsCalculator", "ResourceProviderCalculator", "SplitDetectionVectorCalculator",
        "SplitLandmarkListCalculator", "SplitNormalizedLandmarkListCalculator", "SplitTensorVectorCalculator",
        "SwitchContainer", "TensorsToFloatsCalculator", "TfLiteModelCalculator",
    ),
    "mediapipe.detection": (
        "AlignmentPointsRectsCalculator", "DetectionsToRectsCalculator", "LandmarksToDetectionCalculator",
        "RectTransformationCalculator", "SsdAnchorsCalculator",
    ),
    "mediapipe.image": ("FromImageCalculator", "ImagePropertiesCalculator", "ToImageCalculator",),
    "mediapipe.landmarks": (
        "LandmarkLetterboxRemovalCalculator", "RefineLandmarksFromHeatmapCalculator", "VisibilityCopyCalculator",
        "VisibilitySmoothingCalculator", "WorldLandmarkProjectionCalculator",
    ),
    "mediapipe.render": (
        "AnnotationOverlayCalculator", "ConcatenateRenderDataVectorCalculator", "DetectionsToRenderDataCalculator",
        "LandmarksToRenderDataCalculator", "RecolorCalculator", "RectToRenderDataCalculator",
        "RectToRenderScaleCalculator",
    ),
    "movenet.crop_region": ("MoveNetCropCalculator", "MoveNetNextCropCalculator",),
    "movenet.decoder": ("MoveNetDecoderCalculator",),
    "openpose.decoder": ("OpenPoseDecoderCalculator",),
    "posenet.decoder": ("PoseNetDecoderCalculator",),
    "render.pose_renderer": ("PoseRendererCalculator",),
    "segmentation.geometry": ("InverseMatrixCalculator",),
    "segmentation.segmentation_smoothing": (
        "SegmentationSmoothingCalculator", "SegmentationSmoothingEnableCalculator",
    ),
    "segmentation.tensors_to_segmentation": ("TensorsToSegmentationCalculator",),
    "segmentation.warp_affine": ("WarpAffineCalculator",),
    "topdown.heatmap_pose": ("HeatmapPoseDecodeCalculator",),
    "topdown.normalize": ("TensorNormalizeCalculator",),
    "topdown.person_crop": ("PersonCropCalculator",),
    "topdown.picodet": ("PicoDetDecodeCalculator",),
    "tracking.assign": ("PoseTrackAssignmentCalculator",),
    "tracking.mask": ("MaskPeopleCalculator",),
    "tracking.person": ("TrackedPersonCalculator", "TrackedRoiToRectCalculator",),
    "tracking.schedule": ("PoseDetectionScheduleCalculator", "TracksPresentCalculator",),
    "tracking.track_smoothing": ("PoseTrackSmoothingCalculator",),
    "tracking.update": ("PoseTrackUpdateCalculator",),
}

# module -> the (calculator name, options message) variants importing it registers (another dialect of a name)
VARIANTS: dict[str, tuple[tuple[str, str], ...]] = {
    "mediapipe.core": (
        ("ConstantSidePacketCalculator", "mediapipe.ConstantSidePacketCalculatorOptions"),
        ("FlowLimiterCalculator", "mediapipe.FlowLimiterCalculatorOptions"),
        ("GateCalculator", "mediapipe.GateCalculatorOptions"),
        ("ThresholdingCalculator", "mediapipe.ThresholdingCalculatorOptions"),
    ),
    "mediapipe.detection": (
        ("NonMaxSuppressionCalculator", "mediapipe.NonMaxSuppressionCalculatorOptions"),
        ("TensorsToDetectionsCalculator", "mediapipe.TensorsToDetectionsCalculatorOptions"),
    ),
    "mediapipe.image": (
        ("ImageToTensorCalculator", "mediapipe.ImageToTensorCalculatorOptions"),
        ("InferenceCalculator", "mediapipe.InferenceCalculatorOptions"),
    ),
    "mediapipe.landmarks": (
        ("LandmarksSmoothingCalculator", "mediapipe.LandmarksSmoothingCalculatorOptions"),
        ("TensorsToLandmarksCalculator", "mediapipe.TensorsToLandmarksCalculatorOptions"),
    ),
}

PACKAGE = __name__.rpartition(".")[0]
# the registry's lazy-plugin tables: name -> absolute module, (name, options message) -> absolute module
CALCULATOR_MODULES: dict[str, str] = {name: f"{PACKAGE}.{module}" for module, names in MODULES.items()
                                      for name in names}
VARIANT_MODULES: dict[tuple[str, str], str] = {key: f"{PACKAGE}.{module}" for module, keys in VARIANTS.items()
                                               for key in keys}
