"""The `jit` helper never fails at import because of the Numba cache, and picks its cache folder deliberately."""

from __future__ import annotations

import importlib.util
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


@pytest.mark.skipif(_numba._CACHE_CLASS is None, reason="Numba caching internals not found")
def test_falls_back_to_user_then_temp_cache(monkeypatch, tmp_path):
    from numba.core import caching

    in_tree = getattr(caching, "InTreeCacheLocator", None) or caching._InTreeCacheLocator
    # Package folder not writable, and ~/.cache not creatable (a file is in the way): the temp folder is used.
    monkeypatch.setattr(in_tree, "from_function", classmethod(lambda cls, f, p: None))
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    monkeypatch.setattr(_numba, "_user_cache_base", lambda: blocker / "posegraph" / "numba")
    monkeypatch.setattr(_numba, "_temp_cache_base", lambda: tmp_path / "tmpcache")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    import numba
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")  # read from the environment when numba was imported
    mod = _write_kernel_module(tmp_path, "pg_numba_fallback")
    assert mod.add(1, 1) == 2
    path = mod.add._cache._impl.locator.get_cache_path()
    assert path.startswith(str(tmp_path / "tmpcache"))


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
