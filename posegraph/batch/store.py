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
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
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
    with open(path, "rb") as handle:
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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and a rename."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


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
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


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
        self.root.mkdir(parents=True, exist_ok=True)
        self.done_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.state / "lock", "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise BatchError(f"another batch is writing to {self.root} (lock {self.state / 'lock'} is held)") \
                from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_handle = handle
        for leftover in self.tmp_dir.iterdir():  # outputs of a run that died; we hold the lock, nobody writes
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        self._manifest = open(self.manifest_path, "ab", buffering=0)
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
        if not path.is_file():
            return Verdict(False, "no completion record")
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return Verdict(False, f"unreadable completion record: {exc}")
        if record.get("format") != RECORD_FORMAT or record.get("job") != self.job_key:
            return Verdict(False, "made by a different graph, side packets or outputs")
        try:
            if record.get("input_stat") != input_fingerprint(input_path):
                return Verdict(False, "input changed since it was processed")
        except OSError as exc:
            return Verdict(False, f"input unreadable: {exc}")
        for side in self.outputs:
            entry = record.get("outputs", {}).get(side, "missing")
            if entry is None:
                continue  # the graph wrote nothing there (e.g. no frames to render), as recorded
            if entry == "missing":
                return Verdict(False, f"record lacks output {side}")
            final = self.final_path(stem, side)
            try:
                size = final.stat().st_size
            except OSError:
                return Verdict(False, f"{final.name} is missing")
            if size != entry["bytes"]:
                return Verdict(False, f"{final.name} has {size} bytes, the record says {entry['bytes']}")
            if sha256_file(final) != entry["sha256"]:
                return Verdict(False, f"{final.name} does not match its recorded SHA-256")
        return Verdict(True, "complete", record)

    def forget(self, stem: str) -> None:
        """Drop the completion record before redoing a file, so no stale record can vouch for new outputs."""
        self.record_path(stem).unlink(missing_ok=True)

    def commit(self, stem: str, input_path: Path, temp_outputs: dict[str, str], written: dict[str, bool],
               info: dict[str, Any]) -> dict[str, Any]:
        """Check the temporary outputs, move them into place and write the completion record.

        Raises ValueError (nothing moved) when an output is not whole. Returns the record.
        """
        outputs: dict[str, Any] = {}
        for side, temp in temp_outputs.items():
            temp_path = Path(temp)
            if not written.get(side) or not temp_path.is_file():
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
                final.unlink(missing_ok=True)  # an older output of this stem must not linger as if current
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


__all__ = ["OutputStore", "Verdict", "atomic_write_bytes", "check_jsonl", "read_manifest", "sha256_file"]
