"""OpenPose-style decoding kernels on synthetic heatmaps and part affinity fields."""

from __future__ import annotations

import numpy as np
import pytest

from posegraph.calculators.openpose.kernels import (COCO18_TO_COCO17, LIMB_PAF_CHANNELS, LIMB_PARTS, assemble_people,
                                                    connect_limbs, find_peaks, group_people, people_to_coco17)
from posegraph.calculators.render.topologies import COCO17, COCO18

pytestmark = pytest.mark.timeout(60)

GH, GW = 46, 54


def skeleton(x0: float, y0: float, s: float = 1.0) -> np.ndarray:
    """18 x 2 (x, y) COCO-18 parts of an upright person, in grid cells, nose at (x0, y0)."""
    rel = np.array([
        (0, 0), (0, 3), (-3, 3), (-4, 7), (-4.5, 11), (3, 3), (4, 7), (4.5, 11), (-2, 11), (-2, 17), (-2, 23),
        (2, 11), (2, 17), (2, 23), (-0.8, -0.7), (0.8, -0.7), (-1.6, -0.3), (1.6, -0.3)], dtype=np.float64)
    return np.array([x0, y0]) + s * rel


def render(people: list[np.ndarray], peak: float = 0.9, sigma: float = 1.0, width: float = 0.8):
    """Gaussian part heatmaps (19 channels, last = background) and unit-vector PAFs within `width` cells of each
    limb segment."""
    ys, xs = np.mgrid[0:GH, 0:GW].astype(np.float64)
    heat = np.zeros((GH, GW, 19))
    pafs = np.zeros((GH, GW, 38))
    for parts in people:
        for p, (x, y) in enumerate(parts):
            blob = peak * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2))
            heat[:, :, p] = np.maximum(heat[:, :, p], blob)
        for (a, b), (cx, cy) in zip(LIMB_PARTS, LIMB_PAF_CHANNELS):
            d = parts[b] - parts[a]
            length = np.hypot(*d)
            u = d / length
            px, py = xs - parts[a][0], ys - parts[a][1]
            along = px * u[0] + py * u[1]
            across = np.abs(px * u[1] - py * u[0])
            band = (along >= -0.5) & (along <= length + 0.5) & (across <= width)
            pafs[:, :, cx][band] = u[0]
            pafs[:, :, cy][band] = u[1]
    heat[:, :, 18] = 1.0 - heat[:, :, :18].max(axis=2)
    return np.ascontiguousarray(heat, np.float32), np.ascontiguousarray(pafs, np.float32)


def test_coco18_to_coco17_maps_names():
    for k17, k18 in enumerate(COCO18_TO_COCO17):
        assert COCO17.keypoint_names[k17] == COCO18.keypoint_names[k18]


def test_peaks_are_local_maxima_with_sub_cell_positions():
    heat, _ = render([skeleton(10.3, 5.6), skeleton(35.7, 8.2)])
    peaks = find_peaks(heat, 18, 0.1)
    assert peaks.shape == (36, 4)
    assert (np.diff(peaks[:, 0]) >= 0).all()  # sorted by part
    nose = peaks[peaks[:, 0] == 0]
    got = nose[np.argsort(nose[:, 1]), 1:3]
    np.testing.assert_allclose(got, [[10.3, 5.6], [35.7, 8.2]], atol=0.1)
    assert find_peaks(heat, 18, 0.95).shape == (0, 4)  # nothing above the threshold


def test_a_plateau_gives_one_peak():
    heat = np.zeros((GH, GW, 19), np.float32)
    heat[10:12, 20:23, 3] = 0.5
    peaks = find_peaks(heat, 18, 0.1)
    assert peaks.shape == (1, 4) and peaks[0, 0] == 3 and peaks[0, 3] == pytest.approx(0.5)
    # its first cell in scan order, (20, 10), pulled half a cell towards the plateau on each axis
    assert peaks[0, 1:3].tolist() == [20.5, 10.5]


def test_the_threshold_is_compared_as_a_double():
    """float32(0.1) is above the double 0.1, the float32 just below it is not."""
    heat = np.zeros((GH, GW, 19), np.float32)
    heat[5, 5, 0] = np.float32(0.1)
    heat[20, 30, 1] = np.nextafter(np.float32(0.1), np.float32(0))
    peaks = find_peaks(heat, 18, 0.1)
    assert peaks[:, :3].tolist() == [[0.0, 5.0, 5.0]]
    assert find_peaks(heat, 18, float(np.float32(0.1))).shape == (0, 4)  # strictly above


def test_limbs_follow_the_field_one_to_one():
    a, b = skeleton(12.0, 6.0), skeleton(38.0, 6.0)
    heat, pafs = render([a, b])
    peaks = find_peaks(heat, 18, 0.1)
    conns = connect_limbs(peaks, pafs, LIMB_PARTS, LIMB_PAF_CHANNELS, 10, 0.05, 0.8)
    assert len(conns) == 2 * len(LIMB_PARTS)
    for limb, ia, ib, score in conns:
        pa, pb = LIMB_PARTS[int(limb)]
        assert peaks[int(ia), 0] == pa and peaks[int(ib), 0] == pb
        # both ends on the same person: no limb crosses from one skeleton to the other
        assert abs(peaks[int(ia), 1] - peaks[int(ib), 1]) < 10
        assert score > 0.8
    # a field pointing the other way gives no limbs
    assert len(connect_limbs(peaks, -pafs, LIMB_PARTS, LIMB_PAF_CHANNELS, 10, 0.05, 0.8)) == 0


def test_two_people_are_assembled_and_mapped_to_coco17():
    a, b = skeleton(12.0, 6.0), skeleton(38.0, 10.0, 0.9)
    heat, pafs = render([a, b])
    peaks = find_peaks(heat, 18, 0.1)
    parts, scores = group_people(peaks, pafs, 10, 0.05, 0.8, 4, 0.4)
    assert parts.shape == (2, 18) and (parts >= 0).all()
    assert (scores > 1.0).all()  # part score 0.9 + limb score ~1 per part
    kp = people_to_coco17(peaks, parts, GW, GH)
    kp = kp[np.argsort(kp[:, 0, 0])]
    for got, truth in zip(kp, (a, b)):
        np.testing.assert_allclose(got[:, :2], (truth[COCO18_TO_COCO17] + 0.5) / [GW, GH], atol=0.1 / GW)
        assert (got[:, 2] > 0.75).all()  # the peak cell value (parts sit between cells)


def test_fragments_below_the_part_count_or_score_are_dropped():
    a = skeleton(20.0, 6.0)
    heat, pafs = render([a])
    peaks = find_peaks(heat, 18, 0.1)
    parts, _ = group_people(peaks, pafs, 10, 0.05, 0.8, 19, 0.4)  # a person has 18 parts at most
    assert parts.shape == (0, 18)
    parts, _ = group_people(peaks, pafs, 10, 0.05, 0.8, 4, 5.0)  # mean score per part is below 2
    assert parts.shape == (0, 18)
    # only the head parts are visible: nose, eyes, ears make one person (limbs 13-16 can start a person)
    head = [0, 14, 15, 16, 17]
    heat[:, :, [p for p in range(18) if p not in head]] = 0
    peaks = find_peaks(heat, 18, 0.1)
    parts, _ = group_people(peaks, pafs, 10, 0.05, 0.8, 4, 0.4)
    assert parts.shape == (1, 18)
    assert sorted(np.flatnonzero(parts[0] >= 0)) == sorted(head)


def test_assembly_joins_fragments_sharing_no_part():
    # limbs given directly: neck-rshoulder (person A) and rshoulder-relbow then a neck-lshoulder limb: the
    # rshoulder limb extends A; a limb between two people's parts that share nothing merges them.
    peaks = np.array([[1, 0, 0, 0.9], [2, 1, 0, 0.9], [3, 2, 0, 0.9], [5, 3, 0, 0.9], [6, 4, 0, 0.9]], np.float32)
    conns = np.array([[0, 0, 1, 1.0],   # neck-rshoulder: new person {1, 2}
                      [4, 3, 4, 1.0],   # lshoulder-lelbow: new person {5, 6}
                      [2, 1, 2, 1.0],   # rshoulder-relbow: extends the first
                      [1, 0, 3, 1.0]],  # neck-lshoulder: joins the two
                     np.float32)
    parts, scores = assemble_people(peaks, conns, LIMB_PARTS, 18, 17, 4, 0.4)
    assert parts.shape == (1, 18)
    assert {p: int(parts[0, p]) for p in np.flatnonzero(parts[0] >= 0)} == {1: 0, 2: 1, 3: 2, 5: 3, 6: 4}
    assert scores[0] == pytest.approx((5 * 0.9 + 4 * 1.0) / 5)
