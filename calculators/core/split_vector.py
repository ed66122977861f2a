"""SplitVector: slices of one sequence (a list, or an array such as landmarks) onto several outputs.

MediaPipe's SplitVectorCalculator: one output per range (or one element per range with `element_only`), or every
range concatenated onto a single output with `combine_outputs`; the wiring is checked when the graph is loaded and
an input shorter than the largest range end is an error.
"""

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
    # One output: the ranges concatenated in order (they must not overlap).
    combine_outputs: bool = False

    def __post_init__(self):
        for r in self.ranges:
            if not 0 <= r.begin < r.end:
                raise ValueError("indices should be non-negative and begin index should be less than the end index "
                                 f"(range [{r.begin}, {r.end}))")
            if self.element_only and not self.combine_outputs and r.end - r.begin != 1:
                raise ValueError("since element_only is true, all ranges should be of size 1")
        if self.combine_outputs:
            spans = sorted((r.begin, r.end) for r in self.ranges)
            if any(a_end > b_begin for (_, a_end), (b_begin, _) in zip(spans, spans[1:])):
                raise ValueError("ranges must not overlap when combine_outputs is true")


@calculator("SplitVectorCalculator")
class SplitVectorCalculator(Calculator):
    """Output i carries ``input[ranges[i].begin:ranges[i].end]`` (or the element itself with element_only)."""

    IN = Input("")
    OUT = Output("", multiple=True)
    Options = SplitVectorOptions

    @classmethod
    def check_node(cls, ports, options):
        if options is None:
            return []
        outputs = len(ports["output_stream"])
        if options.combine_outputs:
            return [] if outputs == 1 else [f"combine_outputs needs exactly one output stream, not {outputs}"]
        if outputs != len(options.ranges):
            return [f"the number of output streams ({outputs}) should match the number of ranges "
                    f"({len(options.ranges)}) in the options"]
        return []

    def open(self, ctx):
        self._max_end = max((r.end for r in self.options.ranges), default=0)

    def process(self, ctx):
        values = ctx[self.IN]
        if values is None:
            return
        if len(values) < self._max_end:
            raise ValueError(f"input has {len(values)} elements but the ranges reach {self._max_end}")
        ranges = self.options.ranges
        if self.options.combine_outputs:
            combined: list = []
            for r in ranges:
                combined.extend(values[r.begin:r.end])
            ctx.send(self.OUT, combined, index=0)
            return
        for i, r in enumerate(ranges):
            if self.options.element_only:
                ctx.send(self.OUT, values[r.begin], index=i)
            else:
                part = values[r.begin:r.end]
                ctx.send(self.OUT, list(part) if isinstance(part, tuple) else part, index=i)
