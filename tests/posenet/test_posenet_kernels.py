"""PoseNet decoding kernels on synthetic maps whose answer is known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from posegraph.calculators.posenet.kernels import EDGES, decode_single_pose, dequantize
from posegraph.calculators.posenet.multi_pose import decode_multi_pose

pytestmark = pytest.mark.timeout(60)

STRIDE = 16
H, W = 14, 18  # grid; input 209 x 273 px


def person(x0: float, y0: float, scale: float = 1.0) -> np.ndarray:
    """17 x 2 (y, x) keypoints of an upright person, in input pixels, nose at (y0, x0)."""
    offsets = np.array([
        (0, 0), (-6, 5), (-6, -5), (-3, 12), (-3, -12), (25, 20), (25, -20), (55, 26), (55, -26), (82, 28),
        (82, -28), (85, 12), (85, -12), (125, 13), (125, -13), (165, 14), (165, -14)], dtype=np.float64)
    return np.stack([y0 + scale * offsets[:, 0], x0 + scale * offsets[:, 1]], axis=1)


def synthetic_maps(people: list[np.ndarray], peaks: list[float]):
    """Heatmap logits peaking at each keypoint, short offsets (within 28 px) pointing at the keypoint, and
    displacements that carry each person's own limb vectors (so decoding must stay on the right person)."""
    k = 17
    cells = np.stack(np.meshgrid(np.arange(H), np.arange(W), indexing="ij"), axis=-1).astype(np.float64) * STRIDE
    heat = np.full((H, W, k), -8.0)
    offsets = np.zeros((H, W, 2 * k))
    disp = np.zeros((H, W, 64))
    for p in range(k):
        d2 = np.stack([((cells - kp[p]) ** 2).sum(-1) for kp in people])  # P x H x W
        nearest = d2.argmin(0)
        for q, (kp, peak) in enumerate(zip(people, peaks)):
            heat[:, :, p] = np.maximum(heat[:, :, p], peak - 2.0 * d2[q] / STRIDE ** 2)
            mine = (nearest == q) & (d2[q] <= 28.0 ** 2)  # short offsets only near the keypoint
            offsets[:, :, p][mine] = (kp[p, 0] - cells[:, :, 0])[mine]
            offsets[:, :, k + p][mine] = (kp[p, 1] - cells[:, :, 1])[mine]
    ne = len(EDGES)
    for e, (parent, child) in enumerate(EDGES):
        for a, b, block in ((parent, child, 0), (child, parent, 2)):
            d2 = np.stack([((cells - kp[a]) ** 2).sum(-1) for kp in people])
            nearest = d2.argmin(0)
            for q, kp in enumerate(people):
                mine = nearest == q
                disp[:, :, block * ne + e][mine] = kp[b, 0] - kp[a, 0]
                disp[:, :, (block + 1) * ne + e][mine] = kp[b, 1] - kp[a, 1]
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return f32(heat), f32(offsets), f32(disp)


def test_dequantize_uses_scale_and_zero_point():
    q = np.array([[[0, 128, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(dequantize(q, 0.5, 128), [[[-64.0, 0.0, 63.5]]])
    f = np.array([[[1.5, -2.0]]], dtype=np.float32)
    np.testing.assert_array_equal(dequantize(f, 0.0, 0), f)  # scale 0: not quantised


def test_single_pose_is_argmax_plus_offset():
    truth = person(100.0, 40.0)
    heat, offsets, _ = synthetic_maps([truth], [4.0])
    out = decode_single_pose(heat, offsets, STRIDE)
    assert out.shape == (17, 3)
    np.testing.assert_allclose(out[:, :2], truth, atol=1e-3)
    assert (out[:, 2] > 0.9).all()


def test_multi_pose_decodes_each_person_along_the_skeleton():
    a, b = person(70.0, 20.0), person(200.0, 30.0, scale=0.9)
    heat, offsets, disp = synthetic_maps([a, b], [5.0, 3.0])
    keypoints, scores = decode_multi_pose(heat, offsets, disp, STRIDE, 10, 0.5, 20.0, 1, 5)
    assert keypoints.shape == (2, 17, 3) and scores.shape == (2,)
    assert scores[0] >= scores[1] > 0.5  # best first
    np.testing.assert_allclose(keypoints[0, :, :2], a, atol=1e-2)
    np.testing.assert_allclose(keypoints[1, :, :2], b, atol=1e-2)


@pytest.mark.parametrize("root", [0, 15, 10])  # nose, left ankle, right wrist
def test_multi_pose_follows_forward_and_backward_edges_from_any_root(root):
    # Only `root` is a candidate (every other keypoint sits on a plateau of logit -1 < logit(0.3)), so each pose
    # is decoded from it alone: a wrong displacement channel lands off the plateaus and the pose is lost.
    a, b = person(70.0, 20.0), person(200.0, 30.0, scale=0.9)
    heat, offsets, disp = synthetic_maps([a, b], [6.0, 6.0])
    cells = np.stack(np.meshgrid(np.arange(H), np.arange(W), indexing="ij"), axis=-1) * STRIDE
    for p in range(17):
        if p != root:
            near = np.zeros((H, W), bool)
            for kp in (a, b):
                near |= ((cells - kp[p]) ** 2).sum(-1) <= 30.0 ** 2
            heat[:, :, p] = np.where(near, -1.0, -8.0)
    keypoints, _ = decode_multi_pose(heat, offsets, disp, STRIDE, 10, 0.3, 20.0, 1, 5)
    assert len(keypoints) == 2
    keypoints = keypoints[np.argsort(keypoints[:, 0, 1])]  # equal scores: order by x
    np.testing.assert_allclose(keypoints[0, :, :2], a, atol=1e-2)
    np.testing.assert_allclose(keypoints[1, :, :2], b, atol=1e-2)
    for block in ((0, 32), (32, 64)):  # either displacement block missing: the decoded keypoints go astray
        broken = disp.copy()
        broken[:, :, block[0]:block[1]] = 0.0
        lost, _ = decode_multi_pose(heat, offsets, broken, STRIDE, 10, 0.3, 20.0, 1, 5)
        if root == 0 and block == (32, 64):
            continue  # from the nose every edge is a forward edge
        assert len(lost) < 2 or not np.allclose(lost[:, :, :2], keypoints[:, :, :2], atol=1.0)


def test_multi_pose_suppresses_roots_within_the_nms_radius():
    # the same person twice, 32 px apart: one pose with radius 40, both with radius 20
    a, b = person(100.0, 20.0), person(132.0, 20.0)
    heat, offsets, disp = synthetic_maps([a, b], [5.0, 4.9])
    wide, _ = decode_multi_pose(heat, offsets, disp, STRIDE, 10, 0.5, 40.0, 1, 5)
    assert len(wide) == 1
    np.testing.assert_allclose(wide[0, :, :2], a, atol=1e-2)
    narrow, _ = decode_multi_pose(heat, offsets, disp, STRIDE, 10, 0.5, 20.0, 1, 5)
    assert len(narrow) == 2
    np.testing.assert_allclose(narrow[1, :, :2], b, atol=1e-2)


def test_multi_pose_respects_max_poses_and_threshold():
    people = [person(40.0 + 80 * i, 20.0) for i in range(3)]
    heat, offsets, disp = synthetic_maps(people, [5.0, 4.5, 4.0])
    keypoints, _ = decode_multi_pose(heat, offsets, disp, STRIDE, 2, 0.5, 20.0, 1, 5)
    assert len(keypoints) == 2
    low = np.full_like(heat, -3.0)  # every score sigmoid(-3) = 0.05 < 0.5
    keypoints, scores = decode_multi_pose(low, offsets, disp, STRIDE, 10, 0.5, 20.0, 1, 5)
    assert keypoints.shape == (0, 17, 3) and scores.shape == (0,)
