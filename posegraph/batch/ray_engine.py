"""The Ray engine: a pool of long-lived actors, one graph at a time each, on a local Ray or an existing cluster.

Why an actor pool and not Ray Data: a batch here is a list of files, each processed whole by one graph, with
per-file error isolation and a commit on the driver. An actor pool driven with ``ray.wait`` gives exactly that
with nothing in between (Ray Data would add pyarrow blocks, its own retry and ordering rules, and a dependency on
``ray[data]``), and it makes back-pressure explicit: the driver never submits more than `in_flight` files to one
actor (default 2: one running, one queued in the actor's mailbox so the actor never waits for the driver).

Each actor builds its `FileRunner` once (imports, registry, parsed graph, in-process compiled code) and then
builds a fresh `Graph` per file from it, so per-file cost is only the calculators' ``open()``.

Data movement (`transfer`):

- ``paths``: actors read the input where the driver found it and write into ``DIR/.posegraph-batch/tmp``; needs
  the same paths on every node (one machine, or a shared filesystem such as NFS).
- ``bytes``: the driver ships each input's bytes through the object store; the actor writes them under the same
  file name in a scratch folder, runs the graph there and returns the outputs' bytes, which the driver commits.
  Works on any cluster; costs one copy of inputs and outputs through the driver.
- ``auto`` (default): ``paths`` when every Ray node is this machine, ``bytes`` otherwise.

When an actor dies (node lost, process killed, native crash) the file it was running is reported lost; files
queued behind it had not started and go back to the queue at no cost. A replacement actor is created when there
is more work.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from .engine import Completion, Engine, WorkerSettings
from .errors import BatchError
from .reaper import Reaper
from .worker import FileOutcome, FileRunner, FileTask, short_error, worker_name

TRANSFERS = ("auto", "paths", "bytes")


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


class GraphActor:
    """A Ray actor (decorated at run time, so this module imports without Ray) holding one `FileRunner`."""

    def __init__(self, settings: WorkerSettings):
        self.runner = FileRunner(settings.graph_config, threads=settings.threads, side=settings.side,
                                 preload_modules=settings.preload, file_timeout=settings.file_timeout,
                                 dedicated=True)
        self.scratch = tempfile.mkdtemp(prefix="posegraph-batch-")

    def info(self) -> dict[str, Any]:
        import ray
        return {"worker": worker_name(), "pid": os.getpid(), "node": ray.get_runtime_context().get_node_id()}

    def run(self, task: FileTask, data: bytes | None) -> FileOutcome:
        if data is None:
            return self.runner.run(task.input, task.temp_outputs)
        folder = Path(tempfile.mkdtemp(dir=self.scratch))
        try:
            source = folder / "input" / task.name   # the same file name: outputs may record it
            source.parent.mkdir()
            source.write_bytes(data)
            del data
            outputs = {side: str(folder / "output" / Path(path).name) for side, path in task.temp_outputs.items()}
            outcome = self.runner.run(str(source), outputs)
            outcome.data = {side: Path(path).read_bytes() if outcome.written.get(side) else None
                            for side, path in outputs.items()}
            return outcome
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def pid(self) -> int:
        return os.getpid()


class _ActorState:
    def __init__(self, handle, index: int):
        self.handle = handle
        self.index = index
        self.pending: deque = deque()   # (ref, task), in submission order = execution order
        self.dead = False
        self.name = f"ray-actor-{index}"
        self.pid: int | None = None


class RayEngine(Engine):
    name = "ray"

    def __init__(self, settings: WorkerSettings, workers: int | None = None, *, address: str | None = None,
                 transfer: str = "auto", in_flight: int = 2, init_timeout: float = 180.0,
                 num_cpus: int | None = None, max_workers: int | None = None, env: dict[str, str] | None = None,
                 verbose: bool = False):
        if transfer not in TRANSFERS:
            raise BatchError(f"transfer must be one of {', '.join(TRANSFERS)}, not {transfer!r}")
        self.settings = settings
        self.requested_workers = workers
        self.max_workers = max_workers
        self.env = dict(env or {})
        self.address = address
        self.transfer = transfer
        self.in_flight = max(1, int(in_flight))
        self.init_timeout = init_timeout
        self.num_cpus = num_cpus
        self.verbose = verbose
        self.workers = 0
        self._owns_ray = False
        self._actors: list[_ActorState] = []
        self._refs: dict[Any, tuple[_ActorState, FileTask]] = {}
        self._created = 0
        self._ray = None
        self._actor_class = None
        self._reaper: Reaper | None = None
        self._reaper_checked = 0.0

    # -- lifetime ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        try:
            import ray
        except ImportError:
            raise BatchError("the ray engine needs Ray: pip install 'posegraph[ray]' (or pip install ray)") \
                from None
        self._ray = ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": self.verbose,
                                      "logging_level": logging.INFO if self.verbose else logging.WARNING}
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                from .local import default_local_workers
                ray.init(num_cpus=self.num_cpus or default_local_workers(), **kwargs)
            self._owns_ray = True
        threads = self.settings.threads
        cpus = float(ray.cluster_resources().get("CPU", 0))
        if cpus < threads:
            self.close()
            raise BatchError(f"the Ray cluster has {cpus:g} CPUs; an actor needs {threads} (--threads)")
        self.workers = self.requested_workers or max(1, int(cpus // threads))
        if self.max_workers:
            self.workers = max(1, min(self.workers, self.max_workers))
        if self.transfer == "auto":
            self.transfer = "paths" if self._single_local_node() else "bytes"
        options: dict[str, Any] = {"num_cpus": threads, "max_restarts": 0, "scheduling_strategy": "SPREAD"}
        if self.env:  # e.g. POSEGRAPH_MODELS where the nodes keep the model files
            options["runtime_env"] = {"env_vars": self.env}
        self._actor_class = ray.remote(GraphActor).options(**options)
        self._actors = [self._new_actor() for _ in range(self.workers)]
        try:
            infos = ray.get([a.handle.info.remote() for a in self._actors], timeout=self.init_timeout)
        except ray.exceptions.GetTimeoutError:
            self.close(kill=True)
            raise BatchError(f"Ray actors did not start within {self.init_timeout:g} s (are {self.workers} x "
                             f"{threads} CPUs free on the cluster?)") from None
        except ray.exceptions.RayError as exc:
            self.close(kill=True)
            raise BatchError(f"Ray actors cannot start: {short_error(exc)}") from exc
        for actor, info in zip(self._actors, infos):
            actor.name, actor.pid = info["worker"], info["pid"]
        if self._owns_ray and not self.address:  # our local Ray: none of its processes may outlive us
            self._reaper = Reaper()
            self._reaper.watch_descendants()
            self._reaper_checked = time.monotonic()

    def _single_local_node(self) -> bool:
        ray = self._ray
        here = ray.util.get_node_ip_address()
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        return bool(nodes) and all(n.get("NodeManagerAddress") == here for n in nodes)

    def _new_actor(self) -> _ActorState:
        self._created += 1
        return _ActorState(self._actor_class.remote(self.settings), self._created)

    def close(self, kill: bool = False) -> None:
        ray = self._ray
        if ray is None:
            return
        for actor in self._actors:
            try:
                ray.kill(actor.handle, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._actors = []
        self._refs.clear()
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False
        if self._reaper is not None:
            self._reaper.release()
            self._reaper = None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "transfer": self.transfer, "address": self.address or "local"}

    # -- work --------------------------------------------------------------------------------------------------
    def capacity(self) -> int:
        return sum(self.in_flight if a.dead else self.in_flight - len(a.pending) for a in self._actors)

    def busy(self) -> int:
        return len(self._refs)

    def submit(self, task: FileTask) -> dict[str, Any]:
        best = None
        for i, actor in enumerate(self._actors):
            load = 0 if actor.dead else len(actor.pending)
            if load < self.in_flight and (best is None or load < best[1]):
                best = (i, load)
        if best is None:
            raise BatchError("no actor with room (the driver submitted beyond capacity)")
        actor = self._actors[best[0]]
        if actor.dead:
            actor = self._actors[best[0]] = self._new_actor()
        data = Path(task.input).read_bytes() if self.transfer == "bytes" else None
        ref = actor.handle.run.remote(task, data)
        actor.pending.append((ref, task))
        self._refs[ref] = (actor, task)
        return {"worker": actor.name, "pid": actor.pid, "queued_behind": len(actor.pending) - 1}

    def _finish(self, task: FileTask, outcome: FileOutcome, worker: str) -> Completion:
        if outcome.data is not None:  # bytes transfer: land the outputs where the driver commits from
            for side, data in outcome.data.items():
                if data is not None:
                    with open(task.temp_outputs[side], "wb") as handle:
                        handle.write(data)
            outcome.data = None
        return Completion(task, outcome, worker=worker)

    def _actor_died(self, actor: _ActorState, error: Exception, completions: list[Completion]) -> None:
        ray = self._ray
        actor.dead = True
        lost_started = False
        for ref, task in list(actor.pending):
            self._refs.pop(ref, None)
            try:
                outcome = ray.get(ref, timeout=30)
                completions.append(self._finish(task, outcome, actor.name))
                continue
            except Exception:  # noqa: BLE001 - lost with the actor
                pass
            completions.append(Completion(task, None, lost=f"Ray actor {actor.name} died while it held this "
                                          f"file ({short_error(error)})", started=not lost_started,
                                          worker=actor.name))
            lost_started = True  # files queued behind the one that was running had not started
        actor.pending.clear()
        try:
            ray.kill(actor.handle, no_restart=True)
        except Exception:  # noqa: BLE001
            pass

    def wait(self, timeout: float) -> list[Completion]:
        ray = self._ray
        if self._reaper is not None and time.monotonic() - self._reaper_checked > 10.0:
            self._reaper.watch_descendants()  # processes Ray started since (replacement actors, workers)
            self._reaper_checked = time.monotonic()
        if not self._refs:
            time.sleep(min(timeout, 0.05))
            return []
        refs = list(self._refs)
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if not ready:
            return []
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        completions: list[Completion] = []
        for ref in ready:
            if ref not in self._refs:
                continue  # settled with its actor's death
            actor, task = self._refs[ref]
            try:
                outcome = ray.get(ref)
            except (ray.exceptions.RayActorError,  # ActorUnavailableError is newer than Ray 2.9
                    getattr(ray.exceptions, "ActorUnavailableError", ray.exceptions.RayActorError)) as exc:
                self._actor_died(actor, exc, completions)
                continue
            except ray.exceptions.RayError as exc:  # the actor method itself failed (it catches graph errors)
                self._refs.pop(ref)
                actor.pending = deque(p for p in actor.pending if p[0] != ref)
                completions.append(Completion(task, FileOutcome(ok=False, worker=actor.name,
                                                                error=short_error(exc),
                                                                error_type=type(exc).__name__),
                                              worker=actor.name))
                continue
            self._refs.pop(ref)
            actor.pending = deque(p for p in actor.pending if p[0] != ref)
            completions.append(self._finish(task, outcome, actor.name))
        return completions


__all__ = ["GraphActor", "RayEngine", "TRANSFERS", "ray_available"]
