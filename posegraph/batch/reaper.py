"""Ending the helper processes of a Ray that the batch driver started, should the driver itself be killed.

Ray ties its head processes (GCS, raylet) to the driver that starts them, but processes the raylet starts (the
dashboard and runtime-env agents, for example) are re-parented when the driver dies with SIGKILL and live on for
a minute or more. A `Reaper` is a small separate process: the driver gives it the processes it must not leave
behind (each by pid and start time, so a recycled pid is never hit) and keeps a pipe to it open. When the pipe
closes without the driver saying "released" (the driver died), the reaper sends SIGTERM, then SIGKILL, to those
processes that still exist. Linux only (it reads /proc); elsewhere it does nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["Reaper", "descendants"]

# The reaper process: argv[1:] are "pid:starttime" pairs; more pairs can arrive on stdin, one per line.
_REAPER = r"""
import os, signal, sys, time

def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None

signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's; it releases us on the way out
targets = {tuple(a.split(":")) for a in sys.argv[1:]}
for line in sys.stdin:
    line = line.strip()
    if line == "released":
        sys.exit(0)
    if ":" in line:
        targets.add(tuple(line.split(":")))
alive = lambda: [int(p) for p, t in targets if start_time(p) == t]
for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 0.0)):
    for pid in alive():
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    deadline = time.monotonic() + wait
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
"""


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, start time) of every live descendant of `pid` (Linux; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is None or len(fields) < 20:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        starts[int(entry)] = fields[19]
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append((child, starts[child]))
        todo.extend(children.get(child, []))
    return found


class Reaper:
    """The reaper process of this driver (see the module docstring)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._sent: set[tuple[int, str]] = set()

    @staticmethod
    def supported() -> bool:
        return sys.platform.startswith("linux") and os.path.isdir("/proc/self")

    def watch_descendants(self) -> None:
        """Add every current descendant of this process (except the reaper) to what the reaper ends."""
        if not self.supported():
            return
        mine = {self._proc.pid} if self._proc is not None else set()
        found = [(pid, start) for pid, start in descendants(os.getpid()) if pid not in mine]
        new = [item for item in found if item not in self._sent]
        if not new:
            return
        if self._proc is None:
            self._proc = subprocess.Popen([sys.executable, "-c", _REAPER] + [f"{p}:{s}" for p, s in new],
                                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        else:
            try:
                self._proc.stdin.write("".join(f"{p}:{s}\n" for p, s in new))
                self._proc.stdin.flush()
            except OSError:
                return
        self._sent.update(new)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def release(self) -> None:
        """The driver shut its processes down itself: the reaper exits without touching anything."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.write("released\n")
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
