"""The multi-person tracking calculators on synthetic people: matching, masking, assignment, identities, per-track
smoothing and the detection schedule. No models needed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.detection.roi import pose_roi_from_detection
from posegraph.calculators.landmarks.smoothing import (OneEuroFilter, OneEuroParams, VisibilityFilter,
                                                       filter_normalized_landmarks, object_scale_from_rect)
from posegraph.calculators.render.topologies import BLAZEPOSE33
from posegraph.calculators.tracking.mask import containment_geometry, mask_people, paint_people
from posegraph.calculators.tracking.matching import (alignment_points_similarity, greedy_unique,
                                                     landmark_similarity, roi_side_pixels,
                                                     similar_pose_pairs)
from posegraph.calculators.tracking.types import TrackedRoi, TrackSet
from posegraph.calculators.tracking.update import PoseTrackUpdateCalculator, PoseTrackUpdateOptions
from posegraph.calculators.types import ImageFrame, Pose

from .synthetic import HEIGHT, WIDTH, detection, person, person_landmarks

pytestmark = pytest.mark.timeout(60)

FRAME = ImageFrame(np.full((HEIGHT, WIDTH, 3), 200, dtype=np.uint8), "synthetic", 0)


def _sum_dropped(graph: Graph, calculator: str) -> int:
    return sum(s.dropped for s in graph.node_stats() if s.calculator == calculator)


# -- matching ------------------------------------------------------------------------------------------------------

def test_alignment_points_similarity_is_one_for_the_same_points_and_falls_with_distance():
    _, aux = person_landmarks(0.5, 0.7, 0.6)
    pts = aux[:, :2]
    assert alignment_points_similarity(pts, pts, WIDTH, HEIGHT) == pytest.approx(1.0)
    near = pts + np.float32([0.01, 0.0])
    far = pts + np.float32([0.4, 0.0])  # ~0.9 body radii
    s_near = alignment_points_similarity(pts, near, WIDTH, HEIGHT, k=0.25)
    s_far = alignment_points_similarity(pts, far, WIDTH, HEIGHT, k=0.25)
    assert s_near > 0.9 > 0.01 > s_far
    assert s_near == pytest.approx(alignment_points_similarity(near, pts, WIDTH, HEIGHT, k=0.25))


def test_landmark_similarity_tells_one_person_from_two_side_by_side():
    a, _ = person_landmarks(0.4, 0.7, 0.6)
    same = a.copy()
    same[:, :2] += np.float32([2.0 / WIDTH, -1.0 / HEIGHT])  # a 2-pixel jitter
    neighbour, _ = person_landmarks(0.55, 0.7, 0.6)  # ~96 px to the right: side by side
    assert landmark_similarity(a, a, WIDTH, HEIGHT) == pytest.approx(1.0)
    assert landmark_similarity(a, same, WIDTH, HEIGHT) > 0.9
    assert landmark_similarity(a, neighbour, WIDTH, HEIGHT) < 0.05


def test_similar_pose_pairs_decides_every_pair_as_landmark_similarity_does():
    rng = np.random.default_rng(11)
    near = 0
    for _ in range(300):
        base, _ = person_landmarks(*rng.uniform((0.3, 0.5), (0.7, 0.8)), float(rng.uniform(0.2, 0.7)))
        poses = [base + rng.normal(0.0, 10 ** rng.uniform(-3.5, -0.5), base.shape).astype(np.float32)
                 for _ in range(int(rng.integers(1, 6)))]
        for p in poses:
            p[:, 3] = rng.uniform(0.0, 1.0, 33)
        same = similar_pose_pairs(poses, WIDTH, HEIGHT, 0.1, 0.5)
        for i in range(len(poses)):
            assert not same[i, i]
            for j in range(len(poses)):
                if i != j:
                    value = landmark_similarity(poses[i], poses[j], WIDTH, HEIGHT, 0.1)
                    assert same[i, j] == (value > 0.5)
                    near += abs(value - 0.5) < 0.1
    assert near > 20  # pairs close to the threshold were tested


def test_greedy_unique_keeps_the_first_of_each_group_in_the_given_order():
    groups = [0, 1, 0, 2, 1]
    same = lambda i, j: groups[i] == groups[j]  # noqa: E731
    assert greedy_unique(5, same) == [0, 1, 3]
    assert greedy_unique(5, same, order=[4, 3, 2, 1, 0]) == [4, 3, 2]


# -- masking -------------------------------------------------------------------------------------------------------

def test_mask_people_paints_the_person_and_nothing_far_from_them():
    lm, _ = person_landmarks(0.3, 0.75, 0.6)
    pixels = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    before = pixels.copy()
    out, region = mask_people(pixels, [(lm, 400.0)], (10, 20, 30))
    np.testing.assert_array_equal(pixels, before)  # the input is never modified
    torso = (int(0.3 * WIDTH), int((0.75 - 0.36 * 0.6) * HEIGHT))
    assert region[torso[1], torso[0]] and tuple(out[torso[1], torso[0]]) == (10, 20, 30)
    nose = np.round(lm[0, :2] * (WIDTH, HEIGHT)).astype(int)
    assert region[nose[1], nose[0]]
    assert not region[:, int(0.6 * WIDTH):].any()  # nobody painted on the right half
    np.testing.assert_array_equal(out[~region], pixels[~region])


def test_paint_people_draws_each_limb_as_cv2_line_does_and_stays_inside_its_containment_box():
    rng = np.random.default_rng(3)
    for _ in range(200):
        lm = rng.uniform(-0.3, 1.3, (33, 5)).astype(np.float32)
        if rng.random() < 0.5:  # a small person, thick lines: the box's margin matters
            lm[:, :2] = rng.uniform(0.3, 0.7, 2) + rng.uniform(-0.05, 0.05, (33, 2))
        side = float(rng.uniform(1.0, 500.0))
        painted = paint_people(np.zeros((120, 90), dtype=np.uint8), [(lm, side)], 255)
        # the limbs one cv2.line at a time (as before they were drawn in one polylines call), then torso and head
        pts = np.clip(np.round(lm[:, :2].astype(np.float64) * (90, 120)).astype(np.int32), -480, 600)
        th = max(2, int(round(0.06 * side)))
        ref = np.zeros((120, 90), dtype=np.uint8)
        for a, b in BLAZEPOSE33.connections:
            if lm[a, 3] >= 0.5 and lm[b, 3] >= 0.5:
                cv2.line(ref, (int(pts[a, 0]), int(pts[a, 1])), (int(pts[b, 0]), int(pts[b, 1])), 255, th, cv2.LINE_8)
        paint_people(ref, [(np.where(np.arange(33)[:, None] == 3, 0.0, lm), side)], 255)  # torso and head only
        np.testing.assert_array_equal(painted, ref)
        x0, y0, x1, y1 = containment_geometry([lm], [side], 90, 120).boxes[0]
        ys, xs = np.nonzero(painted)
        assert ((xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)).all()


def test_update_drops_contained_poses_as_if_everybody_kept_were_painted():
    """The tracker paints a kept person only when a later pose reaches their box: same decisions as painting all."""
    def reference(people, w, h):
        cw, ch = w // 4, h // 4
        region = np.zeros((ch, cw), dtype=np.uint8)
        kept = []
        for p in people:
            lm = p.landmarks
            visible = lm[:, 3] > 0.5
            if kept and visible.any():
                x = np.floor(lm[visible, 0] * cw).astype(np.int64)
                y = np.floor(lm[visible, 1] * ch).astype(np.int64)
                inside = (x >= 0) & (x < cw) & (y >= 0) & (y < ch)
                hits = np.zeros(x.shape[0], dtype=bool)
                hits[inside] = region[y[inside], x[inside]] > 0
                if hits.mean() > 0.7:
                    continue
            paint_people(region, [(lm, roi_side_pixels(p.next_roi, cw, ch))], 255, 0.06)
            kept.append(p)
        return kept

    calc = PoseTrackUpdateCalculator.__new__(PoseTrackUpdateCalculator)
    calc.options = PoseTrackUpdateOptions()
    rng = np.random.default_rng(5)
    dropped = 0
    for _ in range(150):
        people = [person(*rng.uniform((0.1, 0.5), (0.9, 0.9)), height=float(rng.uniform(0.2, 0.8)))
                  for _ in range(int(rng.integers(2, 6)))]
        for p in people:  # some landmarks hidden, some people upside down over others
            p.landmarks[rng.random(33) < 0.2, 3] = 0.1
            if rng.random() < 0.3:
                p.landmarks[:, 1] = 2 * p.landmarks[23, 1] - p.landmarks[:, 1]
        expected = reference(people, WIDTH, HEIGHT)
        assert [id(p) for p in calc._drop_contained(people, WIDTH, HEIGHT)] == [id(p) for p in expected]
        dropped += len(people) - len(expected)
    assert dropped > 10  # the cases test something


# -- assignment ----------------------------------------------------------------------------------------------------

ASSIGN = """
input_stream: 'image'  input_stream: 'tracks'  input_stream: 'known'  input_stream: 'mask'
input_stream: 'detections'  input_stream: 'rois'
output_stream: 'out'  output_stream: 'dropped'
node { calculator: 'PoseTrackAssignmentCalculator' input_stream: 'IMAGE:image' input_stream: 'TRACKS:tracks'
       input_stream: 'KNOWN:known' input_stream: 'MASK:mask' input_stream: 'DETECTIONS:detections'
       input_stream: 'DETECTION_ROIS:rois' output_stream: 'ROIS:out' output_stream: 'DROPPED:dropped'
       input_side_packet: 'MAX_POSES:max_poses' }
input_side_packet: 'max_poses'
"""


def _dets(*specs):
    dets = [detection(*s) for s in specs]
    return {"detections": dets, "rois": [pose_roi_from_detection(d, WIDTH, HEIGHT) for d in dets]}


def test_assignment_ignores_detections_of_tracked_people_and_keeps_the_best_new_ones():
    graph = Graph(ASSIGN)
    graph.start({"max_poses": 3}, synchronous=True)
    tracked = person(0.3, 0.75, track_id=7)
    tracks = TrackSet((TrackedRoi(7, tracked.next_roi, 0.99, "track", tracked.aux_landmarks[:, :2]),))
    # Detections: the tracked person again (slightly off), and three new people side by side.
    inputs = {"image": FRAME, "tracks": tracks,
              **_dets((0.305, 0.75, 0.6, 0.95), (0.5, 0.75, 0.6, 0.6), (0.65, 0.75, 0.6, 0.9),
                      (0.8, 0.75, 0.6, 0.7))}
    out = graph.process(inputs, timestamp=0)
    graph.close()
    rois = out["out"]
    assert [r.track_id for r in rois] == [7, -1, -1]  # the tracked person first, then new people
    assert [round(r.score, 2) for r in rois[1:]] == [0.9, 0.7]  # best new ones, by score
    assert [round(r.score, 2) for r in out["dropped"]] == [0.6]
    assert _sum_dropped(graph, "PoseTrackAssignmentCalculator") == 1


def test_assignment_counts_known_people_and_ignores_what_is_left_of_them_in_the_mask():
    graph = Graph(ASSIGN)
    graph.start({"max_poses": 2}, synchronous=True)
    known = person(0.3, 0.75)
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[100:400, 150:250] = True  # the painted region around the known person
    # A remnant (hip centre inside the mask, but far enough to not match), then two new people.
    inputs = {"image": FRAME, "known": [known], "mask": mask,
              **_dets((0.36, 0.5, 0.3, 0.9), (0.6, 0.75, 0.6, 0.8), (0.8, 0.75, 0.6, 0.7))}
    out = graph.process(inputs, timestamp=0)
    graph.close()
    assert [round(r.score, 2) for r in out["out"]] == [0.8]  # one slot left next to the known person
    assert _sum_dropped(graph, "PoseTrackAssignmentCalculator") == 1  # the remnant is not a person: not counted


# -- identities ----------------------------------------------------------------------------------------------------

UPDATE = """
input_stream: 'image'  input_stream: 'a'  input_stream: 'b'  output_stream: 'poses'  output_stream: 'tracks'
input_side_packet: 'tracking'
node { calculator: 'PoseTrackUpdateCalculator' input_stream: 'IMAGE:image' input_stream: 'PERSONS:0:a'
       input_stream: 'PERSONS:1:b' input_side_packet: 'TRACKING:tracking'
       output_stream: 'POSES:poses' output_stream: 'TRACKS:tracks'
       options { [posegraph.PoseTrackUpdateOptions.ext] { reid_frames: 5 } } }
"""


def _update_graph(tracking=True):
    graph = Graph(UPDATE)
    graph.start({"tracking": tracking}, synchronous=True)
    return graph


def test_update_numbers_new_people_keeps_tracked_ids_and_reports_lost_tracks():
    graph = _update_graph()
    out = graph.process({"image": FRAME, "a": [person(0.3, 0.75, score=0.9), person(0.7, 0.75, score=0.8)]}, 0)
    assert [p.track_id for p in out["poses"]] == [0, 1]
    assert all(isinstance(p, Pose) and p.extras["_next_roi"] is not None for p in out["poses"])
    assert [t.track_id for t in out["tracks"].active] == [0, 1] and out["tracks"].just_lost == 0
    # Next frame: both tracked; person 0 is lost, a new person appears.
    out = graph.process({"image": FRAME, "a": [person(0.31, 0.75, track_id=0, found=False),
                                               person(0.71, 0.75, track_id=1)],
                         "b": [person(0.5, 0.7, score=0.7)]}, 1)
    assert [p.track_id for p in out["poses"]] == [1, 2]
    assert out["tracks"].just_lost == 1
    # Two frames later person 0 is detected again near where they were lost: their id comes back.
    graph.process({"image": FRAME, "a": [person(0.71, 0.75, track_id=1), person(0.5, 0.7, track_id=2)]}, 2)
    out = graph.process({"image": FRAME, "a": [person(0.71, 0.75, track_id=1), person(0.5, 0.7, track_id=2)],
                         "b": [person(0.32, 0.75)]}, 3)
    assert [p.track_id for p in out["poses"]] == [0, 1, 2]
    tracker = next(n.calculator for n in graph._nodes if n.name == "PoseTrackUpdateCalculator")
    assert tracker.reidentified == 1
    graph.close()


def test_update_forgets_lost_tracks_after_reid_frames():
    graph = _update_graph()
    graph.process({"image": FRAME, "a": [person(0.3, 0.75)]}, 0)
    graph.process({"image": FRAME, "a": [person(0.3, 0.75, track_id=0, found=False)]}, 1)
    for t in range(2, 9):  # more than reid_frames (5) frames without them
        graph.process({"image": FRAME, "a": []}, t)
    out = graph.process({"image": FRAME, "b": [person(0.3, 0.75)]}, 9)
    assert [p.track_id for p in out["poses"]] == [1]
    graph.close()


def test_update_removes_duplicates_keeping_the_older_track():
    graph = _update_graph()
    graph.process({"image": FRAME, "a": [person(0.3, 0.75), person(0.7, 0.75)]}, 0)
    # Track 1 drifted onto person 0, and a new detection of person 0 came in too: one pose survives, id 0.
    out = graph.process({"image": FRAME, "a": [person(0.3, 0.75, track_id=0), person(0.301, 0.75, track_id=1)],
                         "b": [person(0.299, 0.75)]}, 1)
    assert [p.track_id for p in out["poses"]] == [0]
    tracker = next(n.calculator for n in graph._nodes if n.name == "PoseTrackUpdateCalculator")
    assert tracker.duplicates == 2
    graph.close()


def test_update_without_tracking_numbers_each_frame_from_zero():
    graph = _update_graph(tracking=False)
    for t in range(3):
        out = graph.process({"image": FRAME, "a": [person(0.3, 0.75)], "b": [person(0.7, 0.75)]}, t)
        assert [p.track_id for p in out["poses"]] == [0, 1]
    graph.close()


# -- per-track smoothing -------------------------------------------------------------------------------------------

SMOOTH = """
input_stream: 'image'  input_stream: 'poses'  output_stream: 'out'
node { calculator: 'PoseTrackSmoothingCalculator' input_stream: 'IMAGE:image' input_stream: 'POSES:poses'
       output_stream: 'POSES:out' }
"""


def _pose(track_id, cx, rng):
    p = person(cx, 0.75)
    lm = p.landmarks.copy()
    lm[:, :2] += rng.normal(0, 0.004, (33, 2)).astype(np.float32)
    world = rng.normal(0, 0.1, (33, 3)).astype(np.float32)
    return Pose(landmarks=lm, topology="blazepose33", world_landmarks=world, track_id=track_id,
                extras={"_next_roi": p.next_roi})


def test_smoothing_keeps_one_filter_per_track_and_drops_it_when_the_track_ends():
    rng = np.random.default_rng(1)
    graph = Graph(SMOOTH)
    graph.start(synchronous=True)
    smoother = next(n.calculator for n in graph._nodes if n.name == "PoseTrackSmoothingCalculator")
    ref = {}  # independent MediaPipe filters per id, as the single-person graph runs them

    def expected(pose, ts):
        if pose.track_id not in ref:
            ref[pose.track_id] = (OneEuroFilter(OneEuroParams(0.05, 80.0, 1.0)), VisibilityFilter(0.1),
                                  OneEuroFilter(OneEuroParams(0.1, 40.0, 1.0, disable_value_scaling=True)))
        lm_f, vis_f, world_f = ref[pose.track_id]
        scale = object_scale_from_rect(pose.extras["_next_roi"], WIDTH, HEIGHT)
        return (filter_normalized_landmarks(lm_f, vis_f, pose.landmarks, WIDTH, HEIGHT, ts, scale),
                world_f.apply(pose.world_landmarks, ts, None))

    schedule = [[0, 1]] * 5 + [[1]] * 2 + [[0, 1]] * 3  # track 0 ends at frame 5 and a new track 0 starts at 7
    for i, ids in enumerate(schedule):
        ts = i * 33_333
        if i == 7:
            ref.pop(0)  # a track that ends starts afresh
        poses = [_pose(tid, 0.3 + 0.4 * tid, rng) for tid in ids]
        out = graph.process({"image": FRAME, "poses": poses}, ts)["out"]
        assert [p.track_id for p in out] == ids
        assert smoother.track_ids == ids
        for raw, got in zip(poses, out):
            lm, world = expected(raw, ts)
            np.testing.assert_array_equal(got.landmarks, lm)
            np.testing.assert_array_equal(got.world_landmarks, world)
        if i == 7:  # the first frame of a new filter passes the landmarks through (up to the pixel round trip)
            np.testing.assert_allclose(out[0].landmarks[:, :3], poses[0].landmarks[:, :3], atol=1e-6)
    graph.close()


# -- detection schedule --------------------------------------------------------------------------------------------

SCHEDULE = """
input_stream: 'image'  input_stream: 'tracks'  input_stream: 'persons'  output_stream: 'detect'
node { calculator: 'PoseDetectionScheduleCalculator' input_stream: 'IMAGE:image' input_stream: 'TRACKS:tracks'
       input_stream: 'PERSONS:persons' output_stream: 'DETECT:detect'
       options { [posegraph.PoseDetectionScheduleOptions.ext] { detection_interval: 3 } } }
"""


def test_schedule_searches_after_a_first_detection_every_interval_and_after_a_loss():
    graph = Graph(SCHEDULE)
    graph.start(synchronous=True)
    one = person(0.3, 0.75, track_id=0)
    track = TrackedRoi(0, one.next_roi, 0.99)
    steps = [
        ({}, False),                                            # nobody tracked, nobody found
        ({"persons": [person(0.3, 0.75)]}, True),               # first detector found somebody: search
        ({"tracks": TrackSet((track,)), "persons": [one]}, False),
        ({"tracks": TrackSet((track,)), "persons": [one]}, False),
        ({"tracks": TrackSet((track,)), "persons": [one]}, True),  # 3 frames since the last detection
        ({"tracks": TrackSet((track,)), "persons": [one]}, False),
        ({"tracks": TrackSet((track,), just_lost=1), "persons": [one]}, True),  # a track was lost
    ]
    got = [graph.process({"image": FRAME, **inputs}, t)["detect"] for t, (inputs, _) in enumerate(steps)]
    graph.close()
    assert got == [want for _, want in steps]
