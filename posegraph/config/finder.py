"""Finding graph files: shipped graphs by name, and subgraphs by their ``type``.

Search order: the directory of the graph that uses the subgraph (for subgraphs), the other folders of the
``mediapipe/`` tree it lies in (MediaPipe's own graph files), the caller's search paths, then
the installed ``posegraph.graphs`` package data. In each directory a graph is found by file name
(``<name>``, ``<name>.pbtxt``, ``<snake_case(name)>.pbtxt``) and, failing that, by scanning the ``type:`` fields of
the ``*.pbtxt`` files there (cached by file modification time).
"""

from __future__ import annotations

import difflib
import os
import re
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Iterable

from ..errors import ConfigIssue, GraphConfigError
from .source_map import top_level_value

GRAPHS_PACKAGE = "posegraph.graphs"

_lock = threading.Lock()
_type_cache: dict[Path, tuple[int, int, str | None]] = {}  # file -> (mtime_ns, size, type)


def snake_case(name: str) -> str:
    """``PoseLandmarkCpu`` -> ``pose_landmark_cpu``; ``PoseTrackingCPU`` -> ``pose_tracking_cpu``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.replace("-", "_").lower()


def package_graph_dirs() -> list[Path]:
    """The folders of the installed ``posegraph.graphs`` package (empty when it is not installed)."""
    try:
        root = resources.files(GRAPHS_PACKAGE)
    except (ModuleNotFoundError, TypeError):
        return []
    path = Path(str(root))
    if not path.is_dir():
        return []
    return [path] + sorted(p for p in path.rglob("*") if p.is_dir() and p.name != "__pycache__")


def _graph_type(path: Path) -> str | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    with _lock:
        cached = _type_cache.get(path)
        if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
            return cached[2]
    try:
        found = top_level_value(path.read_text(encoding="utf-8", errors="replace"), "type")
    except OSError:
        found = None
    with _lock:
        _type_cache[path] = (stat.st_mtime_ns, stat.st_size, found)
    return found


def _pbtxt_files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.suffix == ".pbtxt" and p.is_file())
    except OSError:
        return []


def graph_types(directories: Iterable[Path]) -> dict[str, Path]:
    """Every ``type:`` declared by a ``*.pbtxt`` in `directories` (first one wins)."""
    found: dict[str, Path] = {}
    for directory in directories:
        for path in _pbtxt_files(directory):
            graph_type = _graph_type(path)
            if graph_type and graph_type not in found:
                found[graph_type] = path
    return found


def _unique(directories: Iterable[Path]) -> list[Path]:
    seen, out = set(), []
    for d in directories:
        key = os.path.normcase(os.path.abspath(d))
        if key not in seen:
            seen.add(key)
            out.append(Path(d))
    return out


MEDIAPIPE_ROOT = "mediapipe"


def mediapipe_tree_dirs(near: Path | None) -> list[Path]:
    """The folders of the ``mediapipe/`` source tree that `near` lies in (MediaPipe's layout: a graph names its
    subgraphs by type, and they live anywhere under ``mediapipe/modules`` and ``mediapipe/graphs``); [] outside
    such a tree."""
    if near is None:
        return []
    near = Path(os.path.abspath(near))
    root = next((p for p in (near, *near.parents) if p.name == MEDIAPIPE_ROOT), None)
    if root is None:
        return []
    with _lock:
        cached = _tree_cache.get(root)
    if cached is not None and time.monotonic() - cached[0] < 2.0:
        return cached[1]
    try:
        found = sorted({p.parent for p in root.rglob("*.pbtxt") if p.is_file()})
    except OSError:
        found = []
    with _lock:
        _tree_cache[root] = (time.monotonic(), found)
    return found


_tree_cache: dict[Path, tuple[float, list[Path]]] = {}


def search_dirs(search_paths: Iterable[str | os.PathLike] = (), near: Path | None = None) -> list[Path]:
    if isinstance(search_paths, (str, os.PathLike)):
        search_paths = [search_paths]
    dirs = [near] if near is not None else []
    dirs += mediapipe_tree_dirs(near)
    dirs += [Path(p) for p in search_paths]
    return _unique(dirs + package_graph_dirs())


_TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,199}")


def is_file(path: Path) -> bool:
    """``path.is_file()``, with names the file system rejects (too long, odd bytes) counting as absent."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def find_subgraph(type_name: str, directories: list[Path]) -> Path | None:
    """The graph file whose ``type:`` is `type_name`, or None. Only identifiers can name a subgraph."""
    if not _TYPE_NAME.fullmatch(type_name):
        return None
    names = [f"{snake_case(type_name)}.pbtxt", f"{type_name}.pbtxt"]
    for directory in directories:
        for name in names:
            path = directory / name
            if is_file(path) and _graph_type(path) == type_name:
                return path
    return graph_types(directories).get(type_name)


def find_graph_file(name: str, search_paths: Iterable[str | os.PathLike] = ()) -> Path:
    """A graph file by name: ``"pose_tracking_cpu"``, ``"pose_tracking_cpu.pbtxt"`` or a subgraph type.

    Looks in `search_paths`, then in the installed ``posegraph.graphs`` package. Raises GraphConfigError that lists
    where it looked and the graphs it saw there.
    """
    dirs = search_dirs(search_paths)
    candidates = [name, f"{name}.pbtxt", f"{snake_case(name)}.pbtxt"]
    for directory in dirs:
        for candidate in candidates:
            path = directory / candidate
            if is_file(path):
                return path
    by_type = graph_types(dirs)
    if name in by_type:
        return by_type[name]
    available = sorted({p.stem for d in dirs for p in _pbtxt_files(d)} | set(by_type))
    close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    where = ", ".join(str(d) for d in dirs) or "(no folders: posegraph.graphs is not installed)"
    raise GraphConfigError(ConfigIssue(f"graph '{name}' not found{hint} (looked for "
                                       f"{', '.join(dict.fromkeys(candidates))} and for a 'type: \"{name}\"' in "
                                       f"{where})"))


__all__ = ["find_graph_file", "find_subgraph", "graph_types", "search_dirs", "snake_case", "package_graph_dirs"]
