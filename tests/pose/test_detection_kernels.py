"""SSD anchors, box decoding, IoU and NMS kernels (BlazePose detector math)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posegraph.calculators.detection.anchors import (POSE_DETECTION_NUM_ANCHORS, SsdAnchorOptions,
                                                     generate_anchors, pose_detection_anchor_options)
from posegraph.calculators.detection.kernels import (DecodeOptions, decode_boxes, iou, non_max_suppression,
                                                     pose_detection_decode_options, weighted_non_max_suppression)

pytestmark = pytest.mark.timeout(120)


def test_pose_anchor_count_and_layout():
    anchors = generate_anchors(pose_detection_anchor_options())
    assert anchors.shape == (POSE_DETECTION_NUM_ANCHORS, 4) == (2254, 4)
    assert anchors.dtype == np.float32
    # First layer: stride 8 -> 28 x 28 cells, 2 anchors per cell (aspect 1 + interpolated scale).
    np.testing.assert_array_equal(anchors[0], np.float32([0.5 / 28, 0.5 / 28, 1.0, 1.0]))
    np.testing.assert_array_equal(anchors[1], anchors[0])
    np.testing.assert_array_equal(anchors[2], np.float32([1.5 / 28, 0.5 / 28, 1.0, 1.0]))
    # Stride 16 layer starts after 28*28*2 anchors.
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14, 1.0, 1.0], rtol=1e-7)
    # Last three layers share stride 32 -> one 7 x 7 map with 6 anchors per cell; the last is the bottom-right.
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7, 1.0, 1.0], rtol=1e-7)
    assert np.all(anchors[-6:] == anchors[-1])
    assert np.all(anchors[:, 2:] == 1.0)  # fixed_anchor_size


def test_anchor_sizes_without_fixed_size():
    opts = SsdAnchorOptions(input_size_width=128, input_size_height=128, min_scale=0.1484375, max_scale=0.75,
                            num_layers=4, strides=(8, 16, 16, 16), aspect_ratios=(1.0,),
                            interpolated_scale_aspect_ratio=1.0, fixed_anchor_size=False)
    anchors = generate_anchors(opts)
    assert anchors.shape == (16 * 16 * 2 + 8 * 8 * 6, 4)
    # First anchor of layer 0: scale = min_scale; the interpolated one sqrt(s0 * s1).
    s0, s1 = 0.1484375, 0.1484375 + (0.75 - 0.1484375) / 3
    assert anchors[0, 2] == pytest.approx(s0, rel=1e-6)
    assert anchors[1, 2] == pytest.approx(math.sqrt(s0 * s1), rel=1e-6)


def _raw_for_box(anchor, xc, yc, w, h, kps, scale=224.0):
    """Raw XYWH + keypoints regressing to the given normalised box relative to `anchor`."""
    row = [(xc - anchor[0]) * scale, (yc - anchor[1]) * scale, w * scale, h * scale]
    for kx, ky in kps:
        row += [(kx - anchor[0]) * scale, (ky - anchor[1]) * scale]
    return row


def test_decode_single_box_and_threshold():
    anchors = generate_anchors(pose_detection_anchor_options())
    raw = np.zeros((2254, 12), dtype=np.float32)
    scores = np.full((2254, 1), -10.0, dtype=np.float32)
    i = 1000
    raw[i] = _raw_for_box(anchors[i], 0.4, 0.6, 0.2, 0.3, [(0.41, 0.62), (0.40, 0.45), (0.3, 0.3), (0.5, 0.5)])
    scores[i] = 3.0
    scores[i + 1] = 0.0  # sigmoid(0) = 0.5 passes (>= min_score_thresh)
    scores[i + 2] = -1e-3  # just below
    rows, out_scores, classes = decode_boxes(raw[None], scores[None], anchors, pose_detection_decode_options())
    assert rows.shape == (2, 12)
    np.testing.assert_allclose(out_scores, [1 / (1 + math.exp(-3.0)), 0.5], rtol=1e-6)
    assert list(classes) == [0, 0]
    xmin, ymin, w, h = rows[0, :4]
    assert (xmin, ymin, w, h) == pytest.approx((0.3, 0.45, 0.2, 0.3), abs=1e-6)
    np.testing.assert_allclose(rows[0, 4:6], [0.41, 0.62], atol=1e-6)
    np.testing.assert_allclose(rows[0, 6:8], [0.40, 0.45], atol=1e-6)


def test_decode_clipping_yxhw_and_exponential():
    anchors = np.array([[0.5, 0.5, 0.5, 0.5]], dtype=np.float32)
    opts = DecodeOptions(num_coords=4, num_keypoints=0, x_scale=10, y_scale=10, w_scale=5, h_scale=5,
                         reverse_output_order=False, apply_exponential_on_box_size=True, sigmoid_score=True,
                         score_clipping_thresh=2.0)
    raw = np.array([[1.0, 2.0, 0.0, 5.0]], dtype=np.float32)  # yc, xc, h, w
    rows, scores, _ = decode_boxes(raw, np.array([[50.0]], np.float32), anchors, opts)
    assert scores[0] == pytest.approx(1 / (1 + math.exp(-2.0)), rel=1e-6)  # clipped logit
    xc, yc = 2.0 / 10 * 0.5 + 0.5, 1.0 / 10 * 0.5 + 0.5
    w, h = math.exp(5.0 / 5) * 0.5, math.exp(0.0) * 0.5
    assert tuple(rows[0]) == pytest.approx((xc - w / 2, yc - h / 2, w, h), rel=1e-6)


def test_decode_drops_negative_size():
    anchors = np.array([[0.5, 0.5, 1.0, 1.0]], dtype=np.float32)
    opts = DecodeOptions(num_coords=4, num_keypoints=0, x_scale=1, y_scale=1, w_scale=1, h_scale=1,
                         reverse_output_order=True)
    rows, _, _ = decode_boxes(np.array([[0, 0, -0.1, 0.2]], np.float32), np.ones((1, 1), np.float32), anchors,
                              opts)
    assert rows.shape[0] == 0


def test_iou():
    a = np.float32([0.0, 0.0, 1.0, 1.0])
    assert iou(a, a) == 1.0
    assert iou(a, np.float32([0.5, 0.0, 1.0, 1.0])) == pytest.approx(1 / 3)
    assert iou(a, np.float32([1.0, 0.0, 1.0, 1.0])) == 0.0  # touching
    assert iou(a, np.float32([2.0, 2.0, 1.0, 1.0])) == 0.0
    assert iou(np.float32([0, 0, 0, 0]), np.float32([0, 0, 0, 0])) == 0.0  # zero area


def test_weighted_nms_merges_overlapping_boxes():
    rows = np.array([
        [0.10, 0.10, 0.20, 0.20, 0.2, 0.2],
        [0.12, 0.10, 0.20, 0.20, 0.22, 0.2],  # IoU ~0.82 with the first
        [0.60, 0.60, 0.20, 0.20, 0.7, 0.7],  # separate
        [0.11, 0.11, 0.20, 0.20, 0.21, 0.21],
    ], dtype=np.float32)
    scores = np.array([0.9, 0.6, 0.8, 0.3], dtype=np.float32)
    out, out_scores = weighted_non_max_suppression(rows, scores, 0.3)
    assert out.shape[0] == 2
    np.testing.assert_array_equal(out_scores, np.float32([0.9, 0.8]))
    w = np.array([0.9, 0.6, 0.3])
    cluster = rows[[0, 1, 3]].astype(np.float64)
    np.testing.assert_allclose(out[0, 0], (cluster[:, 0] * w).sum() / w.sum(), rtol=1e-6)
    np.testing.assert_allclose(out[0, 4:], (cluster[:, 4:] * w[:, None]).sum(0) / w.sum(), rtol=1e-6)
    xmax = ((cluster[:, 0] + cluster[:, 2]) * w).sum() / w.sum()
    np.testing.assert_allclose(out[0, 2], xmax - out[0, 0], rtol=1e-5)
    np.testing.assert_allclose(out[1], rows[2], rtol=1e-6)  # a lone box: its own weighted mean
    out1, _ = weighted_non_max_suppression(rows, scores, 0.3, max_detections=1)
    assert out1.shape[0] == 1


def test_hard_nms_and_empty_input():
    rows = np.array([[0, 0, 1, 1], [0.05, 0, 1, 1], [3, 3, 1, 1]], dtype=np.float32)
    scores = np.array([0.5, 0.9, 0.7], dtype=np.float32)
    out, sc = non_max_suppression(rows, scores, 0.5)
    np.testing.assert_array_equal(sc, np.float32([0.9, 0.7]))
    np.testing.assert_array_equal(out[0], rows[1])
    empty, es = weighted_non_max_suppression(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.3)
    assert empty.shape == (0, 4) and es.shape == (0,)
