"""PoseTrackUpdate: one frame's per-person landmark results -> poses with track ids, and the next frame's tracks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..landmarks.pose_result import SEGMENTATION_MASK_KEY
from ..types import ImageFrame, Pose
from .mask import containment_geometry, paint_people
from .matching import alignment_points_similarity, greedy_unique, rect_iou, roi_side_pixels, similar_pose_pairs
from .types import TrackedPerson, TrackedRoi, TrackSet


@dataclass
class PoseTrackUpdateOptions:
    topology: str = "blazepose33"
    # Two poses on one frame are one person (two ROIs converged on them, or a detection of what was left of a
    # masked person) when their landmark similarity exceeds this; the older track is kept.
    max_duplicate_similarity: float = 0.5
    landmark_sigma: float = 0.1
    # A pose whose visible landmarks lie on a person kept before it (inside the region MaskPeopleCalculator would
    # paint for them) for more than this fraction is a misreading of that person (the landmark model run on what
    # was left of them after masking, e.g. upside down over their legs), not another person. 0 turns it off.
    max_contained_fraction: float = 0.7
    mask_thickness: float = 0.06
    # A lost track is remembered this many frames; a new person matching its alignment points (keypoint similarity
    # above reid_min_keypoint_similarity, sigma keypoint_sigma body radii) or its last ROI (IoU above reid_min_iou)
    # gets its id back.
    reid_frames: int = 30
    reid_min_keypoint_similarity: float = 0.5
    keypoint_sigma: float = 0.35
    reid_min_iou: float = 0.8

    def __post_init__(self):
        if self.reid_frames < 0:
            raise ValueError(f"reid_frames must be >= 0, got {self.reid_frames}")


@calculator("PoseTrackUpdateCalculator")
class PoseTrackUpdateCalculator(Calculator):
    """Per-person landmark results -> poses with track ids (kept, re-identified or new) and the next frame's tracks.

    PERSONS (list[TrackedPerson] per index: what the landmark loops found) + IMAGE -> POSES (list[Pose] with
    track_id, by id; [] when nobody) and TRACKS (the TrackSet for the next frame: each person found, with the ROI
    from their auxiliary landmarks; how many tracks were lost).

    Identity: tracked people keep their id; a new person gets the id of a recently lost track they match (ROI IoU
    or alignment-point similarity), else the next unused id. Two poses of one person (landmark similarity) keep
    the older track (tracked before new, then the lower id or the better detection). Without tracking (TRACKING side
    packet false: static-image mode) ids are 0..n-1 on every frame, in detection order. A pose lying mostly on a
    person kept before it (a misreading of that person) is dropped like a duplicate.

    The raw auxiliary landmarks and the next ROI travel in ``Pose.extras`` as "_auxiliary_landmarks" and
    "_next_roi" (private keys: not written to JSONL); the smoothing takes its object scale from the next ROI, as
    the single-person graph does.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    PERSONS = Input[list]("PERSONS", multiple=True)
    TRACKING = InputSidePacket[bool]("TRACKING", optional=True)
    POSES = Output[list]("POSES")
    TRACKS = Output[TrackSet]("TRACKS", optional=True)
    Options = PoseTrackUpdateOptions

    def open(self, ctx):
        self._tracking = bool(ctx.side(self.TRACKING, default=True))
        self._lost: dict[int, TrackedRoi] = {}
        self._next_id = 0
        self.duplicates = 0  # poses removed as duplicates of another (tests, reports)
        self.reidentified = 0  # new people who got a lost track's id back

    def _matches_lost(self, person: TrackedPerson, lost: TrackedRoi, w: int, h: int) -> float:
        """Similarity of a new person to a lost track (0 when they do not match)."""
        roi = person.next_roi or person.track.roi
        iou = rect_iou(roi, lost.roi)
        kps = 0.0
        if lost.points is not None and person.aux_landmarks is not None:
            kps = alignment_points_similarity(person.aux_landmarks[:2, :2], lost.points, w, h,
                                              self.options.keypoint_sigma)
        o = self.options
        return max(iou, kps) if (iou > o.reid_min_iou or kps > o.reid_min_keypoint_similarity) else 0.0

    def _drop_contained(self, people: list[TrackedPerson], w: int, h: int) -> list[TrackedPerson]:
        """Keep people in order unless their visible landmarks lie mostly on people kept before them.

        A kept person is painted onto the test canvas only once a later person has a visible landmark inside the
        box their paint can reach (`containment_geometry`): people apart from each other (the usual case) are never
        painted, and the canvas reads the same at every tested point as if everybody kept had been painted."""
        o = self.options
        # A quarter-resolution canvas is plenty to test a few dozen points.
        cw, ch = max(1, w // 4), max(1, h // 4)
        sides = [roi_side_pixels(p.next_roi or p.track.roi, cw, ch) for p in people]
        geometry = containment_geometry([p.landmarks for p in people], sides, cw, ch, o.mask_thickness)
        region: np.ndarray | None = None
        kept: list[TrackedPerson] = []
        unpainted: list[int] = []
        for n, p in enumerate(people):
            if kept and geometry.visible[n]:
                reached = [q for q in unpainted if geometry.reaches[n, q]]
                if reached:
                    if region is None:
                        region = np.zeros((ch, cw), dtype=np.uint8)
                    paint_people(region, [(people[q].landmarks, sides[q]) for q in reached], 255, o.mask_thickness)
                    unpainted = [q for q in unpainted if q not in reached]
                hits = 0
                if region is not None:
                    usable = geometry.usable[n]
                    hits = int(np.count_nonzero(region[geometry.ys[n, usable], geometry.xs[n, usable]]))
                if hits / geometry.visible[n] > o.max_contained_fraction:
                    continue
            kept.append(p)
            if n + 1 < len(people):  # the canvas is only read for the people after this one
                unpainted.append(n)
        return kept

    def process(self, ctx):
        frame: ImageFrame = ctx[self.IMAGE]
        persons: list[TrackedPerson] = [p for group in ctx.values(self.PERSONS) if group for p in group]
        w, h = frame.width, frame.height
        o = self.options

        found = [p for p in persons if p.found]
        order = sorted(range(len(found)), key=lambda i: (found[i].track.is_new, found[i].track.track_id,
                                                         -found[i].track.score))

        same = similar_pose_pairs([p.landmarks for p in found], w, h, o.landmark_sigma, o.max_duplicate_similarity)
        kept = [found[i] for i in greedy_unique(len(found), lambda i, j: bool(same[i, j]), order)]
        if o.max_contained_fraction > 0 and len(kept) > 1:
            kept = self._drop_contained(kept, w, h)
        self.duplicates += len(found) - len(kept)

        # Ids: tracked people keep theirs; new people get a lost track's id back, or the next one.
        if not self._tracking:
            self._next_id = 0
            self._lost.clear()
        lost = dict(self._lost)
        ids: list[int] = []
        for p in kept:
            if not p.track.is_new:
                ids.append(p.track.track_id)
                continue
            scores = {tid: self._matches_lost(p, t, w, h) for tid, t in lost.items()}
            best = max(scores, key=scores.get, default=None)
            if best is not None and scores[best] > 0.0:
                del lost[best]
                ids.append(best)
                self.reidentified += 1
            else:
                ids.append(self._next_id)
                self._next_id += 1

        # Lost tracks: remembered a while (tracked before, not kept now).
        kept_ids = set(ids)
        memory = {tid: TrackedRoi(t.track_id, t.roi, t.score, t.origin, t.points, t.frames_lost + 1)
                  for tid, t in lost.items() if t.frames_lost + 1 <= o.reid_frames}
        just_lost = 0
        for p in persons:
            t = p.track
            if t.is_new or t.track_id in kept_ids:
                continue
            just_lost += 0 if p.found else 1
            if self._tracking and o.reid_frames > 0:
                memory[t.track_id] = TrackedRoi(t.track_id, t.roi, t.score, "track", t.points, 0)
        self._lost = memory

        poses = []
        active = []
        for track_id, p in sorted(zip(ids, kept), key=lambda item: item[0]):
            score = 1.0 if p.presence is None else float(p.presence)
            extras = {"_auxiliary_landmarks": p.aux_landmarks, "_next_roi": p.next_roi,
                      "_detection_score": p.track.score if p.track.is_new else None}
            if p.segmentation_mask is not None:
                extras[SEGMENTATION_MASK_KEY] = p.segmentation_mask
            poses.append(Pose(landmarks=p.landmarks, topology=o.topology, score=score,
                              world_landmarks=p.world_landmarks, track_id=track_id, roi=p.track.roi, extras=extras))
            if p.next_roi is not None:
                points = None if p.aux_landmarks is None else np.asarray(p.aux_landmarks[:2, :2], dtype=np.float32)
                active.append(TrackedRoi(track_id, p.next_roi, score, "track", points))
        ctx.send(self.POSES, poses)
        ctx.send(self.TRACKS, TrackSet(tuple(active), just_lost))
