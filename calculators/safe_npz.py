"""Reading named arrays from an untrusted ``.npz`` without letting the file choose how much memory we allocate.

``np.load(path)[name]`` trusts the file: it unpickles object arrays unless told not to, and allocates whatever
shape the array header declares before reading a byte, so a 1 MB compressed file can ask for gigabytes (in an array
the caller never uses, if it reads every member). Here only the arrays asked for are read, each header is checked
first (dtype kind, number of dimensions, string width, byte size against a limit and against the member's
uncompressed size), and pickles are never allowed.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass

import numpy as np

__all__ = ["ArraySpec", "NpzError", "read_npz", "MAX_ARRAY_BYTES"]

MAX_ARRAY_BYTES = 256 * 1024 * 1024
MAX_STRING_CHARS = 4096


class NpzError(ValueError):
    """The file is not an .npz holding the expected arrays (the message says which and why)."""


@dataclass(frozen=True)
class ArraySpec:
    """What one array may be: dtype kinds (``"U"`` str, ``"i"``/``"u"`` ints, ``"f"`` floats, ``"b"`` bool),
    its number of dimensions, whether it may be missing, and its largest size in bytes."""

    kinds: str
    ndim: int
    optional: bool = False
    max_bytes: int = MAX_ARRAY_BYTES


def _header(handle) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    if version in ((2, 0), (3, 0)):
        return np.lib.format.read_array_header_2_0(handle)
    raise ValueError(f"unsupported .npy format version {version}")


def read_npz(path: str | os.PathLike[str], specs: dict[str, ArraySpec]) -> dict[str, np.ndarray]:
    """The arrays named in `specs` (those present), each checked before it is allocated. Raises NpzError."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise NpzError(f"not an .npz (zip) file: {exc}") from None
    arrays: dict[str, np.ndarray] = {}
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        for name, spec in specs.items():
            info = members.get(f"{name}.npy")
            if info is None:
                if spec.optional:
                    continue
                raise NpzError(f"missing array '{name}'")
            try:
                with archive.open(info) as handle:
                    shape, _, dtype = _header(handle)
                    header_bytes = handle.tell() if handle.seekable() else 0
            except (OSError, ValueError, zipfile.BadZipFile, RuntimeError) as exc:
                raise NpzError(f"array '{name}': unreadable header ({exc})") from None
            if dtype.kind not in spec.kinds or dtype.hasobject:
                raise NpzError(f"array '{name}' has dtype {dtype}, expected kind {'/'.join(spec.kinds)}")
            if len(shape) != spec.ndim:
                raise NpzError(f"array '{name}' has {len(shape)} dimensions, expected {spec.ndim}")
            if dtype.kind == "U" and dtype.itemsize > 4 * MAX_STRING_CHARS:
                raise NpzError(f"array '{name}' holds strings of {dtype.itemsize // 4} characters (at most "
                               f"{MAX_STRING_CHARS})")
            size = math.prod(shape) * dtype.itemsize
            if size > spec.max_bytes:
                raise NpzError(f"array '{name}' of shape {shape} would take {size} bytes (at most "
                               f"{spec.max_bytes})")
            if size > info.file_size - header_bytes:
                raise NpzError(f"array '{name}' declares {size} bytes but its member holds "
                               f"{info.file_size - header_bytes}")
            try:
                with archive.open(info) as handle:
                    arrays[name] = np.lib.format.read_array(handle, allow_pickle=False)
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
                raise NpzError(f"array '{name}': {exc}") from None
    return arrays
