"""tools/bench_upstream.py's upstream loops do the same work as posegraph: the re-written pafprocess gives the
independent reference's people, and on 3 frames of the benchmark video each new row's upstream loop finds the
same people as posegraph with keypoints a few pixels apart (the MediaPipe row is skipped without its venv)."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.openpose.pafprocess_reference import decode

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"


def _load_tool():
    if "bench_upstream" in sys.modules:
        return sys.modules["bench_upstream"]
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))  # for its upstream_loops package
    spec = importlib.util.spec_from_file_location("bench_upstream", TOOLS / "bench_upstream.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_upstream"] = module
    spec.loader.exec_module(module)
    return module


bench = _load_tool()


def test_pafprocess_rewrite_matches_the_reference(models, media):
    import cv2
    from upstream_loops.tfpose import PafProcess, TfPoseUpstream
    loop = TfPoseUpstream(models / "openpose_mobilenet_v2_dm10_368x432_weight_quant.tflite", 1)
    for name, people in (("people_two_walking_snow.bmp", 2), ("people_several_closeup_partial.jpg", 4)):
        bgr = cv2.imread(str(media / name))
        peaks, heat, paf = loop.maps(bgr)
        ours = PafProcess().run(peaks, heat, paf)
        raw = loop.it.get_tensor(loop.output_index)[0]
        ref = decode(raw[:, :, :19], raw[:, :, 19:])
        assert len(ours) == len(ref) == people
        for (parts, score), (ref_parts, ref_score) in zip(ours, ref):
            assert score == pytest.approx(ref_score, rel=1e-5)
            for part, ref_part in zip(parts, ref_parts):
                if part is None:
                    assert ref_part[2] == 0
                else:  # the reference gives pixel centres in heatmap cells: (x + 0.5) / 4
                    assert (part[0] + 0.5) / 4 == pytest.approx(ref_part[0])
                    assert (part[1] + 0.5) / 4 == pytest.approx(ref_part[1])


def test_pinto_demo_finds_the_people_tf_pose_finds(models, media):
    """PINTO0309's demo (letterbox, contour part finder) and tf-pose (stretch, pafprocess) on the same model: each
    of tf-pose's two walkers is one of the demo's people, the parts both find a few model pixels apart."""
    import cv2
    from upstream_loops.pinto_openpose import PintoOpenPoseUpstream
    from upstream_loops.tfpose import TfPoseUpstream
    model = models / "openpose_mobilenet_v2_dm10_368x432_weight_quant.tflite"
    bgr = cv2.imread(str(media / "people_two_walking_snow.bmp"))
    h, w = bgr.shape[:2]
    tf_people = TfPoseUpstream(model, 1)(bgr)
    pinto_people = PintoOpenPoseUpstream(model, 1)(bgr)
    assert len(tf_people) == 2
    for person in tf_people:
        ref = np.asarray(person["keypoints"])
        best = None
        for other in pinto_people:
            kp = np.asarray(other["keypoints"])
            both = (ref[:, 2] > 0) & (kp[:, 2] > 0)
            if both.sum() >= 8:
                d = np.hypot((ref[both, 0] - kp[both, 0]) * w, (ref[both, 1] - kp[both, 1]) * h)
                best = d if best is None or np.median(d) < np.median(best) else best
        assert best is not None
        assert np.median(best) < 0.02 * max(w, h), best


@pytest.mark.parametrize("row", ["openpose", "tinypose", "blazepose_file"])
def test_upstream_loop_agrees_with_posegraph(row, shared, tmp_path, capsys):
    if row == "tinypose":
        pytest.importorskip("openvino")
    out = tmp_path / "rows.json"
    assert bench.main(["--frames", "3", "--repeat", "1", "--only", row, "--json", str(out)]) == 0
    result = json.loads(out.read_text())[row]
    if isinstance(result, str):
        pytest.skip(result)
    assert result["upstream"]["frames"] == result["posegraph"]["frames"] == 3
    agree = result["agreement"]
    assert agree["frames"] == 4 and agree["same_count"] == 1.0
    assert agree["keypoints"] >= 4 * 12
    assert agree["median_px"] < 6.0 and agree["p90_px"] < 12.0, agree
    assert np.isfinite(result["posegraph"]["cpu_ms_per_frame"])


def test_sides_alternate_their_order_every_other_round():
    runs = bench.interleaved({"upstream": ["u"], "posegraph": ["p"], "cli": ["c"]}, 3)
    assert [side for side, _ in runs] == ["upstream", "posegraph", "cli", "cli", "posegraph", "upstream",
                                          "upstream", "posegraph", "cli"]
    assert runs[0][1] == ["u"]


def test_cli_worker_times_the_frame_loop_of_posegraph_run(shared, tmp_path):
    """The CLI side: `posegraph run`'s entry point in this process, timed from the first frame's landmarks to the
    end of the run (start-up apart), every frame written, and the timing hooks taken out again."""
    from posegraph.calculators.io.landmarks_sink import LandmarksSinkCalculator
    from posegraph.graph import Graph
    process, wait = LandmarksSinkCalculator.process, Graph.wait_until_done
    out = tmp_path / "cli.jsonl"
    r = bench.cli_worker("movenet_singlepose", str(bench.DEFAULT_VIDEO), 4, str(out), [])
    assert r["frames"] == 3  # the first frame is the warm-up, counted in start-up
    assert len(out.read_text().splitlines()) == 4
    assert 0 < r["seconds"] < 30 and r["cpu_s"] > 0 and r["startup_s"] > 0
    assert LandmarksSinkCalculator.process is process and Graph.wait_until_done is wait
    with pytest.raises(SystemExit, match="failed"):
        bench.cli_worker("movenet_singlepose", str(tmp_path / "missing.mp4"), 4, str(out), [])
    assert LandmarksSinkCalculator.process is process


def test_machine_busy_time_counts_this_process():
    before = bench.machine_busy_s()
    if before is None:
        pytest.skip("no /proc/stat")
    start = time.process_time()
    while time.process_time() - start < 0.3:
        pass
    assert bench.machine_busy_s() - before >= 0.25
