"""MediaPipe's calculators under MediaPipe's names, tags, options and packet shapes, so that MediaPipe's own graph
files (``mediapipe/modules/pose_landmark/*.pbtxt`` ...) run unchanged.

Where posegraph already has a calculator of the same name, the MediaPipe dialect is a *variant* of it: a node
written with MediaPipe's options (``[mediapipe.XOptions.ext]`` or ``node_options`` with
``type.googleapis.com/mediapipe.XOptions``) gets the class that speaks MediaPipe's tags, a node written with
posegraph's options keeps posegraph's contract (see ``posegraph.registry.register_variant``). The numerics are the
BlazePose kernels of ``calculators/detection``, ``landmarks`` and ``image``, shared, not copied.

Packet shapes (``types``): landmark lists are N x 5 float32 arrays (x, y, z, visibility, presence), detections and
rects are posegraph's ``Detection`` / ``NormalizedRect``, image sizes are ``(width, height)`` tuples.
"""

# The segmentation calculators (TensorsToSegmentation, WarpAffine, InverseMatrix, SegmentationSmoothing) live in
# calculators/segmentation under MediaPipe's names and options, shared with posegraph's own BlazePose graphs.
