"""The output folder of a batch under hostile contents: planted symbolic links are refused (never written through),
and completion records of the wrong shape are redone, never trusted and never a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from posegraph.batch import BatchError, OutputStore
from posegraph.batch.store import atomic_write_bytes

pytestmark = pytest.mark.timeout(30)

OUTPUTS = {"landmarks_path": ".jsonl"}


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _commit(store: OutputStore, source: Path, stem: str, data: bytes = b'{"frame":0}\n') -> dict:
    temps = store.temp_outputs(stem)
    Path(temps["landmarks_path"]).write_bytes(data)
    return store.commit(stem, source, temps, {"landmarks_path": True}, {"frames": 1})


@pytest.fixture()
def victim(tmp_path):
    """A folder and a file outside the output folder that a planted link points to."""
    folder = tmp_path / "victim"
    _touch(folder / "precious.txt", b"keep me")
    return folder


@pytest.mark.parametrize("planted", [".posegraph-batch", ".posegraph-batch/tmp", ".posegraph-batch/done"])
def test_linked_state_folders_are_refused_and_the_target_untouched(tmp_path, victim, planted):
    out = tmp_path / "out"
    (out / ".posegraph-batch").mkdir(parents=True)
    link = out / planted
    if link.exists():
        link.rmdir()
    link.symlink_to(victim, target_is_directory=True)
    with pytest.raises(BatchError, match="symbolic link"):
        OutputStore(out, OUTPUTS, "job").open()
    assert (victim / "precious.txt").read_bytes() == b"keep me"
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]


@pytest.mark.parametrize("planted", [".posegraph-batch/lock", "manifest.jsonl", "summary.json"])
def test_linked_state_files_are_refused_and_the_target_untouched(tmp_path, victim, planted):
    out = tmp_path / "out"
    (out / ".posegraph-batch").mkdir(parents=True)
    (out / planted).symlink_to(victim / "precious.txt")
    with pytest.raises(BatchError, match="symbolic link"):
        OutputStore(out, OUTPUTS, "job").open()
    assert (victim / "precious.txt").read_bytes() == b"keep me"


def test_tmp_leftovers_are_removed_without_following_links(tmp_path, victim):
    out = tmp_path / "out"
    with OutputStore(out, OUTPUTS, "job") as store:
        tmp = store.tmp_dir
    (tmp / "to_folder").symlink_to(victim, target_is_directory=True)
    (tmp / "to_file").symlink_to(victim / "precious.txt")
    _touch(tmp / "sub" / "left.jsonl")
    (tmp / "sub" / "deep_link").symlink_to(victim, target_is_directory=True)
    with OutputStore(out, OUTPUTS, "job"):
        assert list(tmp.iterdir()) == []
    assert (victim / "precious.txt").read_bytes() == b"keep me"


def test_records_and_outputs_replace_links_instead_of_writing_through(tmp_path, victim):
    source = _touch(tmp_path / "in" / "clip.mp4", b"video")
    out = tmp_path / "out"
    with OutputStore(out, OUTPUTS, "job") as store:
        store.record_path("clip").symlink_to(victim / "precious.txt")
        (out / "clip.jsonl").symlink_to(victim / "precious.txt")
        assert "not a regular file" in store.verdict("clip", source).reason
        store.forget("clip")
        _commit(store, source, "clip")
        assert store.verdict("clip", source).done
        assert not store.record_path("clip").is_symlink() and not (out / "clip.jsonl").is_symlink()
    assert (victim / "precious.txt").read_bytes() == b"keep me"


def test_atomic_write_never_follows_a_planted_temporary_name(tmp_path, victim):
    target = tmp_path / "summary.json"
    atomic_write_bytes(target, b"{}\n")  # fresh random temporary names: nothing to plant in advance
    assert target.read_bytes() == b"{}\n"


RECORD = {"format": 1, "job": "job", "input": "x", "outputs": {}}


@pytest.mark.parametrize("content", [
    "[]", "null", "42", '"text"', '{"format": 1}', '{"format": "1", "job": "job"}',
    json.dumps({**RECORD, "input_stat": "nope"}),
    json.dumps({**RECORD, "input_stat": {"size": "1", "mtime_ns": 2}}),
    json.dumps({**RECORD, "input_stat": {"size": 1, "mtime_ns": 2}, "outputs": []}),
    json.dumps({**RECORD, "input_stat": {"size": 1, "mtime_ns": 2}, "outputs": {"landmarks_path": "f"}}),
    json.dumps({**RECORD, "input_stat": {"size": 1, "mtime_ns": 2},
                "outputs": {"landmarks_path": {"bytes": "1", "sha256": "x"}}}),
    "[" * 100000,
])
def test_wrong_shaped_records_are_redone(tmp_path, content):
    source = _touch(tmp_path / "in" / "clip.mp4", b"video")
    with OutputStore(tmp_path / "out", OUTPUTS, "job") as store:
        store.record_path("clip").write_text(content)
        verdict = store.verdict("clip", source)
        assert not verdict.done and verdict.reason
        store.forget("clip")
        _commit(store, source, "clip")
        assert store.verdict("clip", source).done


def test_a_folder_in_place_of_a_record_is_redone(tmp_path):
    source = _touch(tmp_path / "in" / "clip.mp4", b"video")
    with OutputStore(tmp_path / "out", OUTPUTS, "job") as store:
        _touch(store.record_path("clip") / "inner.json")
        assert "not a regular file" in store.verdict("clip", source).reason
        store.forget("clip")
        _commit(store, source, "clip")
        assert store.verdict("clip", source).done


def test_a_null_output_is_not_taken_as_done(tmp_path):
    source = _touch(tmp_path / "in" / "clip.mp4", b"video")
    with OutputStore(tmp_path / "out", OUTPUTS, "job") as store:
        record = _commit(store, source, "clip")
        (tmp_path / "out" / "clip.jsonl").unlink()
        record["outputs"]["landmarks_path"] = None
        store.record_path("clip").write_text(json.dumps(record))
        verdict = store.verdict("clip", source)
        assert not verdict.done and "no landmarks_path output" in verdict.reason


def test_the_lock_file_is_private_to_the_batch(tmp_path):
    with OutputStore(tmp_path / "out", OUTPUTS, "job") as store:
        assert (store.state / "lock").read_text() == f"{os.getpid()}\n"


def test_cli_refuses_a_planted_tmp_link(tmp_path, media, crash_graph, calcs, victim, capsys):
    from posegraph.cli import main as posegraph_main

    out = tmp_path / "out"
    (out / ".posegraph-batch").mkdir(parents=True)
    (out / ".posegraph-batch" / "tmp").symlink_to(victim, target_is_directory=True)
    argv = ["batch", str(crash_graph), "--inputs", str(media / "figure_skater_seq_00001.jpg"), "--out", str(out),
            "--preload", calcs, "--workers", "1", "--max-frames", "1", "--quiet"]
    assert posegraph_main(argv) == 1
    assert "symbolic link" in capsys.readouterr().err
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]


def test_an_output_folder_that_cannot_be_made_is_one_clear_error(tmp_path):
    blocker = _touch(tmp_path / "not_a_folder")
    with pytest.raises(BatchError, match=f"cannot create the output folder {blocker}/out: .*choose another --out"):
        OutputStore(blocker / "out", OUTPUTS, "job").open()
