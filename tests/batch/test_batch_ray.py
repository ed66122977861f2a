"""The Ray engine on a local 2-CPU Ray: same outputs as `posegraph run`, both transfers, an actor that dies."""

from __future__ import annotations

from pathlib import Path

import pytest

from posegraph.batch import read_manifest, run_batch

from .conftest import POSE_GRAPH, POSE_MAX_FRAMES, assert_same_jsonl, ok_counts, single_run

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'posegraph[ray]'): the Ray engine tests "
                                        "are skipped")

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 2 CPUs. Started in the main thread: Ray's GCS and raylet are tied to the thread that starts
    them (parent-death signal) and die with it. The wait is bounded by this module's pytest timeout, which covers
    fixture setup."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_bytes_transfer_matches_single_runs(tmp_path, media, pose_singles, local_ray):
    names = ["video_squats_woman.mp4", "yoga_tree_pose.jpeg", "negative_cat.bmp"]
    out = tmp_path / "out"
    summary = run_batch(POSE_GRAPH, [str(media / n) for n in names], out, engine="ray", transfer="bytes",
                        max_frames=POSE_MAX_FRAMES, video=".mp4")
    assert (summary.ok, summary.failed) == (3, 0), summary.text()
    assert summary.engine["engine"] == "ray" and summary.engine["transfer"] == "bytes"
    assert summary.engine["workers"] == 2                       # one single-threaded actor per CPU
    for name in names:
        stem = Path(name).stem
        assert_same_jsonl(out / f"{stem}.jsonl", pose_singles / f"{stem}.jsonl")
        assert (out / f"{stem}.mp4").read_bytes() == (pose_singles / f"{stem}.mp4").read_bytes()
    assert ray.is_initialized()                                  # a Ray we did not start is left running
    again = run_batch(POSE_GRAPH, [str(media / n) for n in names], out, engine="ray", max_frames=POSE_MAX_FRAMES,
                      video=".mp4")
    assert (again.ok, again.skipped) == (0, 3)


def test_ray_actor_dies_mid_batch_then_rerun_completes_everything_once(tmp_path, media, crash_graph, calcs,
                                                                      local_ray):
    names = ["video_man_dancing_fullbody.mp4", "video_dance_single_synthetic.mp4", "video_squats_woman.mp4",
             "figure_skater_seq_00001.jpg", "figure_skater_seq_00104.jpg", "yoga_warrior2_beach.jpg"]
    token = tmp_path / "crash.token"
    token.touch()
    side = {"crash_on": names[0], "crash_token": str(token)}
    out = tmp_path / "out"
    inputs = [str(media / n) for n in names]
    first = run_batch(crash_graph, inputs, out, engine="ray", transfer="paths", in_flight=2, max_frames=8,
                      side=side, preload=[calcs], retries=0)
    assert not token.exists()
    assert (first.ok, first.failed) == (5, 1), first.text()
    assert first.failures[0]["input"] == inputs[0] and "died" in first.failures[0]["error"]
    assert not (out / "video_man_dancing_fullbody.jsonl").exists()

    second = run_batch(crash_graph, inputs, out, engine="ray", transfer="paths", max_frames=8, side=side,
                       preload=[calcs])
    assert (second.ok, second.skipped, second.failed) == (1, 5, 0), second.text()
    assert ok_counts(out) == {Path(n).stem: 1 for n in names}
    assert {e["status"] for e in read_manifest(out) if e["run"] == second.run} == {"ok", "skipped"}
    singles = tmp_path / "singles"
    for name in names:
        single_run(crash_graph, media / name, singles, max_frames=8, side={"crash_on": "none"})
        assert_same_jsonl(out / f"{Path(name).stem}.jsonl", singles / f"{Path(name).stem}.jsonl")
