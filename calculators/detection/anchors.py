"""SSD anchor generation, as MediaPipe's `SsdAnchorsCalculator` (non-multiscale branch).

Layers that share a stride are merged: each contributes its aspect ratios (plus one interpolated-scale anchor when
`interpolated_scale_aspect_ratio > 0`), and the merged set is laid on that stride's feature map, cell by cell,
row-major, anchors of a cell consecutive. With `fixed_anchor_size` every anchor is 1 x 1, so a model's box sizes are
plain fractions of the input. All values are float32 as in the C++.

For the BlazePose detector (`pose_detection_anchor_options()`): strides 8, 16, 32, 32, 32 on 224 x 224 give
28*28*2 + 14*14*2 + 7*7*6 = 2254 anchors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SsdAnchorOptions", "generate_anchors", "pose_detection_anchor_options", "POSE_DETECTION_NUM_ANCHORS"]

POSE_DETECTION_NUM_ANCHORS = 2254


@dataclass(frozen=True)
class SsdAnchorOptions:
    """The fields of MediaPipe's `SsdAnchorsCalculatorOptions` that the non-multiscale generator reads."""

    input_size_width: int
    input_size_height: int
    min_scale: float
    max_scale: float
    num_layers: int
    strides: tuple[int, ...]
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5
    aspect_ratios: tuple[float, ...] = (1.0,)
    feature_map_width: tuple[int, ...] = field(default_factory=tuple)
    feature_map_height: tuple[int, ...] = field(default_factory=tuple)
    reduce_boxes_in_lowest_layer: bool = False
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = False


def pose_detection_anchor_options() -> SsdAnchorOptions:
    """The BlazePose detector's anchor options (pose_detection_cpu.pbtxt / Tasks pose_detector_graph.cc)."""
    return SsdAnchorOptions(
        input_size_width=224, input_size_height=224, min_scale=0.1484375, max_scale=0.75, num_layers=5,
        strides=(8, 16, 32, 32, 32), anchor_offset_x=0.5, anchor_offset_y=0.5, aspect_ratios=(1.0,),
        fixed_anchor_size=True,
    )


def _scale(min_scale: float, max_scale: float, stride_index: int, num_strides: int) -> np.float32:
    f32 = np.float32
    if num_strides == 1:
        return f32((f32(min_scale) + f32(max_scale)) * f32(0.5))
    # C++: min + (max - min) * 1.0 * index / (num - 1.0f), evaluated in double, stored as float.
    return f32(float(f32(min_scale)) + (float(f32(max_scale)) - float(f32(min_scale))) * 1.0 * stride_index
               / (num_strides - 1.0))


def generate_anchors(options: SsdAnchorOptions) -> np.ndarray:
    """Anchors as an N x 4 float32 array of (x_center, y_center, width, height), normalised to the input."""
    f32 = np.float32
    if not options.feature_map_height and not options.strides:
        raise ValueError("either feature map sizes or strides are required")
    if options.feature_map_height:
        if len(options.feature_map_height) != options.num_layers or \
                len(options.feature_map_width) != options.num_layers:
            raise ValueError("feature map sizes must have num_layers entries")
    elif len(options.strides) != options.num_layers:
        raise ValueError("strides must have num_layers entries")

    rows: list[np.ndarray] = []
    n_strides = len(options.strides)
    layer_id = 0
    while layer_id < options.num_layers:
        aspect_ratios: list[np.float32] = []
        scales: list[np.float32] = []
        last = layer_id
        while last < n_strides and options.strides[last] == options.strides[layer_id]:
            scale = _scale(options.min_scale, options.max_scale, last, n_strides)
            if last == 0 and options.reduce_boxes_in_lowest_layer:
                aspect_ratios += [f32(1.0), f32(2.0), f32(0.5)]
                scales += [f32(0.1), scale, scale]
            else:
                for ratio in options.aspect_ratios:
                    aspect_ratios.append(f32(ratio))
                    scales.append(scale)
                if options.interpolated_scale_aspect_ratio > 0.0:
                    scale_next = f32(1.0) if last == n_strides - 1 else _scale(
                        options.min_scale, options.max_scale, last + 1, n_strides)
                    scales.append(f32(math.sqrt(float(scale * scale_next))))
                    aspect_ratios.append(f32(options.interpolated_scale_aspect_ratio))
            last += 1
        heights = [f32(s / f32(math.sqrt(float(r)))) for s, r in zip(scales, aspect_ratios)]
        widths = [f32(s * f32(math.sqrt(float(r)))) for s, r in zip(scales, aspect_ratios)]

        if options.feature_map_height:
            fm_h, fm_w = options.feature_map_height[layer_id], options.feature_map_width[layer_id]
        else:
            stride = options.strides[layer_id]
            fm_h = int(math.ceil(float(f32(1.0) * f32(options.input_size_height) / f32(stride))))
            fm_w = int(math.ceil(float(f32(1.0) * f32(options.input_size_width) / f32(stride))))

        n = len(heights)
        ys, xs = np.meshgrid(np.arange(fm_h, dtype=np.float32), np.arange(fm_w, dtype=np.float32), indexing="ij")
        x_c = (xs + f32(options.anchor_offset_x)) * f32(1.0) / f32(fm_w)
        y_c = (ys + f32(options.anchor_offset_y)) * f32(1.0) / f32(fm_h)
        layer = np.empty((fm_h, fm_w, n, 4), dtype=np.float32)
        layer[..., 0] = x_c[..., None]
        layer[..., 1] = y_c[..., None]
        if options.fixed_anchor_size:
            layer[..., 2] = 1.0
            layer[..., 3] = 1.0
        else:
            layer[..., 2] = np.array(widths, dtype=np.float32)
            layer[..., 3] = np.array(heights, dtype=np.float32)
        rows.append(layer.reshape(-1, 4))
        layer_id = last
    return np.ascontiguousarray(np.concatenate(rows, axis=0))
