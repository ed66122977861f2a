"""A `jit` decorator for the calculators' Numba kernels, with a deliberate cache location.

Why this exists: `numba.njit(cache=True)` picks where to write its cache when the function is *decorated*, i.e. at
import time. If the package folder is read-only (a system-wide install, a container image) and neither
`NUMBA_CACHE_DIR` nor the user cache folder is writable, Numba raises
`RuntimeError: cannot cache function ... no locator available` from the `import` statement itself. Kernels here are
small and cheap to compile, so a missing cache must cost compile time, never an import.

Order of cache locations:

1. `NUMBA_CACHE_DIR` when the user set it (Numba's own rule, respected unchanged);
2. the package's `__pycache__` when writable and safe (Numba's default, next to the module);
3. `$XDG_CACHE_HOME/posegraph/numba` (default `~/.cache/posegraph/numba`), created with mode 0700;
4. no cache at all (compile on first call), with a single one-line warning.

Numba unpickles the index files it finds in its cache folder, so whoever can write there can run code in this
process. A folder is therefore used only if it (and the folder holding it) is owned by this user and not writable by
group or others; anything else is refused. There is deliberately no fallback to a shared temp folder: a predictable
name under `/tmp` can be planted by another user before we create it.

All kernels are compiled with `nogil=True` so that several graph executors on Python threads run them in parallel.
"""

from __future__ import annotations

import os
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["jit", "cache_dir", "unsafe_reason", "NUMBA_VERSION"]

NUMBA_VERSION: str = numba.__version__

_warned = False


def _user_cache_base() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "posegraph" / "numba"


def unsafe_reason(path: Path) -> str | None:
    """Why `path` (an existing folder) must not hold a cache that gets unpickled, or None when it is safe:
    it and its parent must be owned by this user and writable by nobody else (on POSIX)."""
    if not hasattr(os, "getuid"):
        return None  # Windows: per-user profile folders, ACLs rather than modes
    uid = os.getuid()
    for folder in (path, path.parent):
        try:
            st = folder.stat()
        except OSError as exc:
            return f"cannot check {folder}: {exc.strerror}"
        if not stat.S_ISDIR(st.st_mode):
            return f"{folder} is not a folder"
        if st.st_uid != uid:
            return f"{folder} is owned by uid {st.st_uid}, not by this user ({uid})"
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return f"{folder} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def _ensure_private_dir(path: Path) -> str | None:
    """Create `path` (mode 0700) if missing; None when it is usable for a cache, else why not."""
    try:
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(mode=0o700, exist_ok=True)  # ~/.cache/posegraph: private too (checked below)
        path.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        return f"cannot create {path}: {exc.strerror or exc}"
    reason = unsafe_reason(path)
    if reason:
        return reason
    try:
        tempfile.TemporaryFile(dir=path).close()
    except OSError as exc:
        return f"cannot write in {path}: {exc.strerror or exc}"
    return None


def _usable_in_tree(path: Path) -> bool:
    """The package's `__pycache__`: used only if it exists or can be made, is writable, and is safe."""
    try:
        path.mkdir(exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return unsafe_reason(path) is None


def cache_dir() -> str | None:
    """Where kernels of this package cache their machine code (None: caching is off).

    Computed with the same rules as `jit`, for diagnostics (`posegraph doctor`, bug reports).
    """
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return env
    here = Path(__file__).resolve().parent
    if _usable_in_tree(here / "__pycache__"):
        return str(here / "__pycache__")
    base = _user_cache_base()
    return str(base) if _ensure_private_dir(base) is None else None


def _make_cache_class() -> type | None:
    """A `FunctionCache` whose locator list ends with our user and temp folders.

    Built on Numba internals (stable since 0.4x, renamed without underscores in 0.6x); returns None when they are not
    found, in which case `jit` falls back to Numba's own `cache=True` and, failing that, no cache.
    """
    try:
        from numba.core import caching as nc
    except ImportError:  # pragma: no cover - very old / very new numba
        return None

    def pick(*names: str) -> Any:
        for name in names:
            obj = getattr(nc, name, None)
            if obj is not None:
                return obj
        raise AttributeError(names[0])

    try:
        user_provided = pick("UserProvidedCacheLocator", "_UserProvidedCacheLocator")
        in_tree = pick("InTreeCacheLocator", "_InTreeCacheLocator")
        user_wide = pick("UserWideCacheLocator", "_UserWideCacheLocator")
        function_cache = nc.FunctionCache
        impl_base = nc.CompileResultCacheImpl
    except AttributeError:
        return None

    class SafeInTreeCacheLocator(in_tree):  # type: ignore[misc, valid-type]
        """Numba's ``__pycache__`` locator, refusing a folder someone else can write to."""

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            found = super().from_function(py_func, py_file)
            if found is not None and unsafe_reason(Path(found.get_cache_path())) is not None:
                return None
            return found

    class PosegraphUserCacheLocator(user_wide):  # type: ignore[misc, valid-type]
        """Like Numba's user-wide locator, but rooted at `_user_cache_base()` (looked up at call time, so it
        follows the environment of the process), created 0700 and refused unless private to this user."""

        def __init__(self, py_func: Any, py_file: str) -> None:
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._base = _user_cache_base()
            self._cache_path = str(self._base / self.get_suitable_cache_subpath(py_file))

        def ensure_cache_path(self) -> None:
            reason = _ensure_private_dir(self._base)
            if reason:
                raise PermissionError(reason)
            path = Path(self._cache_path)
            path.mkdir(mode=0o700, exist_ok=True)
            reason = unsafe_reason(path)
            if reason:
                raise PermissionError(reason)
            tempfile.TemporaryFile(dir=path).close()

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            if not os.path.exists(py_file):
                return None
            self = cls(py_func, py_file)
            try:
                self.ensure_cache_path()
            except OSError as exc:
                _warn_once(f"posegraph: Numba cache disabled ({exc}); kernels compile on first use")
                return None
            return self

    class _Impl(impl_base):  # type: ignore[misc, valid-type]
        _locator_classes = [user_provided, SafeInTreeCacheLocator, PosegraphUserCacheLocator]

    class PosegraphFunctionCache(function_cache):  # type: ignore[misc, valid-type]
        _impl_class = _Impl

    return PosegraphFunctionCache


_CACHE_CLASS = _make_cache_class()


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def jit(fn: F | None = None, *, cache: bool = True, **options: Any) -> F | Callable[[F], F]:
    """`numba.njit(nogil=True, cache=...)` that never fails at import because of the cache.

    Use as `@jit` or `@jit(fastmath=False, ...)`; options go to `numba.njit`. `nogil` defaults to True.
    """
    options.setdefault("nogil", True)

    def decorate(func: F) -> F:
        if not cache or os.environ.get("POSEGRAPH_NUMBA_CACHE", "1") == "0":
            return numba.njit(cache=False, **options)(func)
        if _CACHE_CLASS is not None:
            dispatcher = numba.njit(cache=False, **options)(func)
            try:
                dispatcher._cache = _CACHE_CLASS(dispatcher.py_func)
                return dispatcher
            except Exception as exc:  # no locator: read-only everywhere, odd file systems
                _warn_once(f"posegraph: Numba cache disabled ({exc}); kernels compile on first use")
                return dispatcher
        try:
            return numba.njit(cache=True, **options)(func)
        except Exception as exc:
            _warn_once(f"posegraph: Numba cache disabled ({exc}); kernels compile on first use")
            return numba.njit(cache=False, **options)(func)

    if fn is not None:
        return decorate(fn)
    return decorate
