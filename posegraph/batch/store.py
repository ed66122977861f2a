"""The output folder of a batch: final outputs, completion records, the manifest, atomic commits.

Layout of ``DIR``::

    DIR/<stem><suffix>                    final per-file outputs (e.g. clip.jsonl, clip.mp4)
    DIR/manifest.jsonl                    one line per file per run: status, frames, timings, worker, error
    DIR/summary.json                      the last run's summary
    DIR/.posegraph-batch/done/<stem>.json completion record ("sidecar") of each finished file
    DIR/.posegraph-batch/tmp/             outputs being written (emptied when a run starts)
    DIR/.posegraph-batch/lock             held (flock) by the run writing to DIR

A file is done when, and only when, its completion record exists *and* checks out against what is on disk now:
same job (graph, side packets, outputs), same input (size and modification time), and every output file present
with the recorded size and SHA-256. Outputs are written under ``tmp/``, checked (a ``.jsonl`` output must be
whole lines of valid JSON), fsync'ed and renamed into place; the record is written last (also via a temporary name
and a rename). A crash at any point therefore leaves either a complete, recorded file or something a rerun redoes:
a half-written JSONL is never taken as done.

Links: the batch never writes through a symbolic link inside the output folder. ``.posegraph-batch``, ``done/``,
``tmp/``, ``lock``, ``manifest.jsonl`` and ``summary.json`` that are links (or the wrong kind of file) are refused
with a BatchError before anything is written; files are opened with ``O_NOFOLLOW`` (temporary ones also with
``O_EXCL``); final outputs and records are put in place by ``rename``, which replaces a link instead of writing
through it; a completion record that is a link or a folder is invalid and replaced. The output folder itself may be a
link: it is the user's choice.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BatchError

RECORD_FORMAT = 1
STATE_DIR = ".posegraph-batch"
MANIFEST = "manifest.jsonl"
SUMMARY = "summary.json"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a fresh temporary file in the same folder and a rename (which replaces a link at
    `path` rather than writing through it)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
    try:
        with open(fd, "wb", closefd=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        os.close(fd)
    try:
        os.replace(temp, path)
    except OSError:
        temp.unlink(missing_ok=True)
        raise


def _refuse_link(path: Path, kind: str) -> None:
    """BatchError unless `path` is absent or a real `kind` ("dir" or "file"), not a symbolic link."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise BatchError(f"refusing to use {path}: it is a symbolic link, and the batch never writes through links "
                         f"inside its output folder; remove the link and run again")
    if kind == "dir" and not stat.S_ISDIR(st.st_mode):
        raise BatchError(f"refusing to use {path}: the batch keeps a folder there, but this is not a folder; "
                         f"remove it and run again")
    if kind == "file" and not stat.S_ISREG(st.st_mode):
        raise BatchError(f"refusing to use {path}: the batch keeps a regular file there, but this is not one; "
                         f"remove it and run again")


def _make_dir(path: Path) -> None:
    _refuse_link(path, "dir")
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        _refuse_link(path, "dir")  # it appeared between the check and mkdir


def _open_nofollow(path: Path, flags: int, what: str) -> int:
    _refuse_link(path, "file")
    try:
        return os.open(path, flags | _NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _refuse_link(path, "file")  # raises: it became a link
        raise BatchError(f"cannot open the {what} {path}: {exc.strerror}") from None


def _empty_dir(path: Path) -> None:
    """Remove everything inside `path` without following links (the folder is opened once, by descriptor)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    try:
        for entry in os.scandir(fd):
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.name, dir_fd=fd, ignore_errors=True)
                else:
                    os.unlink(entry.name, dir_fd=fd)
            except OSError:
                pass
    finally:
        os.close(fd)


_RECORD_TYPES = {"format": int, "job": str, "input_stat": dict, "outputs": dict}


def record_problem(record: Any, outputs: dict[str, str]) -> str | None:
    """Why a parsed completion record cannot vouch for anything (wrong shape or types), or None."""
    if not isinstance(record, dict):
        return f"completion record is a JSON {type(record).__name__}, not an object"
    for key, kind in _RECORD_TYPES.items():
        if not isinstance(record.get(key), kind) or isinstance(record.get(key), bool):
            return f"completion record field '{key}' is missing or not a {kind.__name__}"
    stat_ = record["input_stat"]
    if not all(isinstance(stat_.get(k), int) and not isinstance(stat_.get(k), bool) for k in ("size", "mtime_ns")):
        return "completion record field 'input_stat' is malformed"
    for side in outputs:
        entry = record["outputs"].get(side)
        if entry is None:
            return f"completion record has no {side} output"
        if not (isinstance(entry, dict) and isinstance(entry.get("bytes"), int) and not isinstance(entry["bytes"], bool)
                and isinstance(entry.get("sha256"), str)):
            return f"completion record entry for {side} is malformed"
    return None


def check_jsonl(path: Path) -> int:
    """Number of lines of a JSONL file; raises ValueError unless it is whole lines of valid JSON."""
    lines = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                raise ValueError(f"{path.name}: line {number} is not terminated (file cut short)")
            if line.strip():
                try:
                    json.loads(line)
                except ValueError as exc:
                    raise ValueError(f"{path.name}: line {number} is not valid JSON: {exc}") from None
            lines += 1
    return lines


def input_fingerprint(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


@dataclass
class Verdict:
    done: bool
    reason: str
    record: dict[str, Any] | None = None


class OutputStore:
    """Everything the driver writes into the output folder. Only the driver writes here (workers write into
    ``tmp/`` when they share the filesystem), so no two processes ever commit the same file."""

    def __init__(self, root: str | os.PathLike, outputs: dict[str, str], job_key: str):
        self.root = Path(root).resolve()
        self.outputs = dict(outputs)          # side packet -> suffix
        self.job_key = job_key
        self.state = self.root / STATE_DIR
        self.done_dir = self.state / "done"
        self.tmp_dir = self.state / "tmp"
        self.manifest_path = self.root / MANIFEST
        self.summary_path = self.root / SUMMARY
        self._lock_handle = None
        self._manifest = None
        self._tokens = 0

    # -- lifetime ----------------------------------------------------------------------------------------------
    def open(self) -> "OutputStore":
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BatchError(f"cannot create the output folder {self.root}: {exc.strerror or exc}; choose another "
                             "--out") from None
        for folder in (self.state, self.done_dir, self.tmp_dir):
            _make_dir(folder)
        fd = _open_nofollow(self.state / "lock", os.O_RDWR | os.O_CREAT, "lock file")
        handle = open(fd, "r+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise BatchError(f"another batch is writing to {self.root} (lock {self.state / 'lock'} is held)") \
                from None
        try:
            for folder in (self.state, self.done_dir, self.tmp_dir):  # again, now that no other batch can act
                _refuse_link(folder, "dir")
            _refuse_link(self.summary_path, "file")
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            _empty_dir(self.tmp_dir)  # outputs of a run that died; we hold the lock, nobody writes there
            fd = _open_nofollow(self.manifest_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, "manifest")
            self._manifest = open(fd, "ab", buffering=0)
        except BaseException:
            handle.close()
            raise
        self._lock_handle = handle
        return self

    def close(self) -> None:
        if self._manifest is not None:
            self._manifest.close()
            self._manifest = None
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    def __enter__(self) -> "OutputStore":
        return self.open()

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- names -------------------------------------------------------------------------------------------------
    def final_path(self, stem: str, side: str) -> Path:
        return self.root / f"{stem}{self.outputs[side]}"

    def record_path(self, stem: str) -> Path:
        return self.done_dir / f"{stem}.json"

    def temp_outputs(self, stem: str) -> dict[str, str]:
        """Fresh temporary paths for one attempt (the suffix is kept: sinks choose formats by it)."""
        self._tokens += 1
        token = f"{os.getpid()}-{self._tokens}"
        return {side: str(self.tmp_dir / f"{stem}.{token}{suffix}") for side, suffix in self.outputs.items()}

    # -- completion records ------------------------------------------------------------------------------------
    def verdict(self, stem: str, input_path: Path) -> Verdict:
        """Is this input done? Checked against the files on disk, never assumed."""
        path = self.record_path(stem)
        try:
            st = os.lstat(path)
        except OSError:
            return Verdict(False, "no completion record")
        if not stat.S_ISREG(st.st_mode):
            return Verdict(False, "completion record is not a regular file (a link or a folder)")
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
            with open(fd, "rb") as handle:
                record = json.loads(handle.read(1 << 20).decode("utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            return Verdict(False, f"unreadable completion record: {exc}")
        problem = record_problem(record, self.outputs)
        if problem:
            return Verdict(False, problem)
        if record["format"] != RECORD_FORMAT or record["job"] != self.job_key:
            return Verdict(False, "made by a different graph, side packets or outputs")
        try:
            if record["input_stat"] != input_fingerprint(input_path):
                return Verdict(False, "input changed since it was processed")
        except OSError as exc:
            return Verdict(False, f"input unreadable: {exc}")
        for side in self.outputs:
            entry = record["outputs"][side]
            final = self.final_path(stem, side)
            try:
                st = os.lstat(final)
            except OSError:
                return Verdict(False, f"{final.name} is missing")
            if not stat.S_ISREG(st.st_mode):
                return Verdict(False, f"{final.name} is not a regular file (a link or a folder)")
            size = st.st_size
            if size != entry["bytes"]:
                return Verdict(False, f"{final.name} has {size} bytes, the record says {entry['bytes']}")
            if sha256_file(final) != entry["sha256"]:
                return Verdict(False, f"{final.name} does not match its recorded SHA-256")
        return Verdict(True, "complete", record)

    def forget(self, stem: str) -> None:
        """Drop the completion record before redoing a file, so no stale record can vouch for new outputs."""
        path = self.record_path(stem)
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                shutil.rmtree(path)  # rmtree does not follow links inside
            else:
                path.unlink()
        except FileNotFoundError:
            pass

    def commit(self, stem: str, input_path: Path, temp_outputs: dict[str, str], written: dict[str, bool],
               info: dict[str, Any]) -> dict[str, Any]:
        """Check the temporary outputs, move them into place and write the completion record.

        Raises ValueError (nothing moved) when an output is not whole. Returns the record.
        """
        outputs: dict[str, Any] = {}
        for side, temp in temp_outputs.items():
            temp_path = Path(temp)
            if not written.get(side) or not temp_path.is_file() or temp_path.is_symlink():
                outputs[side] = None
                continue
            entry: dict[str, Any] = {"file": self.final_path(stem, side).name, "bytes": temp_path.stat().st_size}
            if temp_path.suffix == ".jsonl":
                entry["lines"] = check_jsonl(temp_path)
            with open(temp_path, "rb") as handle:
                os.fsync(handle.fileno())
            entry["sha256"] = sha256_file(temp_path)
            outputs[side] = entry
        for side, entry in outputs.items():
            final = self.final_path(stem, side)
            if entry is None:
                # an older output of this stem must not linger as if current (not a folder: left for the user)
                if final.is_symlink() or not final.is_dir():
                    final.unlink(missing_ok=True)
            else:
                os.replace(temp_outputs[side], final)
        _fsync_dir(self.root)
        record = {"format": RECORD_FORMAT, "job": self.job_key, "input": str(input_path),
                  "input_stat": input_fingerprint(input_path), "outputs": outputs,
                  "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **info}
        atomic_write_bytes(self.record_path(stem), (json.dumps(record, indent=1) + "\n").encode("utf-8"))
        return record

    def discard(self, temp_outputs: dict[str, str]) -> None:
        for temp in temp_outputs.values():
            Path(temp).unlink(missing_ok=True)

    # -- manifest and summary ----------------------------------------------------------------------------------
    def log(self, entry: dict[str, Any]) -> None:
        """Append one manifest line (a single unbuffered write: lines are never interleaved or cut)."""
        if self._manifest is None:
            raise BatchError("output store is not open")
        self._manifest.write((json.dumps(entry, separators=(",", ":")) + "\n").encode("utf-8"))

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_bytes(self.summary_path, (json.dumps(summary, indent=1) + "\n").encode("utf-8"))


def read_manifest(root: str | os.PathLike) -> list[dict[str, Any]]:
    """Every manifest line of an output folder (all runs, oldest first)."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


__all__ = ["OutputStore", "Verdict", "atomic_write_bytes", "check_jsonl", "read_manifest", "record_problem",
           "sha256_file"]
