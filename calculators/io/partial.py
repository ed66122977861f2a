"""Write-then-rename for output files: a run never leaves half an output under the final name.

Every writer (video, landmarks) writes to a hidden temporary file in the target's folder and renames it over the
target when it is finalised, which happens on a normal end, a failure, a cancel (Ctrl-C, SIGTERM, ``--timeout``)
alike, as long as at least one item was written. A run that wrote nothing (say it failed on its first frame) leaves
the previous file, if any, untouched and no empty file behind. The rename is atomic because both names are in the
same folder.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PartialFile", "check_writable", "partial_path"]


def partial_path(target: Path) -> Path:
    """The temporary name used while writing `target`: hidden, same folder, same extension (formats that are
    chosen by extension still work), unique per process."""
    return target.with_name(f".{target.stem}.partial-{os.getpid()}{target.suffix}")


def check_writable(target: str | os.PathLike[str], *, folder: bool = False) -> None:
    """Create `target`'s folder (with `folder`: `target` itself) if needed and make sure a file can be written
    there (a temporary one, created and deleted). Writers call it in open(), so that an output that cannot be
    written fails the run before its first frame, not after its last, and the message names the user's path rather
    than the temporary one."""
    target = Path(target)
    if not folder and target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a folder")
    where = target if folder else target.parent
    probe = where / f".posegraph-probe-{os.getpid()}" if folder else partial_path(target)
    try:
        where.mkdir(parents=True, exist_ok=True)
        with open(probe, "xb"):
            pass
        probe.unlink()
    except OSError as exc:
        what = f"into {target}" if folder else f"{target} (folder {where})"
        raise PermissionError(f"cannot write {what}: {exc.strerror or exc}; choose another path") from None


class PartialFile:
    """The temporary path of `target` until `commit()` renames it, or `discard()` deletes it."""

    def __init__(self, target: str | os.PathLike[str]):
        self.target = Path(target)
        if self.target.is_dir():
            raise IsADirectoryError(f"cannot write {self.target}: it is a folder")
        folder = self.target.parent
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
        self.path = partial_path(self.target)
        self.done = False

    def commit(self) -> Path:
        """Rename the temporary file to the target (replacing it); returns the target."""
        if not self.done:
            os.replace(self.path, self.target)
            self.done = True
        return self.target

    def discard(self) -> None:
        """Delete the temporary file (the target, if it exists, is left as it was)."""
        if not self.done:
            self.done = True
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def finish(self, keep: bool) -> Path | None:
        """commit() when `keep`, else discard(); returns the target when kept."""
        if keep:
            return self.commit()
        self.discard()
        return None
