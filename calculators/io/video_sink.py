"""VideoSink: writes annotated frames to a video file, to image files, or into a folder."""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from posegraph import Calculator, Input, InputSidePacket, calculator

from ..types import ImageFrame
from .images import IMAGE_EXTENSIONS
from .partial import PartialFile, check_writable
from .video_writer import DEFAULT_PRESET, H264_EXTENSIONS, VIDEO_EXTENSIONS, VideoWriter, pyav_h264_available


@dataclass
class VideoSinkOptions:
    # x264 preset and quality (constant rate factor) of H.264 outputs.
    preset: str = DEFAULT_PRESET
    crf: int = 23
    # x264 threads: None picks `default_encoder_threads()` (1 on up to 4 cores), 0 lets x264 choose.
    threads: int | None = None


def output_kind(path: str | os.PathLike[str]) -> str:
    """'folder', 'video' or 'image' for an output path; ValueError naming the choices otherwise.

    A folder is a path that ends in a separator, an existing folder, or a name without an extension."""
    text = os.fspath(path)
    target = Path(text)
    if text.endswith(("/", os.sep)) or target.is_dir() or not target.suffix:
        return "folder"
    suffix = target.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    raise ValueError(f"cannot tell what to write to {text}: use a video ({', '.join(sorted(VIDEO_EXTENSIONS))}), "
                     "an image (.png, .jpg, ...) or a folder (a path ending in '/')")


def letterbox(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`rgb` scaled to fit inside `size` (width, height) with its aspect ratio kept, centred on black."""
    width, height = size
    h, w = rgb.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    scaled = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((height, width, 3), np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top:top + new_h, left:left + new_w] = scaled
    return out


def _write_image(target: Path, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(target.suffix.lower(), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode image {target}")
    partial = PartialFile(target)
    try:
        partial.path.write_bytes(data.tobytes())
    except BaseException:
        partial.discard()
        raise
    partial.commit()


def _safe_stem(source: str) -> str:
    stem = Path(source.split("?", 1)[0].rstrip("/")).stem if "://" not in source else source.split("://", 1)[1]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "output"


@calculator("VideoSinkCalculator")
class VideoSinkCalculator(Calculator):
    """Writes IMAGE frames to OUTPUT_PATH (nothing when the side packet is absent or empty).

    - a video (``.mp4``/``.mov``/``.mkv``: H.264 that browsers play; ``.avi``: Motion-JPEG), each frame at its own
      timestamp (FPS, a side packet, sets the nominal rate). A frame whose size differs from the first is
      letterboxed into the first size (scaled with its aspect ratio kept, black bars), never stretched; the run
      says so once.
    - an image (``out.png``): that file for a single frame, numbered files (``out_00000.png``...) for several.
    - a folder (``out/``, an existing folder, or a name without extension): one annotated image per input image,
      under the input's file name; a video, camera or stream input goes to ``folder/<name>.mp4``.

    Files are written under temporary names and renamed when complete (see `partial`), also after a failure or a
    cancel, so an interrupted run leaves playable files and never half of one.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    OUTPUT_PATH = InputSidePacket[str]("OUTPUT_PATH", optional=True)
    FPS = InputSidePacket[float]("FPS", optional=True)
    Options = VideoSinkOptions

    def open(self, ctx):
        path = ctx.side(self.OUTPUT_PATH)
        self._path = Path(path) if path else None
        self._fps = float(ctx.side(self.FPS, default=30.0) or 30.0)
        self._writer: VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._written: list[Path] = []
        self._letterboxed = 0
        self._kind = output_kind(path) if path else None
        if self._kind == "folder":
            check_writable(self._path, folder=True)
        elif self._path is not None:
            check_writable(self._path)
        if self._kind == "video" and self._path.suffix.lower() in H264_EXTENSIONS:
            # Import PyAV now (~0.1 s, most of it holding the GIL) rather than on the first frame, in the middle of
            # the run; the writer itself opens on the first frame, when the size is known.
            pyav_h264_available()

    @property
    def files_written(self) -> list[Path]:
        return list(self._written)

    def _video(self, target: Path, rgb: np.ndarray, timestamp: int) -> None:
        size = (rgb.shape[1], rgb.shape[0])
        if self._size is None:
            self._size = size
        elif size != self._size:
            if not self._letterboxed:
                warnings.warn(f"{target}: the frame at {timestamp / 1e6:.3f} s is {size[0]}x{size[1]}, not "
                              f"{self._size[0]}x{self._size[1]} like the first; letterboxing it (and any others) "
                              "into the first size", stacklevel=1)
            self._letterboxed += 1
            rgb = letterbox(rgb, self._size)
        if self._writer is None:
            options = self.options
            self._writer = VideoWriter(target, self._fps, self._size, preset=options.preset, crf=options.crf,
                                       threads=options.threads)
        self._writer.write(rgb, timestamp)

    def process(self, ctx):
        if self._path is None:
            return
        frame = ctx[self.IMAGE]
        rgb = frame.pixels if isinstance(frame, ImageFrame) else np.asarray(frame)
        source = frame.source if isinstance(frame, ImageFrame) else ""
        if self._kind == "video":
            self._video(self._path, rgb, ctx.timestamp)
        elif self._kind == "image":
            target = self._path.with_name(f"{self._path.stem}_{len(self._written):05d}{self._path.suffix}")
            _write_image(target, rgb)
            self._written.append(target)
        elif Path(source).suffix.lower() in IMAGE_EXTENSIONS:
            target = self._path / Path(source).name
            _write_image(target, rgb)
            self._written.append(target)
        else:
            self._video(self._path / f"{_safe_stem(source or 'video')}.mp4", rgb, ctx.timestamp)

    def close(self, ctx):
        if self._writer is not None:
            self._writer.close()
        if self._letterboxed:
            warnings.warn(f"{self._path}: {self._letterboxed} frame(s) of another size were letterboxed into "
                          f"{self._size[0]}x{self._size[1]}", stacklevel=1)
        if self._kind == "image" and len(self._written) == 1:
            self._written[0].replace(self._path)
