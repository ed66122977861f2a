"""NonMaxSuppression: one detection per object (MediaPipe's WEIGHTED or DEFAULT algorithm)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from posegraph import Calculator, Input, Output, calculator

from .convert import detections_to_rows, sample_detections
from .kernels import non_max_suppression, weighted_non_max_suppression
from .roi import rows_to_detections


class NmsAlgorithm(enum.Enum):
    DEFAULT = "default"
    WEIGHTED = "weighted"


@dataclass
class NonMaxSuppressionOptions:
    min_suppression_threshold: float = 0.3
    algorithm: NmsAlgorithm = NmsAlgorithm.DEFAULT
    max_num_detections: int = -1
    min_score_threshold: float = 0.0


@calculator("NonMaxSuppressionCalculator")
class NonMaxSuppressionCalculator(Calculator):
    """DETECTIONS -> DETECTIONS in decreasing score, overlaps (IoU > threshold) suppressed or, WEIGHTED, averaged."""

    IN = Input[list]("DETECTIONS")
    OUT = Output[list]("DETECTIONS")
    Options = NonMaxSuppressionOptions

    def open(self, ctx):
        self._suppress(sample_detections())  # loads the kernel now, not in the first frame

    def process(self, ctx):
        ctx.send(self.OUT, self._suppress(ctx[self.IN]))

    def _suppress(self, detections: list) -> list:
        o = self.options
        nms = weighted_non_max_suppression if o.algorithm is NmsAlgorithm.WEIGHTED else non_max_suppression
        rows, scores = nms(*detections_to_rows(detections), o.min_suppression_threshold, o.min_score_threshold,
                           o.max_num_detections)
        return rows_to_detections(rows, scores)
