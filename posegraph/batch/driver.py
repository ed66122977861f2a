"""`run_batch`: run one graph over many media files on an engine, resumably, one output set per input.

The driver validates the graph once (errors with file and line), expands the inputs, skips inputs whose outputs are
complete (checked against their completion records), hands the rest to an engine with bounded in-flight work,
commits each result atomically, and appends every outcome to the manifest. A file that fails is recorded and the
batch goes on; a worker that dies costs only the file it held (retried `retries` times, then recorded).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..media_packets import INPUT_PATH, LANDMARKS_PATH, MAX_FRAMES, OUTPUT_VIDEO_PATH
from .engine import Completion, Engine, EventCallback, WorkerSettings
from .errors import BatchError
from .inputs import expand_inputs, output_stems
from .store import MANIFEST, SUMMARY, OutputStore
from .worker import FileTask, preload as preload_modules

ENGINES = ("local", "ray")


@dataclass
class BatchSummary:
    """What a batch run did. `exit_code` is 0 when no file failed."""

    run: str
    out_dir: str
    graph: str
    engine: dict[str, Any]
    inputs: int
    ok: int = 0
    skipped: int = 0
    failed: int = 0
    frames: int = 0
    wall_s: float = 0.0
    worker_s: float = 0.0       # time files spent in workers (graph build, open, run), summed
    cpu_s: float = 0.0          # CPU time workers spent on files, summed
    commit_s: float = 0.0       # time the driver spent checking, hashing and moving outputs into place
    driver_cpu_s: float = 0.0   # CPU time of the driver process for the whole batch
    files_per_min: float = 0.0
    frames_per_s: float = 0.0
    interrupted: bool = False
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else (1 if self.failed else 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        engine = self.engine
        if engine.get("workers"):
            how = (f"  engine {engine.get('engine')} ({engine['workers']} workers x "
                   f"{engine.get('threads_per_worker', '?')} threads"
                   + (f", transfer {engine['transfer']}" if "transfer" in engine else "") + ")")
        else:
            how = f"  engine {engine.get('engine')} (not started: nothing to do)"
        lines = [f"batch {self.run}: {self.inputs} inputs -> {self.out_dir}", how,
                 f"  processed {self.ok}, skipped (already complete) {self.skipped}, failed {self.failed}"
                 + ("  [interrupted]" if self.interrupted else ""),
                 f"  {self.frames} frames in {self.wall_s:.1f} s: {self.files_per_min:.1f} files/min, "
                 f"{self.frames_per_s:.1f} frames/s"]
        for failure in self.failures[:20]:
            lines.append(f"  FAILED {failure['input']}: {failure['error']}")
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more failures (see manifest.jsonl)")
        return "\n".join(lines)


def _normalise_suffix(suffix: str) -> str:
    suffix = suffix.strip()
    if not suffix:
        raise BatchError("an output suffix cannot be empty")
    return suffix if suffix.startswith(".") else "." + suffix


def job_key(graph_config: str, side: dict[str, Any], outputs: dict[str, str]) -> str:
    """What makes outputs reusable: the expanded graph, the side packets every file gets, the output names."""
    graph = hashlib.sha256(graph_config.encode("utf-8")).hexdigest()
    text = json.dumps({"graph": graph, "side": side, "outputs": outputs}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _make_engine(engine: str, settings: WorkerSettings, workers: int, *, address, transfer, in_flight,
                 ray_num_cpus, max_workers, ray_env, verbose) -> Engine:
    if engine == "local":
        from .local import LocalEngine
        return LocalEngine(settings, workers, in_flight)
    from .ray_engine import RayEngine
    return RayEngine(settings, workers or None, address=address, transfer=transfer, in_flight=in_flight,
                     num_cpus=ray_num_cpus, max_workers=max_workers, env=ray_env, verbose=verbose)


def run_batch(graph: Any, inputs: Iterable[str | os.PathLike] | str, out_dir: str | os.PathLike, *,
              engine: str = "local", workers: int | None = None, threads: int | None = None,
              address: str | None = None, side: dict[str, Any] | None = None, max_frames: int | None = None,
              outputs: dict[str, str] | None = None, video: str | None = None,
              preload: Iterable[str] = (), retries: int = 1, file_timeout: float | None = None,
              transfer: str = "auto", in_flight: int = 2, force: bool = False, search_paths=(),
              ray_num_cpus: int | None = None, ray_env: dict[str, str] | None = None,
              on_event: EventCallback | None = None,
              verbose: bool = False) -> BatchSummary:
    """Run `graph` (a path, a shipped graph name or graph text) once per input file.

    Per input ``f`` the graph gets side packets ``input_path=f`` plus `side` (and ``max_frames``), and each
    per-file output side packet a path ``out_dir/<stem of f><suffix>``: by default ``landmarks_path`` -> ``.jsonl``
    when the graph declares it, and ``output_video_path`` -> `video` (e.g. ``".mp4"``) when given; `outputs`
    (side packet -> suffix) replaces that default.

    `engine`: ``"local"`` (a process pool here; `workers` defaults to the cores, `threads` per graph to
    cores / workers) or ``"ray"`` (an actor pool; `address` of an existing cluster, else a local Ray is started
    unless one is already initialised in this process; `workers` defaults to cluster CPUs / `threads`, `threads`
    to 1; `ray_env`: environment variables of the actors; `transfer`: see ray_engine). `retries`: extra attempts
    for a file whose worker died (a file whose graph fails is not retried). `file_timeout`: seconds before a
    file's graph is cancelled and recorded as failed. `on_event(kind, info)` is called for "skipped", "submitted",
    "done", "failed", "retry" (from the calling thread).

    Ray's local processes are tied to the thread that starts them: call this from the main thread (or a thread
    that outlives the batch) when it starts a local Ray.
    """
    from google.protobuf import text_format

    from ..config import load_graph

    if engine not in ENGINES:
        raise BatchError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    started_at = time.time()
    clock = time.perf_counter()
    driver_cpu = time.process_time()
    run_id = time.strftime("%Y%m%d-%H%M%S", time.localtime(started_at)) + "-" + uuid.uuid4().hex[:6]
    preload = tuple(str(p) for p in preload)
    preload_modules(list(preload))
    spec = load_graph(graph, search_paths=search_paths)
    declared = list(spec.input_side_packets)
    if spec.input_streams:
        raise BatchError(f"the graph has input streams ({', '.join(spec.input_streams)}); a batch feeds files "
                         f"through the '{INPUT_PATH}' side packet to a source node")
    if INPUT_PATH not in declared:
        raise BatchError(f"the graph does not declare input_side_packet '{INPUT_PATH}', through which a "
                         f"batch gives it each file; its side packets: {', '.join(declared) or '(none)'}")
    if outputs is None:
        outputs = {LANDMARKS_PATH: ".jsonl"} if LANDMARKS_PATH in declared else {}
        if video:
            outputs[OUTPUT_VIDEO_PATH] = video
    outputs = {name: _normalise_suffix(suffix) for name, suffix in outputs.items()}
    if len(set(outputs.values())) != len(outputs):
        raise BatchError(f"per-file outputs need distinct suffixes, got {outputs}")
    side = dict(side or {})
    if max_frames is not None:
        side[MAX_FRAMES] = int(max_frames)
    clash = ({INPUT_PATH} | set(outputs)) & set(side)
    if clash:
        raise BatchError(f"side packet(s) {sorted(clash)} are set per file by the batch; do not give them")
    unknown = sorted((set(side) | set(outputs)) - set(declared))
    if unknown:
        raise BatchError(f"this graph does not take side packet(s) {', '.join(unknown)}; its side packets are: "
                         f"{', '.join(declared)}")
    graph_config = text_format.MessageToString(spec.config)
    key = job_key(graph_config, side, outputs)

    files = expand_inputs([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)
    stems = output_stems(files)
    reserved = [f"{stem}{suffix}" for stem in stems for suffix in outputs.values()
                if f"{stem}{suffix}" in (MANIFEST, SUMMARY)]
    if reserved:
        raise BatchError(f"an output would be named {reserved[0]}, which the batch keeps for itself; rename that "
                         f"input")
    graph_name = spec.source.file or (str(graph) if "\n" not in str(graph) else "<graph text>")

    def emit(kind: str, info: dict[str, Any]) -> None:
        if on_event is not None:
            on_event(kind, info)

    summary = BatchSummary(run=run_id, out_dir=str(Path(out_dir).resolve()), graph=graph_name,
                           engine={"engine": engine, "workers": 0}, inputs=len(files))
    store = OutputStore(out_dir, outputs, key).open()
    runner: Engine | None = None
    try:
        def needs_work(task: FileTask) -> bool:
            """Check a file's outputs (just before it would be handed out); log and skip it when complete."""
            if force:
                task.redo_reason = "forced"
                return True
            verdict = store.verdict(task.stem, Path(task.input))
            if not verdict.done:
                task.redo_reason = verdict.reason
                return True
            summary.skipped += 1
            entry = {"run": run_id, "input": task.input, "stem": task.stem, "status": "skipped",
                     "frames": verdict.record.get("frames"), "reason": "outputs complete and verified"}
            store.log(entry)
            emit("skipped", entry)
            return False

        # Check files until as many need work as there will be workers (so that no worker starts for nothing
        # and the pool fits a small rerun); the rest are checked as workers free up, so hashing thousands of
        # complete outputs does not delay the first file.
        from .local import default_local_workers

        cores = default_local_workers()
        want = workers or (cores if engine == "local" else 64)
        tasks = [FileTask(i, str(path), stem, {}) for i, (path, stem) in enumerate(zip(files, stems))]
        pending: deque[FileTask] = deque()
        checked = 0
        while checked < len(tasks) and len(pending) < want:
            if needs_work(tasks[checked]):
                pending.append(tasks[checked])
            checked += 1
        pending.extend(tasks[checked:])

        if pending:
            if engine == "local":
                count = max(1, min(workers or cores, len(pending)))
                per_graph = threads or max(1, cores // count)
            else:
                count = workers or 0
                per_graph = threads or 1
            settings = WorkerSettings(graph_config, per_graph, side, preload, file_timeout)
            runner = _make_engine(engine, settings, count, address=address, transfer=transfer,
                                  in_flight=in_flight, ray_num_cpus=ray_num_cpus, max_workers=len(pending),
                                  ray_env=ray_env, verbose=verbose)
            runner.start()
            summary.engine = {**runner.describe(), "threads_per_worker": per_graph}
            _drive(runner, pending, store, summary, run_id, retries, emit, needs_work)
    except KeyboardInterrupt:
        summary.interrupted = True
        if runner is not None:
            runner.close(kill=True)
            runner = None
        raise
    finally:
        if runner is not None:
            runner.close()
        summary.wall_s = time.perf_counter() - clock
        summary.driver_cpu_s = time.process_time() - driver_cpu
        if summary.wall_s > 0:
            summary.files_per_min = 60.0 * summary.ok / summary.wall_s
            summary.frames_per_s = summary.frames / summary.wall_s
        try:
            store.write_summary({**summary.to_dict(), "started_at": time.strftime(
                "%Y-%m-%dT%H:%M:%S%z", time.localtime(started_at)), "outputs": outputs, "side": side})
        finally:
            store.close()
    return summary


def _drive(runner: Engine, pending: deque[FileTask], store: OutputStore, summary: BatchSummary, run_id: str,
           retries: int, emit, needs_work) -> None:
    def entry(task: FileTask, status: str, **fields: Any) -> dict[str, Any]:
        return {"run": run_id, "input": task.input, "stem": task.stem, "status": status,
                "attempts": task.attempt, "redo_reason": task.redo_reason, **fields}

    def failed(task: FileTask, record: dict[str, Any]) -> None:
        summary.failed += 1
        summary.failures.append({"input": task.input, "error": record.get("error")})
        store.log(record)
        emit("failed", record)

    def settle(done: Completion) -> None:
        task, outcome = done.task, done.outcome
        if outcome is None:
            store.discard(task.temp_outputs)
            if not done.started:
                pending.appendleft(task)   # never began: back to the front, no attempt used
                emit("retry", entry(task, "requeued", error=done.lost))
                return
            if task.attempt <= retries:
                task.attempt += 1
                pending.append(task)
                emit("retry", entry(task, "retry", error=done.lost, worker=done.worker))
                return
            failed(task, entry(task, "failed", error=done.lost, error_type="WorkerLost", worker=done.worker))
            return
        timing = {"frames": outcome.frames, "seconds": round(outcome.seconds, 4),
                  "open_s": round(outcome.open_s, 4), "run_s": round(outcome.run_s, 4),
                  "cpu_s": round(outcome.cpu_s, 4), "worker": outcome.worker}
        if not outcome.ok:
            store.discard(task.temp_outputs)
            failed(task, entry(task, "failed", error=outcome.error, error_type=outcome.error_type,
                               detail=outcome.detail, **timing))
            return
        commit_started = time.perf_counter()
        try:
            record = store.commit(task.stem, Path(task.input), task.temp_outputs, outcome.written,
                                  {"frames": outcome.frames, "seconds": round(outcome.seconds, 4),
                                   "worker": outcome.worker, "run": run_id})
        except (OSError, ValueError) as exc:
            store.discard(task.temp_outputs)
            failed(task, entry(task, "failed", error=f"output check failed: {exc}", error_type=type(exc).__name__,
                               **timing))
            return
        commit_s = time.perf_counter() - commit_started
        summary.ok += 1
        summary.frames += outcome.frames
        summary.worker_s += outcome.seconds
        summary.cpu_s += outcome.cpu_s
        summary.commit_s += commit_s
        outs = {side: (value or {}).get("file") for side, value in record["outputs"].items()}
        done_entry = entry(task, "ok", outputs=outs, commit_s=round(commit_s, 4), **timing)
        store.log(done_entry)
        emit("done", done_entry)

    while pending or runner.busy():
        while pending and runner.capacity() > 0:
            task = pending.popleft()
            if task.redo_reason is None and not needs_work(task):
                continue
            store.forget(task.stem)
            task.temp_outputs = store.temp_outputs(task.stem)
            info = runner.submit(task)
            emit("submitted", {"input": task.input, "stem": task.stem, "attempt": task.attempt,
                             "temp_outputs": dict(task.temp_outputs), **info})
        for done in runner.wait(0.5):
            settle(done)


__all__ = ["BatchSummary", "ENGINES", "job_key", "run_batch"]
