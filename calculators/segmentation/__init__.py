"""Segmentation masks (MediaPipe's calculators of the same names and contracts).

A mask is a plain float32 H x W numpy array with values in [0, 1] (MediaPipe's VEC32F1 Image): person 1,
background 0. `TensorsToSegmentationCalculator` turns a model's mask tensor into one, `WarpAffineCalculator` warps
it from the model's crop back onto the full image (with `InverseMatrixCalculator` and `ImagePropertiesCalculator`
supplying the matrix and size), and `SegmentationSmoothingCalculator` blends it with the previous frame's mask.
"""

