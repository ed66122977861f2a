"""The top-down kernels on synthetic data: normalisation, NMS, crop geometry (UDP round trip), DARK vs argmax."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posegraph.calculators.topdown import kernels as K

pytestmark = pytest.mark.timeout(120)


# -- normalisation ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_normalize_to_nchw_matches_the_formula(dtype):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(7, 5, 3)).astype(dtype)
    scale = 1 / 255 if dtype == np.uint8 else 0.5
    got = K.normalize_to_nchw(image[None], scale=scale)
    mean = np.array(K.IMAGENET_MEAN, dtype=np.float32)
    std = np.array(K.IMAGENET_STD, dtype=np.float32)
    expected = ((image.astype(np.float32) * np.float32(scale) - mean) / std).transpose(2, 0, 1)[None]
    assert got.shape == (1, 3, 7, 5) and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_normalize_rejects_bad_inputs():
    with pytest.raises(ValueError, match="3 values"):
        K.normalize_to_nchw(np.zeros((2, 2, 3), np.uint8), mean=(0.5, 0.5), std=(1, 1))
    with pytest.raises(ValueError, match="batch 1"):
        K.normalize_to_nchw(np.zeros((2, 2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="positive"):
        K.normalize_to_nchw(np.zeros((2, 2, 3), np.uint8), std=(1, 0, 1))


# -- NMS ---------------------------------------------------------------------------------------------------------------
def reference_nms(boxes, scores, score_threshold, iou_threshold):
    """Plain-Python greedy NMS (the textbook loop) to check the kernel against."""
    def iou(a, b):
        ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = ix * iy
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return inter / union if union > 0 else 0.0

    order = [i for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i))
             if scores[i] >= score_threshold and boxes[i][2] > boxes[i][0] and boxes[i][3] > boxes[i][1]]
    keep = []
    for i in order:
        if all(iou(boxes[i], boxes[j]) <= iou_threshold for j in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("seed", range(8))
def test_nms_matches_a_reference_implementation(seed):
    rng = np.random.default_rng(seed)
    n = 200
    xy = rng.uniform(0, 150, size=(n, 2))
    wh = rng.uniform(5, 60, size=(n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    boxes[:5, 2] = boxes[:5, 0]  # some empty boxes, never kept
    scores = rng.uniform(0, 1, size=n).astype(np.float32)
    for score_threshold, iou_threshold in ((0.5, 0.6), (0.2, 0.3), (0.0, 0.9)):
        got = K.non_max_suppression(boxes, scores, score_threshold, iou_threshold, max_candidates=0)
        want = reference_nms(boxes.astype(np.float64).tolist(), scores.tolist(), score_threshold, iou_threshold)
        assert got.tolist() == want


def test_nms_basic_cases():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 70]], np.float32)
    scores = np.array([0.8, 0.9, 0.7, 0.6], np.float32)
    assert K.non_max_suppression(boxes, scores, 0.5, 0.6).tolist() == [1, 3]  # duplicates and a near copy go
    assert K.non_max_suppression(boxes, scores, 0.75, 0.6).tolist() == [1]
    assert K.non_max_suppression(boxes, scores, 0.5, 0.95).tolist() == [1, 2, 3]  # IoU 1 > 0.95, 0.82 is not
    assert K.non_max_suppression(boxes, scores, 0.5, 0.6, max_candidates=1).tolist() == [1]
    assert K.non_max_suppression(np.zeros((0, 4)), np.zeros(0), 0.5, 0.5).tolist() == []
    assert K.iou_xyxy([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="boxes but"):
        K.non_max_suppression(boxes, scores[:2], 0.5, 0.5)


def test_decode_picodet_normalises_and_clips():
    boxes = np.array([[[-4, 10, 96, 200], [96, 48, 192, 144], [0, 0, 5, 5]]], np.float32)
    scores = np.array([[[0.9, 0.8, 0.3]]], np.float32)
    got_scores, got_boxes = K.decode_picodet(boxes, scores, 192, 192, score_threshold=0.5)
    np.testing.assert_allclose(got_scores, [0.9, 0.8])
    np.testing.assert_allclose(got_boxes, [[0, 10 / 192, 0.5, 182 / 192], [0.5, 0.25, 0.5, 0.5]], atol=1e-6)


# -- crops and the UDP transform ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("box", [(100, 50, 180, 400), (10, 10, 310, 90), (0, 0, 30, 40)])
def test_person_crop_rect_has_the_model_aspect_and_the_margin(box):
    cx, cy, w, h = K.person_crop_rect(box, expand_ratio=0.3, aspect=0.75)
    bw, bh = box[2] - box[0], box[3] - box[1]
    assert (cx, cy) == pytest.approx(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    assert w / h == pytest.approx(0.75)
    assert w >= bw * 1.3 - 1e-9 and h >= bh * 1.3 - 1e-9
    assert w == pytest.approx(bw * 1.3) or h == pytest.approx(bh * 1.3)  # one side is exactly the margin


def test_udp_crop_then_heatmap_transform_is_the_identity():
    width, height = 400, 640
    rect_px = K.person_crop_rect((120, 30, 290, 610))
    matrix = K.udp_crop_matrix(*rect_px, 96, 128)
    rect_n = (rect_px[0] / width, rect_px[1] / height, rect_px[2] / width, rect_px[3] / height)
    rng = np.random.default_rng(1)
    points = rng.uniform([0, 0], [width, height], size=(50, 2))  # edge-based pixel coordinates
    cv_points = points - 0.5  # OpenCV: pixel centres at integers
    model_input = cv_points @ matrix[:, :2].T + matrix[:, 2]
    for scale, (kx, ky) in (("stride", (96 / 24, 128 / 32)), ("udp", (95 / 23, 127 / 31))):
        cells = model_input / [kx, ky]
        back = K.heatmaps_to_image(cells, rect_n, (96, 128), (24, 32), heatmap_scale=scale)
        np.testing.assert_allclose(back * [width, height], points, atol=1e-9)


def test_udp_crop_edges_land_on_the_first_and_last_input_pixels():
    matrix = K.udp_crop_matrix(50.0, 80.0, 30.0, 40.0, 96, 128)
    left_top = np.array([50 - 15 - 0.5, 80 - 20 - 0.5])  # the crop's corner, OpenCV coordinates
    right_bottom = left_top + [30, 40]
    np.testing.assert_allclose(matrix[:, :2] @ left_top + matrix[:, 2], [0, 0], atol=1e-12)
    np.testing.assert_allclose(matrix[:, :2] @ right_bottom + matrix[:, 2], [95, 127], atol=1e-12)


def test_crop_person_puts_a_marked_pixel_where_the_matrix_says():
    image = np.zeros((300, 200, 3), np.uint8)
    image[150, 90] = (255, 255, 255)
    rect = K.person_crop_rect((60, 60, 140, 260))
    tensor = K.crop_person(image, rect, 96, 128)
    assert tensor.shape == (1, 3, 128, 96) and tensor.dtype == np.float32
    red = tensor[0, 0] * K.IMAGENET_STD[0] + K.IMAGENET_MEAN[0]  # undo the normalisation
    expected = K.udp_crop_matrix(*rect, 96, 128) @ np.array([90.0, 150.0, 1.0])
    y, x = np.unravel_index(np.argmax(red), red.shape)
    assert abs(x - expected[0]) <= 1 and abs(y - expected[1]) <= 1
    # outside the image the crop is black: normalised (0 - mean) / std
    big = K.crop_person(image, (100, 150, 600, 800), 96, 128)
    assert big[0, 0, 0, 0] == pytest.approx(-K.IMAGENET_MEAN[0] / K.IMAGENET_STD[0], abs=1e-5)


# -- heatmap decoding ------------------------------------------------------------------------------------------------
def gaussian_heatmaps(centres: np.ndarray, size=(24, 32), sigma: float = 1.0) -> np.ndarray:
    """One unnormalised Gaussian per row of `centres` (x, y in cells): PP-TinyPose's training targets."""
    xs = np.arange(size[0])[None, :]
    ys = np.arange(size[1])[:, None]
    return np.stack([np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma ** 2)) for cx, cy in centres]
                    ).astype(np.float32)


def test_gaussian_kernel_matches_opencv():
    for k in (1, 3, 5, 7, 11):  # (OpenCV 5 also tabulates size 9)
        np.testing.assert_allclose(K.gaussian_kernel_1d(k), cv2.getGaussianKernel(k, 0)[:, 0], atol=1e-7)
    with pytest.raises(ValueError):
        K.gaussian_kernel_1d(4)


def test_dark_recovers_sub_cell_centres_that_argmax_cannot():
    rng = np.random.default_rng(2)
    centres = rng.uniform([3, 3], [20, 28], size=(17, 2))
    heatmaps = gaussian_heatmaps(centres) * 0.9 + rng.normal(0, 0.003, size=(17, 32, 24)).astype(np.float32)
    dark, dark_scores = K.dark_heatmaps(heatmaps, kernel_size=3)
    plain, plain_scores = K.argmax_heatmaps(heatmaps)
    dark_err = np.linalg.norm(dark - centres, axis=1)
    plain_err = np.linalg.norm(plain - centres, axis=1)
    assert np.all(plain == np.round(plain))
    assert dark_err.max() < 0.1, dark_err
    assert dark_err.mean() < 0.25 * plain_err.mean(), (dark_err.mean(), plain_err.mean())
    np.testing.assert_array_equal(dark_scores, plain_scores)
    np.testing.assert_array_equal(dark_scores, heatmaps.max(axis=(1, 2)))


def reference_dark(heatmaps: np.ndarray, ksize: int) -> np.ndarray:
    """DARK the long way: zero-padded full-map blur with OpenCV, log, finite differences, a 2 x 2 solve."""
    out = []
    for hm in heatmaps.astype(np.float64):
        py, px = np.unravel_index(np.argmax(hm), hm.shape)
        pad = ksize
        padded = np.zeros((hm.shape[0] + 2 * pad, hm.shape[1] + 2 * pad))
        padded[pad:-pad, pad:-pad] = hm
        blurred = cv2.GaussianBlur(padded, (ksize, ksize), 0)[pad:-pad, pad:-pad]
        log = np.log(np.maximum(blurred, 1e-10))
        x, y = float(px), float(py)
        if 1 <= px <= hm.shape[1] - 2 and 1 <= py <= hm.shape[0] - 2:
            g = np.array([0.5 * (log[py, px + 1] - log[py, px - 1]), 0.5 * (log[py + 1, px] - log[py - 1, px])])
            hxx = log[py, px + 1] - 2 * log[py, px] + log[py, px - 1]
            hyy = log[py + 1, px] - 2 * log[py, px] + log[py - 1, px]
            hxy = 0.25 * (log[py + 1, px + 1] - log[py + 1, px - 1] - log[py - 1, px + 1] + log[py - 1, px - 1])
            hessian = np.array([[hxx, hxy], [hxy, hyy]])
            if np.linalg.det(hessian) > 1e-12 and hxx < 0:
                offset = np.clip(-np.linalg.solve(hessian, g), -1, 1)
                x, y = x + offset[0], y + offset[1]
        out.append((x, y))
    return np.array(out)


@pytest.mark.parametrize("ksize", [1, 3, 5])
def test_dark_local_blur_equals_a_full_blur(ksize):
    rng = np.random.default_rng(3)
    centres = rng.uniform([1, 1], [22, 30], size=(17, 2))
    heatmaps = gaussian_heatmaps(centres, sigma=1.3) + rng.uniform(0, 0.05, size=(17, 32, 24)).astype(np.float32)
    got, _ = K.dark_heatmaps(heatmaps, kernel_size=ksize)
    np.testing.assert_allclose(got, reference_dark(heatmaps, ksize), atol=1e-6)


def test_dark_leaves_border_and_flat_maxima_on_the_integer_cell():
    heatmaps = np.zeros((3, 32, 24), np.float32)
    heatmaps[0, 0, 5] = 1.0                     # on the top border
    heatmaps[1, 10:13, 10:13] = 0.5             # a flat plateau: no curvature to refine with... mostly
    heatmaps[1, 11, 11] = 0.5000001
    heatmaps[2] = gaussian_heatmaps(np.array([[23.0, 31.0]]))[0]  # the bottom-right corner
    coords, scores = K.dark_heatmaps(heatmaps)
    assert tuple(coords[0]) == (5.0, 0.0)
    assert np.allclose(coords[1], (11.0, 11.0), atol=1e-3)  # symmetric neighbourhood: no offset
    assert tuple(coords[2]) == (23.0, 31.0)
    np.testing.assert_allclose(scores, [1.0, 0.5000001, 1.0])


def test_decode_heatmaps_gives_coco_landmarks():
    centres = np.column_stack([np.linspace(4, 19, 17), np.linspace(3, 28, 17)]) + 0.3
    heatmaps = gaussian_heatmaps(centres)[None] * 1.1  # peaks above 1 get score 1
    rect = (0.5, 0.5, 0.6, 0.8)
    landmarks = K.decode_heatmaps(heatmaps, rect, (96, 128))
    assert landmarks.shape == (17, 5) and landmarks.dtype == np.float32
    scores = np.clip(heatmaps[0].max(axis=(1, 2)), 0, 1)
    assert np.any(scores == 1.0) and np.any(scores < 1.0)
    assert np.all(landmarks[:, 2] == 0)
    np.testing.assert_array_equal(landmarks[:, 3], scores)
    np.testing.assert_array_equal(landmarks[:, 4], scores)
    expected = K.heatmaps_to_image(centres, rect, (96, 128), (24, 32))
    np.testing.assert_allclose(landmarks[:, :2], expected, atol=0.1 * 0.6 / 24)
    plain = K.decode_heatmaps(heatmaps, rect, (96, 128), method="argmax")
    assert np.abs(plain[:, :2] - expected).max() > 0.2 * 0.6 / 24  # quantised to cells
    with pytest.raises(ValueError, match="method"):
        K.decode_heatmaps(heatmaps, rect, (96, 128), method="soft")
    with pytest.raises(ValueError, match="heatmap_scale"):
        K.decode_heatmaps(heatmaps, rect, (96, 128), heatmap_scale="half")
    with pytest.raises(ValueError, match="K x H x W"):
        K.decode_heatmaps(np.zeros((17, 32)), rect, (96, 128))


def test_cubic_whole_frame_is_opencv_resize_and_a_region_is_centre_aligned():
    """interpolation "cubic" (PicoDet's preprocessing): the whole frame stretched is exactly cv2.resize(INTER_CUBIC),
    a sub-region samples pixel centres (a 2x downscale of a ramp lands between source pixels), and MATRIX and padding
    are the same as with the default bilinear warp."""
    from posegraph.calculators.image.transforms import image_to_tensor
    from posegraph.calculators.types import NormalizedRect

    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)
    cubic = image_to_tensor(image, None, 48, 40, keep_aspect_ratio=False, value_range=(0, 255),
                            interpolation="cubic")
    expected = cv2.resize(image, (48, 40), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    np.testing.assert_array_equal(cubic.tensor, expected)
    linear = image_to_tensor(image, None, 48, 40, keep_aspect_ratio=False, value_range=(0, 255))
    np.testing.assert_array_equal(cubic.matrix, linear.matrix)
    assert cubic.padding == linear.padding

    ramp = np.repeat(np.repeat(np.arange(64, dtype=np.uint8)[None, :, None] * 2, 32, 0), 3, 2)
    rect = NormalizedRect(x_center=0.5, y_center=0.5, width=0.5, height=0.5)  # 32 px wide -> 16 tensor px
    crop = image_to_tensor(ramp, rect, 16, 16, keep_aspect_ratio=False, value_range=(0, 255),
                           interpolation="cubic").tensor
    # tensor pixel t covers image pixels 16 + 2t and 17 + 2t: its centre sits between them (value 2 * (16.5 + 2t))
    np.testing.assert_allclose(crop[8, :, 0], 2 * (16.5 + 2 * np.arange(16)), atol=1.0)
