"""RepetitionCounter: counts exercise repetitions with hysteresis on a class score or a joint angle.

A repetition is entering the active phase (the signal crosses `enter_threshold`) and then leaving it again (the
signal crosses `exit_threshold` back); the gap between the two thresholds keeps noise around one threshold from
counting twice. The direction follows from the thresholds: enter > exit means the signal rises into the active phase
(a class score, as in MediaPipe's fitness sample with 6 and 4 of 10 neighbours), enter < exit means it falls into it
(a knee angle going below 110 degrees in a squat and back above 150).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from .angles import ANGLE_DEFINITIONS
from .types import Classification, RepetitionState

__all__ = ["Combine", "RepetitionCounter", "RepetitionCounterCalculator", "RepetitionCounterOptions", "angle_signal"]


class RepetitionCounter:
    """Hysteresis counter: `update(signal)` per frame returns the RepetitionState; None or NaN leaves it as it is."""

    def __init__(self, enter_threshold: float, exit_threshold: float, *, idle_phase: str = "up",
                 active_phase: str = "down"):
        if not (math.isfinite(enter_threshold) and math.isfinite(exit_threshold)):
            raise ValueError("thresholds must be finite numbers")
        if enter_threshold == exit_threshold:
            raise ValueError("enter_threshold and exit_threshold must differ (the gap is the hysteresis; its sign "
                             "says whether the signal rises or falls into the active phase)")
        self.enter_threshold = float(enter_threshold)
        self.exit_threshold = float(exit_threshold)
        self.rising = enter_threshold > exit_threshold
        self.idle_phase = idle_phase
        self.active_phase = active_phase
        self.count = 0
        self.active = False

    @property
    def phase(self) -> str:
        return self.active_phase if self.active else self.idle_phase

    def reset(self) -> None:
        self.count = 0
        self.active = False

    def update(self, signal: float | None) -> RepetitionState:
        if signal is None or not math.isfinite(signal):
            return RepetitionState(self.count, self.phase, None)
        if not self.active:
            if (signal > self.enter_threshold) if self.rising else (signal < self.enter_threshold):
                self.active = True
        elif (signal < self.exit_threshold) if self.rising else (signal > self.exit_threshold):
            self.active = False
            self.count += 1
        return RepetitionState(self.count, self.phase, float(signal))


class Combine(enum.Enum):
    MEAN = 0
    MIN = 1
    MAX = 2


def _angle_names(angle: str) -> tuple[str, ...]:
    if angle in ANGLE_DEFINITIONS:
        return (angle,)
    both = (f"left_{angle}", f"right_{angle}")
    if all(n in ANGLE_DEFINITIONS for n in both):
        return both
    raise ValueError(f"unknown angle {angle!r}; use one of {', '.join(ANGLE_DEFINITIONS)} or a joint for both "
                     f"sides: knee, hip, elbow, shoulder")


def angle_signal(angles: dict | None, names: tuple[str, ...], combine: Combine = Combine.MEAN) -> float | None:
    """The angles `names` from an ANGLES dict combined into one value (None when none of them is known)."""
    if not angles:
        return None
    values = [angles.get(n) for n in names]
    values = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None
    return float({Combine.MEAN: np.mean, Combine.MIN: np.min, Combine.MAX: np.max}[combine](values))


@dataclass
class RepetitionCounterOptions:
    # The signal: the score of class `class_name` (CLASSIFICATION input) or the joint angle `angle` (ANGLES input:
    # a name such as left_knee, or knee / hip / elbow / shoulder for both sides combined by `combine`).
    class_name: str = ""
    angle: str = ""
    combine: Combine = Combine.MEAN
    # Defaults for a class score: 0.6 and 0.4 (MediaPipe's 6 and 4 of 10 neighbours). An angle needs both.
    enter_threshold: float | None = None
    exit_threshold: float | None = None
    idle_phase: str = "up"
    active_phase: str = "down"

    def __post_init__(self):
        if bool(self.class_name) == bool(self.angle):
            raise ValueError("set exactly one of class_name (count on a class score) and angle (count on a joint "
                             "angle)")
        if self.angle:
            _angle_names(self.angle)
            if self.enter_threshold is None or self.exit_threshold is None:
                raise ValueError("counting on an angle needs enter_threshold and exit_threshold (degrees; enter < "
                                 "exit when the angle closes during the repetition, e.g. 110 and 150 for a squat)")
        else:
            if self.enter_threshold is None:
                self.enter_threshold = 0.6
            if self.exit_threshold is None:
                self.exit_threshold = 0.4
        if self.enter_threshold == self.exit_threshold:
            raise ValueError("enter_threshold and exit_threshold must differ")
        if not self.idle_phase or not self.active_phase or self.idle_phase == self.active_phase:
            raise ValueError("idle_phase and active_phase must be two different non-empty names")


@calculator("RepetitionCounterCalculator")
class RepetitionCounterCalculator(Calculator):
    """CLASSIFICATION or ANGLES -> REPETITIONS (completed repetitions, int), PHASE (str), STATE (RepetitionState).

    Hysteresis: entering the active phase when the signal crosses enter_threshold, one repetition counted when it
    crosses exit_threshold back. Frames without a signal (no pose) keep the state. Outputs at every input frame.
    """

    CLASSIFICATION = Input[Classification]("CLASSIFICATION", optional=True)
    ANGLES = Input[dict]("ANGLES", optional=True)
    REPETITIONS = Output[int]("REPETITIONS", optional=True)
    PHASE = Output[str]("PHASE", optional=True)
    STATE = Output[RepetitionState]("STATE", optional=True)
    Options = RepetitionCounterOptions

    def open(self, ctx):
        opts = self.options
        self._counter = RepetitionCounter(opts.enter_threshold, opts.exit_threshold, idle_phase=opts.idle_phase,
                                          active_phase=opts.active_phase)
        self._angle_names = _angle_names(opts.angle) if opts.angle else ()
        self._checked = False

    def process(self, ctx):
        opts = self.options
        if not self._checked:
            port, what = (self.CLASSIFICATION, "class_name") if opts.class_name else (self.ANGLES, "angle")
            if not ctx.connected(port):
                raise ValueError(f"node '{self.name}' (RepetitionCounterCalculator): option {what} needs the "
                                 f"{port.tag} input stream")
            self._checked = True
        if opts.class_name:
            classification: Classification | None = ctx[self.CLASSIFICATION]
            signal = None if classification is None else classification.score(opts.class_name)
        else:
            signal = angle_signal(ctx[self.ANGLES], self._angle_names, opts.combine)
        state = self._counter.update(signal)
        ctx.send(self.REPETITIONS, state.count)
        ctx.send(self.PHASE, state.phase)
        ctx.send(self.STATE, state)
