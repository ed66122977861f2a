"""Fixtures of the batch tests: single `posegraph run` references, the crash graph, output comparisons."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from posegraph.batch import read_manifest
from posegraph.batch.worker import preload
from posegraph.cli import main as posegraph_main

HERE = Path(__file__).resolve().parent
CALCS = str(HERE / "batch_calcs.py")
POSE_GRAPH = "pose_tracking_cpu"
POSE_MAX_FRAMES = 6
# Frames -> JSONL without models: MediaSource, BatchTestCrashOnMarked (batch_calcs.py), LandmarksSink (one line
# per frame, no poses).
CRASH_GRAPH = """
input_side_packet: "input_path"
input_side_packet: "landmarks_path"
input_side_packet: "max_frames"
input_side_packet: "crash_on"
input_side_packet: "crash_token"
node {
  calculator: "MediaSourceCalculator"
  input_side_packet: "INPUT_PATH:input_path"
  input_side_packet: "MAX_FRAMES:max_frames"
  output_stream: "IMAGE:frames"
}
node {
  calculator: "BatchTestCrashOnMarked"
  input_stream: "IMAGE:frames"
  input_side_packet: "INPUT_PATH:input_path"
  input_side_packet: "CRASH_ON:crash_on"
  input_side_packet: "TOKEN:crash_token"
  output_stream: "IMAGE:checked"
}
node {
  calculator: "LandmarksSinkCalculator"
  input_stream: "IMAGE:checked"
  input_side_packet: "OUTPUT_PATH:landmarks_path"
}
"""
# Two videos, a person photo, a negative (no person: empty pose lists) and a BMP.
POSE_INPUTS = ["video_dance_single_synthetic.mp4", "video_squats_woman.mp4", "yoga_tree_pose.jpeg",
               "negative_cat.bmp", "person_single_fullbody_man_suit.jpeg"]


def single_run(graph: str | Path, media: Path, out_dir: Path, *, max_frames: int, video: bool = False,
               side: dict | None = None) -> None:
    """``posegraph run GRAPH --input media --landmarks out/<stem>.jsonl [--output out/<stem>.mp4]``, in-process."""
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = ["run", str(graph), "--input", str(media), "--landmarks", str(out_dir / f"{media.stem}.jsonl"),
            "--max-frames", str(max_frames), "--quiet"]
    if video:
        argv += ["--output", str(out_dir / f"{media.stem}.mp4")]
    for key, value in (side or {}).items():
        argv += ["--side", f"{key}={value}"]
    assert posegraph_main(argv) == 0


def _same_json(a, b, where: str, tol: float) -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), where
        assert math.isclose(a, b, rel_tol=tol, abs_tol=tol), f"{where}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{where}: keys differ"
        for key in a:
            _same_json(a[key], b[key], f"{where}.{key}", tol)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _same_json(x, y, f"{where}[{i}]", tol)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_jsonl(batch: Path, single: Path, tol: float = 1e-5) -> None:
    """Byte for byte, or (should thread count ever change float summation order) equal within `tol`."""
    got, want = batch.read_bytes(), single.read_bytes()
    if got == want:
        return
    got_lines, want_lines = got.decode().splitlines(), want.decode().splitlines()
    assert len(got_lines) == len(want_lines), f"{batch.name}: {len(got_lines)} lines, single run has " \
                                              f"{len(want_lines)}"
    for number, (x, y) in enumerate(zip(got_lines, want_lines), 1):
        _same_json(json.loads(x), json.loads(y), f"{batch.name}:{number}", tol)


def ok_counts(out_dir: Path) -> dict[str, int]:
    """How many times each stem was recorded "ok" in the manifest, over all runs."""
    counts: dict[str, int] = {}
    for entry in read_manifest(out_dir):
        if entry["status"] == "ok":
            counts[entry["stem"]] = counts.get(entry["stem"], 0) + 1
    return counts


@pytest.fixture(scope="session")
def calcs() -> str:
    preload([CALCS])
    return CALCS


@pytest.fixture(scope="session")
def crash_graph(tmp_path_factory, calcs) -> Path:
    path = tmp_path_factory.mktemp("graphs") / "crash_on_marked.pbtxt"
    path.write_text(CRASH_GRAPH)
    return path


@pytest.fixture(scope="session")
def pose_singles(tmp_path_factory, media) -> Path:
    """`posegraph run` of the flagship graph on each pose input (landmarks and annotated video)."""
    out = tmp_path_factory.mktemp("pose_singles")
    for name in POSE_INPUTS:
        single_run(POSE_GRAPH, media / name, out, max_frames=POSE_MAX_FRAMES, video=True)
    return out
