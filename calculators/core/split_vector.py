"""SplitVector: slices of one sequence (a list, or an array such as landmarks) onto several outputs."""

from dataclasses import dataclass, field

from posegraph import Calculator, Input, Output, calculator


@dataclass
class Range:
    begin: int = 0
    end: int = 0


@dataclass
class SplitVectorOptions:
    ranges: list[Range] = field(default_factory=list)
    # Output the single element of each one-element range instead of a one-element list.
    element_only: bool = False

    def __post_init__(self):
        for r in self.ranges:
            if not 0 <= r.begin < r.end:
                raise ValueError(f"range [{r.begin}, {r.end}) is empty or negative")
            if self.element_only and r.end - r.begin != 1:
                raise ValueError("element_only needs ranges of exactly one element")


@calculator("SplitVectorCalculator")
class SplitVector(Calculator):
    """Output i carries ``input[ranges[i].begin:ranges[i].end]`` (or the element itself with element_only).

    A range beyond the input's length yields no packet on that output at that timestamp.
    """

    IN = Input("")
    OUT = Output("", multiple=True)
    Options = SplitVectorOptions

    def process(self, ctx):
        values = ctx[self.IN]
        for i, r in enumerate(self.options.ranges):
            if r.end <= len(values):
                part = values[r.begin:r.end]
                if not self.options.element_only and isinstance(part, tuple):
                    part = list(part)
                ctx.send(self.OUT, part[0] if self.options.element_only else part, index=i)
