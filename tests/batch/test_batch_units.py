"""Batch building blocks without workers: input expansion, output names, completion records, atomic commits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posegraph.batch import BatchError, OutputStore, expand_inputs, output_stems
from posegraph.batch.store import check_jsonl

pytestmark = pytest.mark.timeout(30)


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_expand_globs_folders_lists_in_order_without_duplicates(tmp_path):
    a = _touch(tmp_path / "clips" / "a.mp4")
    b = _touch(tmp_path / "clips" / "b.mp4")
    c = _touch(tmp_path / "clips" / "deep" / "c.mp4")
    _touch(tmp_path / "clips" / ".hidden.mp4")
    d = _touch(tmp_path / "photos" / "d.jpg")
    listing = tmp_path / "more.txt"
    listing.write_text("# a comment\n\nphotos/d.jpg\nclips/a.mp4\n")
    assert expand_inputs([str(tmp_path / "clips" / "*.mp4")]) == [a, b]
    assert expand_inputs([str(tmp_path / "clips" / "**" / "*.mp4")]) == [a, b, c]
    assert expand_inputs([str(tmp_path / "clips")]) == [a, b]          # a folder: its files, not recursive
    assert expand_inputs([str(listing), str(tmp_path / "clips")]) == [d, a, b]
    assert expand_inputs(["@" + str(listing)]) == [d, a]
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        expand_inputs([str(tmp_path / "nope.mp4")])


def test_inputs_sharing_an_output_name_are_refused(tmp_path):
    files = [_touch(tmp_path / "x" / "clip.mp4"), _touch(tmp_path / "y" / "clip.mov"),
             _touch(tmp_path / "z" / "other.mp4")]
    with pytest.raises(BatchError, match="clip"):
        output_stems(files)
    assert output_stems(files[1:]) == ["clip", "other"]


def test_check_jsonl_rejects_a_cut_or_broken_file(tmp_path):
    good = _touch(tmp_path / "good.jsonl", b'{"a":1}\n{"a":2}\n')
    assert check_jsonl(good) == 2
    with pytest.raises(ValueError, match="not terminated"):
        check_jsonl(_touch(tmp_path / "cut.jsonl", b'{"a":1}\n{"a":'))
    with pytest.raises(ValueError, match="not valid JSON"):
        check_jsonl(_touch(tmp_path / "bad.jsonl", b'{"a":1}\n{"a":\n'))


def _commit(store: OutputStore, source: Path, stem: str, data: bytes) -> dict:
    temps = store.temp_outputs(stem)
    Path(temps["landmarks_path"]).write_bytes(data)
    return store.commit(stem, source, temps, {"landmarks_path": True}, {"frames": data.count(b"\n")})


def test_completion_is_checked_against_the_files(tmp_path):
    source = _touch(tmp_path / "in" / "clip.mp4", b"video bytes")
    out = tmp_path / "out"
    with OutputStore(out, {"landmarks_path": ".jsonl"}, "job-1") as store:
        assert store.verdict("clip", source).reason == "no completion record"
        record = _commit(store, source, "clip", b'{"frame":0}\n{"frame":1}\n')
        assert record["outputs"]["landmarks_path"]["lines"] == 2
        assert store.verdict("clip", source).done
        assert list(store.tmp_dir.iterdir()) == []          # moved into place, nothing left behind
        final = out / "clip.jsonl"
        final.write_bytes(b'{"frame":0}\n{"frame":9}\n')   # same size, other content
        assert "SHA-256" in store.verdict("clip", source).reason
        final.unlink()
        assert "missing" in store.verdict("clip", source).reason
        _commit(store, source, "clip", b'{"frame":0}\n')
        assert store.verdict("clip", source).done
        # a half-written output is never committed: the old record was forgotten first, nothing moves
        store.forget("clip")
        with pytest.raises(ValueError):
            _commit(store, source, "clip", b'{"frame":0}\n{"fra')
        assert not store.verdict("clip", source).done
    with OutputStore(out, {"landmarks_path": ".jsonl"}, "job-2") as other_job:
        _touch(out / "x.jsonl")
        assert not other_job.verdict("clip", source).done
    with OutputStore(out, {"landmarks_path": ".jsonl"}, "job-1") as store:
        _commit(store, source, "clip", b'{"frame":0}\n')
        assert store.verdict("clip", source).done
        source.write_bytes(b"new video bytes")                 # the input changed: redo
        assert store.verdict("clip", source).reason == "input changed since it was processed"
        json.loads((out / ".posegraph-batch" / "done" / "clip.json").read_text())


def test_one_writer_per_output_folder(tmp_path):
    with OutputStore(tmp_path / "out", {}, "job"):
        with pytest.raises(BatchError, match="another batch"):
            OutputStore(tmp_path / "out", {}, "job").open()
    with OutputStore(tmp_path / "out", {}, "job"):  # released on close
        pass
