"""Which files a batch processes: globs, paths, folders and list files, expanded once on the driver."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable

from .errors import BatchError

LIST_SUFFIXES = (".txt", ".lst", ".list")
_GLOB_CHARS = set("*?[")


def _read_list(path: Path) -> list[str]:
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = Path(os.path.expanduser(line))
        entries.append(str(entry if entry.is_absolute() else path.parent / entry))
    return entries


def _expand_one(spec: str, seen_lists: set[Path]) -> list[Path]:
    if spec.startswith("@"):
        listing = Path(os.path.expanduser(spec[1:])).resolve()
        if not listing.is_file():
            raise FileNotFoundError(f"input list {listing} does not exist")
        return _expand_list(listing, seen_lists)
    expanded = os.path.expanduser(spec)
    if _GLOB_CHARS & set(expanded):
        return sorted(Path(p) for p in glob.glob(expanded, recursive=True) if os.path.isfile(p))
    path = Path(expanded)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if path.is_file():
        if path.suffix.lower() in LIST_SUFFIXES:
            return _expand_list(path.resolve(), seen_lists)
        return [path]
    raise FileNotFoundError(f"input {spec} does not exist (give files, folders, globs or @list.txt)")


def _expand_list(listing: Path, seen_lists: set[Path]) -> list[Path]:
    if listing in seen_lists:
        return []
    seen_lists.add(listing)
    files: list[Path] = []
    for entry in _read_list(listing):
        files += _expand_one(entry, seen_lists)
    return files


def expand_inputs(specs: Iterable[str | os.PathLike]) -> list[Path]:
    """Absolute paths of the input files, in the order given, each once.

    Each spec is a glob (``videos/**/*.mp4``; quote it so the shell leaves it alone), a file, a folder (its
    files, not recursive) or a list file: ``@list`` or a ``.txt``/``.lst``/``.list`` file with one spec per line
    (relative to the list's folder; blank lines and ``#`` comments ignored).
    """
    seen: set[Path] = set()
    seen_lists: set[Path] = set()
    files: list[Path] = []
    for spec in specs:
        for path in _expand_one(str(spec), seen_lists):
            absolute = path.resolve() if not path.is_absolute() else Path(os.path.normpath(path))
            if absolute not in seen:
                seen.add(absolute)
                files.append(absolute)
    return files


def output_stems(files: list[Path]) -> list[str]:
    """The output stem of each input (its file name without the last suffix); two inputs may not share one."""
    stems = [f.stem for f in files]
    owners: dict[str, list[Path]] = {}
    for stem, path in zip(stems, files):
        owners.setdefault(stem, []).append(path)
    clashes = {s: p for s, p in owners.items() if len(p) > 1}
    if clashes:
        lines = [f"  {stem}: " + ", ".join(str(p) for p in paths[:4]) + (" ..." if len(paths) > 4 else "")
                 for stem, paths in list(clashes.items())[:10]]
        raise BatchError(f"{len(clashes)} output name(s) would be shared by several inputs (outputs are "
                               f"named DIR/<input stem>.*); rename them or run them in separate batches:\n"
                               + "\n".join(lines))
    return stems


__all__ = ["expand_inputs", "output_stems"]
