"""DetectionLetterboxRemoval: detections from letterboxed-tensor coordinates back to image coordinates."""

from __future__ import annotations

from posegraph import Calculator, Input, Output, calculator

from ..types import LetterboxPadding
from .convert import detections_to_rows
from .roi import detection_letterbox_removal, rows_to_detections


@calculator("DetectionLetterboxRemovalCalculator")
class DetectionLetterboxRemovalCalculator(Calculator):
    """DETECTIONS + LETTERBOX_PADDING (from ImageToTensor) -> DETECTIONS normalised to the original image."""

    IN = Input[list]("DETECTIONS")
    PADDING = Input[LetterboxPadding]("LETTERBOX_PADDING")
    OUT = Output[list]("DETECTIONS")

    def process(self, ctx):
        detections = ctx[self.IN]
        if detections is None:  # no detections at this timestamp: nothing to map (MediaPipe emits nothing either)
            return
        labels = [d.label for d in detections]
        rows, scores = detections_to_rows(detections)
        rows = detection_letterbox_removal(rows, ctx[self.PADDING])
        ctx.send(self.OUT, rows_to_detections(rows, scores, labels if labels else None))
