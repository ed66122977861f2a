"""The local engine on the shared media: same outputs as `posegraph run`, resume, failures, killed workers."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from posegraph.batch import read_manifest, run_batch
from posegraph.cli import main as posegraph_main

from .conftest import (POSE_GRAPH, POSE_INPUTS, POSE_MAX_FRAMES, assert_same_jsonl, ok_counts,
                       single_run)

pytestmark = pytest.mark.timeout(150)


def test_local_batch_matches_single_runs_and_resumes(tmp_path, media, pose_singles):
    broken = tmp_path / "broken_clip.mp4"
    broken.write_bytes(b"this is not a video")
    listing = tmp_path / "inputs.txt"
    listing.write_text("\n".join(str(media / name) for name in POSE_INPUTS) + f"\n{broken}\n")
    out = tmp_path / "out"
    stems = [Path(n).stem for n in POSE_INPUTS]

    first = run_batch(POSE_GRAPH, [str(listing)], out, engine="local", workers=2, max_frames=POSE_MAX_FRAMES,
                      video=".mp4")
    assert (first.ok, first.failed, first.skipped) == (5, 1, 0), first.text()
    assert first.engine["workers"] == 2 and first.engine["threads_per_worker"] == 1  # 2 cores, not oversubscribed
    assert first.failures[0]["input"] == str(broken) and first.failures[0]["error"]
    for stem in stems:
        assert_same_jsonl(out / f"{stem}.jsonl", pose_singles / f"{stem}.jsonl")
        assert (out / f"{stem}.mp4").read_bytes() == (pose_singles / f"{stem}.mp4").read_bytes()
    assert not (out / "broken_clip.jsonl").exists()
    entries = {e["stem"]: e for e in read_manifest(out)}
    assert entries["video_squats_woman"]["frames"] == POSE_MAX_FRAMES
    assert entries["yoga_tree_pose"]["frames"] == 1
    assert entries["broken_clip"]["status"] == "failed"
    assert all(entries[s]["seconds"] > 0 and entries[s]["worker"] for s in stems)
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["ok"], summary["failed"], summary["frames"]) == (5, 1, 2 * POSE_MAX_FRAMES + 3)
    assert list((out / ".posegraph-batch" / "tmp").iterdir()) == []

    # Rerun: complete outputs are verified and left alone; the failed input is tried again.
    def outputs_stamps():
        return {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.stem in stems}

    stamps = outputs_stamps()
    assert len(stamps) == 10
    second = run_batch(POSE_GRAPH, [str(listing)], out, engine="local", workers=2, max_frames=POSE_MAX_FRAMES,
                       video=".mp4")
    assert (second.ok, second.failed, second.skipped) == (0, 1, 5), second.text()
    assert stamps == outputs_stamps()

    # Damage: a JSONL cut mid-line, a video deleted. Only those are redone, and come back identical.
    cut = out / "video_dance_single_synthetic.jsonl"
    cut.write_bytes(cut.read_bytes()[:-40])
    (out / "yoga_tree_pose.mp4").unlink()
    third = run_batch(POSE_GRAPH, [str(listing)], out, engine="local", workers=2, max_frames=POSE_MAX_FRAMES,
                      video=".mp4")
    assert (third.ok, third.failed, third.skipped) == (2, 1, 3), third.text()
    redone = {e["stem"]: e["redo_reason"] for e in read_manifest(out) if e["run"] == third.run
              and e["status"] == "ok"}
    assert set(redone) == {"video_dance_single_synthetic", "yoga_tree_pose"}
    assert "SHA-256" in redone["video_dance_single_synthetic"] or "bytes" in redone["video_dance_single_synthetic"]
    assert "missing" in redone["yoga_tree_pose"]
    for stem in ("video_dance_single_synthetic", "yoga_tree_pose"):
        assert_same_jsonl(out / f"{stem}.jsonl", pose_singles / f"{stem}.jsonl")
        assert (out / f"{stem}.mp4").read_bytes() == (pose_singles / f"{stem}.mp4").read_bytes()

    # A different job (other max_frames) does not reuse these outputs.
    fourth = run_batch(POSE_GRAPH, [str(media / POSE_INPUTS[2])], out, engine="local", max_frames=1, video=".mp4")
    assert fourth.ok == 1 and fourth.skipped == 0


def test_worker_killed_mid_file_then_rerun_completes_everything_once(tmp_path, media):
    names = ["video_upper_body_selfie.mp4", "video_dance_single_synthetic.mp4", "yoga_warrior2_beach.jpg",
             "figure_skater_seq_00001.jpg"]
    target = "video_upper_body_selfie"
    frames = 30
    singles = tmp_path / "singles"
    for name in names:
        single_run(POSE_GRAPH, media / name, singles, max_frames=frames)
    out = tmp_path / "out"
    killed: dict = {}

    def kill_mid_file(kind, info):
        if kind != "submitted" or info["stem"] != target or killed:
            return
        partial = Path(info["temp_outputs"]["landmarks_path"])
        # the sink writes under a hidden name of its own until the file is complete (calculators/io/partial.py)
        writing = partial.with_name(f".{partial.stem}.partial-{info['pid']}{partial.suffix}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the worker is really in the middle of the file
            if writing.is_file() and writing.read_bytes().count(b"\n") >= 2:
                break
            time.sleep(0.005)
        else:
            pytest.fail("the worker never started writing its output")
        os.kill(info["pid"], signal.SIGKILL)
        killed.update(pid=info["pid"], partial=partial)

    inputs = [str(media / name) for name in names]
    first = run_batch(POSE_GRAPH, inputs, out, engine="local", workers=2, max_frames=frames, retries=0,
                      on_event=kill_mid_file)
    assert killed, "the kill never happened"
    assert (first.ok, first.failed) == (3, 1), first.text()
    assert "died" in first.failures[0]["error"] and "SIGKILL" in first.failures[0]["error"]
    assert not (out / f"{target}.jsonl").exists() and not killed["partial"].exists()
    assert ok_counts(out) == {Path(n).stem: 1 for n in names if Path(n).stem != target}

    second = run_batch(POSE_GRAPH, inputs, out, engine="local", workers=2, max_frames=frames)
    assert (second.ok, second.skipped, second.failed) == (1, 3, 0), second.text()
    assert ok_counts(out) == {Path(n).stem: 1 for n in names}          # every file done exactly once
    for name in names:
        stem = Path(name).stem
        assert_same_jsonl(out / f"{stem}.jsonl", singles / f"{stem}.jsonl")
        assert len((out / f"{stem}.jsonl").read_text().splitlines()) == (frames if name.endswith(".mp4") else 1)


def test_crashing_worker_is_replaced_and_the_file_retried(tmp_path, media, crash_graph, calcs):
    names = ["video_dance_single_synthetic.mp4", "video_man_dancing_fullbody.mp4", "figure_skater_seq_00020.jpg"]
    token = tmp_path / "crash.token"
    token.touch()
    side = {"crash_on": names[0], "crash_token": str(token)}
    retries: list = []
    out = tmp_path / "out"
    summary = run_batch(crash_graph, [str(media / n) for n in names], out, engine="local", workers=2,
                        max_frames=8, side=side, preload=[calcs], retries=1,
                        on_event=lambda kind, info: retries.append(info) if kind == "retry" else None)
    assert not token.exists()                       # the marked file did crash its worker once
    assert (summary.ok, summary.failed) == (3, 0), summary.text()
    crashes = [r for r in retries if r["status"] == "retry"]
    assert len(crashes) == 1 and "exit code 70" in crashes[0]["error"]
    # a file queued behind the crashed one had not started: it goes back to the queue without using an attempt
    assert all(r["status"] == "requeued" and r["attempts"] == 1 for r in retries if r not in crashes)
    attempts = {e["stem"]: e["attempts"] for e in read_manifest(out) if e["status"] == "ok"}
    assert attempts == {"video_dance_single_synthetic": 2, "video_man_dancing_fullbody": 1,
                        "figure_skater_seq_00020": 1}
    singles = tmp_path / "singles"
    for name in names:
        single_run(crash_graph, media / name, singles, max_frames=8, side={"crash_on": "none"})
        assert_same_jsonl(out / f"{Path(name).stem}.jsonl", singles / f"{Path(name).stem}.jsonl")


def test_cli_batch_command(tmp_path, media, crash_graph, calcs, capsys):
    out = tmp_path / "out"
    argv = ["batch", str(crash_graph), "--inputs", str(media / "figure_skater_seq_*.jpg"), "--out", str(out),
            "--preload", calcs, "--workers", "1", "--max-frames", "2", "--quiet"]
    assert posegraph_main(argv) == 0
    printed = capsys.readouterr().out
    assert "processed 3, skipped (already complete) 0, failed 0" in printed
    assert sorted(p.name for p in out.glob("*.jsonl")) == ["figure_skater_seq_00001.jsonl",
                                                           "figure_skater_seq_00020.jsonl",
                                                           "figure_skater_seq_00104.jsonl", "manifest.jsonl"]
    assert posegraph_main(argv) == 0
    assert "processed 0, skipped (already complete) 3" in capsys.readouterr().out
    assert posegraph_main(argv + ["--side", "not_declared=1"]) == 1
    assert "does not take side packet(s) not_declared" in capsys.readouterr().err
