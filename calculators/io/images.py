"""Image files and app-supplied arrays to the one pixel format graphs use: RGB uint8, H x W x 3, C-contiguous.

8-bit files are decoded exactly as the MediaPipe reference outputs were (`cv2.imread(path, cv2.IMREAD_COLOR)`, then
BGR -> RGB: alpha dropped without compositing, EXIF orientation applied), so our pixels are bit-identical to the
ones the reference saw. Deeper files (16-bit PNG/TIFF, float TIFF/PFM/HDR) are decoded at full depth and scaled
here, because IMREAD_COLOR either truncates them (16-bit -> >> 8) or fails (32-bit float TIFF).

Bytes are read with numpy and decoded with `cv2.imdecode` (same decoder and flags as `imread`) so that paths with
non-ASCII characters work on every platform.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageDecodeError",
    "ImageListing",
    "SkippedFile",
    "list_images",
    "read_image",
    "sniff_image_format",
    "to_rgb",
]

# Extensions OpenCV's imgcodecs reads in the opencv-python wheels (EXR needs OPENCV_IO_ENABLE_OPENEXR=1).
IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".webp", ".tif", ".tiff", ".gif",
    ".pbm", ".pgm", ".ppm", ".pnm", ".pxm", ".pfm", ".hdr", ".pic", ".sr", ".ras", ".exr", ".jp2", ".avif",
})


class ImageDecodeError(ValueError):
    """A file could not be decoded as an image; the message names the file and what it seems to be instead."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


def sniff_image_format(head: bytes) -> str | None:
    """The image format that a file's first bytes announce ("jpeg", "png", ...), or None when none matches."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"123456" and head[2:3] in b" \t\r\n":
        return "pnm"
    if head.startswith((b"PF\n", b"Pf\n", b"PF\r", b"Pf\r", b"PF ", b"Pf ")):
        return "pfm"
    if head.startswith((b"#?RADIANCE", b"#?RGBE")):
        return "hdr"
    if head.startswith(b"\x76\x2f\x31\x01"):
        return "exr"
    if head.startswith(b"\x59\xa6\x6a\x95"):
        return "sunras"
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "jpeg2000"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return "avif"
    return None


def _is_eight_bit(kind: str | None, head: bytes) -> bool:
    """Formats that are always (or, for PNG, declared) 8 bits per sample: decode them with IMREAD_COLOR directly."""
    if kind in ("jpeg", "bmp", "gif", "webp"):
        return True
    if kind == "png" and len(head) >= 25 and head[12:16] == b"IHDR":
        return head[24] <= 8
    return False


def _describe_head(head: bytes) -> str:
    if not head:
        return "it is empty"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head[:32]):
        return f"it looks like text: {head[:32].decode('ascii', 'replace')!r}"
    return f"its first bytes are {head[:12].hex(' ')}"


def _check_file(path: Path, what: str) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    if not path.is_file():
        raise ImageDecodeError(f"{what} {path} is not a file", path)


def _scale_to_uint8(array: np.ndarray) -> np.ndarray:
    """Map any numeric dtype to uint8: integers by their full positive range, floats from [0, 1] (clipped)."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype == np.uint16:
        return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)  # round(v / 257): 65535 -> 255
    if np.issubdtype(array.dtype, np.integer):
        top = float(np.iinfo(array.dtype).max)
        scaled = np.clip(array.astype(np.float64), 0.0, top) * (255.0 / top)
        return np.rint(scaled).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        clean = np.nan_to_num(array.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=0.0)
        return np.rint(np.clip(clean, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise TypeError(f"cannot convert an image of dtype {array.dtype} to uint8")


def to_rgb(array: np.ndarray, *, bgr: bool = False) -> np.ndarray:
    """Normalise an app-supplied image array to RGB uint8 H x W x 3, C-contiguous.

    Accepts H x W (gray), H x W x 1 (gray), H x W x 2 (gray + alpha), H x W x 3 (RGB, or BGR with `bgr=True`) and
    H x W x 4 (RGBA, or BGRA with `bgr=True`); alpha is dropped without compositing, like cv2.IMREAD_COLOR.
    Non-uint8 dtypes are scaled: uint16 by 1/257, other integers by their positive range, floats from [0, 1]
    (clipped; NaN -> 0). Any size and any strides are fine. An array already in the target format is returned
    as is (not copied).
    """
    array = np.asarray(array)
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an image of shape H x W or H x W x C, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"image has no pixels: shape {array.shape}")
    channels = 1 if array.ndim == 2 else array.shape[2]
    if channels not in (1, 2, 3, 4):
        raise ValueError(f"expected 1, 2, 3 or 4 channels (H x W x C), got shape {array.shape}; channel-first "
                         "arrays must be transposed to H x W x C first")
    pixels = _scale_to_uint8(array)
    if pixels.ndim == 3 and channels == 3:
        if bgr:
            pixels = pixels[:, :, ::-1]
    elif channels in (1, 2):
        gray = pixels if pixels.ndim == 2 else pixels[:, :, 0]
        pixels = np.repeat(gray[:, :, None], 3, axis=2)
    else:  # 4 channels
        pixels = pixels[:, :, 2::-1] if bgr else pixels[:, :, :3]
    return np.ascontiguousarray(pixels)


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file into RGB uint8 H x W x 3 (C-contiguous).

    Raises FileNotFoundError when the file is missing and ImageDecodeError (naming the file) when it is empty or
    not an image OpenCV can decode.
    """
    path = Path(path)
    _check_file(path, "image")
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise ImageDecodeError(f"image {path} is empty (0 bytes)", path)
    head = data[:32].tobytes()
    kind = sniff_image_format(head)
    if _is_eight_bit(kind, head):
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    else:
        # Full depth first (ANYDEPTH|ANYCOLOR drops alpha and applies EXIF orientation like IMREAD_COLOR).
        deep = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
        if deep is not None and deep.dtype != np.uint8:
            return to_rgb(deep, bgr=True)
        # 8-bit after all: decode the way the reference did, for bit-identical pixels.
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if deep is not None else None
        if bgr is None and deep is not None:
            return to_rgb(deep, bgr=True)
    if bgr is None:
        expected = f" (detected format: {kind}, but OpenCV could not decode it: truncated or corrupt?)" if kind else ""
        suffix = path.suffix.lower()
        raise ImageDecodeError(
            f"cannot decode {path} ({data.size} bytes) as an image{expected}; {_describe_head(head)}"
            + (f". The '{suffix}' extension does not match the content." if kind is None and suffix in
               IMAGE_EXTENSIONS else ""), path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 else to_rgb(bgr)


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A folder entry `list_images` left out, and why."""

    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class ImageListing:
    """The images of a folder in natural order, plus everything skipped (so that nothing vanishes silently)."""

    images: list[Path] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    def __iter__(self):
        return iter(self.images)

    def __len__(self) -> int:
        return len(self.images)


def _natural_key(path: Path) -> tuple:
    """Sort key that orders frame_2 before frame_10 (digit runs compared as numbers), case-insensitively."""
    parts = re.split(r"(\d+)", path.name)
    return tuple((0, int(p), p) if p.isdigit() else (1, p.casefold(), p) for p in parts)


def list_images(folder: str | os.PathLike[str], *, check_content: bool = True) -> ImageListing:
    """List the image files directly in `folder`, naturally sorted (frame_2 before frame_10).

    A file counts as an image when its extension is a known image extension and, with `check_content`, its first
    bytes announce an image format (a text file renamed .jpg is skipped). Sub-folders, hidden files and other
    files are reported in `skipped` with the reason. The folder is not searched recursively.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    images: list[Path] = []
    skipped: list[SkippedFile] = []
    for entry in sorted(folder.iterdir(), key=_natural_key):
        if entry.name.startswith("."):
            skipped.append(SkippedFile(entry, "hidden file"))
        elif entry.is_dir():
            skipped.append(SkippedFile(entry, "folder (not searched recursively)"))
        elif not entry.is_file():
            skipped.append(SkippedFile(entry, "not a regular file"))
        elif entry.suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append(SkippedFile(entry, f"extension '{entry.suffix}' is not an image extension"))
        elif check_content:
            with open(entry, "rb") as handle:
                head = handle.read(32)
            if not head:
                skipped.append(SkippedFile(entry, "empty file (0 bytes)"))
            elif sniff_image_format(head) is None:
                skipped.append(SkippedFile(entry, f"content is not an image: {_describe_head(head)}"))
            else:
                images.append(entry)
        else:
            images.append(entry)
    return ImageListing(images, skipped)
