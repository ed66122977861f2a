"""Thresholding: a float stream to a bool stream (e.g. a presence score to 'a person is here')."""

from dataclasses import dataclass

from posegraph import Calculator, Input, InputSidePacket, Output, calculator


@dataclass
class ThresholdingOptions:
    threshold: float = 0.5


@calculator("ThresholdingCalculator")
class ThresholdingCalculator(Calculator):
    """FLAG is ``FLOAT > threshold`` (strictly, as MediaPipe); the THRESHOLD side packet overrides the option."""

    FLOAT = Input[float]("FLOAT")
    THRESHOLD = InputSidePacket[float]("THRESHOLD", optional=True)
    FLAG = Output[bool]("FLAG")
    Options = ThresholdingOptions

    def open(self, ctx):
        self._threshold = float(ctx.side(self.THRESHOLD, default=self.options.threshold))

    def process(self, ctx):
        ctx.send(self.FLAG, float(ctx[self.FLOAT]) > self._threshold)
