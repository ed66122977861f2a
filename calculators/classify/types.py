"""Payloads of the classification calculators: plain dataclasses that JSONL writes as objects."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Classification", "RepetitionState"]


@dataclass(frozen=True, slots=True)
class Classification:
    """The class of one pose: `label` (the best class) and `scores` (every class -> score in [0, 1], in the
    classifier's class order). Written to JSONL as ``{"label": ..., "scores": {...}}``."""

    label: str
    scores: dict[str, float] = field(default_factory=dict)

    def score(self, name: str) -> float:
        """The score of class `name` (0 when the classifier does not know it)."""
        return float(self.scores.get(name, 0.0))

    def to_dict(self) -> dict:
        return {"label": self.label, "scores": dict(self.scores)}


@dataclass(frozen=True, slots=True)
class RepetitionState:
    """A repetition counter after one frame: `count` completed repetitions, `phase` (the idle or the active
    phase name), and `signal`, the value the thresholds were applied to (None when there was none this frame)."""

    count: int
    phase: str
    signal: float | None = None
