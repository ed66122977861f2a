"""The process-wide model pool: one node at a time per model, reuse after release, nothing reused that changed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from posegraph.calculators.inference.model_pool import ModelPool

pytestmark = pytest.mark.timeout(60)

SHARED = Path(os.environ.get("POSEGRAPH_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
DETECTOR = SHARED / "models" / "blazepose_pose_detection.tflite"
if not DETECTOR.is_file():
    pytest.skip(f"shared models not found at {DETECTOR.parent}", allow_module_level=True)


def test_a_released_model_is_leased_again_and_gives_the_same_results():
    pool = ModelPool()
    lease = pool.lease(DETECTOR, num_threads=1)
    image = np.random.default_rng(0).random((1, 224, 224, 3), np.float32)
    expected = lease.model.run(image)
    lease.release()
    lease.release()  # idempotent: the model is pooled once
    assert pool.idle_count() == 1
    again = pool.lease(DETECTOR, num_threads=1)
    assert again.model is lease.model and pool.idle_count() == 0
    assert all(np.array_equal(a, b) for a, b in zip(again.model.run(image), expected))


def test_leases_held_at_once_get_their_own_models_and_settings_are_part_of_the_key():
    pool = ModelPool()
    one, two = pool.lease(DETECTOR, num_threads=1), pool.lease(DETECTOR, num_threads=1)
    other = pool.lease(DETECTOR, num_threads=2)
    assert len({id(one.model), id(two.model), id(other.model)}) == 3
    for lease in (one, two, other):
        lease.release()
    assert pool.idle_count() == 3
    assert pool.lease(DETECTOR, num_threads=2).model is other.model
    assert pool.clear() == 2 and pool.idle_count() == 0


def test_a_failed_or_running_model_is_dropped_not_pooled():
    pool = ModelPool()
    failed = pool.lease(DETECTOR)
    failed.release(reusable=False)
    running = pool.lease(DETECTOR)
    running.model._lock.acquire()  # as a node abandoned by the watchdog while its model runs
    try:
        running.release()
    finally:
        running.model._lock.release()
    assert pool.idle_count() == 0


def test_a_rewritten_model_file_is_loaded_again(tmp_path):
    path = tmp_path / "detector.tflite"
    shutil.copyfile(DETECTOR, path)
    pool = ModelPool()
    first = pool.lease(path)
    first.release()
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = pool.lease(path)
    assert second.model is not first.model
    assert pool.idle_count() == 0  # the stale model was dropped, not kept beside the new one
