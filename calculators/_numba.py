"""A `jit` decorator for the calculators' Numba kernels, with a deliberate cache location.

Why this exists: `numba.njit(cache=True)` picks where to write its cache when the function is *decorated*, i.e. at
import time. If the package folder is read-only (a system-wide install, a container image) and neither
`NUMBA_CACHE_DIR` nor the user cache folder is writable, Numba raises
`RuntimeError: cannot cache function ... no locator available` from the `import` statement itself. Kernels here are
small and cheap to compile, so a missing cache must cost compile time, never an import.

Order of cache locations:

1. `NUMBA_CACHE_DIR` when the user set it (Numba's own rule, respected unchanged);
2. the package's `__pycache__` when writable (Numba's default, next to the module);
3. `~/.cache/posegraph/numba` (or `$XDG_CACHE_HOME/posegraph/numba`);
4. a per-user folder under the system temp dir;
5. no cache at all (compile on first call), with a single warning.

All kernels are compiled with `nogil=True` so that several graph executors on Python threads run them in parallel.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["jit", "cache_dir", "NUMBA_VERSION"]

NUMBA_VERSION: str = numba.__version__

_warned = False


def _user_cache_base() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "posegraph" / "numba"


def _temp_cache_base() -> Path:
    try:
        uid = str(os.getuid())
    except AttributeError:  # Windows
        uid = os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"posegraph-numba-{uid}"


def _writable_dir(path: Path) -> bool:
    """True when `path` exists (or can be created) and a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def cache_dir() -> str | None:
    """Where kernels of this package cache their machine code (None: caching is off).

    Computed with the same rules as `jit`, for diagnostics (`posegraph doctor`, bug reports).
    """
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return env
    here = Path(__file__).resolve().parent
    if _writable_dir(here / "__pycache__"):
        return str(here / "__pycache__")
    for base in (_user_cache_base(), _temp_cache_base()):
        if _writable_dir(base):
            return str(base)
    return None


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

    class _BaseDirLocator(user_wide):  # type: ignore[misc, valid-type]
        """Like Numba's user-wide locator, but rooted at `_base()`."""

        @staticmethod
        def _base() -> Path:  # pragma: no cover - overridden
            raise NotImplementedError

        def __init__(self, py_func: Any, py_file: str) -> None:
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = str(self._base() / self.get_suitable_cache_subpath(py_file))

    # Looked up at call time (not bound here) so that the folders follow the environment of the process.
    class PosegraphUserCacheLocator(_BaseDirLocator):
        _base = staticmethod(lambda: _user_cache_base())

    class PosegraphTempCacheLocator(_BaseDirLocator):
        _base = staticmethod(lambda: _temp_cache_base())

    class _Impl(impl_base):  # type: ignore[misc, valid-type]
        _locator_classes = [user_provided, in_tree, PosegraphUserCacheLocator, PosegraphTempCacheLocator]

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
