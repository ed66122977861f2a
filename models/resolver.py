"""Find a model file on disk from a manifest name, a file name or a path.

Model files are large and licensed separately, so they live outside the package (``posegraph models pull`` fetches them
into the user cache, the last folder searched), in a
folder that differs between a developer checkout, CI and an installed copy. The resolver searches a fixed, documented
list of folders and, when it fails, says every place it looked and how to fix it, because "file not found" with one
path is the most common and least helpful error of pose pipelines.

Search order (first hit wins):

1. `name_or_path` itself, when it names an existing file (absolute, or relative to the current directory);
2. each folder of the `search_paths` argument;
3. each folder of the `POSEGRAPH_MODELS` environment variable (separated by `os.pathsep`);
4. `../shared/models` relative to the current directory;
5. `../shared/models` relative to the repository checkout that holds this package (found by walking up from this
   file to the first folder with a `pyproject.toml` or `.git`);
6. the user cache, `$XDG_CACHE_HOME/posegraph/models` (default `~/.cache/posegraph/models`).

In each folder the manifest's relative file path is tried (`openvino/x.xml`), then the bare file name (`x.xml`).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal, Sequence

from .manifest import ModelSpec, find_spec, load_manifest, verify_file

ENV_VAR = "POSEGRAPH_MODELS"

__all__ = ["ENV_VAR", "ModelNotFoundError", "SearchDir", "model_search_dirs", "resolve_model", "user_cache_dir"]

Verify = Literal["none", "size", "sha256"]


@dataclass(frozen=True, slots=True)
class SearchDir:
    """A folder the resolver looks in, and why it is on the list (shown in errors)."""

    path: Path
    origin: str


class ModelNotFoundError(FileNotFoundError):
    """No file for a model was found; the message lists every place searched and how to fix it."""

    def __init__(self, message: str, *, name: str, searched: Sequence[Path], spec: ModelSpec | None = None):
        super().__init__(message)
        self.name = name
        self.searched = tuple(searched)
        self.spec = spec

    def __str__(self) -> str:  # FileNotFoundError's own __str__ would prepend errno fields when set
        return str(self.args[0]) if self.args else ""


def _repository_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return None


def user_cache_dir() -> Path | None:
    """Where `posegraph models pull` puts models: ``$XDG_CACHE_HOME/posegraph/models`` (default ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory can be determined
            return None
    return Path(base) / "posegraph" / "models"


def model_search_dirs(search_paths: Iterable[str | os.PathLike[str]] | None = None) -> list[SearchDir]:
    """The folders searched for model files, in order, with duplicates removed (folders need not exist)."""
    dirs: list[SearchDir] = []
    for entry in search_paths or ():
        dirs.append(SearchDir(Path(entry).expanduser(), "search_paths argument"))
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            dirs.append(SearchDir(Path(entry.strip()).expanduser(), f"${ENV_VAR}"))
    cwd = Path.cwd()
    dirs.append(SearchDir(cwd.parent / "shared" / "models",
                          f"../shared/models relative to the current directory {cwd}"))
    root = _repository_root(Path(__file__).resolve().parent)
    if root is not None:
        dirs.append(SearchDir(root.parent / "shared" / "models",
                              f"../shared/models relative to the repository checkout {root}"))
    cache = user_cache_dir()
    if cache is not None:
        dirs.append(SearchDir(cache, "user cache ($XDG_CACHE_HOME or ~/.cache)"))
    unique: list[SearchDir] = []
    seen: set[Path] = set()
    for d in dirs:
        key = Path(os.path.abspath(d.path))
        if key not in seen:
            seen.add(key)
            unique.append(SearchDir(key, d.origin))
    return unique


def _relative_candidates(relative: str) -> list[Path]:
    rel = Path(relative)
    return [rel] if rel.name == str(rel) else [rel, Path(rel.name)]


def _suggestions(name: str) -> str:
    specs = load_manifest()
    known = sorted(set(specs) | {s.file_name for s in specs.values()})
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    text = f"Known model names: {', '.join(sorted(specs))}."
    if close:
        text = f"Did you mean {' or '.join(repr(c) for c in close)}? " + text
    return text


def _not_found(name: str, spec: ModelSpec | None, tried: list[tuple[Path, str]], dirs: list[SearchDir],
               note: str = "", explicit: bool = False) -> ModelNotFoundError:
    what = f"model {name!r}" + (f" (file {spec.file})" if spec is not None and spec.file != name else "")
    lines = [f"{what} was not found."]
    if note:
        lines.append(note)
    lines.append("Looked in, in this order:")
    for i, (path, origin) in enumerate(tried, 1):
        missing = "" if path.parent.is_dir() else ", folder does not exist"
        lines.append(f"  {i}. {path}    [{origin}{missing}]")
    if not explicit and not os.environ.get(ENV_VAR, "").strip():
        lines.append(f"  ({ENV_VAR} is not set)")
    if explicit:
        lines.append(f"To fix it, check the path, or pass just the file name ({Path(name).name!r}) to search the "
                     "model folders:")
        lines.extend(f"  - {d.path}    [{d.origin}]" for d in dirs)
        return ModelNotFoundError("\n".join(lines), name=name, searched=[p for p, _ in tried], spec=spec)
    lines.append("To fix it, do one of:")
    example = next((d.path for d in reversed(dirs) if d.origin.startswith("user cache")), None)
    if example is not None:
        lines.append(f"  - copy the file into one of the folders above, e.g. {example}{os.sep}")
    else:
        lines.append("  - copy the file into one of the folders above")
    lines.append(f"  - set {ENV_VAR} to the folder that holds it (separate several folders with {os.pathsep!r})")
    lines.append("  - pass the file's path explicitly")
    if spec is not None:
        if spec.downloadable:
            lines.insert(lines.index("To fix it, do one of:") + 1,
                         f"  - download it: posegraph models pull {spec.name}")
        lines.append(f"Where this file comes from: {spec.source}")
    else:
        lines.append(_suggestions(name))
    return ModelNotFoundError("\n".join(lines), name=name, searched=[p for p, _ in tried], spec=spec)


def resolve_model(name_or_path: str | os.PathLike[str],
                  search_paths: Iterable[str | os.PathLike[str]] | None = None,
                  *, verify: Verify = "size") -> Path:
    """Return the absolute path of a model file.

    `name_or_path` is a manifest name ("blazepose_detector"), a file name ("blazepose_pose_detection.tflite"), a
    path relative to a models folder ("openvino/pp_tinypose_128x96_fp16.xml") or a path to a file. A file found
    through the search for a manifest entry is checked against the manifest (`verify="size"` by default: cheap and
    catches truncated copies; "sha256" for a full check; "none" to skip) and raises `ModelIntegrityError` on a
    mismatch rather than silently continuing. A path that exists is returned as is, unchecked.
    """
    if verify not in ("none", "size", "sha256"):
        raise ValueError(f"verify must be 'none', 'size' or 'sha256', got {verify!r}")
    text = os.fspath(name_or_path)
    if not text.strip():
        raise ValueError("model name or path is empty")
    direct = Path(text).expanduser()
    if direct.is_file():
        return Path(os.path.abspath(direct))
    spec = find_spec(text)
    dirs = model_search_dirs(search_paths)
    if direct.is_dir():
        raise _not_found(text, spec, [(Path(os.path.abspath(direct)), "given path")], dirs,
                         note=f"{direct} is a folder, not a model file.", explicit=True)
    if direct.is_absolute():
        raise _not_found(text, spec, [(direct, "given path")], dirs,
                         note="An absolute path is used as given and never searched for elsewhere.", explicit=True)
    tried: list[tuple[Path, str]] = [(Path(os.path.abspath(direct)), "given path, relative to the current directory")]
    relatives = _relative_candidates(spec.file if spec is not None else text)
    for folder in dirs:
        for rel in relatives:
            candidate = folder.path / rel
            tried.append((candidate, folder.origin))
            if candidate.is_file():
                if spec is not None and verify != "none":
                    verify_file(candidate, spec, check_sha256=verify == "sha256")
                return candidate
    raise _not_found(text, spec, tried, dirs)
