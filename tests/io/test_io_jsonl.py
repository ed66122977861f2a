"""JSONL pose files: float formatting, exact round trip against the reference, writer and reader behaviour."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from posegraph.calculators.io.jsonl import (
    FrameRecord,
    JsonlFormatError,
    JsonlWriter,
    encode_json,
    float32_strings,
    format_float32,
    frame_line,
    frame_to_dict,
    iter_jsonl,
    landmarks_array,
    parse_line,
    read_jsonl,
    timestamps_us,
    world_landmarks_array,
)
from posegraph.calculators.types import Pose

pytestmark = pytest.mark.timeout(60)

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
REFERENCE = SHARED / "reference" / "mediapipe"
requires_shared = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference outputs not found at {REFERENCE} "
                                     "(expected ../shared beside the checkout, or set POSEGRAPH_SHARED)")
REFERENCE_FILES = sorted(p.name for p in REFERENCE.glob("*.jsonl")) if REFERENCE.is_dir() else []


def _segment(line: str, key: str) -> str:
    """The raw text of `"key":[...]` in a line (balanced brackets), to compare formatting character by character."""
    start = line.index(f'"{key}":')
    depth = 0
    for i in range(line.index("[", start), len(line)):
        depth += {"[": 1, "]": -1}.get(line[i], 0)
        if depth == 0:
            return line[start:i + 1]
    raise AssertionError("unbalanced")


def _pose(n: int = 33, **kwargs) -> Pose:
    rng = np.random.default_rng(n)
    return Pose(landmarks=rng.random((n, 5), dtype=np.float32), topology=kwargs.pop("topology", "blazepose33"),
                **kwargs)


# --- float formatting ----------------------------------------------------------------------------------------------

def test_format_float32_is_numpys_shortest_float32_spelling():
    rng = np.random.default_rng(0)
    values = (rng.standard_normal(20000) * 10.0 ** rng.integers(-12, 12, 20000)).astype(np.float32)
    values = np.concatenate([values, np.array([0.0, -0.0, 1.0, 1e-4, 9.999999e-5, 1e6, 999999.94, 0.1, 3.4e38,
                                               1e-45], np.float32)])
    for v in values:
        text = format_float32(v)
        assert text == str(v)
        assert np.float32(json.loads(text)) == v  # round-trips through JSON
    assert format_float32(0.4987575) == "0.4987575"
    assert format_float32(4.825406e-05) == "4.825406e-05"
    assert format_float32(float("nan")) == "null" and format_float32(float("inf")) == "null"


def test_format_float32_ignores_numpy_print_options():
    with np.printoptions(precision=2, floatmode="fixed", legacy="1.13"):
        assert format_float32(0.4987575) == "0.4987575"



def test_float32_strings_spell_every_value_as_format_float32():
    """The bulk formatter (numpy's float32 -> str cast where it agrees) gives format_float32's strings exactly."""
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2**32, 30000, dtype=np.uint64).astype(np.uint32).view(np.float32)  # any float32 at all
    landmarks = (rng.random(30000) * 3 - 1).astype(np.float32)
    edges = np.array([0.0, -0.0, 1e-4, -1e-4, 1e6, -1e6, 999999.94, 1.0, np.nan, np.inf, -np.inf, 1e-45], np.float32)
    edges = np.concatenate([edges, np.nextafter(edges, np.float32(np.inf)), np.nextafter(edges, np.float32(-np.inf))])
    for values in (bits, landmarks, edges):
        assert float32_strings(values) == [format_float32(v) for v in values]
    matrix = landmarks[:15].reshape(3, 5)
    assert float32_strings(matrix) == [format_float32(v) for v in matrix.ravel()]
    with np.printoptions(legacy="1.13"):  # changes numpy's cast, not ours
        assert float32_strings(edges) == [format_float32(v) for v in edges]


def test_encode_json_values():
    assert encode_json({"a": np.zeros((2, 0, 3)), "b": np.float32(0.1), "c": [1, 2.5, None, True],
                        "d": np.array(3), "e": np.arange(6, dtype=np.int64).reshape(2, 3), "f": "ü\"x",
                        "g": np.array([True, False])}) == \
        '{"a":[[],[]],"b":0.1,"c":[1,2.5,null,true],"d":3,"e":[[0,1,2],[3,4,5]],"f":"\\u00fc\\"x",' \
        '"g":[true,false]}'
    with pytest.raises(TypeError, match=r"cannot write a set as JSON \(at \$\.x\)"):
        encode_json({"x": {1, 2}})
    with pytest.raises(TypeError, match="keys must be strings"):
        encode_json({1: 2})


# --- round trip against the reference ------------------------------------------------------------------------------

@requires_shared
@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_reference_round_trip_is_exact(name, tmp_path):
    path = REFERENCE / name
    raw_lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = read_jsonl(path)
    assert len(records) == len(raw_lines)
    out = tmp_path / name
    with JsonlWriter(out) as writer:
        for record in records:
            writer.write_record(record)
    written = out.read_text(encoding="utf-8").splitlines()
    assert len(written) == len(raw_lines)
    for raw, ours, record in zip(raw_lines, written, records):
        reference = json.loads(raw)
        mine = json.loads(ours)
        for key in ("source", "frame", "timestamp_us", "width", "height"):
            assert mine[key] == reference[key]
        assert len(mine["poses"]) == len(reference["poses"])
        for pose in mine["poses"]:
            assert pose["topology"] == "blazepose33" and "id" not in pose
        if reference["poses"]:
            # Same characters, not just the same numbers.
            assert _segment(ours, "landmarks") == _segment(raw, "landmarks")
            assert _segment(ours, "world_landmarks") == _segment(raw, "world_landmarks")
        # Other reference keys (mode, ms, ms_repeat) pass through.
        assert mine["mode"] == reference["mode"]
        assert mine["ms"] == reference["ms"]
        again = parse_line(ours)
        for a, b in zip(again.poses, record.poses):
            np.testing.assert_array_equal(a.landmarks, b.landmarks)
            np.testing.assert_array_equal(a.world_landmarks, b.world_landmarks)


@requires_shared
def test_reference_video_as_arrays():
    records = read_jsonl(REFERENCE / "video_dance_single_synthetic.mp4.jsonl")
    assert len(records) == 120 and isinstance(records[0], FrameRecord)
    landmarks = landmarks_array(records)
    world = world_landmarks_array(records)
    assert landmarks.shape == (120, 33, 5) and landmarks.dtype == np.float32
    assert world.shape == (120, 33, 3) and not np.isnan(landmarks).any()
    assert landmarks[0, 0, 0] == np.float32(0.4987575)
    ts = timestamps_us(records)
    assert ts.dtype == np.int64 and list(ts[:4]) == [0, 33000, 67000, 100000]
    pose = records[0].poses[0]
    assert isinstance(pose, Pose) and pose.topology == "blazepose33" and pose.track_id is None
    assert records[0].extra["mode"] == "video"


@requires_shared
def test_reference_frame_without_pose():
    (record,) = read_jsonl(REFERENCE / "negative_cat.bmp.jsonl")
    assert record.poses == [] and (record.width, record.height) == (512, 341)
    assert landmarks_array([record]).shape == (1, 0, 5)
    padded = landmarks_array([record], num_landmarks=33)
    assert padded.shape == (1, 33, 5) and np.isnan(padded).all()
    assert len(record.extra["ms_repeat"]) == 20


# --- our format ----------------------------------------------------------------------------------------------------

def test_line_format_keys_and_order():
    tracked = _pose(17, topology="coco17", score=0.875, track_id=4,
                    extras={"classification": {"label": "tree", "score": np.float32(0.9)},
                            "angles": np.array([90.5, 45.25], np.float32), "_internal": object()})
    untracked = _pose(33, world_landmarks=np.zeros((33, 3), np.float32))
    line = frame_line("clip.mp4", 7, 233000, 640, 480, [tracked, untracked],
                      extra={"repetitions": 3, "mode": "video"})
    assert "\n" not in line and " " not in line
    obj = json.loads(line)
    assert list(obj) == ["source", "frame", "timestamp_us", "width", "height", "poses", "repetitions", "mode"]
    first, second = obj["poses"]
    assert list(first) == ["topology", "score", "landmarks", "id", "classification", "angles"]
    assert list(second) == ["topology", "score", "landmarks", "world_landmarks"]
    assert first["id"] == 4 and first["score"] == 0.875 and first["topology"] == "coco17"
    assert first["classification"] == {"label": "tree", "score": 0.9}
    assert first["angles"] == [90.5, 45.25]
    assert len(first["landmarks"]) == 17 and len(first["landmarks"][0]) == 5
    assert '"score":0.9}' in line  # float32 spelling, not 0.8999999761581421



def test_frame_line_is_encode_json_of_frame_to_dict():
    """frame_line writes the line directly; it must be the text the dict route gives, for every kind of pose."""
    rng = np.random.default_rng(5)
    odd = rng.random((33, 5)).astype(np.float32)
    odd[0] = [np.nan, np.inf, -0.0, 1e-7, 3e7]
    poses = [_pose(17, topology="coco17", score=np.float32(0.1), track_id=np.int64(2),
                   extras={"classification": {"label": "tree", "p": [np.float32(0.3), 1, None, True]},
                           "angles": np.array([[1.5, np.nan]], np.float64), "_skip": 1}),
             Pose(odd, "blazepose33", score=float("nan"), world_landmarks=rng.standard_normal((33, 3))),
             Pose(np.zeros((0, 5), np.float32), "coco17")]
    for chosen, extra in ((poses, {"ms": 1.25, "mode": "vidéo"}), ([], None), (poses[1:2], {})):
        assert frame_line("dir/ä.jpg", 3, 100, 64, 48, chosen, extra) == \
            encode_json(frame_to_dict("dir/ä.jpg", 3, 100, 64, 48, chosen, extra))


def test_reserved_keys_and_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="'poses' collides"):
        frame_line("s", 0, 0, 1, 1, [], extra={"poses": 1})
    with pytest.raises(ValueError, match="'id' collides"):
        frame_line("s", 0, 0, 1, 1, [_pose(extras={"id": 3})])
    with pytest.raises(ValueError, match="N x 5"):
        frame_line("s", 0, 0, 1, 1, [Pose(np.zeros((33, 4), np.float32), "blazepose33")])


def test_writer_round_trip_flush_and_append(tmp_path):
    path = tmp_path / "poses.jsonl"
    pose = _pose(33, score=0.5, track_id=1, world_landmarks=np.full((33, 3), np.nan, np.float32))
    writer = JsonlWriter(path)
    writer.write_frame("cam", 0, 0, 320, 240, [pose])
    # Flushed without closing: a reader sees the complete line already.
    assert path.read_text(encoding="utf-8").count("\n") == 1
    writer.write_frame("cam", 1, 33000, 320, 240, [])
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write_frame("cam", 2, 67000, 320, 240, [])
    with JsonlWriter(path, append=True) as again:
        again.write_line({"source": "cam", "frame": 2, "timestamp_us": 67000, "width": 320, "height": 240,
                          "poses": []})
    records = list(iter_jsonl(path))
    assert [r.frame for r in records] == [0, 1, 2]
    back = records[0].poses[0]
    np.testing.assert_array_equal(back.landmarks, pose.landmarks)
    assert np.isnan(back.world_landmarks).all()  # NaN -> null -> NaN
    assert back.track_id == 1 and back.score == 0.5
    assert records[1].poses == []



def test_batching_writer_writes_whole_lines_by_time_and_on_close(tmp_path):
    path = tmp_path / "batched.jsonl"
    writer = JsonlWriter(path, flush_every_s=60.0)
    for i in range(3):
        writer.write_frame("cam", i, i * 1000, 10, 10, [])
    assert path.read_bytes() == b""  # gathered, not written yet
    writer.flush()
    assert path.read_text(encoding="utf-8").count("\n") == 3
    writer._flush_every_s = 1e-9  # every line is now past the interval: written as it comes
    writer.write_frame("cam", 3, 3000, 10, 10, [])
    assert path.read_text(encoding="utf-8").count("\n") == 4
    writer._flush_every_s = 60.0
    writer.write_frame("cam", 4, 4000, 10, 10, [_pose(33)])
    writer.close()
    assert [r.frame for r in read_jsonl(path)] == [0, 1, 2, 3, 4] and writer.lines_written == 5
    unbatched = tmp_path / "each.jsonl"
    with JsonlWriter(unbatched) as each:
        for record in read_jsonl(path):
            each.write_record(record)
    assert unbatched.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("flush_every_s", [0.0, 0.001], ids=["each-line", "batched"])
def test_writer_is_thread_safe(tmp_path, flush_every_s):
    path = tmp_path / "threads.jsonl"
    pose = _pose(33)
    with JsonlWriter(path, flush_every_s=flush_every_s) as writer:
        def work(worker: int) -> None:
            for i in range(50):
                writer.write_frame(f"w{worker}", i, i * 1000, 10, 10, [pose])
        threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert writer.lines_written == 200
    records = read_jsonl(path)
    assert len(records) == 200
    assert sorted((r.source, r.frame) for r in records) == [(f"w{w}", i) for w in range(4) for i in range(50)]


def test_writer_needs_an_existing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        JsonlWriter(tmp_path / "missing" / "x.jsonl")


def test_reader_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = frame_line("s", 0, 0, 1, 1, [])
    path.write_text(good + "\n\n" + good + "\n{not json\n", encoding="utf-8")
    with pytest.raises(JsonlFormatError, match=r"bad\.jsonl:4: invalid JSON"):
        read_jsonl(path)
    path.write_text('{"source": "s", "frame": 0}\n', encoding="utf-8")
    with pytest.raises(JsonlFormatError, match=r"bad\.jsonl:1: missing key\(s\) \['timestamp_us'"):
        read_jsonl(path)
    path.write_text(frame_line("s", 0, 0, 1, 1, []).replace('"poses":[]', '"poses":[{"landmarks":[[1,2]]}]'))
    with pytest.raises(JsonlFormatError, match=r"poses\[0\]\.landmarks: expected N x 5"):
        read_jsonl(path)


def test_topology_is_inferred_for_files_without_it():
    line = json.dumps({"source": "s", "frame": 0, "timestamp_us": 0, "width": 1, "height": 1,
                       "poses": [{"landmarks": [[0, 0, 0, 1, 1]] * 17}, {"landmarks": [[0, 0, 0, 1, 1]] * 5}]})
    record = parse_line(line)
    assert [p.topology for p in record.poses] == ["coco17", "unknown"]
