"""The local engine: a pool of worker processes on this machine, one graph at a time per process.

Workers are started with ``spawn`` (a clean interpreter: no inherited threads or locks), build their `FileRunner`
once and then run the files sent over a pipe one after the other. A worker holds at most `in_flight` files (default
2: one running and the next one queued, so it never waits for the driver between files), and every worker gets a
file before any gets a second. The driver watches each worker's pipe and process sentinel: a worker that dies
(killed, crashed in native code, ran out of memory) is noticed at once, the file it was running is reported as
lost, the file queued behind it goes back to the queue (it had not started), and a fresh worker replaces it when
there is more work.

A worker never outlives its driver: on Linux the kernel kills it when the driver dies (``PR_SET_PDEATHSIG``), and
everywhere a watchdog thread ends it once its parent process is gone (the driver killed with SIGKILL cannot stop its
workers itself, and a worker busy in a graph does not read its pipe).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections import deque
from typing import Any

from .engine import Completion, Engine, WorkerSettings
from .errors import BatchError
from .worker import FileRunner, FileTask, short_error, worker_name


PR_SET_PDEATHSIG = 1
PARENT_POLL_S = 0.5


def exit_with_parent(parent_pid: int) -> None:
    """End this process when the process `parent_pid` (its parent) dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still does it, a little later
    if os.getppid() != parent_pid:  # it died before we could ask
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)  # no cleanup: the driver that would commit our outputs is gone; a rerun redoes the file

    threading.Thread(target=watch, name="posegraph-batch-parent-watch", daemon=True).start()


def _worker_main(conn, settings: WorkerSettings, parent_pid: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the workers
    if parent_pid is not None:
        exit_with_parent(parent_pid)
    try:
        runner = FileRunner(settings.graph_config, threads=settings.threads, side=settings.side,
                            preload_modules=settings.preload, file_timeout=settings.file_timeout,
                            dedicated=True)
    except BaseException as exc:  # noqa: BLE001 - reported to the driver, which stops the batch
        conn.send(("init_error", short_error(exc), "".join(traceback.format_exception(exc))[-4000:]))
        return
    conn.send(("ready", worker_name()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the driver went away
        if message[0] == "stop":
            return
        task: FileTask = message[1]
        outcome = runner.run(task.input, task.temp_outputs)
        conn.send(("done", task.index, outcome))
        del message, task, outcome  # hold nothing of a finished file while waiting for the next one


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class _Slot:
    def __init__(self, context, settings: WorkerSettings):
        parent, child = context.Pipe(duplex=True)
        self.conn = parent
        self.process = context.Process(target=_worker_main, args=(child, settings, os.getpid()), daemon=True,
                                       name="posegraph-batch-worker")
        # The worker's CPU budget, the way Ray tells an actor its num_cpus: libraries that size thread pools
        # from OMP_NUM_THREADS see the share of this worker, not the whole machine. A spawned child takes
        # the environment at start, so it is set around start() only (a value the user set is kept).
        budget = "OMP_NUM_THREADS" not in os.environ
        if budget:
            os.environ["OMP_NUM_THREADS"] = str(settings.threads)
        try:
            self.process.start()
        finally:
            if budget:
                os.environ.pop("OMP_NUM_THREADS", None)
        child.close()
        self.name = f"{socket.gethostname()}:{self.process.pid}"
        self.tasks: deque[FileTask] = deque()   # in the order sent = the order the worker runs them
        self.ready = False
        self.dead = False


class LocalEngine(Engine):
    name = "local"

    def __init__(self, settings: WorkerSettings, workers: int, in_flight: int = 2):
        self.settings = settings
        self.workers = max(1, int(workers))
        self.in_flight = max(1, int(in_flight))
        self._context = multiprocessing.get_context("spawn")
        self._slots: list[_Slot] = []
        self._noticed: list[Completion] = []   # settled outside wait() (a worker found dead in submit)

    def start(self) -> None:
        self._slots = [_Slot(self._context, self.settings) for _ in range(self.workers)]

    def capacity(self) -> int:
        return sum(self.in_flight if slot.dead else self.in_flight - len(slot.tasks) for slot in self._slots)

    def busy(self) -> int:
        return sum(len(slot.tasks) for slot in self._slots) + len(self._noticed)

    def submit(self, task: FileTask) -> dict[str, Any]:
        """To the least loaded worker: every worker gets a file before any gets a second (queued) one."""
        while True:
            loads = [0 if slot.dead else len(slot.tasks) for slot in self._slots]
            i = min(range(len(loads)), key=loads.__getitem__)
            if loads[i] >= self.in_flight:
                raise BatchError("no worker with room (the driver submitted beyond capacity)")
            slot = self._slots[i]
            if slot.dead:
                slot = self._slots[i] = _Slot(self._context, self.settings)
            try:
                slot.conn.send(("run", task))
            except OSError:  # it died since we last looked: settle what it held, then try another worker
                self._bury(slot, self._noticed)
                continue
            slot.tasks.append(task)
            return {"worker": slot.name, "pid": slot.process.pid, "queued_behind": len(slot.tasks) - 1}

    def _receive(self, slot: _Slot, completions: list[Completion]) -> None:
        while not slot.dead and slot.conn.poll():
            message = slot.conn.recv()
            kind = message[0]
            if kind == "ready":
                slot.ready = True
                slot.name = message[1]
            elif kind == "init_error":
                self.close(kill=True)
                raise BatchError(f"workers cannot start: {message[1]}\n{message[2]}")
            elif kind == "done":
                task = slot.tasks.popleft()
                if task.index != message[1]:
                    raise BatchError(f"worker {slot.name} answered for file #{message[1]}, expected #{task.index}")
                completions.append(Completion(task, message[2], worker=slot.name))

    def _bury(self, slot: _Slot, completions: list[Completion]) -> None:
        try:
            self._receive(slot, completions)  # a result may have arrived just before the end
        except (EOFError, OSError):
            pass
        if slot.dead:
            return
        slot.dead = True
        slot.process.join(5)
        code = slot.process.exitcode
        slot.conn.close()
        if not slot.ready:  # a worker that cannot even start is the batch's problem, not a file's
            self.close(kill=True)
            raise BatchError(f"worker process {slot.name} died before it was ready ({_describe_exit(code)}); its "
                             f"error, if any, is on stderr (workers are spawned: the main script must be a file "
                             f"whose batch call sits under `if __name__ == '__main__':`)")
        for position, task in enumerate(slot.tasks):  # the first was running; the others had not started
            completions.append(Completion(task, None, lost=f"worker process {slot.name} died while it held this "
                                          f"file ({_describe_exit(code)})", started=position == 0,
                                          worker=slot.name))
        slot.tasks.clear()

    def wait(self, timeout: float) -> list[Completion]:
        watched: dict[Any, _Slot] = {}
        for slot in self._slots:
            if not slot.dead:
                watched[slot.conn] = slot
                watched[slot.process.sentinel] = slot
        completions, self._noticed = self._noticed, []
        if not watched or completions:
            return completions
        for ready in multiprocessing.connection.wait(list(watched), timeout):
            slot = watched[ready]
            if slot.dead:
                continue
            if ready is slot.conn:
                try:
                    self._receive(slot, completions)
                except (EOFError, OSError):
                    self._bury(slot, completions)
            else:
                self._bury(slot, completions)
        return completions

    def close(self, kill: bool = False) -> None:
        slots, self._slots = self._slots, []
        for slot in slots:
            if slot.dead:
                continue
            if kill:
                slot.process.kill()
            else:
                try:
                    slot.conn.send(("stop",))
                except OSError:
                    pass
        for slot in slots:
            slot.process.join(None if kill else 10)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            if not slot.dead:
                slot.conn.close()


def default_local_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


__all__ = ["LocalEngine", "default_local_workers"]
