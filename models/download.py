"""Fetch model files from their public source into the user cache (``posegraph models pull``).

Each manifest entry records the public URL of its file at the exact commit it was taken from; the file is streamed
to ``NAME.part`` next to its final place, resumed with an HTTP Range request when a partial file is there, and moved
into place only after its size and sha256 match the manifest. A mismatch deletes the download and says so: a wrong
file must never sit where the resolver would find it. Derived entries are made from their source model by the
byte patch the manifest records (and checked the same way).

``POSEGRAPH_MODELS_MIRROR`` (or ``mirror=``) replaces every public URL by ``MIRROR/<file>``: a local copy of the
models folder served over HTTP, used by the tests and by machines without internet access.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterable

from .manifest import ModelIntegrityError, ModelSpec, load_manifest, sha256_of
from .resolver import user_cache_dir

MIRROR_ENV = "POSEGRAPH_MODELS_MIRROR"
CHUNK = 1 << 16
TIMEOUT_S = 30.0

__all__ = ["MIRROR_ENV", "DownloadError", "PullResult", "download_file", "pull", "pull_many"]


class DownloadError(OSError):
    """A model could not be fetched (network, HTTP status, no URL); the message names the model and the URL."""


@dataclass(frozen=True)
class PullResult:
    name: str
    path: Path
    status: str  # "downloaded", "resumed", "derived", "present"


Progress = Callable[[str, int, int | None], None]  # (label, bytes so far, total or None)


def _url_for(file: str, url: str | None, mirror: str | None) -> str | None:
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    if mirror:
        return mirror.rstrip("/") + "/" + file
    return url


def _cache_dir(target: str | os.PathLike | None) -> Path:
    if target is not None:
        return Path(target).expanduser()
    cache = user_cache_dir()
    if cache is None:
        raise DownloadError("no home directory or XDG_CACHE_HOME: pass a target folder (posegraph models pull "
                            "--dir DIR)")
    return cache


def download_file(url: str, dest: Path, size: int, sha256: str, *, label: str = "",
                  progress: Progress | None = None) -> str:
    """Download `url` to `dest` (resuming ``dest.part``), check size and sha256, and move it into place.

    Returns "downloaded" or "resumed". Raises DownloadError on network/HTTP errors (the partial file is kept for
    the next try) and ModelIntegrityError when the finished file does not match (it is deleted).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    if have > size:  # cannot be a prefix of the right file
        part.unlink()
        have = 0
    status = "resumed" if have else "downloaded"
    if have < size:
        request = urllib.request.Request(url, headers={"User-Agent": "posegraph-models"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                if have and response.status != 206:  # the server ignored the range: start over
                    have, status = 0, "downloaded"
                with open(part, "ab" if have else "wb") as out:
                    done = have
                    if progress:
                        progress(label, done, size)
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(label, done, size)
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"{label or dest.name}: {url} answered HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"{label or dest.name}: cannot download {url}: {reason} (the partial file "
                                f"{part} is kept; run the command again to resume)") from None
    actual_size = part.stat().st_size
    actual_sha = sha256_of(part)
    if actual_size != size or actual_sha != sha256:
        part.unlink()
        raise ModelIntegrityError(f"{label or dest.name}: the download from {url} does not match the manifest "
                                  f"({actual_size} bytes, sha256 {actual_sha}; expected {size} bytes, sha256 "
                                  f"{sha256}); it was deleted")
    os.replace(part, dest)
    return status


def _matches(path: Path, size: int, sha256: str) -> bool:
    return path.is_file() and path.stat().st_size == size and sha256_of(path) == sha256


def _derive(spec: ModelSpec, dest: Path, source_path: Path) -> None:
    assert spec.derive is not None
    data = bytearray(source_path.read_bytes())
    for offset, old, new in spec.derive.patch:
        if bytes(data[offset:offset + len(old)]) != old:
            raise ModelIntegrityError(f"{spec.name}: {source_path} is not the file the patch was made for (bytes at "
                                      f"{offset} differ)")
        data[offset:offset + len(new)] = new
    if len(data) != spec.size or hashlib.sha256(data).hexdigest() != spec.sha256:
        raise ModelIntegrityError(f"{spec.name}: deriving from {source_path} did not give the manifest's file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(bytes(data))
    os.replace(tmp, dest)


def pull(name: str, *, target: str | os.PathLike | None = None, mirror: str | None = None,
         progress: Progress | None = None, force: bool = False) -> PullResult:
    """Fetch one model (and its companions) into `target` (default: the user cache); returns where it is."""
    specs = load_manifest()
    if name not in specs:
        from .resolver import _suggestions
        raise KeyError(f"unknown model {name!r}. {_suggestions(name)}")
    spec = specs[name]
    folder = _cache_dir(target)
    dest = folder / spec.file
    files = [(dest, spec.size, spec.sha256, spec.url)]
    files += [(folder / c.file, c.size, c.sha256, c.url) for c in spec.companions]
    if not force and all(_matches(p, size, sha) for p, size, sha, _ in files):
        return PullResult(name, dest, "present")
    if spec.derive is not None and spec.url is None:
        source = pull(spec.derive.source, target=target, mirror=mirror, progress=progress)
        _derive(spec, dest, source.path)
        return PullResult(name, dest, "derived")
    statuses = []
    for path, size, sha, url in files:
        if not force and _matches(path, size, sha):
            continue
        where = _url_for(str(Path(path).relative_to(folder).as_posix()), url, mirror)
        if where is None:
            raise DownloadError(f"model {name!r} has no public download ({spec.source}); copy the file into "
                                f"{folder} or set POSEGRAPH_MODELS to a folder that holds it")
        statuses.append(download_file(where, path, size, sha, label=f"{name} ({path.name})", progress=progress))
    return PullResult(name, dest, "resumed" if "resumed" in statuses else "downloaded")


def pull_many(names: Iterable[str], **kwargs) -> list[PullResult]:
    return [pull(n, **kwargs) for n in names]


class TqdmProgress:
    """A tqdm bar per file on a terminal; on a pipe, one line when each file completes."""

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream or sys.stderr
        self.bar = None
        self.label = None

    def __call__(self, label: str, done: int, total: int | None) -> None:
        tty = getattr(self.stream, "isatty", lambda: False)()
        if label != self.label:
            self.close()
            self.label = label
            if tty:
                from tqdm import tqdm
                self.bar = tqdm(total=total, initial=done, unit="B", unit_scale=True, unit_divisor=1024,
                                desc=label, file=self.stream, leave=True)
            return
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
        elif total is not None and done >= total:
            print(f"  {label}: {done} bytes", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

