"""PoseAnalytics: classification, angles and repetitions of a frame as a JSONL EXTRA dict and renderer TEXT lines."""

from __future__ import annotations

from dataclasses import dataclass, field

from posegraph import Calculator, Input, Output, calculator

from ..types import ImageFrame
from .types import Classification

__all__ = ["PoseAnalyticsCalculator", "PoseAnalyticsOptions", "analytics_text"]


def _angle_label(name: str) -> str:
    side, _, joint = name.partition("_")
    return f"{joint} {side[0].upper()}" if joint and side in ("left", "right") else name


def analytics_text(classification: Classification | None, angles: dict | None, repetitions: int | None,
                   phase: str | None, *, counter_name: str = "reps", text_angles: tuple[str, ...] = (),
                   show_classification: bool = True) -> list[str]:
    """The lines drawn on the frame: label and score, repetition count and phase, chosen angles."""
    lines = []
    if show_classification and classification is not None:
        lines.append(f"{classification.label} {classification.score(classification.label):.2f}")
    if repetitions is not None:
        lines.append(f"{counter_name}: {repetitions}" + (f"  ({phase})" if phase else ""))
    if text_angles and angles:
        parts = [f"{_angle_label(n)} {angles[n]:.0f}" for n in text_angles if angles.get(n) is not None]
        if parts:
            lines.append("  ".join(parts))
    return lines


@dataclass
class PoseAnalyticsOptions:
    # Name of the repetition count in the text ("squats: 3").
    counter_name: str = "reps"
    # Angles (names from JointAnglesCalculator) written in the text; all of them always go to EXTRA.
    text_angles: list[str] = field(default_factory=list)


@calculator("PoseAnalyticsCalculator")
class PoseAnalyticsCalculator(Calculator):
    """IMAGE (the frame clock) + optional CLASSIFICATION, ANGLES, REPETITIONS, PHASE -> EXTRA (dict for
    LandmarksSinkCalculator: "classification" {label, scores} or null, "angles", "repetitions", "phase"; only keys
    whose input is connected) and TEXT (list[str] for PoseRendererCalculator), at every frame."""

    IMAGE = Input[ImageFrame]("IMAGE")
    CLASSIFICATION = Input[Classification]("CLASSIFICATION", optional=True)
    ANGLES = Input[dict]("ANGLES", optional=True)
    REPETITIONS = Input[int]("REPETITIONS", optional=True)
    PHASE = Input[str]("PHASE", optional=True)
    EXTRA = Output[dict]("EXTRA", optional=True)
    TEXT = Output[list]("TEXT", optional=True)
    Options = PoseAnalyticsOptions

    def open(self, ctx):
        self._repetitions = 0
        self._phase = None

    def process(self, ctx):
        extra: dict = {}
        classification = ctx[self.CLASSIFICATION]
        if ctx.connected(self.CLASSIFICATION):
            extra["classification"] = None if classification is None else classification.to_dict()
        angles = ctx[self.ANGLES]
        if ctx.connected(self.ANGLES):
            extra["angles"] = dict(angles or {})
        counting = ctx.connected(self.REPETITIONS)
        if counting:
            if ctx.has(self.REPETITIONS):
                self._repetitions = int(ctx[self.REPETITIONS])
            extra["repetitions"] = self._repetitions
        if ctx.connected(self.PHASE):
            if ctx.has(self.PHASE):
                self._phase = ctx[self.PHASE]
            extra["phase"] = self._phase
        ctx.send(self.EXTRA, extra)
        ctx.send(self.TEXT, analytics_text(classification, angles, self._repetitions if counting else None,
                                           self._phase, counter_name=self.options.counter_name,
                                           text_angles=tuple(self.options.text_angles),
                                           show_classification=ctx.connected(self.CLASSIFICATION)))
