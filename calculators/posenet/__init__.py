"""PoseNet (MobileNetV1, raw heatmaps + offsets + displacements): dequantisation, single- and multi-pose decoding."""
