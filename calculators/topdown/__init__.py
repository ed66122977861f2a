"""Top-down multi-person pose: a person detector, then one crop + heatmap model + decode per person.

PicoDet (pedestrian detector, decoded boxes without NMS) -> `PicoDetDecodeCalculator` (threshold + NMS, Numba) ->
BeginLoop over the detections -> `PersonCropCalculator` (crop expanded to the pose model's aspect ratio, UDP warp,
ImageNet normalisation, NCHW) -> inference (PP-TinyPose heatmaps) -> `HeatmapPoseDecodeCalculator` (DARK + UDP back
to the image) -> EndLoop -> ``poses``. `TensorNormalizeCalculator` turns an ImageToTensor output into the detector's
mean/std-normalised NCHW input. The kernels (kernels.py) are pure functions; see graphs/tinypose_topdown.pbtxt.
"""
