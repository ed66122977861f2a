"""Untrusted .npz files: only the arrays needed are read, each checked before it is allocated, never a pickle."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import numpy as np
import pytest

from posegraph.calculators.classify.knn import PoseSampleSet
from posegraph.calculators.safe_npz import ArraySpec, NpzError, read_npz

pytestmark = pytest.mark.timeout(60)


def _sample_set() -> PoseSampleSet:
    return PoseSampleSet("coco17", ("up", "down"), np.array([0, 1]), np.zeros((2, 17, 5), np.float32),
                         np.array([[640, 480]] * 2, float), ("a.jpg", "b.jpg"))


def _npy_member(archive: zipfile.ZipFile, name: str, header_shape: tuple, dtype: str, payload: bytes = b"") -> None:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": header_shape})
    archive.writestr(f"{name}.npy", buf.getvalue() + payload)


def test_an_unused_huge_array_is_never_allocated(tmp_path):
    path = _sample_set().save(tmp_path / "set.npz")
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("junk.npy", _npy_bytes(np.zeros(64 * 1024 * 1024, np.uint8)))  # 64 MB of zeros deflates
    assert path.stat().st_size < 1024 * 1024
    tracemalloc.start()
    try:
        back = PoseSampleSet.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(back) == 2 and back.class_names == ("up", "down")
    assert peak < 20 * 1024 * 1024


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def test_a_header_that_lies_about_its_size_is_refused_before_allocating(tmp_path):
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _npy_member(archive, "landmarks", (100_000, 100_000, 5), "<f4")       # 200 GB declared, no data
        _npy_member(archive, "labels", (10,), "<i8", b"\0" * 8)              # 80 bytes declared, 8 held
    with pytest.raises(NpzError, match="at most"):
        read_npz(path, {"landmarks": ArraySpec("f", 3)})
    with pytest.raises(NpzError, match="member holds"):
        read_npz(path, {"labels": ArraySpec("i", 1)})


@pytest.mark.parametrize("dtype,shape,spec,match", [
    ("|O", (2,), ArraySpec("U", 1), "dtype"),
    ("<f8", (2,), ArraySpec("U", 1), "dtype"),
    ("<i8", (2, 2), ArraySpec("i", 1), "dimensions"),
    ("<U100000", (1,), ArraySpec("U", 1), "characters"),
])
def test_wrong_dtypes_shapes_and_widths_are_refused(tmp_path, dtype, shape, spec, match):
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as archive:
        _npy_member(archive, "a", shape, dtype, b"\0" * 64)
    with pytest.raises(NpzError, match=match):
        read_npz(path, {"a": spec})


def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "pickle.npz"
    np.savez(path, topology=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="not a k-NN pose sample file"):
        PoseSampleSet.load(path)


def test_missing_required_and_optional_arrays(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, a=np.arange(3))
    assert read_npz(path, {"a": ArraySpec("i", 1), "b": ArraySpec("U", 1, optional=True)})["a"].tolist() == [0, 1, 2]
    with pytest.raises(NpzError, match="missing array 'b'"):
        read_npz(path, {"b": ArraySpec("U", 1)})
