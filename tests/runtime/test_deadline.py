"""Deadline: the one wait-in-slices step behind add_packet, wait_until_*, and output pollers."""

from __future__ import annotations

import threading
import time

import pytest

from posegraph import GraphTimeoutError
from posegraph.deadline import POLL_SLICE_S, Deadline


def test_without_a_limit_each_wait_lasts_one_slice():
    cond = threading.Condition()
    started = time.monotonic()
    with cond:
        Deadline(None).wait(cond, "never")
    assert POLL_SLICE_S * 0.9 <= time.monotonic() - started < POLL_SLICE_S * 5


class _Recorder:
    """A condition that records how long it was asked to wait."""

    def __init__(self):
        self.waits: list[float] = []

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_a_limit_shorter_than_a_slice_shortens_the_wait_and_a_passed_one_raises_the_message():
    cond = _Recorder()
    Deadline(POLL_SLICE_S / 4).wait(cond, "unused")
    Deadline(10).wait(cond, "unused")
    assert 0 < cond.waits[0] <= POLL_SLICE_S / 4 and cond.waits[1] == POLL_SLICE_S
    with pytest.raises(GraphTimeoutError, match="^no packet on 'x' within 0 s$"):
        Deadline(0).wait(cond, "no packet on 'x' within 0 s")
    assert len(cond.waits) == 2


def test_a_notify_ends_the_wait_early():
    cond = threading.Condition()

    def notify():
        with cond:  # acquired only once the waiter below has released it in wait()
            cond.notify_all()

    with cond:
        threading.Thread(target=notify).start()
        started = time.monotonic()
        Deadline(10).wait(cond, "unused")
    assert time.monotonic() - started < POLL_SLICE_S
