"""A calculator for batch tests that kills its own process on a marked file.

Loaded with ``preload=[this file]`` (in the driver and in every worker), never imported as a test module, so it is
registered once per process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

CRASH_EXIT_CODE = 70


@calculator("BatchTestCrashOnMarked")
class CrashOnMarked(Calculator):
    """Passes IMAGE through. On the file whose name is CRASH_ON it ends its process with os._exit (no cleanup,
    like a native crash or a kill) at the third frame, but only while the TOKEN file exists: the token is
    removed first, so each token buys exactly one crash."""

    IMAGE = Input("IMAGE")
    OUT = Output("IMAGE")
    INPUT_PATH = InputSidePacket[str]("INPUT_PATH")
    CRASH_ON = InputSidePacket[str]("CRASH_ON", optional=True)
    TOKEN = InputSidePacket[str]("TOKEN", optional=True)

    def open(self, ctx):
        marked = ctx.side(self.CRASH_ON, default=None)
        self._armed = bool(marked) and Path(str(ctx.side(self.INPUT_PATH))).name == marked
        self._token = ctx.side(self.TOKEN, default=None)
        self._frames = 0

    def process(self, ctx):
        ctx.send(self.OUT, ctx[self.IMAGE])
        self._frames += 1
        if self._armed and self._frames == 3 and self._token:
            try:
                os.unlink(self._token)
            except FileNotFoundError:
                return
            os._exit(CRASH_EXIT_CODE)


@calculator("BatchTestSleepy")
class Sleepy(Calculator):
    """Passes IMAGE through, sleeping SECONDS per frame: a file that keeps its worker busy for a known time."""

    IMAGE = Input("IMAGE")
    OUT = Output("IMAGE")
    SECONDS = InputSidePacket[float]("SECONDS")

    def open(self, ctx):
        self._seconds = float(ctx.side(self.SECONDS))

    def process(self, ctx):
        time.sleep(self._seconds)
        ctx.send(self.OUT, ctx[self.IMAGE])
