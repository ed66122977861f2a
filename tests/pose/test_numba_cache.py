"""The `jit` helper never fails at import because of the Numba cache, and picks its cache folder deliberately."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
import warnings

import pytest

from posegraph.calculators import _numba

pytestmark = pytest.mark.timeout(120)


def _load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _write_kernel_module(tmp_path, name):
    src = tmp_path / f"{name}.py"
    src.write_text("from posegraph.calculators._numba import jit\n\n@jit\ndef add(a, b):\n    return a + b\n")
    return _load_module(src, name)


def test_jit_compiles_and_is_nogil(tmp_path):
    mod = _write_kernel_module(tmp_path, "pg_numba_basic")
    assert mod.add(2, 3) == 5
    assert mod.add.targetoptions.get("nogil") is True


def test_cache_dir_respects_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "nc"))
    assert _numba.cache_dir() == str(tmp_path / "nc")
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert _numba.cache_dir() is not None


def _no_in_tree_and_no_env(monkeypatch):
    from numba.core import caching

    in_tree = getattr(caching, "InTreeCacheLocator", None) or caching._InTreeCacheLocator
    monkeypatch.setattr(in_tree, "from_function", classmethod(lambda cls, f, p: None))  # package folder read-only
    monkeypatch.setattr(_numba, "_usable_in_tree", lambda path: False)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    import numba
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")  # read from the environment when numba was imported


@pytest.mark.skipif(_numba._CACHE_CLASS is None, reason="Numba caching internals not found")
def test_falls_back_to_a_private_user_cache(monkeypatch, tmp_path):
    _no_in_tree_and_no_env(monkeypatch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    mod = _write_kernel_module(tmp_path, "pg_numba_fallback")
    assert mod.add(1, 1) == 2
    path = mod.add._cache._impl.locator.get_cache_path()
    base = tmp_path / "xdg" / "posegraph" / "numba"
    assert path.startswith(str(base))
    assert stat.S_IMODE(base.stat().st_mode) == 0o700
    assert _numba.cache_dir() == str(base)  # never a shared temp folder


@pytest.mark.skipif(_numba._CACHE_CLASS is None or not hasattr(os, "getuid"), reason="POSIX, Numba internals")
@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_a_cache_folder_others_can_write_is_refused(monkeypatch, tmp_path, mode):
    _no_in_tree_and_no_env(monkeypatch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    base = tmp_path / "xdg" / "posegraph" / "numba"
    base.mkdir(parents=True, mode=0o700)
    os.chmod(base, mode)  # as if planted by someone else, or shared by mistake
    monkeypatch.setattr(_numba, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = _write_kernel_module(tmp_path, f"pg_numba_unsafe_{mode:o}")
    assert mod.add(2, 2) == 4  # works, uncached
    assert type(mod.add._cache).__name__ == "NullCache"
    messages = [str(w.message) for w in caught if "cache disabled" in str(w.message)]
    assert len(messages) == 1 and "writable by group or others" in messages[0]
    assert "\n" not in messages[0]
    assert _numba.cache_dir() is None


def test_a_folder_owned_by_someone_else_is_refused(monkeypatch, tmp_path):
    folder = tmp_path / "c"
    folder.mkdir(mode=0o700)
    assert _numba.unsafe_reason(folder) is None
    if not hasattr(os, "getuid"):
        return
    monkeypatch.setattr(os, "getuid", lambda: 4242)
    assert "owned by uid" in _numba.unsafe_reason(folder)


def test_no_locator_means_no_cache_not_a_crash(monkeypatch, tmp_path):
    def broken(py_func):
        raise RuntimeError("cannot cache function: no locator available")

    monkeypatch.setattr(_numba, "_CACHE_CLASS", broken)
    monkeypatch.setattr(_numba, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = _write_kernel_module(tmp_path, "pg_numba_nocache")
    assert mod.add(4, 5) == 9
    assert any("cache disabled" in str(w.message) for w in caught)
