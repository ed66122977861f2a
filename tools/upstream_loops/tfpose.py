"""tf-pose-estimation (ildoonet) `TfPoseEstimator.inference` + `PoseEstimator.estimate_paf`, per frame, with the
TFLite model of graphs/openpose_multipose.pbtxt (PINTO0309's MobileNetV2 trained with tf-pose-estimation).

Upstream (tf_pose/estimator.py with run_webcam.py's and run.py's default `--resize-out-ratio 4.0`; run_video.py
calls `inference(image)` with the default upsample 1.0, which with this model finds nobody in the benchmark video,
so 4 is the setting that does the job):

1. `_get_scaled_img(npimg, None)`: the BGR frame stretched to the model input 432x368 with `cv2.INTER_CUBIC`, fed
   as raw 0..255 floats.
2. In the TF graph: heatmaps (19 channels) and PAFs (38) upsampled with `tf.image.resize_area` to 4x the output
   grid (184x216; an integer area upscale repeats each cell), heatmaps smoothed by `Smoother` (25x25, nsig 3,
   zero padding), a 3x3 max pool, `peaks = where(smoothed == pooled, smoothed, 0)`.
3. `pafprocess.process_paf` (C++, SWIG): parts = peaks > 0.05 in scan order, scored with the unsmoothed upsampled
   heatmap; limbs by 10 PAF samples at rounded points (more than 6 above 0.05, mean + distance prior > 0),
   greedy per limb; people ("subsets") built in limb order; people with < 4 parts or score < 0.3 dropped.
4. Parts normalised by the upsampled map size (x / 216, y / 184).

Here, with no TensorFlow and no SWIG on this machine (pafprocess's C++ is not built): step 2 uses OpenCV's C++
kernels (`cv2.resize` nearest = the area upscale's cell repetition; the smoother kernel is separable, so
`cv2.sepFilter2D` gives the same 2-D convolution far cheaper than TF's 25x25 depthwise conv; `cv2.dilate` for the
max pool), and step 3 is pafprocess's algorithm re-written in Python with numpy for the peak scan and the per-limb
sampling (it gives the same people, parts and scores as tests/openpose/pafprocess_reference.py, an independent
plain-Python reading of the same C++). Both err on upstream's side for speed except pafprocess itself: ~1.1 ms CPU
per frame on the benchmark video (one person), about 2% of the loop's CPU, most of which the C++ would save.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

THRESH_HEAT = 0.05
THRESH_VECTOR_SCORE = 0.05
THRESH_VECTOR_CNT1 = 6
THRESH_PART_CNT = 4
THRESH_HUMAN_SCORE = 0.3
NUM_PART = 18
STEP_PAF = 10
# tf-pose-estimation common.CocoPairs / CocoPairsNetwork (pafprocess.h COCOPAIRS / COCOPAIRS_NET)
COCO_PAIRS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
              (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17))
COCO_PAIRS_NET = ((12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7), (8, 9),
                  (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27))
# COCO-17 index -> COCO-18 index, for comparing with posegraph's coco17 output.
COCO18_TO_COCO17 = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)


def smoother_1d(size: int = 25, nsig: float = 3.0) -> np.ndarray:
    """The 1-D factor of tf-pose's `Smoother.gauss_kernel`: that kernel is sqrt(outer(k, k)) / sum, which equals
    outer(s, s) with s = sqrt(k) / sum(sqrt(k))."""
    interval = (2 * nsig + 1.0) / size
    x = np.linspace(-nsig - interval / 2.0, nsig + interval / 2.0, size + 1)
    cdf = np.array([0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x])
    s = np.sqrt(np.diff(cdf))
    return (s / s.sum()).astype(np.float32)


class PafProcess:
    """pafprocess.cpp's `process_paf`: `run(peaks, heat, paf)` returns the people it keeps as (18 parts, each
    (x, y, score) in upsampled-map cells or None, person score), what `PoseEstimator.estimate_paf` reads back through
    get_part_cid / get_part_x / get_part_y / get_part_score / get_score."""

    def run(self, peaks: np.ndarray, heat: np.ndarray, paf: np.ndarray) -> list[tuple[list, float]]:
        h1 = heat.shape[0]
        # peaks above THRESH_HEAT, part by part, each in scan order (y, then x), ids in that order: the (y, x,
        # part) scan order stably sorted by part
        flat = np.flatnonzero(peaks[:, :, :NUM_PART] > THRESH_HEAT)  # 1-D: far cheaper than a 3-D nonzero
        ys, rest = np.divmod(flat, peaks.shape[1] * NUM_PART)
        xs, parts = np.divmod(rest, NUM_PART)
        order = np.argsort(parts, kind="stable")
        ys, xs, parts = ys[order], xs[order], parts[order]
        scores = heat[ys, xs, parts]
        bounds = np.searchsorted(parts, np.arange(NUM_PART + 1))
        ids = np.arange(len(parts))
        part_lists = [(xs[a:b], ys[a:b], scores[a:b], ids[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
        line_s = scores.tolist()
        line_x, line_y = xs.tolist(), ys.tolist()

        connection_all: list[list[tuple[int, int, float]]] = []  # per pair: (cid1, cid2, score)
        for (pa, pb), (ca, cb) in zip(COCO_PAIRS, COCO_PAIRS_NET):
            xa, ya, _, ida = part_lists[pa]
            xb, yb, _, idb = part_lists[pb]
            conns: list[tuple[int, int, float]] = []
            connection_all.append(conns)
            if len(xa) == 0 or len(xb) == 0:
                continue
            # all (a, b) pairs at once: a major, b minor (the C++ loop order)
            vx = (xb[None, :] - xa[:, None]).astype(np.float32)
            vy = (yb[None, :] - ya[:, None]).astype(np.float32)
            norm = np.sqrt(vx * vx + vy * vy)
            valid = norm >= 1e-12
            safe = np.where(valid, norm, 1.0)
            ux, uy = vx / safe, vy / safe
            i = np.arange(STEP_PAF, dtype=np.float32)[:, None, None]
            step_x, step_y = vx / np.float32(STEP_PAF), vy / np.float32(STEP_PAF)
            lx = (xa[None, :, None] + i * step_x[None] + np.float32(0.5)).astype(np.int64)  # roundpaf: (int)(v+.5)
            ly = (ya[None, :, None] + i * step_y[None] + np.float32(0.5)).astype(np.int64)
            dots = ux[None] * paf[ly, lx, ca] + uy[None] * paf[ly, lx, cb]  # [STEP, A, B]
            hits = (dots > THRESH_VECTOR_SCORE).sum(axis=0)
            crit2 = dots.sum(axis=0) / STEP_PAF + np.minimum(0.0, 0.5 * h1 / safe - 1.0)
            ok = valid & (hits > THRESH_VECTOR_CNT1) & (crit2 > 0)
            cand_a, cand_b = np.nonzero(ok)
            if len(cand_a) == 0:
                continue
            cand_s = crit2[cand_a, cand_b]
            # std::sort by score, descending (not stable; ties are rare with float scores)
            order = np.argsort(-cand_s, kind="stable")
            used_a: set[int] = set()
            used_b: set[int] = set()
            for k in order.tolist():
                a, b = int(cand_a[k]), int(cand_b[k])
                if a in used_a or b in used_b:
                    continue
                used_a.add(a)
                used_b.add(b)
                conns.append((int(ida[a]), int(idb[b]), float(cand_s[k])))

        subset: list[list[float]] = []  # 18 cids (-1: none), [18] total score, [19] part count
        for pair_id, ((p1, p2), conns) in enumerate(zip(COCO_PAIRS, connection_all)):
            for cid1, cid2, score in conns:
                found = [j for j, row in enumerate(subset) if row[p1] == cid1 or row[p2] == cid2]
                if len(found) == 1:
                    row = subset[found[0]]
                    if row[p2] != cid2:
                        row[p2] = cid2
                        row[19] += 1
                        row[18] += line_s[cid2] + score
                elif len(found) == 2:
                    r1, r2 = subset[found[0]], subset[found[1]]
                    if any(r1[k] > 0 and r2[k] > 0 for k in range(18)):
                        r1[p2] = cid2
                        r1[19] += 1
                        r1[18] += line_s[cid2] + score
                    else:
                        for k in range(18):
                            r1[k] += r2[k] + 1
                        r1[19] += r2[19]
                        r1[18] += r2[18] + score
                        del subset[found[1]]
                elif not found and pair_id < 17:
                    row = [-1.0] * 20
                    row[p1], row[p2] = cid1, cid2
                    row[19] = 2
                    row[18] = line_s[cid1] + line_s[cid2] + score
                    subset.append(row)
        humans = []
        for row in subset:
            if row[19] < THRESH_PART_CNT or row[18] / row[19] < THRESH_HUMAN_SCORE:
                continue
            parts = [None if row[k] < 0 else (line_x[int(row[k])], line_y[int(row[k])], line_s[int(row[k])])
                     for k in range(18)]
            humans.append((parts, row[18] / row[19]))
        return humans


class TfPoseUpstream:
    """One frame of tf-pose-estimation's `TfPoseEstimator.inference(image, resize_to_default=True,
    upsample_size=4.0)` + `estimate_paf`, with a TFLite interpreter in place of the TF session."""

    bgr_input = True  # tf-pose feeds the frame as OpenCV decodes it

    def __init__(self, model: Path, threads: int, upsample: float = 4.0):
        from ai_edge_litert.interpreter import Interpreter  # the runtime posegraph uses for .tflite
        self.it = Interpreter(model_path=str(model), num_threads=threads)
        self.it.allocate_tensors()
        detail = self.it.get_input_details()[0]
        self.input_index = detail["index"]
        self.target_size = (int(detail["shape"][2]), int(detail["shape"][1]))  # (w, h) = (432, 368)
        self.output_index = self.it.get_output_details()[0]["index"]
        w, h = self.target_size
        self.up_size = (int(w / 8 * upsample), int(h / 8 * upsample))  # cv2 (w, h): (216, 184)
        self.kernel = smoother_1d(25, 3.0)
        self.pool = np.ones((3, 3), np.uint8)
        self.paf_process = PafProcess()

    def maps(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The TF session's three outputs: peaks [h, w, 18], heatMat_up [h, w, 19], pafMat_up [h, w, 38]."""
        img = bgr
        if img.shape[:2] != (self.target_size[1], self.target_size[0]):
            img = cv2.resize(img, self.target_size, interpolation=cv2.INTER_CUBIC)
        self.it.set_tensor(self.input_index, img[None].astype(np.float32))
        self.it.invoke()
        out = self.it.get_tensor(self.output_index)[0]
        heat_up = cv2.resize(np.ascontiguousarray(out[:, :, :19]), self.up_size, interpolation=cv2.INTER_NEAREST)
        paf_up = cv2.resize(np.ascontiguousarray(out[:, :, 19:]), self.up_size, interpolation=cv2.INTER_NEAREST)
        smooth = np.empty(heat_up.shape[:2] + (NUM_PART,), np.float32)
        for part in range(NUM_PART):  # per channel: OpenCV filters take at most 4 channels
            smooth[:, :, part] = cv2.sepFilter2D(heat_up[:, :, part], -1, self.kernel, self.kernel,
                                                 borderType=cv2.BORDER_CONSTANT)
        pooled = np.empty_like(smooth)
        for part in range(NUM_PART):
            pooled[:, :, part] = cv2.dilate(smooth[:, :, part], self.pool)
        peaks = np.where(smooth == pooled, smooth, 0.0)
        return peaks, heat_up, paf_up

    def __call__(self, bgr: np.ndarray) -> list[dict]:
        """People as tf-pose's `Human` objects hold them: score and 18 COCO-18 parts (x, y normalised by the
        upsampled map's size, as `estimate_paf` does; score), a missing part as (0, 0, 0)."""
        peaks, heat, paf = self.maps(bgr)
        hh, hw = heat.shape[:2]
        return [{"score": float(score),
                 "keypoints": [[0.0, 0.0, 0.0] if p is None else [p[0] / hw, p[1] / hh, float(p[2])] for p in parts]}
                for parts, score in self.paf_process.run(peaks, heat, paf)]
