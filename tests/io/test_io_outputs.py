"""Outputs people can open: landmarks as JSONL / COCO JSON / CSV, write-then-rename files that survive failures,
folders of annotated images, letterboxing instead of stretching, damaged and variable-frame-rate videos."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.io.landmark_writers import coco_keypoints, landmarks_format, open_landmarks_writer
from posegraph.calculators.io.video import VideoReader, VideoWriter
from posegraph.calculators.io.video_sink import letterbox, output_kind
from posegraph.calculators.types import Pose
from posegraph.cli import main

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
MEDIA = SHARED / "media"

pytestmark = pytest.mark.timeout(120)
requires_shared = pytest.mark.skipif(not MEDIA.is_dir(), reason=f"shared media not found at {MEDIA}")
DANCE = MEDIA / "video_dance_single_synthetic.mp4"


def _pose(n: int = 33, topology: str = "blazepose33", track: int | None = None) -> Pose:
    landmarks = np.zeros((n, 5), np.float32)
    landmarks[:, 0] = np.linspace(0.1, 0.9, n)
    landmarks[:, 1] = np.linspace(0.2, 0.8, n)
    landmarks[:, 3:] = 0.9
    return Pose(landmarks, topology, score=0.75, track_id=track)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


# --- landmark formats ----------------------------------------------------------------------------------------------

def test_landmarks_format_from_extension(tmp_path):
    assert [landmarks_format(f"x{e}") for e in (".jsonl", ".JSON", ".csv")] == [".jsonl", ".json", ".csv"]
    for bad in ("x.txt", "x", "x.mp4"):
        with pytest.raises(ValueError, match=r"landmarks format .*\.jsonl .*\.json .*\.csv"):
            landmarks_format(bad)


def test_csv_one_row_per_person_per_frame(tmp_path):
    path = tmp_path / "poses.csv"
    writer = open_landmarks_writer(path)
    writer.write_frame("clip.mp4", 0, 0, 640, 480, [])  # nobody yet: held until the header is known
    writer.write_frame("clip.mp4", 1, 33000, 640, 480, [_pose(track=3), _pose(track=4)])
    writer.write_frame("clip.mp4", 2, 67000, 640, 480, [_pose(track=3)])
    assert not path.exists()  # written under a temporary name until closed
    assert writer.close() == path
    rows = list(csv.DictReader(path.open()))
    assert [(r["frame"], r["person"], r["track_id"]) for r in rows] == [
        ("0", "", ""), ("1", "0", "3"), ("1", "1", "4"), ("2", "0", "3")]
    assert rows[1]["left_wrist_x"] == "0.475" and float(rows[1]["nose_visibility"]) == pytest.approx(0.9)
    assert len(rows[0]) == 9 + 33 * 5 and _leftovers(tmp_path) == []


def test_coco_json_read_back_by_pycocotools(tmp_path):
    coco_module = pytest.importorskip("pycocotools.coco", reason="pycocotools is not installed (pip install "
                                                                  "pycocotools)")
    path = tmp_path / "results.json"
    writer = open_landmarks_writer(path)
    writer.write_frame("000000397133.jpg", 0, 0, 640, 427, [_pose(), _pose(17, "coco17")])
    writer.write_frame("frame.jpg", 5, 1000, 640, 427, [])
    writer.write_frame("frame2.jpg", 6, 2000, 640, 427, [_pose(18, "coco18")])
    writer.close()
    entries = json.loads(path.read_text())
    assert [e["image_id"] for e in entries] == [397133, 397133, 6]
    blaze = coco_keypoints(_pose(), 640, 427)
    assert len(blaze) == 51 and blaze[:3] == [pytest.approx(0.1 * 640), pytest.approx(0.2 * 427), 0.9]
    # left_wrist is BlazePose landmark 15, COCO keypoint 9
    assert blaze[27] == pytest.approx(round(float(_pose().landmarks[15, 0]) * 640, 2))
    gt = coco_module.COCO()
    gt.dataset = {"images": [{"id": 397133, "width": 640, "height": 427}, {"id": 6, "width": 640, "height": 427}],
                  "annotations": [], "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}]}
    gt.createIndex()
    results = gt.loadRes(str(path))
    assert len(results.anns) == 3
    ann = results.anns[1]
    assert ann["image_id"] == 397133 and ann["category_id"] == 1 and ann["score"] == 0.75
    assert ann["bbox"][2] > 0 and ann["area"] > 0


def test_writer_failure_keeps_the_previous_file(tmp_path):
    path = tmp_path / "poses.jsonl"
    path.write_text("previous run\n")
    writer = open_landmarks_writer(path)
    assert writer.close() is None  # nothing written: the earlier file stays, no empty file appears
    assert path.read_text() == "previous run\n" and _leftovers(tmp_path) == []
    writer = open_landmarks_writer(path)
    writer.write_frame("a.jpg", 0, 0, 10, 10, [])
    writer.close()
    assert path.read_text().startswith('{"source":"a.jpg"')


def test_output_kinds(tmp_path):
    assert output_kind("out.mp4") == "video" and output_kind("x.MOV") == "video"
    assert output_kind("out.png") == "image"
    assert output_kind("out/") == "folder" and output_kind(tmp_path) == "folder" and output_kind("out") == "folder"
    with pytest.raises(ValueError, match="cannot tell what to write to out.txt"):
        output_kind("out.txt")


# --- the CLI: refusing, keeping, folders -------------------------------------------------------------------------

def test_same_path_twice_is_refused(tmp_path, capsys):
    target = tmp_path / "x.mp4"
    code = main(["run", "pose_tracking_cpu", "--input", str(DANCE), "--output", str(target), "--landmarks",
                 str(target)])
    assert code != 0 and not target.exists()
    assert "the same file" in capsys.readouterr().err
    code = main(["run", "pose_tracking_cpu", "--input", str(DANCE), "--landmarks", str(tmp_path / "x.txt")])
    assert code != 0 and "landmarks format" in capsys.readouterr().err


@requires_shared
@pytest.mark.parametrize("graph, flag, name", [
    ("movenet_singlepose", "--output", "x.mp4"), ("movenet_singlepose", "--output", "frames/"),
    ("movenet_singlepose", "--landmarks", "x.jsonl"), ("movenet_singlepose", "--profile", "trace.json"),
    ("pose_tracking_cpu", "--masks", "masks/"), ("pose_tracking_cpu", "--masks", "masks.mp4")])
def test_an_output_that_cannot_be_written_fails_at_start_naming_it(tmp_path, capsys, graph, flag, name):
    # A file where the output's folder should be: no folder can be made there (as root too). The video and the
    # trace used to fail only at the end, after every frame had been processed (the video naming its hidden
    # temporary file).
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    code = main(["run", graph, "--input", str(DANCE), "--max-frames", "3", flag, f"{blocker}/{name}"])
    err = capsys.readouterr().err
    assert code != 0
    assert "cannot write " in err and f"{blocker}/{name.rstrip('/')}" in err and ".partial-" not in err
    assert "choose another path" in err and "frames in" not in err


@requires_shared
def test_truncated_jpeg_in_a_folder_keeps_the_good_frames(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    source = (MEDIA / "yoga_tree_pose.jpeg").read_bytes()
    for i in range(16):
        (folder / f"img_{i:02d}.jpg").write_bytes(source[: len(source) // 3] if i == 12 else source)
    landmarks = tmp_path / "out.jsonl"
    out = tmp_path / "annotated"
    code = main(["run", "pose_tracking_cpu", "--input", str(folder), "--landmarks", str(landmarks), "--output",
                 f"{out}/", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "img_12.jpg" in err and "1 of 16 images could not be read" in err
    lines = landmarks.read_text().splitlines()
    assert len(lines) == 15 and all(json.loads(line)["poses"] for line in lines)
    assert sorted(p.name for p in out.iterdir()) == [f"img_{i:02d}.jpg" for i in range(16) if i != 12]
    assert cv2.imread(str(out / "img_00.jpg")).shape == cv2.imread(str(MEDIA / "yoga_tree_pose.jpeg")).shape
    assert _leftovers(tmp_path) == []
    # a run failing on its first (only) frame leaves the previous landmarks alone and no empty file behind
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(source[:100])
    code = main(["run", "pose_tracking_cpu", "--input", str(broken), "--landmarks", str(landmarks),
                 "--output", str(tmp_path / "broken_out.mp4"), "--quiet"])
    assert code == 1 and len(landmarks.read_text().splitlines()) == 15
    assert not (tmp_path / "broken_out.mp4").exists() and _leftovers(tmp_path) == []


SINK_GRAPH = """
input_side_packet: "input_path"
input_side_packet: "output_video_path"
node { calculator: "MediaSourceCalculator" input_side_packet: "INPUT_PATH:input_path"
       output_side_packet: "FPS:fps" output_stream: "IMAGE:frames" }
node { calculator: "VideoSinkCalculator" input_stream: "IMAGE:frames"
       input_side_packet: "OUTPUT_PATH:output_video_path" input_side_packet: "FPS:fps" }
"""


def test_size_change_is_letterboxed_not_stretched(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_0.png"), np.full((120, 160, 3), 255, np.uint8))
    cv2.imwrite(str(folder / "a_1.png"), np.full((160, 80, 3), 255, np.uint8))  # portrait, twice as tall as wide
    out = tmp_path / "out.mp4"
    with pytest.warns(UserWarning, match="letterbox"):
        graph = Graph(SINK_GRAPH)
        graph.start({"input_path": str(folder), "output_video_path": str(out)})
        graph.wait_until_done(timeout=30)
    frames = [f.rgb for f in VideoReader(out)]
    assert len(frames) == 2 and frames[1].shape == (120, 160, 3)
    second = frames[1].mean(axis=(0, 2))  # white column 60 wide in the middle, black bars left and right
    assert second[:40].max() < 30 and second[60:100].min() > 220 and second[-40:].max() < 30
    boxed = letterbox(np.full((160, 80, 3), 255, np.uint8), (160, 120))
    assert boxed.shape == (120, 160, 3) and boxed[:, 50:110].min() == 255 and boxed[:, :45].max() == 0


# --- reading damaged and variable-frame-rate videos --------------------------------------------------------------

@requires_shared
def test_reads_past_a_long_corrupt_stretch(tmp_path):
    data = bytearray(DANCE.read_bytes())
    start, end = int(len(data) * 0.35), int(len(data) * 0.50)
    data[start:end] = np.random.default_rng(0).integers(0, 256, end - start, dtype=np.uint8).tobytes()
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(bytes(data))
    capture, decoded, run, longest = cv2.VideoCapture(str(path)), 0, 0, 0
    for _ in range(400):  # what OpenCV itself can decode, reading on past every failure
        ok, _ = capture.read()
        if ok:
            decoded, longest, run = decoded + 1, max(longest, run), 0
        else:
            run += 1
    assert longest > 16  # the old limit stopped here
    reader = VideoReader(path)
    frames = list(reader)
    report = reader.report
    assert len(frames) == decoded == report.frames_read
    inner = [g for g in report.gaps if g.resumed_us is not None]
    assert inner and max(g.failed_reads for g in inner) == longest
    stamps = [f.timestamp_us for f in frames]
    # the tail keeps its presentation times: the frames lost show as time, not squeezed out by index / fps
    assert stamps == sorted(set(stamps)) and stamps[-1] > (decoded + 10) / 30 * 1e6
    assert "failed reads skipped" in report.describe()


def _ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.skip("ffmpeg is not installed (Debian: apt-get install -y ffmpeg)")
    return path


@requires_shared
def test_variable_frame_rate_uses_presentation_times(tmp_path):
    path = tmp_path / "vfr.mp4"
    subprocess.run([_ffmpeg(), "-v", "error", "-y", "-i", str(DANCE), "-frames:v", "60", "-vf",
                    "setpts='(N+if(gt(N,40),60,0))/30/TB'", "-fps_mode", "passthrough", "-c:v", "libx264",
                    "-preset", "ultrafast", str(path)], check=True, timeout=60)
    stamps = [f.timestamp_us for f in VideoReader(path)]
    assert len(stamps) == 60
    assert stamps[40] == pytest.approx(40 / 30 * 1e6, abs=1000)
    assert stamps[41] == pytest.approx(101 / 30 * 1e6, abs=1000)  # two seconds of nothing, as the file says
    assert stamps[59] == pytest.approx(119 / 30 * 1e6, abs=1000)
    # a constant-rate file keeps the reference's convention exactly
    assert [f.timestamp_us for f in VideoReader(DANCE)][:4] == [0, 33000, 67000, 100000]


def test_h264_writer_keeps_timestamps(tmp_path):
    av = pytest.importorskip("av", reason="PyAV is not installed (pip install av)")
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, fps=10) as writer:
        for i, ts in enumerate((0, 100_000, 200_000, 900_000)):  # a 0.7 s gap (dropped frames)
            writer.write(np.full((45, 61, 3), 40 * i, np.uint8), ts)
        assert writer.backend == "pyav-libx264" and not path.exists()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and (stream.width, stream.height) == (62, 46)
        times = [float(frame.pts * frame.time_base) for frame in container.decode(stream)]
    assert times == pytest.approx([0.0, 0.1, 0.2, 0.9])
    assert _leftovers(tmp_path) == []


@requires_shared
def test_output_folder_for_a_video(tmp_path):
    out = tmp_path / "annotated"  # no extension, not there yet: a folder
    code = main(["run", "pose_tracking_cpu", "--input", str(DANCE), "--output", str(out), "--max-frames", "5",
                 "--quiet"])
    assert code == 0 and [p.name for p in out.iterdir()] == ["video_dance_single_synthetic.mp4"]
    assert len(list(VideoReader(out / "video_dance_single_synthetic.mp4"))) == 5


def test_video_sink_loads_the_encoder_in_open(tmp_path, monkeypatch):
    """PyAV is imported when the graph starts (open), not on the first frame in the middle of a timed run."""
    from posegraph.calculators.io import video_sink

    calls: list[int] = []
    monkeypatch.setattr(video_sink, "pyav_h264_available", lambda: calls.append(1) or True)
    graph = Graph('input_stream: "frames"\ninput_side_packet: "out"\n'
                  'node { calculator: "VideoSinkCalculator" input_stream: "IMAGE:frames" '
                  'input_side_packet: "OUTPUT_PATH:out" }')
    graph.start({"out": str(tmp_path / "annotated.mp4")})
    graph.wait_until_idle(timeout=30)
    assert calls == [1], "no frame yet: the encoder's library is loaded by open()"
    graph.close_all_inputs()
    graph.wait_until_done(timeout=30)
    graph.start({"out": str(tmp_path / "annotated.avi")})  # Motion-JPEG through OpenCV: PyAV not needed
    graph.wait_until_idle(timeout=30)
    graph.close_all_inputs()
    graph.wait_until_done(timeout=30)
    assert calls == [1]
