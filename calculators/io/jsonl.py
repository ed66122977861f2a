"""Poses to and from JSON Lines: one object per frame, in the MediaPipe reference's format.

Line format (compact separators, keys in this order):

    {"source": str, "frame": int, "timestamp_us": int, "width": int, "height": int,
     "poses": [{"topology": str, "score": float,
                "landmarks": [[x, y, z, visibility, presence], ...],
                "world_landmarks": [[x, y, z], ...],      # only when the pose has them
                "id": int,                                # only when track_id is set
                ...pose extras...}],
     ...frame extras...}

Floats are written as the shortest decimal that round-trips the *float32* value, exactly as numpy's `str()` of a
float32 prints it (e.g. 0.4987575, 4.825406e-05), which is how the reference files are written. (Python's own repr
of `float(np.float32(v))` would print 0.49875749... instead: the float64 digits of a float32 value.) That makes
our files diffable against the reference and loss-free for float32 results. NaN and infinities have no JSON
spelling and are written as null (read back as NaN).

Extras (classification, angles, repetitions, ...) pass through: `Pose.extras` into the pose object (keys starting
with "_" are private and skipped), an `extra` mapping into the frame object. They may hold numbers, strings,
booleans, None, lists/tuples, numpy arrays and scalars, mappings and dataclasses.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ..types import Pose

__all__ = [
    "FrameRecord",
    "JsonlFormatError",
    "JsonlWriter",
    "encode_json",
    "float32_strings",
    "format_float32",
    "frame_line",
    "frame_to_dict",
    "iter_jsonl",
    "landmarks_array",
    "parse_line",
    "pose_to_dict",
    "read_jsonl",
    "timestamps_us",
    "world_landmarks_array",
]

FRAME_KEYS = ("source", "frame", "timestamp_us", "width", "height", "poses")
POSE_KEYS = ("topology", "score", "landmarks", "world_landmarks", "id")
# Landmark count -> topology name, for reference files that do not name their topology.
_TOPOLOGY_BY_COUNT = {33: "blazepose33", 17: "coco17", 18: "coco18"}


class JsonlFormatError(ValueError):
    """A JSONL line is not valid JSON or lacks required keys; the message gives file and line number."""


def format_float32(value: float) -> str:
    """The shortest decimal that round-trips `value` as float32, spelled like numpy's str(np.float32(value)).

    Implemented with numpy's explicit formatters (not str()) so that global print options cannot change it.
    """
    x = np.float32(value)
    if not np.isfinite(x):
        return "null"
    magnitude = abs(float(x))
    if magnitude == 0.0 or 1e-4 <= magnitude < 1e6:
        return np.format_float_positional(x, unique=True, trim="0")
    return np.format_float_scientific(x, unique=True, trim="-", exp_digits=2)


# Where numpy's own float32 -> str cast (one C loop, ~6x faster than a format_float32 call per value) spells a value
# exactly as format_float32 does: magnitudes in (1e-4, 1e6) and zero, printed positionally, as long as no legacy
# print mode is set (numpy's legacy modes change the cast's spelling). Other values take format_float32.
_FAST_LOW, _FAST_HIGH = np.float32(1e-4), np.float32(1e6)


def float32_strings(values: np.ndarray) -> list[str]:
    """format_float32 of every value of a float array, flattened (C order): the same strings, in bulk."""
    flat = np.ascontiguousarray(values, dtype=np.float32).ravel()
    if np.get_printoptions()["legacy"] is not False:
        return [format_float32(v) for v in flat]
    out = flat.astype(str).tolist()
    magnitude = np.abs(flat)
    odd = ~(((magnitude > _FAST_LOW) & (magnitude < _FAST_HIGH)) | (magnitude == 0))  # NaN and inf are odd too
    if odd.any():
        for i in np.flatnonzero(odd).tolist():
            out[i] = format_float32(flat[i])
    return out


def _float_matrix_json(matrix: np.ndarray) -> str:
    """A 2-D float array as nested JSON lists of format_float32 strings."""
    rows, columns = matrix.shape
    flat = float32_strings(matrix)
    return "[" + ",".join("[" + ",".join(flat[i:i + columns]) + "]" for i in range(0, rows * columns, columns)) + "]"


def _encode_array(array: np.ndarray, path: str) -> str:
    if array.ndim == 0:
        return _encode(array[()], path)
    if array.size == 0:
        return _encode(array.tolist(), path)
    if array.dtype.kind == "f":
        if array.ndim == 2:
            return _float_matrix_json(array)
        flat = float32_strings(array)
    elif array.dtype.kind in "iu":
        flat = [str(int(v)) for v in array.ravel()]
    elif array.dtype.kind == "b":
        flat = ["true" if v else "false" for v in array.ravel()]
    else:
        return "[" + ",".join(_encode(v, f"{path}[{i}]") for i, v in enumerate(array.tolist())) + "]"
    # Rebuild the nesting from the flat list, innermost dimension first.
    items: list[str] = flat
    for size in reversed(array.shape[1:]):
        items = ["[" + ",".join(items[i:i + size]) + "]" for i in range(0, len(items), size)]
    return "[" + ",".join(items) + "]"


def _encode(value: Any, path: str) -> str:
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return format_float32(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, np.ndarray):
        return _encode_array(value, path)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return "{" + ",".join(_member(key, item, path) for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v, f"{path}[{i}]") for i, v in enumerate(value)) + "]"
    raise TypeError(f"cannot write a {type(value).__name__} as JSON (at {path}); convert it to numbers, strings, "
                    "lists or dicts first")


def _member(key: Any, value: Any, path: str) -> str:
    """`"key":value` of a JSON object at `path`."""
    if not isinstance(key, str):
        raise TypeError(f"JSON object keys must be strings, got {key!r} at {path}")
    return json.dumps(key) + ":" + _encode(value, f"{path}.{key}")


def encode_json(value: Any) -> str:
    """Compact JSON (no spaces) with every float written as the shortest float32 decimal."""
    return _encode(value, "$")


def _landmark_matrix(array: np.ndarray, columns: int, what: str) -> np.ndarray:
    matrix = np.asarray(array, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != columns:
        raise ValueError(f"{what} must be N x {columns}, got shape {matrix.shape}")
    return matrix


def _pose_extras(pose: Pose) -> Iterator[tuple[Any, Any]]:
    """The extras a pose writes after its own fields: not the `_private` ones, none that would replace a field."""
    for key, value in pose.extras.items():
        if key.startswith("_"):
            continue
        if key in POSE_KEYS:
            raise ValueError(f"Pose.extras key {key!r} collides with a pose field; rename it")
        yield key, value


def _frame_extras(extra: Mapping[str, Any] | None) -> Iterator[tuple[Any, Any]]:
    """The extra fields a frame writes after its own; none may replace one."""
    for key, value in (extra or {}).items():
        if key in FRAME_KEYS:
            raise ValueError(f"extra key {key!r} collides with a frame field; rename it")
        yield key, value


def pose_to_dict(pose: Pose) -> dict[str, Any]:
    """The pose's JSON object as an ordered dict (arrays stay numpy arrays until encoded)."""
    obj: dict[str, Any] = {
        "topology": pose.topology,
        "score": float(pose.score),
        "landmarks": _landmark_matrix(pose.landmarks, 5, "Pose.landmarks"),
    }
    if pose.world_landmarks is not None:
        obj["world_landmarks"] = _landmark_matrix(pose.world_landmarks, 3, "Pose.world_landmarks")
    if pose.track_id is not None:
        obj["id"] = int(pose.track_id)
    obj.update(_pose_extras(pose))
    return obj


def frame_to_dict(source: str, frame: int, timestamp_us: int, width: int, height: int, poses: Sequence[Pose],
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One frame's JSON object as an ordered dict."""
    obj: dict[str, Any] = {
        "source": str(source),
        "frame": int(frame),
        "timestamp_us": int(timestamp_us),
        "width": int(width),
        "height": int(height),
        "poses": [pose_to_dict(p) for p in poses],
    }
    obj.update(_frame_extras(extra))
    return obj


def _pose_json(pose: Pose, path: str) -> str:
    """encode_json(pose_to_dict(pose)), written directly (no intermediate dict: this runs once per pose per frame)."""
    parts = ['{"topology":' + json.dumps(pose.topology), '"score":' + format_float32(float(pose.score)),
             '"landmarks":' + _matrix_json(_landmark_matrix(pose.landmarks, 5, "Pose.landmarks"), path + ".landmarks")]
    if pose.world_landmarks is not None:
        world = _landmark_matrix(pose.world_landmarks, 3, "Pose.world_landmarks")
        parts.append('"world_landmarks":' + _matrix_json(world, path + ".world_landmarks"))
    if pose.track_id is not None:
        parts.append(f'"id":{int(pose.track_id)}')
    parts.extend(_member(key, value, path) for key, value in _pose_extras(pose))
    return ",".join(parts) + "}"


def _matrix_json(matrix: np.ndarray, path: str) -> str:
    return _float_matrix_json(matrix) if matrix.size else _encode_array(matrix, path)


def frame_line(source: str, frame: int, timestamp_us: int, width: int, height: int, poses: Sequence[Pose],
               extra: Mapping[str, Any] | None = None) -> str:
    """One frame as a JSONL line (without the trailing newline): encode_json(frame_to_dict(...)), the same text,
    written without building the dicts first."""
    poses_json = ",".join(_pose_json(pose, f"$.poses[{i}]") for i, pose in enumerate(poses))
    line = (f'{{"source":{json.dumps(str(source))},"frame":{int(frame)},"timestamp_us":{int(timestamp_us)},'
            f'"width":{int(width)},"height":{int(height)},"poses":[{poses_json}]')
    line += "".join("," + _member(key, value, "$") for key, value in _frame_extras(extra))
    return line + "}"


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One parsed line: the frame's fields, its poses, and every other key in `extra` (e.g. "mode", "ms")."""

    source: str
    frame: int
    timestamp_us: int
    width: int
    height: int
    poses: list[Pose] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """This record as a JSONL line (without newline), in our output format."""
        return frame_line(self.source, self.frame, self.timestamp_us, self.width, self.height, self.poses,
                          self.extra)


class JsonlWriter:
    """Append frames to a JSONL file, one complete line per write.

    Each line is encoded in full first and handed to the OS in whole lines, so a crash or a concurrent reader never
    sees half a line. By default every line is written at once (nothing waits in a Python buffer);
    `flush_every_s` > 0 instead gathers lines and writes them together with the first line that comes that many
    seconds after the last write (or once 64 KiB have gathered), and on `flush()` and `close()`: one system call per
    batch instead of per line, for sinks whose file is complete only when closed. Thread-safe. `fsync=True` also forces each write to
    disk (slow; for crash-proof logs).
    """

    BATCH_BYTES = 64 * 1024

    def __init__(self, path: str | os.PathLike[str], *, append: bool = False, fsync: bool = False,
                 flush_every_s: float = 0.0):
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"cannot write {self.path}: folder {self.path.parent} does not exist")
        self._file = open(self.path, "ab" if append else "wb", buffering=0)
        self._fsync = fsync
        self._flush_every_s = flush_every_s
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._last_write = time.monotonic()
        self._lock = threading.Lock()
        self.lines_written = 0

    def write_line(self, obj: Mapping[str, Any]) -> None:
        """Write any mapping as one line (encoded with `encode_json`)."""
        self._write_encoded(encode_json(obj))

    def _write_encoded(self, line: str) -> None:
        data = (line + "\n").encode("utf-8")
        with self._lock:
            if self._file.closed:
                raise ValueError(f"JsonlWriter for {self.path} is closed")
            if self._flush_every_s > 0:
                self._pending.append(data)
                self._pending_bytes += len(data)
                self.lines_written += 1
                if (self._pending_bytes >= self.BATCH_BYTES
                        or time.monotonic() - self._last_write >= self._flush_every_s):
                    self._flush_pending()
                return
            self._write_all(data)
            self.lines_written += 1

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written:]
        if self._fsync:
            os.fsync(self._file.fileno())
        self._last_write = time.monotonic()

    def flush(self) -> None:
        """Write the lines gathered so far (only `flush_every_s` writers gather any)."""
        with self._lock:
            self._flush_pending()

    def _flush_pending(self) -> None:
        if self._pending and not self._file.closed:
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            self._write_all(data)

    def write_frame(self, source: str, frame: int, timestamp_us: int, width: int, height: int,
                    poses: Sequence[Pose], extra: Mapping[str, Any] | None = None) -> None:
        self._write_encoded(frame_line(source, frame, timestamp_us, width, height, poses, extra))

    def write_record(self, record: FrameRecord) -> None:
        self.write_frame(record.source, record.frame, record.timestamp_us, record.width, record.height,
                         record.poses, record.extra)

    def close(self) -> None:
        with self._lock:
            try:
                self._flush_pending()
            finally:
                self._file.close()

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _float_matrix(value: Any, columns: int, where: str) -> np.ndarray:
    try:
        matrix = np.array(value, dtype=np.float32)  # None (written for NaN) becomes NaN
    except (TypeError, ValueError) as exc:
        raise JsonlFormatError(f"{where}: expected a list of [{columns} numbers] rows: {exc}") from exc
    if matrix.size == 0:
        return matrix.reshape(0, columns)
    if matrix.ndim != 2 or matrix.shape[1] != columns:
        raise JsonlFormatError(f"{where}: expected N x {columns} numbers, got shape {matrix.shape}")
    return matrix


def _parse_pose(obj: Any, where: str) -> Pose:
    if not isinstance(obj, dict) or "landmarks" not in obj:
        raise JsonlFormatError(f"{where}: a pose must be an object with 'landmarks'")
    landmarks = _float_matrix(obj["landmarks"], 5, f"{where}.landmarks")
    world = obj.get("world_landmarks")
    topology = obj.get("topology") or _TOPOLOGY_BY_COUNT.get(len(landmarks), "unknown")
    score = obj.get("score")
    track = obj.get("id")
    return Pose(
        landmarks=landmarks,
        topology=str(topology),
        score=float(np.float32(score)) if score is not None else 1.0,
        world_landmarks=None if world is None else _float_matrix(world, 3, f"{where}.world_landmarks"),
        track_id=None if track is None else int(track),
        extras={k: v for k, v in obj.items() if k not in POSE_KEYS},
    )


def parse_line(line: str, *, where: str = "line") -> FrameRecord:
    """Parse one JSONL line (ours or the reference's) into a FrameRecord with numpy float32 arrays."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise JsonlFormatError(f"{where}: invalid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise JsonlFormatError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in FRAME_KEYS if k not in obj]
    if missing:
        raise JsonlFormatError(f"{where}: missing key(s) {missing}")
    if not isinstance(obj["poses"], list):
        raise JsonlFormatError(f"{where}: 'poses' must be a list")
    return FrameRecord(
        source=str(obj["source"]),
        frame=int(obj["frame"]),
        timestamp_us=int(obj["timestamp_us"]),
        width=int(obj["width"]),
        height=int(obj["height"]),
        poses=[_parse_pose(p, f"{where}: poses[{i}]") for i, p in enumerate(obj["poses"])],
        extra={k: v for k, v in obj.items() if k not in FRAME_KEYS},
    )


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[FrameRecord]:
    """Parse a JSONL file lazily, one FrameRecord per non-blank line; errors name the file and line."""
    path = Path(path)
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield parse_line(line, where=f"{path}:{number}")


def read_jsonl(path: str | os.PathLike[str]) -> list[FrameRecord]:
    """Parse a whole JSONL file into FrameRecords."""
    return list(iter_jsonl(path))


def _stack(records: Iterable[FrameRecord], attribute: str, columns: int, pose_index: int,
           num_landmarks: int | None) -> np.ndarray:
    records = list(records)
    rows: list[np.ndarray | None] = []
    for record in records:
        pose = record.poses[pose_index] if len(record.poses) > pose_index else None
        value = None if pose is None else getattr(pose, attribute)
        rows.append(None if value is None else np.asarray(value, dtype=np.float32))
    if num_landmarks is None:
        num_landmarks = next((len(r) for r in rows if r is not None), 0)
    out = np.full((len(records), num_landmarks, columns), np.nan, dtype=np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            if row.shape != (num_landmarks, columns):
                raise ValueError(f"frame {records[i].frame}: {attribute} has shape {row.shape}, expected "
                                 f"{(num_landmarks, columns)}")
            out[i] = row
    return out


def landmarks_array(records: Iterable[FrameRecord], *, pose_index: int = 0,
                    num_landmarks: int | None = None) -> np.ndarray:
    """F x N x 5 float32 landmarks of pose `pose_index` per frame; NaN rows for frames without that pose."""
    return _stack(records, "landmarks", 5, pose_index, num_landmarks)


def world_landmarks_array(records: Iterable[FrameRecord], *, pose_index: int = 0,
                          num_landmarks: int | None = None) -> np.ndarray:
    """F x N x 3 float32 world landmarks per frame; NaN rows where the pose or its world landmarks are missing."""
    return _stack(records, "world_landmarks", 3, pose_index, num_landmarks)


def timestamps_us(records: Iterable[FrameRecord]) -> np.ndarray:
    """The frames' timestamps as an int64 array."""
    return np.array([r.timestamp_us for r in records], dtype=np.int64)
