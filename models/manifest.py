"""The model manifest as typed, immutable records.

Graphs name models by a logical name ("blazepose_detector") rather than a path, so that a checkout, a CI machine and
an installed package can keep the files in different places. The manifest pins what each name means byte for byte
(size and sha256) and what tensors to expect, so that a wrong or damaged file is caught by name before inference
produces nonsense.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

MANIFEST_PATH = Path(__file__).with_name("manifest.toml")

__all__ = [
    "MANIFEST_PATH",
    "CompanionFile",
    "Derivation",
    "ManifestError",
    "ModelIntegrityError",
    "ModelSpec",
    "TensorInfo",
    "find_spec",
    "load_manifest",
    "sha256_of",
    "verify_file",
]


class ManifestError(ValueError):
    """The manifest file itself is malformed (a bug in the repository, not in the user's setup)."""


class ModelIntegrityError(ValueError):
    """A file was found under a known model's name but its size or sha256 differs from the manifest."""


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """An expected input or output tensor. `shape` is the allocated shape; () means "unset in the file"."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    quant_scale: float | None = None
    quant_zero_point: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class CompanionFile:
    """A file that must sit next to the model file (an OpenVINO .bin next to its .xml)."""

    file: str
    size: int
    sha256: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Derivation:
    """A file made from another model by changing a few bytes in place: ``patch`` holds (offset, old, new) with
    offsets in bytes and old/new as bytes; the old bytes are checked before anything is written."""

    source: str
    patch: tuple[tuple[int, bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One manifest entry. `file` is relative to a models folder and may contain a sub-folder."""

    name: str
    file: str
    format: str
    size: int
    sha256: str
    source: str
    license: str = ""
    description: str = ""
    inputs: tuple[TensorInfo, ...] = ()
    outputs: tuple[TensorInfo, ...] = ()
    companions: tuple[CompanionFile, ...] = ()
    custom_ops: tuple[str, ...] = ()
    labels: str | None = None
    aliases: tuple[str, ...] = ()
    url: str | None = None
    derive: "Derivation | None" = None

    @property
    def downloadable(self) -> bool:
        """Whether `posegraph models pull` can fetch it: a public URL for the file and for every companion."""
        return (self.url is not None and all(c.url for c in self.companions)) or self.derive is not None

    @property
    def file_name(self) -> str:
        """The bare file name, without any sub-folder."""
        return Path(self.file).name

    @property
    def input_shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(t.shape for t in self.inputs)

    @property
    def output_shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(t.shape for t in self.outputs)


def _require(entry: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in entry:
        raise ManifestError(f"{where}: missing required key {key!r}")
    value = entry[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ManifestError(f"{where}: {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _optional_url(entry: Mapping[str, Any], where: str) -> str | None:
    url = entry.get("url")
    if url is None:
        return None
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ManifestError(f"{where}: url must be an http(s) address, got {url!r}")
    return url


def _derivation(entry: Any, where: str) -> Derivation | None:
    if entry is None:
        return None
    source = _require(entry, "from", str, f"{where} derive")
    patch = []
    for item in _require(entry, "patch", list, f"{where} derive"):
        try:
            offset, old, new = str(item).split(":")
            patch.append((int(offset), bytes.fromhex(old), bytes.fromhex(new)))
        except ValueError:
            raise ManifestError(f"{where} derive: patch items are 'offset:oldhex:newhex', got {item!r}") from None
        if len(patch[-1][1]) != len(patch[-1][2]):
            raise ManifestError(f"{where} derive: {item!r} changes the length")
    return Derivation(source, tuple(patch))


def _tensor(entry: Mapping[str, Any], where: str) -> TensorInfo:
    shape = _require(entry, "shape", list, where)
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise ManifestError(f"{where}: shape must be a list of integers, got {shape!r}")
    scale = entry.get("quant_scale")
    zero_point = entry.get("quant_zero_point")
    return TensorInfo(
        name=_require(entry, "name", str, where),
        shape=tuple(shape),
        dtype=_require(entry, "dtype", str, where),
        quant_scale=None if scale is None else float(scale),
        quant_zero_point=None if zero_point is None else int(zero_point),
        note=str(entry.get("note", "")),
    )


def _spec(name: str, entry: Mapping[str, Any], where: str) -> ModelSpec:
    where = f"{where} [models.{name}]"
    known = {"file", "format", "size", "sha256", "source", "license", "description", "inputs", "outputs",
             "companions", "custom_ops", "labels", "aliases", "url", "derive"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ManifestError(f"{where}: unknown keys {unknown}; known keys are {sorted(known)}")
    sha = _require(entry, "sha256", str, where).lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ManifestError(f"{where}: sha256 must be 64 hex digits, got {sha!r}")
    companions = tuple(
        CompanionFile(file=_require(c, "file", str, f"{where} companion"),
                      size=_require(c, "size", int, f"{where} companion"),
                      sha256=_require(c, "sha256", str, f"{where} companion").lower(),
                      url=_optional_url(c, f"{where} companion"))
        for c in entry.get("companions", ()))
    return ModelSpec(
        name=name,
        file=_require(entry, "file", str, where),
        format=_require(entry, "format", str, where),
        size=_require(entry, "size", int, where),
        sha256=sha,
        source=_require(entry, "source", str, where),
        license=str(entry.get("license", "")),
        description=str(entry.get("description", "")),
        inputs=tuple(_tensor(t, f"{where} input {i}") for i, t in enumerate(entry.get("inputs", ()))),
        outputs=tuple(_tensor(t, f"{where} output {i}") for i, t in enumerate(entry.get("outputs", ()))),
        companions=companions,
        custom_ops=tuple(str(op) for op in entry.get("custom_ops", ())),
        labels=entry.get("labels"),
        aliases=tuple(str(a) for a in entry.get("aliases", ())),
        url=_optional_url(entry, where),
        derive=_derivation(entry.get("derive"), where),
    )


def parse_manifest(text: str, where: str = "manifest") -> Mapping[str, ModelSpec]:
    """Parse manifest TOML text into {logical name: ModelSpec}, validating every entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{where}: invalid TOML: {exc}") from exc
    models = data.get("models")
    if not isinstance(models, dict):
        raise ManifestError(f"{where}: expected a [models.<name>] table")
    specs = {name: _spec(name, entry, where) for name, entry in models.items()}
    for spec in specs.values():
        if spec.labels is not None and spec.labels not in specs:
            raise ManifestError(f"{where} [models.{spec.name}]: labels entry {spec.labels!r} is not in the manifest")
    for spec in specs.values():
        if spec.derive is not None and spec.derive.source not in specs:
            raise ManifestError(f"{where} [models.{spec.name}]: derive from {spec.derive.source!r}, which is not in "
                                f"the manifest")
    return MappingProxyType(specs)


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Mapping[str, ModelSpec]:
    return parse_manifest(Path(path).read_text(encoding="utf-8"), where=path)


def load_manifest(path: str | Path | None = None) -> Mapping[str, ModelSpec]:
    """The manifest as a read-only {logical name: ModelSpec} mapping (parsed once per path)."""
    return _load_cached(str(Path(path) if path is not None else MANIFEST_PATH))


def find_spec(name: str, manifest: Mapping[str, ModelSpec] | None = None) -> ModelSpec | None:
    """Look a model up by logical name, file name, relative file path or file stem; None when unknown."""
    specs = load_manifest() if manifest is None else manifest
    if name in specs:
        return specs[name]
    normalised = name.replace("\\", "/")
    for spec in specs.values():
        if normalised in (spec.file, spec.file_name, Path(spec.file_name).stem) or normalised in spec.aliases:
            return spec
    return None


def sha256_of(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks so large files do not need to fit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: str | Path, spec: ModelSpec, *, check_sha256: bool = True) -> None:
    """Raise ModelIntegrityError when `path` (and its companions) do not match `spec` byte for byte."""
    path = Path(path)
    expected: list[tuple[Path, int, str]] = [(path, spec.size, spec.sha256)]
    base = path.parent
    for companion in spec.companions:
        expected.append((base / Path(companion.file).name, companion.size, companion.sha256))
    for file, size, sha in expected:
        if not file.is_file():
            raise ModelIntegrityError(f"model {spec.name!r}: companion file {file} is missing (it must sit next to "
                                      f"{path.name})")
        actual_size = file.stat().st_size
        if actual_size != size:
            hint = " (truncated or incomplete copy?)" if actual_size < size else ""
            raise ModelIntegrityError(f"model {spec.name!r}: {file} has {actual_size} bytes, the manifest expects "
                                      f"{size}{hint}. Source: {spec.source}")
        if check_sha256:
            actual_sha = sha256_of(file)
            if actual_sha != sha:
                raise ModelIntegrityError(f"model {spec.name!r}: {file} has sha256 {actual_sha}, the manifest "
                                          f"expects {sha}. Source: {spec.source}")
