"""Small calculators and helpers for the graph-file tests; calculators register under names starting ``TestCfg``.

They live here, not in the test modules, so that pytest does not try to collect ``Test*`` classes and every test
module sees the same registrations. Test modules import this as ``cfg_helpers`` (conftest.py imports it first).
"""

from __future__ import annotations

import enum
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posegraph.calculator import Calculator, Input, InputSidePacket, Output, OutputSidePacket
from posegraph.registry import calculator


@dataclass(frozen=True)
class Det:
    score: float


@dataclass(frozen=True)
class SubDet(Det):
    label: str = ""


@dataclass
class CfgScaleOptions:
    factor: float = 1.0
    offset: int = 0

    def __post_init__(self):
        if self.factor <= 0:
            raise ValueError(f"factor must be positive, got {self.factor}")


class Interp(enum.Enum):
    NEAREST = "nearest"
    LINEAR = "linear"
    CUBIC = "cubic"


class Color(enum.IntEnum):
    RED = 1
    GREEN = 2


@dataclass
class Anchor:
    stride: int = 8
    scales: list[float] = field(default_factory=list)
    interp: Interp = Interp.NEAREST


@dataclass
class Box:
    width: int = 0
    height: int = 0
    anchor: Anchor = field(default_factory=Anchor)


@dataclass
class CfgAllKindsOptions:
    flag: bool = False
    count: int = 3
    ratio: float = 0.5
    label: str = "none"
    blob: bytes = b""
    interp: Interp = Interp.LINEAR
    color: Color = Color.RED
    box: Box = field(default_factory=Box)
    strides: list[int] = field(default_factory=lambda: [8, 16])
    ratios: tuple[float, ...] = (1.0,)
    names: list[str] = field(default_factory=list)
    modes: list[Interp] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)
    threshold: float | None = None
    extra_box: Box | None = None
    lookup: dict = field(default_factory=dict)  # not expressible: left out of the message


@dataclass
class CfgRequiredOptions:
    model_path: str
    threads: int = 1


@calculator("TestCfgSource")
class CfgSource(Calculator):
    OUT = Output[float]("OUT")


@calculator("TestCfgScale")
class CfgScale(Calculator):
    IN = Input[float]("")
    OUT = Output[float]("")
    Options = CfgScaleOptions


@calculator("TestCfgToStr")
class CfgToStr(Calculator):
    IN = Input[float]("IN")
    OUT = Output[str]("OUT")


@calculator("TestCfgStrSink")
class CfgStrSink(Calculator):
    IN = Input[str]("IN")


@calculator("TestCfgMerge")
class CfgMerge(Calculator):
    """Takes any number of IN streams and an optional PREV (typically a back edge)."""

    IN = Input[float]("IN", multiple=True)
    PREV = Input[float]("PREV", optional=True)
    OUT = Output[float]("OUT")


@calculator("TestCfgSideMaker")
class CfgSideMaker(Calculator):
    MODEL = OutputSidePacket[str]("MODEL")


@calculator("TestCfgSideUser")
class CfgSideUser(Calculator):
    MODEL = InputSidePacket[str]("MODEL")
    IN = Input[float]("IN")
    OUT = Output[float]("OUT")


@calculator("TestCfgDetSource")
class CfgDetSource(Calculator):
    DETS = Output[list[Det]]("DETS")
    BEST = Output[SubDet]("BEST", optional=True)


@calculator("TestCfgDetSink")
class CfgDetSink(Calculator):
    DETS = Input[list[Det]]("DETS")
    BEST = Input[Det]("BEST", optional=True)


@calculator("TestCfgIntListSink")
class CfgIntListSink(Calculator):
    DETS = Input[list[int]]("DETS")


@calculator("TestCfgAnySink")
class CfgAnySink(Calculator):
    IN = Input[Any]("IN")


@calculator("TestCfgAllKinds")
class CfgAllKinds(Calculator):
    OUT = Output[float]("OUT")
    Options = CfgAllKindsOptions


@calculator("TestCfgRequired")
class CfgRequired(Calculator):
    OUT = Output[float]("OUT")
    Options = CfgRequiredOptions


@calculator("TestCfgNested")
class CfgNested(Calculator):
    """Options as a nested class named `Options`: its message is posegraph.CfgNestedOptions."""

    OUT = Output[float]("OUT")

    @dataclass
    class Options:
        gain: float = 1.0


@calculator("TestCfgImmediate")
class CfgImmediate(Calculator):
    INPUT_STREAM_HANDLER = "immediate"
    IN = Input[float]("IN")
    OUT = Output[float]("OUT")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line of `text` (exactly as parsed; for a file, its content) containing `needle`."""
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{needle!r} not in text")
