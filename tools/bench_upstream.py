"""posegraph against the loop its users would otherwise write: each family's upstream example code, re-implemented
here from its published source (same model files, same runtime and thread count, OpenCV decoding, JSONL out),
timed in one run with the posegraph Python API on the same media, interleaved, start-up subtracted.

    python tools/bench_upstream.py [--quick] [--repeat R] [--frames N] [--threads T] [--only FAMILY ...] [--cli]
                                   [--baseline-python OTHER_CHECKOUT/.venv/bin/python]

Every measurement runs in its own subprocess (`--worker`), so each side's peak RSS is its own and no side warms
the other's caches. Per family it prints the upstream loop's and posegraph's wall ms/frame (best of R,
interleaved) and CPU ms/frame (all threads, user + system: the steadier figure when the machine is shared), the
speed ratios (upstream time / posegraph time: > 1 means posegraph is faster) with their target, and the peak RSS of
both processes with the ratio's target. `--quick` runs 30 frames, one repeat. `--cli` adds a third side to the same
series, `posegraph run` with the same video and threads (`cli_worker`: the CLI's own entry point in the worker
process, timed like the API side from the first frame's landmarks to the end of the run, so that no second process's
start-up is subtracted). The sides of a row alternate their order from round to round.

The upstream loops (their behaviour per frame, written from reading each project's code):

- movenet: tensorflow/examples `lite/examples/pose_estimation/raspberry_pi/ml/movenet.py`: crop the previous
  frame's region with array slicing + `cv2.copyMakeBorder` for the part outside + `cv2.resize` (bilinear) to the
  model input, uint8 into the interpreter, keypoints mapped back through the crop region, next crop from the torso
  and body ranges (hip-centred square, the same rules as `calculators/movenet/kernels.py`).
- posenet_single: tfjs-models posenet `decodeSinglePose`: the frame padded to the model's aspect ratio
  (`padAndResizeTo`: `cv2.copyMakeBorder` + `cv2.resize`), per keypoint the heatmap argmax, its short offset,
  score = sigmoid of the logit, pose score = mean.
- posenet_multi: rwightman/posenet-python `decode_multi.py`: sigmoid scores, parts by `scipy.ndimage.
  maximum_filter` per keypoint (falls back to a numpy 3x3 maximum when scipy is missing), greedy decoding along the
  skeleton with `traverse_to_targ_keypoint` (nearest cell, displacement, short offset), NMS radius 20, the frame
  stretched to the model input with `cv2.resize` as its `_process_input` does.
- openpose: ildoonet/tf-pose-estimation `TfPoseEstimator.inference` (run_webcam.py's upsample 4) + `estimate_paf`
  on the BGR frame, with the TFLite model in place of the TF session; the TF post-process with OpenCV kernels and
  the C++ pafprocess re-written in Python/numpy (tools/upstream_loops/tfpose.py says why and what that costs).
- openpose_pinto: the TFLite demo published with that model, PINTO0309/MobileNetV2-PoseEstimation
  `tflite-usbcamera-cpu-sync.py` (letterbox on grey, learnopencv's contour-based part finder and PAF pairing).
- tinypose: PaddleDetection `deploy/python/det_keypoint_unite_infer.py` (PicoDet -> `expand_crop` ->
  `TopDownEvalAffine` -> PP-TinyPose -> `HRNetPostProcess` with DARK), both models on OpenVINO (f32, posegraph's
  settings) from the IR files the shipped graph uses, since Paddle's predictor is not available here
  (tools/upstream_loops/paddle_topdown.py).
- blazepose: MediaPipe 1.2.2's own PoseLandmarker (VIDEO and IMAGE running modes) from a separate environment
  (`--mediapipe-python`, default `/tmp/mpenv/bin/python`); skipped with a message when that Python cannot import
  mediapipe. blazepose_file is the user's whole script, file to file: VIDEO mode, the landmarks drawn with
  MediaPipe's `drawing_utils.draw_landmarks` (default pose style) on the frame, `cv2.VideoWriter` (mp4v) out, against
  posegraph's pose_tracking_cpu with `output_video_path` set too (as `posegraph run pose_tracking_cpu --input V
  --output out.mp4 --landmarks out.jsonl`: renderer + H.264 encoder, libx264 ultrafast through PyAV).

Each frame of both sides: decode (OpenCV for the upstream loops; posegraph's MediaSourceCalculator), BGR -> RGB
(the OpenPose demos work on the BGR frame), model, decode, one JSON line written to a buffered file. Interpreter
threads: `--threads` (default: what posegraph picks on this machine, one per core up to 4) for both sides
(OMP_NUM_THREADS for posegraph); MediaPipe's Tasks API has no thread setting, so it runs with its own.

After each row, both sides' JSON lines of the last run are compared (`agreement`): people are matched frame by
frame and the distance between the keypoints both sides report (score > 0.3) is printed in pixels (median and 90th
percentile), with the share of frames where both find the same number of people, so that a row is known to compare
equivalent work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MEDIA = SHARED / "media"
MODELS = SHARED / "models"
DEFAULT_VIDEO = MEDIA / "video_dance_single_synthetic.mp4"
MEDIAPIPE_TASK = MODELS / "reference" / "mediapipe_pose_landmarker_lite_2021.task"

# family -> (graph, extra side packets, target speed ratio); blazepose rows are added per mode.
FAMILIES = {
    "movenet": ("movenet_singlepose", {}, 1.2),
    "posenet_single": ("posenet_singlepose", {}, 1.2),
    "posenet_multi": ("posenet_multipose", {}, 1.2),
    "openpose": ("openpose_multipose", {}, 1.2),
    "openpose_pinto": ("openpose_multipose", {}, 1.2),
    "tinypose": ("tinypose_topdown", {}, 1.2),
}
# row -> (MediaPipe running mode, posegraph tracking, target, file to file: render + encode on both sides)
BLAZEPOSE_ROWS = {"blazepose_tracking": ("VIDEO", True, 1.8, False), "blazepose_static": ("IMAGE", False, 1.9, False),
                  "blazepose_file": ("VIDEO", True, 1.5, True)}
RSS_TARGET = 2.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    """CPU seconds of this process, all threads (user + system; `who=RUSAGE_CHILDREN`: of its ended children): on a
    busy shared machine a steadier measure of the work done than wall time."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def machine_busy_s() -> float | None:
    """CPU seconds every process on the machine has had since boot (/proc/stat: all but idle and iowait; steal too,
    time the hypervisor gave to others), or None where there is no /proc/stat. Around a run, minus the run's own CPU,
    it says how much of the machine others took meanwhile: a wall figure from a run that shared 2 cores with other
    benchmarks measures them as much as the run."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


# -- upstream loops (run inside a worker process) -----------------------------------------------------------------
def _interpreter(path: Path, threads: int):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - the fallback runtime
        from tflite_runtime.interpreter import Interpreter
    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    return interpreter


class MoveNetUpstream:
    """tensorflow/examples raspberry_pi `ml/movenet.py` `Movenet.detect`, per frame."""

    MIN_SCORE, TORSO, BODY = 0.2, 1.9, 1.2

    def __init__(self, threads: int):
        import numpy as np
        self.np = np
        self.it = _interpreter(MODELS / "movenet_singlepose_lightning_int8.tflite", threads)
        detail = self.it.get_input_details()[0]
        self.input_index = detail["index"]
        self.size = (int(detail["shape"][2]), int(detail["shape"][1]))
        self.output_index = self.it.get_output_details()[0]["index"]
        self.crop = None

    @staticmethod
    def init_crop(h: int, w: int) -> dict:
        if w > h:
            box_h = w / h
            y_min = (h / 2 - w / 2) / h
            return {"y_min": y_min, "x_min": 0.0, "y_max": y_min + box_h, "x_max": 1.0, "height": box_h, "width": 1.0}
        box_w = h / w
        x_min = (w / 2 - h / 2) / w
        return {"y_min": 0.0, "x_min": x_min, "y_max": 1.0, "x_max": x_min + box_w, "height": 1.0, "width": box_w}

    def crop_and_resize(self, image, c: dict):
        import cv2
        h, w = image.shape[:2]
        top = int(0 if c["y_min"] < 0 else c["y_min"] * h)
        bottom = int(h if c["y_max"] >= 1 else c["y_max"] * h)
        left = int(0 if c["x_min"] < 0 else c["x_min"] * w)
        right = int(w if c["x_max"] >= 1 else c["x_max"] * w)
        pad_top = int(0 - c["y_min"] * h if c["y_min"] < 0 else 0)
        pad_bottom = int((c["y_max"] - 1) * h if c["y_max"] >= 1 else 0)
        pad_left = int(0 - c["x_min"] * w if c["x_min"] < 0 else 0)
        pad_right = int((c["x_max"] - 1) * w if c["x_max"] >= 1 else 0)
        out = cv2.copyMakeBorder(image[top:bottom, left:right], pad_top, pad_bottom, pad_left, pad_right,
                                 cv2.BORDER_CONSTANT)
        return cv2.resize(out, self.size)

    def next_crop(self, kps, h: int, w: int) -> dict:
        np = self.np
        s = kps[:, 2]
        m = self.MIN_SCORE
        if not ((s[11] > m or s[12] > m) and (s[5] > m or s[6] > m)):  # torso visible
            return self.init_crop(h, w)
        ys, xs = kps[:, 0] * h, kps[:, 1] * w
        cy, cx = (ys[11] + ys[12]) / 2, (xs[11] + xs[12]) / 2
        torso = [5, 6, 11, 12]
        t_y, t_x = np.abs(cy - ys[torso]).max(), np.abs(cx - xs[torso]).max()
        ok = s >= self.MIN_SCORE
        b_y = np.abs(cy - ys[ok]).max() if ok.any() else 0.0
        b_x = np.abs(cx - xs[ok]).max() if ok.any() else 0.0
        half = np.amax([t_x * self.TORSO, t_y * self.TORSO, b_y * self.BODY, b_x * self.BODY])
        half = np.amin([half, np.amax([cx, w - cx, cy, h - cy])])
        if half > max(w, h) / 2:
            return self.init_crop(h, w)
        y0, x0, side = cy - half, cx - half, 2 * half
        return {"y_min": y0 / h, "x_min": x0 / w, "y_max": (y0 + side) / h, "x_max": (x0 + side) / w,
                "height": (y0 + side) / h - y0 / h, "width": (x0 + side) / w - x0 / w}

    def __call__(self, rgb) -> list:
        np = self.np
        h, w = rgb.shape[:2]
        if self.crop is None:
            self.crop = self.init_crop(h, w)
        c = self.crop
        tensor = self.crop_and_resize(rgb, c).astype(np.uint8)
        self.it.set_tensor(self.input_index, np.expand_dims(tensor, axis=0))
        self.it.invoke()
        kps = np.squeeze(self.it.get_tensor(self.output_index)).copy()
        kps[:, 0] = c["y_min"] + c["height"] * kps[:, 0]
        kps[:, 1] = c["x_min"] + c["width"] * kps[:, 1]
        self.crop = self.next_crop(kps, h, w)
        score = float(kps[:, 2].mean())
        return [{"score": score, "keypoints": kps[:, [1, 0, 2]].tolist()}] if score >= 0.2 else []


def _sigmoid(np, x):
    return 1.0 / (1.0 + np.exp(-x))


class PoseNetUpstream:
    """PoseNet MobileNetV1 (the Coral quantised model without decoder). single: tfjs `decodeSinglePose` after
    `padAndResizeTo`; multi: posenet-python `decode_multiple_poses` after `_process_input` (a stretch)."""

    # posenet-python's PARENT_CHILD_TUPLES (COCO-17 ids), the skeleton tree rooted at the nose.
    EDGES = [(0, 1), (1, 3), (0, 2), (2, 4), (0, 5), (5, 7), (7, 9), (5, 11), (11, 13), (13, 15), (0, 6), (6, 8),
             (8, 10), (6, 12), (12, 14), (14, 16)]

    def __init__(self, threads: int, multi: bool):
        import numpy as np
        self.np, self.multi = np, multi
        self.it = _interpreter(MODELS / "posenet_mobilenet_v1_075_353x481_quant_nodecoder.tflite", threads)
        detail = self.it.get_input_details()[0]
        self.input_index = detail["index"]
        self.in_h, self.in_w = int(detail["shape"][1]), int(detail["shape"][2])
        self.outputs = [(d["index"], d["quantization"]) for d in self.it.get_output_details()]
        self.stride = 16

    def _run(self, tensor):
        np = self.np
        self.it.set_tensor(self.input_index, tensor[None])
        self.it.invoke()
        maps = []
        for index, (scale, zero) in self.outputs:
            raw = self.it.get_tensor(index)[0]
            maps.append((raw.astype(np.float32) - zero) * scale)
        return maps

    def single(self, rgb) -> list:
        import cv2
        np = self.np
        h, w = rgb.shape[:2]
        target = self.in_w / self.in_h
        if w / h > target:  # padAndResizeTo: pad top/bottom or left/right to the target aspect ratio
            pad_h = int(round(w / target - h))
            top, bottom, left, right = pad_h // 2, pad_h - pad_h // 2, 0, 0
        else:
            pad_w = int(round(h * target - w))
            top, bottom, left, right = 0, 0, pad_w // 2, pad_w - pad_w // 2
        padded = cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_CONSTANT)
        tensor = cv2.resize(padded, (self.in_w, self.in_h))
        heatmaps, offsets, _ = self._run(tensor)
        gh, gw, k = heatmaps.shape
        flat = heatmaps.reshape(-1, k).argmax(axis=0)
        ys, xs = flat // gw, flat % gw
        ids = np.arange(k)
        scores = _sigmoid(np, heatmaps[ys, xs, ids])
        py = ys * self.stride + offsets[ys, xs, ids]
        px = xs * self.stride + offsets[ys, xs, ids + k]
        sy, sx = padded.shape[0] / self.in_h, padded.shape[1] / self.in_w
        x = (px * sx - left) / w
        y = (py * sy - top) / h
        score = float(scores.mean())
        if score < 0.3:
            return []
        return [{"score": score, "keypoints": np.stack([x, y, scores], axis=1).tolist()}]

    def _parts(self, scores, threshold: float):
        np = self.np
        try:
            from scipy.ndimage import maximum_filter
        except ImportError:  # pragma: no cover
            maximum_filter = None
        parts = []
        for kid in range(scores.shape[2]):
            kp = scores[:, :, kid].copy()
            kp[kp < threshold] = 0.0
            if maximum_filter is not None:
                mx = maximum_filter(kp, size=3, mode="constant")
            else:
                pad = np.pad(kp, 1)
                mx = np.max([pad[i:i + kp.shape[0], j:j + kp.shape[1]] for i in range(3) for j in range(3)], axis=0)
            for y, x in zip(*np.logical_and(kp == mx, kp > 0).nonzero()):
                parts.append((scores[y, x, kid], kid, np.array((y, x))))
        return parts

    def _traverse(self, edge, source, target_id, scores, offsets, displacements):
        np = self.np
        h, w = scores.shape[:2]
        src = np.clip(np.round(source / self.stride), a_min=0, a_max=[h - 1, w - 1]).astype(np.int32)
        displaced = source + displacements[src[0], src[1], edge]
        idx = np.clip(np.round(displaced / self.stride), a_min=0, a_max=[h - 1, w - 1]).astype(np.int32)
        return scores[idx[0], idx[1], target_id], idx * self.stride + offsets[idx[0], idx[1], target_id]

    def multi_pose(self, rgb) -> list:
        import cv2
        np = self.np
        h, w = rgb.shape[:2]
        tensor = cv2.resize(rgb, (self.in_w, self.in_h), interpolation=cv2.INTER_LINEAR)
        heatmaps, offsets, mid = self._run(tensor)
        scores = _sigmoid(np, heatmaps)
        gh, gw, k = scores.shape
        offsets = offsets.reshape(gh, gw, 2, -1).swapaxes(2, 3)
        n_edges = len(self.EDGES)
        fwd = mid[:, :, :2 * n_edges].reshape(gh, gw, 2, -1).swapaxes(2, 3)
        bwd = mid[:, :, 2 * n_edges:].reshape(gh, gw, 2, -1).swapaxes(2, 3)
        parts = sorted(self._parts(scores, 0.5), key=lambda p: p[0], reverse=True)
        max_poses, sq_nms = 10, 20.0 ** 2
        pose_coords = np.zeros((max_poses, k, 2))
        pose_kscores = np.zeros((max_poses, k))
        pose_scores = np.zeros(max_poses)
        count = 0
        for root_score, root_id, root in parts:
            root_xy = root * self.stride + offsets[root[0], root[1], root_id]
            if count and np.any(np.sum((pose_coords[:count, root_id] - root_xy) ** 2, axis=1) <= sq_nms):
                continue
            ks = np.zeros(k)
            kc = np.zeros((k, 2))
            ks[root_id], kc[root_id] = root_score, root_xy
            for edge in reversed(range(n_edges)):
                target, source = self.EDGES[edge]
                if ks[source] > 0.0 and ks[target] == 0.0:
                    ks[target], kc[target] = self._traverse(edge, kc[source], target, scores, offsets, bwd)
            for edge in range(n_edges):
                source, target = self.EDGES[edge]
                if ks[source] > 0.0 and ks[target] == 0.0:
                    ks[target], kc[target] = self._traverse(edge, kc[source], target, scores, offsets, fwd)
            if count:
                apart = np.sum((pose_coords[:count] - kc) ** 2, axis=2) > sq_nms
                score = np.sum(ks[np.all(apart, axis=0)]) / k
            else:
                score = np.sum(ks) / k
            if score >= 0.25:
                pose_scores[count], pose_kscores[count], pose_coords[count] = score, ks, kc
                count += 1
            if count >= max_poses:
                break
        sy, sx = h / self.in_h, w / self.in_w
        return [{"score": float(pose_scores[i]),
                 "keypoints": np.stack([pose_coords[i, :, 1] * sx / w, pose_coords[i, :, 0] * sy / h,
                                        pose_kscores[i]], axis=1).tolist()} for i in range(count)]

    def __call__(self, rgb) -> list:
        return self.multi_pose(rgb) if self.multi else self.single(rgb)


def make_loop(family: str, threads: int):
    """The upstream loop of `family`: a callable frame -> list of people (its `bgr_input` says which frame)."""
    if family == "movenet":
        return MoveNetUpstream(threads)
    if family == "openpose":
        from upstream_loops.tfpose import TfPoseUpstream
        return TfPoseUpstream(MODELS / "openpose_mobilenet_v2_dm10_368x432_weight_quant.tflite", threads)
    if family == "openpose_pinto":
        from upstream_loops.pinto_openpose import PintoOpenPoseUpstream
        return PintoOpenPoseUpstream(MODELS / "openpose_mobilenet_v2_dm10_368x432_weight_quant.tflite", threads)
    if family == "tinypose":
        from upstream_loops.paddle_topdown import PaddleTopDownUpstream
        return PaddleTopDownUpstream(MODELS / "openvino", threads)
    return PoseNetUpstream(threads, family == "posenet_multi")


def upstream_worker(family: str, video: str, frames: int, out_path: str, threads: int) -> dict:
    """The upstream loop over `frames` frames of `video`: OpenCV decode, RGB, model + decode, JSON lines."""
    import cv2
    start = time.perf_counter()
    loop = make_loop(family, threads)
    bgr_input = getattr(loop, "bgr_input", False)
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {video}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    first = True
    count = 0
    with open(out_path, "w") as out:
        while count < frames:
            ok, bgr = cap.read()
            if not ok:
                break
            poses = loop(bgr if bgr_input else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            out.write(json.dumps({"frame": count, "timestamp_us": int(count * 1e6 / fps), "poses": poses}) + "\n")
            count += 1
            if first:  # start-up = opening, first decode and the first (warm-up) inference
                first = False
                loop_start, loop_cpu = time.perf_counter(), cpu_s()
                startup = loop_start - start
    seconds = time.perf_counter() - loop_start
    return {"frames": count - 1, "seconds": seconds, "cpu_s": cpu_s() - loop_cpu, "startup_s": startup,
            "rss_mb": peak_rss_mb()}


def posegraph_worker(graph_name: str, video: str, frames: int, out_path: str, extra: dict) -> dict:
    """posegraph's Python API, file to file: the shipped graph with input_path and landmarks_path."""
    from posegraph import Graph

    start = time.perf_counter()
    graph = Graph(graph_name)
    stamps: list[float] = []
    first_cpu: list[float] = []

    def seen(packet) -> None:
        if not stamps:
            first_cpu.append(cpu_s())
        stamps.append(time.perf_counter())

    graph.observe_output("poses", seen)
    graph.start({"input_path": video, "output_video_path": "", "landmarks_path": out_path, "max_frames": frames,
                 **extra})
    graph.wait_until_done(timeout=900)
    end, end_cpu = time.perf_counter(), cpu_s()
    graph.close()
    # As for the upstream loops: timed from the first frame's result (start-up and warm-up frame subtracted) to the
    # end of the run (sinks flushed).
    return {"frames": len(stamps) - 1, "seconds": end - stamps[0], "cpu_s": end_cpu - first_cpu[0],
            "startup_s": stamps[0] - start, "rss_mb": peak_rss_mb()}


def cli_worker(graph_name: str, video: str, frames: int, out_path: str, flags: list[str]) -> dict:
    """`posegraph run GRAPH --input VIDEO --max-frames N --landmarks OUT --quiet FLAGS` in this process (the console
    script's entry point, `posegraph.cli.main`, with the same arguments), timed as the API side is: from the first
    frame's landmarks to the end of the run. Start-up measured in the run itself, not by a separate one-frame run:
    two processes' start-ups on a shared machine differ by more than a short video's frame loop takes."""
    start = time.perf_counter()
    from posegraph import cli
    from posegraph.calculators.io.landmarks_sink import LandmarksSinkCalculator
    from posegraph.graph import Graph

    first: list[tuple[float, float]] = []
    ends: list[tuple[float, float]] = []
    count = [0]
    process, wait = LandmarksSinkCalculator.process, Graph.wait_until_done

    def timed_process(self, ctx):  # the sink's write is the frame's last step, as the API side's observer is
        result = process(self, ctx)
        if not first:
            first.append((time.perf_counter(), cpu_s()))
        count[0] += 1
        return result

    def timed_wait(self, *args, **kwargs):  # the CLI waits once, then closes: its end, as the API side's
        result = wait(self, *args, **kwargs)
        ends.append((time.perf_counter(), cpu_s()))
        return result

    LandmarksSinkCalculator.process, Graph.wait_until_done = timed_process, timed_wait
    try:
        code = cli.main(["run", graph_name, "--input", video, "--max-frames", str(frames), "--landmarks", out_path,
                         "--quiet", *flags])
    finally:
        LandmarksSinkCalculator.process, Graph.wait_until_done = process, wait
    if code != 0 or not first or not ends:
        raise SystemExit(f"posegraph run {graph_name} failed (exit {code}, {count[0]} frames)")
    return {"frames": count[0] - 1, "seconds": ends[-1][0] - first[0][0], "cpu_s": ends[-1][1] - first[0][1],
            "startup_s": first[0][0] - start, "rss_mb": peak_rss_mb()}


MEDIAPIPE_SCRIPT = r"""
import json, resource, sys, time
import cv2, mediapipe as mp
from mediapipe.tasks import python as mpt
from mediapipe.tasks.python import vision
video, task, frames, mode, out_path, video_out = sys.argv[1:7]
frames = int(frames)
start = time.perf_counter()
opts = vision.PoseLandmarkerOptions(base_options=mpt.BaseOptions(model_asset_path=task),
                                    running_mode=getattr(vision.RunningMode, mode), num_poses=1)
lm = vision.PoseLandmarker.create_from_options(opts)
cap = cv2.VideoCapture(video)
fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
writer = None
if video_out:  # the Pose Landmarker example's drawing, written with OpenCV's VideoWriter
    from mediapipe.tasks.python.vision import drawing_styles, drawing_utils
    style = drawing_styles.get_default_pose_landmarks_style()
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(video_out, cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
count = 0
with open(out_path, "w") as out:
    while count < frames:
        ok, bgr = cap.read()
        if not ok:
            break
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        ts = int(count * 1000 / fps)
        res = lm.detect_for_video(image, ts) if mode == "VIDEO" else lm.detect(image)
        poses = [{"landmarks": [[p.x, p.y, p.z, p.visibility, p.presence] for p in pose]}
                 for pose in res.pose_landmarks]
        out.write(json.dumps({"frame": count, "timestamp_us": ts * 1000, "poses": poses}) + "\n")
        if writer is not None:
            for pose in res.pose_landmarks:
                drawing_utils.draw_landmarks(bgr, pose, vision.PoseLandmarksConnections.POSE_LANDMARKS, style)
            writer.write(bgr)
        count += 1
        if count == 1:
            loop_start = time.perf_counter()
            u = resource.getrusage(resource.RUSAGE_SELF); loop_cpu = u.ru_utime + u.ru_stime
            startup = loop_start - start
if writer is not None:
    writer.release()
seconds = time.perf_counter() - loop_start
u = resource.getrusage(resource.RUSAGE_SELF)
lm.close()
print(json.dumps({"frames": count - 1, "seconds": seconds, "cpu_s": u.ru_utime + u.ru_stime - loop_cpu,
                  "startup_s": startup,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""


# -- the driver --------------------------------------------------------------------------------------------------
def _run(cmd: list[str], env: dict) -> dict:
    """One worker's result, with `others_cores`: the cores other processes kept busy, on average, while it ran."""
    busy, own, start = machine_busy_s(), cpu_s(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} ...: exit {done.returncode}\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if busy is not None:
        others = machine_busy_s() - busy - (cpu_s(resource.RUSAGE_CHILDREN) - own)
        result["others_cores"] = max(0.0, others / (time.perf_counter() - start))
    return result


def mediapipe_python(given: str) -> str | None:
    if not Path(given).exists():
        return None
    ok = subprocess.run([given, "-c", "import mediapipe"], capture_output=True).returncode == 0
    return given if ok else None


def measure(row: str, args, tmp: Path, mp_python: str | None) -> dict | str:
    """Interleaved runs of both sides of one row: {'upstream': best, 'posegraph': best} or a skip message."""
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    me = [sys.executable, str(Path(__file__).resolve()), "--worker"]
    frames = args.frames + 1  # the first frame is the warm-up, subtracted with start-up
    if row in FAMILIES:
        graph, extra, _ = FAMILIES[row]
        up_cmd = me + ["upstream", row, str(args.video), str(frames), str(tmp / f"{row}_up.jsonl"), str(args.threads)]
        extra_json = json.dumps(extra)
        cli_flags = []
    else:
        if mp_python is None:
            return (f"skipped: {args.mediapipe_python} cannot import mediapipe (create it with "
                    f"`python -m venv /tmp/mpenv && /tmp/mpenv/bin/pip install mediapipe==1.2.2`... or pass "
                    f"--mediapipe-python)")
        mode, tracking, _, render = BLAZEPOSE_ROWS[row]
        extra = {"use_prev_landmarks": tracking}
        if render:
            extra["output_video_path"] = str(tmp / f"{row}_pg.mp4")
        graph, extra_json = "pose_tracking_cpu", json.dumps(extra)
        cli_flags = ([] if tracking else ["--static"]) + (["--output", str(tmp / f"{row}_cli.mp4")] if render else [])
        up_cmd = [mp_python, "-c", MEDIAPIPE_SCRIPT, str(args.video), str(MEDIAPIPE_TASK), str(frames), mode,
                  str(tmp / f"{row}_up.jsonl"), str(tmp / f"{row}_up.mp4") if render else ""]
    pg_cmd = me + ["posegraph", graph, str(args.video), str(frames), str(tmp / f"{row}_pg.jsonl"), extra_json]
    cmds = {"upstream": up_cmd, "posegraph": pg_cmd}
    if args.cli:
        cmds["cli"] = me + ["cli", graph, str(args.video), str(frames), str(tmp / f"{row}_cli.jsonl"),
                            json.dumps(cli_flags)]
    if args.baseline_python:
        cmds["baseline"] = [args.baseline_python, *pg_cmd[1:]]
        cmds["baseline"][-2] = str(tmp / f"{row}_bl.jsonl")
    results: dict[str, list[dict]] = {side: [] for side in cmds}
    for side, cmd in interleaved(cmds, args.repeat):
        results[side].append(_run(cmd, env))
    best: dict = {"agreement": agreement(tmp / f"{row}_up.jsonl", tmp / f"{row}_pg.jsonl",
                                         coco18=row.startswith("openpose"))}
    for side, runs in results.items():
        b = min(runs, key=lambda r: r["seconds"] / max(r["frames"], 1))
        b["ms_per_frame"] = 1e3 * b["seconds"] / max(b["frames"], 1)
        b["cpu_ms_per_frame"] = min(1e3 * r["cpu_s"] / max(r["frames"], 1) for r in runs)
        b["rss_mb"] = max(r["rss_mb"] for r in runs)
        b["runs_ms_per_frame"] = [1e3 * r["seconds"] / max(r["frames"], 1) for r in runs]
        best[side] = b
    return best


def interleaved(cmds: dict[str, list[str]], repeat: int) -> list[tuple[str, list[str]]]:
    """The runs of one row in the order they run: every side once per round, the order reversed every other round,
    so that no side always runs just after the same neighbour or at the same point of a drifting load."""
    order = list(cmds.items())
    return [pair for r in range(repeat) for pair in (order if r % 2 == 0 else order[::-1])]


def _points(pose: dict, coco18: bool):
    """(N x 2 normalised xy, N scores) of one JSON pose: `keypoints` [x, y, score] or `landmarks` [x, y, z,
    visibility, presence]; the OpenPose loops' COCO-18 reordered to COCO-17."""
    import numpy as np
    if "keypoints" in pose:
        a = np.asarray(pose["keypoints"], dtype=np.float64)
        if coco18:
            from upstream_loops.tfpose import COCO18_TO_COCO17
            a = a[list(COCO18_TO_COCO17)]
        return a[:, :2], a[:, 2]
    a = np.asarray(pose["landmarks"], dtype=np.float64)
    return a[:, :2], a[:, 3]


def agreement(up_path: Path, pg_path: Path, coco18: bool = False, min_score: float = 0.3) -> dict:
    """Keypoint agreement of two JSONL files of the same frames: people matched greedily by median distance;
    distances in pixels of keypoints both sides score above `min_score`; share of frames with as many people."""
    import numpy as np
    up = [json.loads(line) for line in up_path.read_text().splitlines()]
    pg = [json.loads(line) for line in pg_path.read_text().splitlines()]
    dists: list[float] = []
    same = 0
    for u, g in zip(up, pg):
        scale = np.array([g.get("width", 1), g.get("height", 1)], dtype=np.float64)
        same += len(u["poses"]) == len(g["poses"])
        taken: set[int] = set()
        for pose in u["poses"]:
            uxy, us = _points(pose, coco18)
            best = None
            for j, other in enumerate(g["poses"]):
                if j in taken:
                    continue
                gxy, gs = _points(other, False)
                both = (us > min_score) & (gs > min_score)
                if both.any():
                    d = np.hypot(*((uxy[both] - gxy[both]) * scale).T)
                    if best is None or np.median(d) < best[0]:
                        best = (float(np.median(d)), j, d)
            if best is not None:
                taken.add(best[1])
                dists.extend(best[2].tolist())
    frames = min(len(up), len(pg))
    return {"frames": frames, "same_count": same / max(frames, 1),
            "median_px": float(np.median(dists)) if dists else float("nan"),
            "p90_px": float(np.percentile(dists, 90)) if dists else float("nan"), "keypoints": len(dists)}


def target_of(row: str) -> float:
    return FAMILIES[row][2] if row in FAMILIES else BLAZEPOSE_ROWS[row][2]


def report(rows: dict[str, dict | str], args) -> None:
    print(f"\nposegraph vs upstream loops: {args.video.name}, {args.frames} frames after a warm-up frame, "
          f"{args.threads} interpreter threads, best of {args.repeat} interleaved runs, start-up subtracted")
    header = (f"{'family':<20} {'upstream':>9} {'posegraph':>9} {'ratio':>6} {'target':>6} {'met':>3} | "
              f"{'cpu up':>7} {'cpu pg':>7} {'ratio':>6} {'met':>3} | {'RSS up':>7} {'RSS pg':>7} {'ratio':>6} "
              f"{'target':>6} {'met':>3}")
    print(header)
    print(f"{'':<20} {'wall ms/frame':^38} | {'CPU ms/frame (all threads)':^30} | {'peak RSS, MB':^36}")
    print("-" * len(header))
    for row, r in rows.items():
        if isinstance(r, str):
            print(f"{row:<20} {r}")
            continue
        up, pg = r["upstream"], r["posegraph"]
        ratio = up["ms_per_frame"] / pg["ms_per_frame"]
        cpu_ratio = up["cpu_ms_per_frame"] / pg["cpu_ms_per_frame"]
        rss = pg["rss_mb"] / up["rss_mb"]
        target = target_of(row)
        yes = lambda ok: "yes" if ok else "no"  # noqa: E731
        print(f"{row:<20} {up['ms_per_frame']:9.2f} {pg['ms_per_frame']:9.2f} {ratio:5.2f}x {target:5.2f}x "
              f"{yes(ratio >= target):>3} | {up['cpu_ms_per_frame']:7.2f} {pg['cpu_ms_per_frame']:7.2f} "
              f"{cpu_ratio:5.2f}x {yes(cpu_ratio >= target):>3} | {up['rss_mb']:7.0f} {pg['rss_mb']:7.0f} "
              f"{rss:5.2f}x {RSS_TARGET:5.1f}x {yes(rss <= RSS_TARGET):>3}")
    print("\nsame work? keypoints of the last runs, upstream vs posegraph (both scored > 0.3), pixels:")
    for row, r in rows.items():
        if isinstance(r, dict):
            a = r["agreement"]
            print(f"{row:<20} median {a['median_px']:5.1f} px, 90th percentile {a['p90_px']:5.1f} px over "
                  f"{a['keypoints']} keypoints; same number of people in {100 * a['same_count']:.0f}% of "
                  f"{a['frames']} frames")
    cli = {row: r for row, r in rows.items() if isinstance(r, dict) and "cli" in r}
    if cli:
        print("\n`posegraph run` (the CLI, same video and threads, same interleaved series) vs the upstream loops:")
        for row, r in cli.items():
            up, c = r["upstream"], r["cli"]
            print(f"{row:<20} wall {up['ms_per_frame']:7.2f} vs {c['ms_per_frame']:7.2f} ms/frame "
                  f"({up['ms_per_frame'] / c['ms_per_frame']:.2f}x, target {target_of(row):.2f}x)   CPU "
                  f"{up['cpu_ms_per_frame']:7.2f} vs {c['cpu_ms_per_frame']:7.2f} ms/frame "
                  f"({up['cpu_ms_per_frame'] / c['cpu_ms_per_frame']:.2f}x)   start-up {c['startup_s']:.2f} s, "
                  f"RSS {c['rss_mb']:.0f} MB")
    baseline = {row: r for row, r in rows.items() if isinstance(r, dict) and "baseline" in r}
    if baseline:
        print(f"\nposegraph now vs the baseline build ({args.baseline_python}), same run:")
        for row, r in baseline.items():
            pg, bl = r["posegraph"], r["baseline"]
            print(f"{row:<20} wall {bl['ms_per_frame']:7.2f} -> {pg['ms_per_frame']:7.2f} ms/frame "
                  f"({bl['ms_per_frame'] / pg['ms_per_frame']:.2f}x)   CPU {bl['cpu_ms_per_frame']:7.2f} -> "
                  f"{pg['cpu_ms_per_frame']:7.2f} ms/frame ({bl['cpu_ms_per_frame'] / pg['cpu_ms_per_frame']:.2f}x)   "
                  f"RSS {bl['rss_mb']:.0f} -> {pg['rss_mb']:.0f} MB")
    print("speed ratios = upstream ms/frame / posegraph ms/frame (> 1: posegraph faster), wall and CPU; "
          "RSS ratio = posegraph peak RSS / upstream peak RSS (target: at most 2x)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        side, name, video, frames, out_path, last = argv[1:7]
        if side == "upstream":
            result = upstream_worker(name, video, int(frames), out_path, int(last))
        elif side == "cli":
            result = cli_worker(name, video, int(frames), out_path, json.loads(last))
        else:
            result = posegraph_worker(name, video, int(frames), out_path, json.loads(last))
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 frames, one repeat")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--frames", type=int, default=119)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--only", nargs="*", default=None,
                        help=f"rows to run: {', '.join([*FAMILIES, *BLAZEPOSE_ROWS])}")
    parser.add_argument("--mediapipe-python", default="/tmp/mpenv/bin/python")
    parser.add_argument("--cli", action="store_true",
                        help="also time `posegraph run` (the CLI, same arguments, timed inside its process from the "
                             "first frame's landmarks to the end of the run), interleaved with the other sides")
    parser.add_argument("--baseline-python", default=None,
                        help="also run posegraph's side with this interpreter (e.g. another checkout's venv), "
                             "interleaved, for before/after figures")
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.repeat = 30, 1
    if not args.video.exists():
        print(f"error: {args.video} not found (the shared media live in {MEDIA})", file=sys.stderr)
        return 2
    mp_python = mediapipe_python(args.mediapipe_python)
    rows: dict[str, dict | str] = {}
    with tempfile.TemporaryDirectory(prefix="bench_upstream_") as tmp:
        for row in [*FAMILIES, *BLAZEPOSE_ROWS]:
            if args.only and row not in args.only:
                continue
            print(f"measuring {row} ...", file=sys.stderr, flush=True)
            rows[row] = measure(row, args, Path(tmp), mp_python)
    report(rows, args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
