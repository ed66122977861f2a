"""Landmark files, in the format the extension names: `.jsonl`, `.json` (COCO keypoint results) or `.csv`.

- `.jsonl`: one line per frame in the MediaPipe reference's format (see `jsonl`).
- `.json`: the COCO keypoint detection *results* format, a JSON array with one object per person per frame:
  ``{"image_id", "category_id": 1, "keypoints": [x1, y1, v1, ... x17, y17, v17], "score"}`` with pixel
  coordinates in COCO's 17-keypoint order, so that pycocotools (``COCO.loadRes``, ``COCOeval``) reads it. Any
  topology whose keypoints include COCO's 17 (BlazePose's 33, OpenPose's 18) is mapped by keypoint name. `v` is the
  keypoint's visibility score (COCO's evaluation ignores it). `image_id` is the image's file name when that is a
  number (COCO's own ``000000397133.jpg`` -> 397133), else the frame's position in the run; ``file_name``,
  ``frame`` and ``timestamp_us`` are added so that the ids can be traced back.
- `.csv`: one row per person per frame (a frame without anybody gets one row with an empty ``person``), with the
  frame's fields, then ``x, y, z, visibility, presence`` per keypoint by name (``left_wrist_x``...), normalised
  like the JSONL.

Every writer writes to a temporary file and renames it when closed with at least one frame written (see
`partial`), so a failed run keeps what it processed and never truncates the previous run's file to nothing.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..render.topologies import COCO17, get_topology
from ..types import Pose
from .jsonl import JsonlWriter, encode_json, format_float32
from .partial import PartialFile, check_writable

__all__ = ["LANDMARK_FORMATS", "LandmarksWriter", "coco_keypoints", "landmarks_format", "open_landmarks_writer"]

LANDMARK_FORMATS = {".jsonl": "JSON Lines, one line per frame", ".json": "COCO keypoint results",
                    ".csv": "CSV, one row per person per frame"}


def landmarks_format(path: str | os.PathLike[str]) -> str:
    """The format `path` asks for ('.jsonl', '.json' or '.csv'); ValueError naming the choices otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in LANDMARK_FORMATS:
        choices = "; ".join(f"{ext} ({what})" for ext, what in LANDMARK_FORMATS.items())
        raise ValueError(f"cannot tell the landmarks format of {path}: the extension "
                         f"'{Path(path).suffix or '(none)'}' is not one of {choices}")
    return suffix


class LandmarksWriter:
    """Base: frames in, a file out (written under a temporary name until `close()`)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        check_writable(self.path)  # a message naming the path, not the temporary file
        self._partial = PartialFile(self.path)
        self.frames_written = 0
        self._closed = False

    def write_frame(self, source: str, frame: int, timestamp_us: int, width: int, height: int,
                    poses: Sequence[Pose], extra: Mapping[str, Any] | None = None) -> None:
        self._write(source, frame, timestamp_us, width, height, poses, extra)
        self.frames_written += 1

    def _write(self, source, frame, timestamp_us, width, height, poses, extra) -> None:
        raise NotImplementedError

    def _finish_file(self) -> None:
        raise NotImplementedError

    def close(self) -> Path | None:
        """Complete the file and rename it into place; None (and no file) when no frame was written."""
        if self._closed:
            return self.path if self._partial.done and self.frames_written else None
        self._closed = True
        try:
            self._finish_file()
        except Exception:
            self._partial.finish(self.frames_written > 0)
            raise
        return self._partial.finish(self.frames_written > 0)


class _JsonlLandmarks(LandmarksWriter):
    # Lines are written in batches (with the first line that comes half a second after the last write, and when
    # closed: after a failure or a cancel too): one system call per batch, not per frame. Nobody reads the file
    # before it is complete, since it is renamed into place only then.
    FLUSH_EVERY_S = 0.5

    def __init__(self, path):
        super().__init__(path)
        self._writer = JsonlWriter(self._partial.path, flush_every_s=self.FLUSH_EVERY_S)

    def _write(self, source, frame, timestamp_us, width, height, poses, extra) -> None:
        self._writer.write_frame(source, frame, timestamp_us, width, height, poses, extra)

    def _finish_file(self) -> None:
        self._writer.close()


def coco_keypoints(pose: Pose, width: int, height: int) -> list[float]:
    """The pose's 17 COCO keypoints as ``[x, y, v] * 17`` in pixels (v: the visibility score)."""
    topology = get_topology(pose.topology)
    landmarks = np.asarray(pose.landmarks, dtype=np.float64)
    out: list[float] = []
    for name in COCO17.keypoint_names:
        try:
            row = landmarks[topology.index(name)]
        except ValueError:
            raise ValueError(f"cannot write {pose.topology} poses as COCO keypoints: no keypoint {name!r}") from None
        visibility = float(row[3]) if np.isfinite(row[3]) else 0.0
        out += [round(float(row[0]) * width, 2), round(float(row[1]) * height, 2), round(visibility, 4)]
    return out


def _image_id(source: str, frame: int) -> int:
    stem = Path(source).stem
    return int(stem) if re.fullmatch(r"\d{1,18}", stem) else int(frame)


class _CocoLandmarks(LandmarksWriter):
    def __init__(self, path):
        super().__init__(path)
        self._file = open(self._partial.path, "w", encoding="utf-8")
        self._file.write("[")
        self._entries = 0

    def _write(self, source, frame, timestamp_us, width, height, poses, extra) -> None:
        image_id = _image_id(source, frame)
        for pose in poses:
            entry = {"image_id": image_id, "category_id": 1, "keypoints": coco_keypoints(pose, width, height),
                     "score": round(float(pose.score), 5), "file_name": source, "frame": int(frame),
                     "timestamp_us": int(timestamp_us)}
            if pose.track_id is not None:
                entry["track_id"] = int(pose.track_id)
            self._file.write(("," if self._entries else "") + "\n" + encode_json(entry))
            self._entries += 1
        self._file.flush()

    def _finish_file(self) -> None:
        self._file.write("\n]\n")
        self._file.close()


_FRAME_COLUMNS = ["source", "frame", "timestamp_us", "width", "height", "person", "track_id", "topology", "score"]
_LANDMARK_FIELDS = ("x", "y", "z", "visibility", "presence")


class _CsvLandmarks(LandmarksWriter):
    """The header names each keypoint, so it waits for the first pose to know the topology; rows of frames
    without anybody before that are held back (they are short)."""

    def __init__(self, path):
        super().__init__(path)
        self._file = open(self._partial.path, "w", encoding="utf-8", newline="")
        self._topology: str | None = None
        self._pending: list[list[str]] = []

    def _header(self, topology: str | None) -> list[str]:
        names = get_topology(topology).keypoint_names if topology else ()
        return _FRAME_COLUMNS + [f"{name}_{field}" for name in names for field in _LANDMARK_FIELDS]

    def _emit(self, rows: list[list[str]]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        self._file.write(buffer.getvalue())
        self._file.flush()

    def _write(self, source, frame, timestamp_us, width, height, poses, extra) -> None:
        base = [str(source), str(int(frame)), str(int(timestamp_us)), str(int(width)), str(int(height))]
        if not poses:
            row = base + ["", "", "", ""]
            if self._topology is None:
                self._pending.append(row)
            else:
                self._emit([row])
            return
        rows = []
        for person, pose in enumerate(poses):
            if self._topology is None:
                get_topology(pose.topology)  # unknown topology: a clear KeyError before anything is written
                self._topology = pose.topology
                rows += [self._header(self._topology)] + self._pending
                self._pending = []
            elif pose.topology != self._topology:
                raise ValueError(f"{self.path}: a {pose.topology} pose in a CSV of {self._topology} poses; write "
                                 "mixed topologies as .jsonl")
            values = np.asarray(pose.landmarks, dtype=np.float32).ravel()
            rows.append(base + [str(person), "" if pose.track_id is None else str(int(pose.track_id)),
                                pose.topology, format_float32(pose.score)]
                        + ["" if not np.isfinite(v) else format_float32(v) for v in values])
        self._emit(rows)

    def _finish_file(self) -> None:
        if self._topology is None:
            self._emit([self._header(None)] + self._pending)
        self._file.close()


def open_landmarks_writer(path: str | os.PathLike[str]) -> LandmarksWriter:
    """A writer for `path` in the format its extension names (see the module docstring)."""
    kind = landmarks_format(path)
    return {".jsonl": _JsonlLandmarks, ".json": _CocoLandmarks, ".csv": _CsvLandmarks}[kind](path)
