"""The reaper ends the helper processes a killed driver leaves behind (the agents of a Ray it started), and only
those; a driver that shuts down normally releases it and it touches nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posegraph.batch.reaper import Reaper, descendants

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not Reaper.supported(), reason="the reaper reads /proc (Linux)")]

DRIVER = """
import subprocess, sys, time
from posegraph.batch.reaper import Reaper
helper = subprocess.Popen(["sleep", "300"])        # like a Ray agent: no parent-death signal
reaper = Reaper()
reaper.watch_descendants()
print(helper.pid, reaper.pid, flush=True)
if sys.argv[1] == "release":
    reaper.release()
    print("released", flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _run_driver(mode: str) -> tuple[subprocess.Popen, int, int]:
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, mode], stdout=subprocess.PIPE, text=True)
    helper, reaper = map(int, driver.stdout.readline().split())
    return driver, helper, reaper


def test_helpers_of_a_killed_driver_are_ended():
    driver, helper, reaper = _run_driver("keep")
    try:
        assert _alive(helper) and _alive(reaper)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 10
        while (_alive(helper) or _alive(reaper)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(helper), "the helper outlived its driver"
        assert not _alive(reaper)
    finally:
        driver.kill()
        for pid in (helper, reaper):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_released_reaper_touches_nothing():
    driver, helper, reaper = _run_driver("release")
    try:
        assert driver.stdout.readline().strip() == "released"
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        time.sleep(1.0)
        assert _alive(helper) and not _alive(reaper)
    finally:
        driver.kill()
        if _alive(helper):
            os.kill(helper, signal.SIGKILL)


def test_descendants_lists_children_with_start_times():
    child = subprocess.Popen(["sleep", "30"])
    try:
        found = dict(descendants(os.getpid()))
        assert child.pid in found and found[child.pid].isdigit()
    finally:
        child.kill()
        child.wait()
