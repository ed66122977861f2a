"""Image decoding (bit-identical to the reference's cv2.imread), deep images, bad files, folders and to_rgb."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from posegraph.calculators.io.images import (
    ImageDecodeError,
    ImageListing,
    list_images,
    read_image,
    sniff_image_format,
    to_rgb,
)

pytestmark = pytest.mark.timeout(60)

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
MEDIA = SHARED / "media"
requires_shared = pytest.mark.skipif(not MEDIA.is_dir(), reason=f"shared media not found at {MEDIA} "
                                     "(expected ../shared beside the checkout, or set POSEGRAPH_SHARED)")

SHARED_IMAGES = sorted(p.name for p in MEDIA.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp")) \
    if MEDIA.is_dir() else []


def _reference_decode(path: Path) -> np.ndarray:
    """How the MediaPipe reference outputs were decoded."""
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _check_rgb(image: np.ndarray) -> None:
    assert image.dtype == np.uint8
    assert image.ndim == 3 and image.shape[2] == 3
    assert image.flags.c_contiguous


@requires_shared
def test_all_17_shared_images_are_found():
    assert len(SHARED_IMAGES) == 17


@requires_shared
@pytest.mark.parametrize("name", SHARED_IMAGES)
def test_shared_images_decode_bit_identical_to_the_reference(name):
    image = read_image(MEDIA / name)
    _check_rgb(image)
    np.testing.assert_array_equal(image, _reference_decode(MEDIA / name))


@requires_shared
@pytest.mark.parametrize("name, size", [
    ("person_single_fullbody_woman_standing.png", (384, 640)),  # RGBA
    ("fitness_squat.bmp", (500, 610)),
    ("yoga_warrior2_beach.jpg", (1000, 667)),
    ("person_single_fullbody_man_suit.jpeg", (399, 640)),
])
def test_sizes_match_the_media_manifest(name, size):
    image = read_image(MEDIA / name)
    assert (image.shape[1], image.shape[0]) == size


@requires_shared
def test_rgba_png_drops_alpha_without_compositing():
    path = MEDIA / "person_single_fullbody_woman_standing.png"
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.shape[2] == 4 and raw[..., 3].min() < 255  # really has transparency
    np.testing.assert_array_equal(read_image(path), raw[..., 2::-1])


@requires_shared
def test_non_ascii_path(tmp_path):
    target = tmp_path / "bild_ÄÖÜ_画像.bmp"
    shutil.copy(MEDIA / "negative_cat.bmp", target)
    np.testing.assert_array_equal(read_image(target), _reference_decode(MEDIA / "negative_cat.bmp"))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16_bit_png_is_scaled_to_8_bit(tmp_path, channels):
    values = np.array([0, 128, 257, 32768, 65280, 65535], np.uint16)
    expected = np.array([0, 0, 1, 128, 254, 255], np.uint8)  # round(v / 257)
    plane = np.tile(values, (4, 1))
    image = plane if channels == 1 else np.stack([plane] * channels, axis=2)
    if channels >= 3:
        image = image.copy()
        image[..., 0] = 0  # blue (cv2 writes BGR): distinguishes channel order
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), image)
    rgb = read_image(path)
    _check_rgb(rgb)
    assert rgb.shape == (4, 6, 3)
    np.testing.assert_array_equal(rgb[0, :, 0], expected)
    np.testing.assert_array_equal(rgb[0, :, 1], expected)
    np.testing.assert_array_equal(rgb[0, :, 2], np.zeros(6, np.uint8) if channels >= 3 else expected)


@pytest.mark.parametrize("suffix", [".tiff", ".pfm"])
def test_float_image_is_scaled_from_unit_range(tmp_path, suffix):
    values = np.array([-0.5, 0.0, 0.25, 0.5, 1.0, 3.0], np.float32)
    image = np.stack([np.tile(values, (3, 1))] * 3, axis=2)
    image[..., 0] = 1.0  # blue
    path = tmp_path / f"float{suffix}"
    assert cv2.imwrite(str(path), image)
    rgb = read_image(path)
    _check_rgb(rgb)
    np.testing.assert_array_equal(rgb[0, :, 0], [0, 0, 64, 128, 255, 255])
    assert (rgb[..., 2] == 255).all()


def test_text_file_renamed_jpg(tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_text("this is not a picture\n")
    with pytest.raises(ImageDecodeError) as info:
        read_image(path)
    text = str(info.value)
    assert str(path) in text
    assert "looks like text" in text and "'.jpg' extension does not match" in text
    assert info.value.path == path


def test_empty_missing_and_folder(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"empty\.png is empty \(0 bytes\)"):
        read_image(empty)
    with pytest.raises(FileNotFoundError, match="missing.png does not exist"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageDecodeError, match="is not a file"):
        read_image(tmp_path)


@requires_shared
def test_corrupt_png_names_the_detected_format(tmp_path):
    data = (MEDIA / "person_single_fullbody_woman_standing.png").read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[:200])
    with pytest.raises(ImageDecodeError, match=r"detected format: png.*truncated or corrupt"):
        read_image(path)


def test_sniff_image_format():
    assert sniff_image_format(b"\xff\xd8\xff\xe0....") == "jpeg"
    assert sniff_image_format(b"\x89PNG\r\n\x1a\n....") == "png"
    assert sniff_image_format(b"BM....") == "bmp"
    assert sniff_image_format(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"
    assert sniff_image_format(b"II*\x00") == "tiff"
    assert sniff_image_format(b"P6\n3 2\n255\n") == "pnm"
    assert sniff_image_format(b"hello world") is None


# --- folders -------------------------------------------------------------------------------------------------------

def test_list_images_sorts_naturally_and_reports_skips(tmp_path):
    tiny = np.zeros((2, 2, 3), np.uint8)
    for name in ("frame_10.png", "frame_2.png", "Frame_1.png", "b.jpg", "a.bmp"):
        assert cv2.imwrite(str(tmp_path / name), tiny)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.jpg").write_text("not an image")
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / ".hidden.png").write_bytes((tmp_path / "a.bmp").read_bytes())
    (tmp_path / "sub").mkdir()
    listing = list_images(tmp_path)
    assert isinstance(listing, ImageListing)
    assert [p.name for p in listing.images] == ["a.bmp", "b.jpg", "Frame_1.png", "frame_2.png", "frame_10.png"]
    reasons = {s.path.name: s.reason for s in listing.skipped}
    assert set(reasons) == {"notes.txt", "fake.jpg", "zero.png", ".hidden.png", "sub"}
    assert "not an image" in reasons["fake.jpg"] and "looks like text" in reasons["fake.jpg"]
    assert "extension" in reasons["notes.txt"]
    assert "empty" in reasons["zero.png"]
    assert "hidden" in reasons[".hidden.png"]
    assert "folder" in reasons["sub"]
    assert len(listing) == 5 and list(listing) == listing.images
    assert [p.name for p in list_images(tmp_path, check_content=False)] == \
        ["a.bmp", "b.jpg", "fake.jpg", "Frame_1.png", "frame_2.png", "frame_10.png", "zero.png"]


@requires_shared
def test_list_shared_media_folder():
    listing = list_images(MEDIA)
    assert [p.name for p in listing.images] == SHARED_IMAGES
    skipped = {s.path.name for s in listing.skipped}
    assert "MANIFEST.md" in skipped and "ground_truth" in skipped
    assert all(name.endswith(".mp4") or name in ("MANIFEST.md", "ground_truth") for name in skipped)


def test_list_images_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        list_images(tmp_path / "nope")
    file = tmp_path / "file.png"
    file.write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        list_images(file)


# --- to_rgb ---------------------------------------------------------------------------------------------------------

def test_to_rgb_returns_conforming_arrays_unchanged():
    image = np.zeros((3, 5, 3), np.uint8)
    assert to_rgb(image) is image


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 3, 1)])
def test_to_rgb_gray(shape):
    gray = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    rgb = to_rgb(gray)
    _check_rgb(rgb)
    assert rgb.shape == (shape[0], shape[1], 3)
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], gray.reshape(shape[:2]))


def test_to_rgb_channel_layouts():
    rgba = np.random.default_rng(0).integers(0, 256, (5, 7, 4), dtype=np.uint8)
    np.testing.assert_array_equal(to_rgb(rgba), rgba[..., :3])
    np.testing.assert_array_equal(to_rgb(rgba, bgr=True), rgba[..., 2::-1])
    np.testing.assert_array_equal(to_rgb(rgba[..., :3], bgr=True), rgba[..., 2::-1])
    gray_alpha = rgba[..., :2]
    np.testing.assert_array_equal(to_rgb(gray_alpha), np.repeat(rgba[..., :1], 3, axis=2))


def test_to_rgb_non_contiguous_and_odd_sizes():
    base = np.random.default_rng(1).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    for view in (base[::2, ::3], base[:, ::-1], base.transpose(1, 0, 2), base[1:8, 2:11]):
        rgb = to_rgb(view)
        _check_rgb(rgb)
        np.testing.assert_array_equal(rgb, view)


def test_to_rgb_dtypes():
    np.testing.assert_array_equal(to_rgb(np.array([[0.0, 0.5, 1.0, 2.0, np.nan, -1.0]], np.float64))[0, :, 0],
                                  [0, 128, 255, 255, 0, 0])
    np.testing.assert_array_equal(to_rgb(np.array([[0, 65535]], np.uint16))[0, :, 1], [0, 255])
    np.testing.assert_array_equal(to_rgb(np.array([[False, True]]))[0, :, 2], [0, 255])
    np.testing.assert_array_equal(to_rgb(np.array([[-5, 0, 32767]], np.int16))[0, :, 0], [0, 0, 255])


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 3, 4, 5), np.uint8), "H x W"),
    (np.zeros((4, 4, 5), np.uint8), "1, 2, 3 or 4 channels"),
    (np.zeros((0, 4, 3), np.uint8), "no pixels"),
    (np.zeros(5, np.uint8), "H x W"),
])
def test_to_rgb_rejects_non_images(bad, message):
    with pytest.raises(ValueError, match=message):
        to_rgb(bad)
