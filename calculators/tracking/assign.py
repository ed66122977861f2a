"""PoseTrackAssignment: which people the landmark loop looks at on this frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..types import ImageFrame
from .matching import alignment_points_similarity, rect_iou
from .types import NEW_TRACK, TrackedPerson, TrackedRoi, TrackSet


@dataclass
class PoseTrackAssignmentOptions:
    max_poses: int = 4
    # A detection is a person already known when its alignment points (hip centre, scale point) match theirs with a
    # keypoint similarity above this (the MIN_SIMILARITY side packet, min_tracking_confidence, overrides it)...
    min_keypoint_similarity: float = 0.5
    # (the similarity is 0.61 when each point is off by keypoint_sigma body radii)
    keypoint_sigma: float = 0.25
    # ...or when their ROIs overlap by IoU above this. BlazePose ROIs are squares of 2.5 body radii, so two people
    # side by side still overlap by IoU ~0.6: IoU alone only tells apart people of very different size or place.
    min_iou: float = 0.8
    # Detector keypoints (0 hip centre, 2 shoulder centre...) that must all lie in MASK for a detection to be ignored.
    mask_keypoints: list[int] = field(default_factory=lambda: [0])

    def __post_init__(self):
        if self.max_poses < 1:
            raise ValueError(f"max_poses must be >= 1, got {self.max_poses}")


def person_reference(person: TrackedPerson) -> TrackedRoi:
    """A found person as a TrackedRoi to match detections against: ROI from this frame's landmarks, alignment points
    from the auxiliary landmarks."""
    points = None if person.aux_landmarks is None else np.asarray(person.aux_landmarks[:2, :2], dtype=np.float32)
    return TrackedRoi(person.track.track_id, person.next_roi or person.track.roi, float(person.presence or 1.0),
                      person.track.origin, points)


def inside_mask(keypoints: np.ndarray, mask: np.ndarray, indices) -> bool:
    """Whether the keypoints `indices` (normalised x, y rows) all lie inside `mask` (H x W bool)."""
    h, w = mask.shape[:2]
    for i in indices:
        if i >= len(keypoints):
            continue
        x, y = int(np.floor(keypoints[i][0] * w)), int(np.floor(keypoints[i][1] * h))
        if not (0 <= x < w and 0 <= y < h and mask[y, x]):
            return False
    return True


@calculator("PoseTrackAssignmentCalculator")
class PoseTrackAssignmentCalculator(Calculator):
    """Which people the landmark loop looks at: tracked people, then new detections by score, MAX_POSES at most.

    ROIS (list[TrackedRoi]) at every IMAGE timestamp: the tracked people of TRACKS (the previous frame's TrackSet),
    then new people from DETECTIONS / DETECTION_ROIS (aligned lists) by detection score.

    A detection that matches a tracked person, a person already found on this frame (KNOWN, list[TrackedPerson]) or
    a ROI in IGNORE (people dropped earlier on this frame) is ignored: keypoint similarity of the alignment points
    above MIN_SIMILARITY, or ROI IoU above `min_iou`. At most MAX_POSES people are looked at, counting the KNOWN
    ones found: tracked people first (they keep their slots), then detections by score; the rest are counted as
    dropped (node statistics) and sent on DROPPED. With MASK (H x W bool: where known people were painted over
    before the detector ran), a detection whose hip centre (keypoint 0; option mask_keypoints) lies in the mask is
    taken for what was left of a painted person, and ignored. New people carry track_id NEW_TRACK: the tracker
    numbers them once their landmarks are found.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    TRACKS = Input[TrackSet]("TRACKS", optional=True)
    KNOWN = Input[list]("KNOWN", optional=True)
    IGNORE = Input[list]("IGNORE", optional=True)
    MASK = Input[np.ndarray]("MASK", optional=True)
    DETECTIONS = Input[list]("DETECTIONS", optional=True)
    DETECTION_ROIS = Input[list]("DETECTION_ROIS", optional=True)
    MAX_POSES = InputSidePacket[int]("MAX_POSES", optional=True)
    MIN_SIMILARITY = InputSidePacket[float]("MIN_SIMILARITY", optional=True)
    ROIS = Output[list]("ROIS")
    DROPPED = Output[list]("DROPPED", optional=True)
    Options = PoseTrackAssignmentOptions

    def open(self, ctx):
        self._max_poses = int(ctx.side(self.MAX_POSES, default=self.options.max_poses))
        if self._max_poses < 1:
            raise ValueError(f"max_poses must be >= 1, got {self._max_poses}")
        self._min_similarity = float(ctx.side(self.MIN_SIMILARITY, default=self.options.min_keypoint_similarity))

    def _same(self, a: TrackedRoi, b: TrackedRoi, w: int, h: int) -> bool:
        if rect_iou(a.roi, b.roi) > self.options.min_iou:
            return True
        if a.points is None or b.points is None:
            return False
        return alignment_points_similarity(a.points, b.points, w, h, self.options.keypoint_sigma) > self._min_similarity

    def process(self, ctx):
        frame: ImageFrame = ctx[self.IMAGE]
        tracks: TrackSet | None = ctx[self.TRACKS]
        known = [person_reference(p) for p in (ctx[self.KNOWN] or []) if p.found]
        ignore = list(ctx[self.IGNORE] or [])
        detections = ctx[self.DETECTIONS] or []
        det_rois = ctx[self.DETECTION_ROIS] or []
        if len(detections) != len(det_rois):
            raise ValueError(f"DETECTIONS ({len(detections)}) and DETECTION_ROIS ({len(det_rois)}) must be aligned "
                             f"(DetectionsToRoisCalculator without association)")
        w, h = frame.width, frame.height
        active = sorted(tracks.active, key=lambda t: (-t.score, t.track_id)) if tracks is not None else []

        mask = ctx[self.MASK]
        references = active + known + ignore
        candidates: list[TrackedRoi] = []
        for det, roi in sorted(zip(detections, det_rois), key=lambda p: -p[0].score):
            cand = TrackedRoi(NEW_TRACK, roi, float(det.score), "detection",
                              np.asarray(det.keypoints[:2], dtype=np.float32))
            if any(self._same(cand, r, w, h) for r in references):
                continue  # (detections among themselves went through non-max suppression already)
            if mask is not None and inside_mask(det.keypoints, mask, self.options.mask_keypoints):
                continue
            candidates.append(cand)

        room = max(0, self._max_poses - len(known))
        wanted = active + candidates
        kept, dropped = wanted[:room], wanted[room:]
        if dropped:
            ctx.count_dropped(len(dropped))
        ctx.send(self.ROIS, kept)
        ctx.send(self.DROPPED, dropped)
