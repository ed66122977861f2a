"""Video reading (timestamps as in the reference), damaged files, and writing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from posegraph.calculators.io.video import (
    VideoFrame,
    VideoOpenError,
    VideoReader,
    VideoTruncatedError,
    VideoWriter,
    VideoWriterError,
    frame_timestamp_us,
)

pytestmark = pytest.mark.timeout(60)

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
MEDIA = SHARED / "media"
REFERENCE = SHARED / "reference" / "mediapipe"
requires_shared = pytest.mark.skipif(not MEDIA.is_dir(), reason=f"shared media not found at {MEDIA} "
                                     "(expected ../shared beside the checkout, or set POSEGRAPH_SHARED)")
DANCE = MEDIA / "video_dance_single_synthetic.mp4"


def _reference_timestamps(name: str) -> list[int]:
    with open(REFERENCE / f"{name}.jsonl", encoding="utf-8") as handle:
        return [json.loads(line)["timestamp_us"] for line in handle if line.strip()]




def _decode_all(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))


def test_frame_timestamp_convention():
    assert [frame_timestamp_us(i, 30.0) for i in range(5)] == [0, 33000, 67000, 100000, 133000]
    assert frame_timestamp_us(3, 25.0) == 120000
    assert frame_timestamp_us(1, 16.0) == 62000  # Python's round: 62.5 -> 62, like the reference's Python


@requires_shared
def test_dance_video_frames_and_timestamps_match_the_reference():
    with VideoReader(DANCE) as reader:
        assert reader.fps == 30.0 and reader.fps_source == "container"
        assert reader.frame_count == 120
        assert reader.size == (576, 576) and reader.width == 576 and reader.height == 576
        frames = list(reader)
        report = reader.report
    assert len(frames) == 120
    assert [f.index for f in frames] == list(range(120))
    assert [f.timestamp_us for f in frames] == _reference_timestamps(DANCE.name)
    for frame in frames[:3]:
        assert isinstance(frame, VideoFrame)
        index, timestamp_us, rgb = frame  # unpacks as a tuple
        assert rgb.dtype == np.uint8 and rgb.shape == (576, 576, 3) and rgb.flags.c_contiguous
    decoded = _decode_all(DANCE)
    for i in (0, 59, 119):
        np.testing.assert_array_equal(frames[i].rgb, decoded[i])
    assert report.clean and not report.ended_early
    assert report.frames_read == report.frames_expected == 120
    assert "clean end after 120 of 120 frames" in report.describe()


@requires_shared
@pytest.mark.parametrize("name, fps", [("video_man_dancing_fullbody.mp4", 20.0), ("video_squats_woman.mp4", 5.0),
                                       ("video_upper_body_selfie.mp4", 25.0)])
def test_other_videos_timestamps_match_the_reference(name, fps):
    reader = VideoReader(MEDIA / name)
    assert reader.fps == fps
    assert [timestamp for _, timestamp, _ in reader] == _reference_timestamps(name)
    assert reader.report.clean


@requires_shared
def test_fps_override(tmp_path):
    reader = VideoReader(DANCE, fps=10.0)
    assert reader.fps_source == "argument"
    first = [reader.read() for _ in range(3)]
    assert [f.timestamp_us for f in first] == [0, 100000, 200000]
    assert reader.report.finished is False and "3 frame(s) read so far" in reader.report.describe()
    reader.close()
    with pytest.raises(ValueError, match="fps"):
        VideoReader(DANCE, fps=0)


@requires_shared
def test_truncated_copy_without_index_cannot_be_opened_and_says_why(tmp_path):
    data = DANCE.read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(VideoOpenError) as info:
        VideoReader(path)
    text = str(info.value)
    assert str(path) in text
    assert "truncated" in text and "'moov' box" in text and "missing" in text


@requires_shared
def test_truncated_faststart_copy_yields_frames_then_reports_the_damage(tmp_path, faststart):
    complete = tmp_path / "faststart.mp4"
    complete.write_bytes(faststart(DANCE.read_bytes()))
    assert len(list(VideoReader(complete))) == 120  # the remux itself is lossless
    data = complete.read_bytes()
    half = tmp_path / "faststart_half.mp4"
    half.write_bytes(data[:len(data) // 2])

    reader = VideoReader(half)
    assert reader.frame_count == 120  # the index still announces every frame
    frames = list(reader)
    report = reader.report
    assert 0 < len(frames) < 120
    assert report.finished and report.ended_early and not report.clean
    assert report.frames_read == len(frames) and report.frames_expected == 120
    assert f"{len(frames)} of 120 announced frames decoded" in report.describe()
    assert "ended early" in report.describe()
    original = _decode_all(DANCE)
    for frame in frames:
        np.testing.assert_array_equal(frame.rgb, original[frame.index])
    assert [f.timestamp_us for f in frames] == _reference_timestamps(DANCE.name)[:len(frames)]

    # Strict mode: the same frames, then an exception carrying the report.
    strict = VideoReader(half, raise_on_damage=True)
    received = []
    with pytest.raises(VideoTruncatedError) as info:
        for frame in strict:
            received.append(frame.index)
    assert received == [f.index for f in frames]
    assert info.value.report.frames_read == len(frames)
    assert str(half) in str(info.value)


@requires_shared
def test_corrupt_middle_is_skipped_not_fatal(tmp_path):
    data = bytearray(DANCE.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 3000] = bytes(3000)
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(bytes(data))
    reader = VideoReader(path)
    frames = list(reader)
    # Decoding resumes after the damaged packets: far more than the first half of the frames come out.
    assert 80 < len(frames) <= 120
    assert reader.report.ended_early == (len(frames) < 120)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoOpenError, match=r"empty\.mp4 is empty \(0 bytes\)"):
        VideoReader(path)


def test_non_video_files(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("definitely not a video\n" * 20)
    with pytest.raises(VideoOpenError, match=r"notes\.mp4 .*looks like text"):
        VideoReader(text)
    with pytest.raises(FileNotFoundError, match="missing.mp4 does not exist"):
        VideoReader(tmp_path / "missing.mp4")
    with pytest.raises(VideoOpenError, match="is not a file"):
        VideoReader(tmp_path)


def test_unavailable_camera():
    with pytest.raises(VideoOpenError, match="camera index 97"):
        VideoReader(97)


# --- writing -------------------------------------------------------------------------------------------------------

def _color_frames(count: int, width: int = 160, height: int = 120) -> list[np.ndarray]:
    frames = []
    for i in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[:, :, i % 3] = 220  # red, green, blue in turn
        frames.append(frame)
    return frames


def test_writer_round_trip(tmp_path):
    path = tmp_path / "out.mp4"
    frames = _color_frames(9)
    with VideoWriter(path, fps=15.0) as writer:
        for frame in frames:
            writer.write(frame)
        assert writer.size == (160, 120) and writer.frames_written == 9
    reader = VideoReader(path)
    assert reader.fps == pytest.approx(15.0)
    assert reader.size == (160, 120)
    back = list(reader)
    assert len(back) == 9 and reader.report.clean
    for i, frame in enumerate(back):
        means = frame.rgb.reshape(-1, 3).mean(axis=0)
        assert int(np.argmax(means)) == i % 3, "channel order must survive RGB -> file -> RGB"
        assert abs(means[i % 3] - 220) < 12


def test_writer_accepts_gray_and_fixed_size(tmp_path):
    path = tmp_path / "gray.mp4"
    writer = VideoWriter(path, fps=10, size=(64, 48))
    writer.write(np.full((48, 64), 128, np.uint8))
    with pytest.raises(ValueError, match=r"frame 1 .* is 32x48, but the video is 64x48"):
        writer.write(np.zeros((48, 32, 3), np.uint8))
    writer.close()
    assert len(list(VideoReader(path))) == 1


def test_writer_errors(tmp_path):
    with pytest.raises(VideoWriterError, match="folder .*missing.* does not exist"):
        VideoWriter(tmp_path / "missing" / "out.mp4", fps=30, size=(64, 48))
    with pytest.raises(VideoWriterError, match="it is a folder"):
        VideoWriter(tmp_path, fps=30, size=(64, 48))
    with pytest.raises(VideoWriterError, match=r"cannot write video .*out\.xyz: unknown video extension '\.xyz'"):
        VideoWriter(tmp_path / "out.xyz", fps=30, size=(64, 48))
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "out.mp4", fps=0)
    with pytest.raises(ValueError, match="fourcc"):
        VideoWriter(tmp_path / "out.mp4", fps=30, fourcc="mp4")


@requires_shared
def test_i420_conversion_matches_swscale_on_a_real_frame():
    """The writer converts RGB -> YUV 4:2:0 with OpenCV instead of the encoder's swscale: same BT.601 limited-range
    colours (luma within 1 level, chroma within 2 on average) on a real frame, and a true round trip."""
    av = pytest.importorskip("av")
    from posegraph.calculators.io.video_writer import rgb_to_i420

    rgb = next(iter(VideoReader(DANCE))).rgb
    height, width = rgb.shape[:2]
    ours = rgb_to_i420(rgb)
    theirs = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()
    assert ours.shape == theirs.shape == (height * 3 // 2, width)
    diff = np.abs(ours.astype(np.int16) - theirs)
    assert diff[:height].mean() < 1.0 and diff[height:].mean() < 2.0
    back = cv2.cvtColor(ours, cv2.COLOR_YUV2RGB_I420)
    assert np.abs(back.astype(np.int16) - rgb).mean() < 3.0


def test_h264_stream_is_tagged_bt601_limited(tmp_path):
    """What the I420 conversion produces is what the stream says, so players do not guess the matrix."""
    av = pytest.importorskip("av")
    path = tmp_path / "tagged.mp4"
    with VideoWriter(path, fps=10) as writer:
        for frame in _color_frames(3):
            writer.write(frame)
    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        assert (context.pix_fmt, context.colorspace, context.color_range) == ("yuv420p", 6, 1)


def test_encoder_threads_default_and_override(tmp_path, monkeypatch):
    """x264 runs in the caller's thread on small machines (the interpreter has every core there); above 4 cores, or
    when asked with threads=0, x264 picks its own thread count. Either way the file is the same video."""
    av = pytest.importorskip("av")
    from posegraph.calculators.io import video_writer

    monkeypatch.setattr(video_writer.os, "cpu_count", lambda: 2)
    assert video_writer.default_encoder_threads() == 1
    monkeypatch.setattr(video_writer.os, "cpu_count", lambda: 16)
    assert video_writer.default_encoder_threads() == 0
    with pytest.raises(ValueError, match="threads"):
        VideoWriter(tmp_path / "bad.mp4", fps=10, threads=-1)
    for threads in (1, 0):
        path = tmp_path / f"t{threads}.mp4"
        with VideoWriter(path, fps=10, threads=threads) as writer:
            for frame in _color_frames(6):
                writer.write(frame)
        assert writer.threads == threads
        with av.open(str(path)) as container:
            assert sum(1 for _ in container.decode(video=0)) == 6
    # x264 writes its settings into the stream (an SEI message): the single thread was really asked for.
    assert b" threads=1 " in (tmp_path / "t1.mp4").read_bytes()
