"""An independent reference of tf-pose-estimation's decoder, for comparing the graph's decoder with upstream.

Written from the upstream algorithm (estimator.py + pafprocess/pafprocess.cpp of ildoonet/tf-pose-estimation, as
shipped with this model): straightforward Python, no shared code with calculators/openpose.

1. Heatmaps and PAFs upsampled `upsample` times (tf.image.resize_area with an integer factor: each cell repeated).
2. Heatmaps smoothed with the `Smoother` kernel (25 x 25, nsig 3: sqrt of the outer product of the normal CDF's
   differences, normalised; zero padding); a peak is a smoothed value equal to its 3x3 maximum and above
   THRESH_HEAT 0.05; its score is the *unsmoothed* upsampled heatmap there.
3. For each limb and each pair of peaks: 10 samples of the PAF at the rounded points peak_a + i / 10 (peak_b -
   peak_a), i = 0..9; hits = samples whose dot product with the unit vector exceeds 0.05; score = mean dot product
   + min(0, 0.5 * height / length - 1); a candidate needs hits > `vector_count` and score > 0.
4. Per limb, candidates in decreasing score order, each peak in at most one connection (upstream's loop only
   tests a candidate's first end against its own connections' first ends and its second end against their second
   ends).
5. Subsets (people) built in limb order as pafprocess does (extend, merge when disjoint, new person for the first
   17 limbs); people with fewer than 4 parts or a mean score per part below `human_score` are dropped.

Parts are returned in COCO-18 order as (x, y, score) with x, y in *heatmap cells* at pixel centres ((upsampled
pixel + 0.5) / upsample), so they compare with the graph's decoder directly.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

THRESH_HEAT = 0.05
THRESH_VECTOR_SCORE = 0.05
THRESH_PART_CNT = 4
STEP_PAF = 10
# tf-pose-estimation CocoPairs and CocoPairsNetwork
PAIRS = [(1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17)]
PAIRS_NET = [(12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7), (8, 9),
             (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27)]


def smoother_kernel(size: int = 25, nsig: float = 3.0) -> np.ndarray:
    interval = (2 * nsig + 1.0) / size
    x = np.linspace(-nsig - interval / 2.0, nsig + interval / 2.0, size + 1)
    cdf = np.array([0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x])
    k1 = np.diff(cdf)
    kernel = np.sqrt(np.outer(k1, k1))
    return (kernel / kernel.sum()).astype(np.float32)


def decode(heatmaps: np.ndarray, pafs: np.ndarray, *, vector_count: int = 6, human_score: float = 0.3,
           upsample: int = 4) -> list[tuple[np.ndarray, float]]:
    """heatmaps H x W x 19, pafs H x W x 38 -> per person: 18 x 3 parts (x, y, score; score 0 = missing) and the
    person score (total part + limb score / parts)."""
    heat = np.repeat(np.repeat(heatmaps[:, :, :18], upsample, 0), upsample, 1).astype(np.float32)
    paf = np.repeat(np.repeat(pafs, upsample, 0), upsample, 1).astype(np.float32)
    h1 = heat.shape[0]
    kernel = smoother_kernel()
    peaks: list[list[tuple[int, int, float, int]]] = []  # per part: (x, y, score, id)
    line: list[tuple[int, int, float]] = []
    for part in range(18):
        smooth = cv2.filter2D(heat[:, :, part], -1, kernel, borderType=cv2.BORDER_CONSTANT)
        pooled = cv2.dilate(smooth, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                            borderValue=-np.inf)
        ys, xs = np.nonzero((smooth == pooled) & (smooth > THRESH_HEAT))
        found = []
        for y, x in sorted(zip(ys.tolist(), xs.tolist())):
            found.append((x, y, float(heat[y, x, part]), len(line)))
            line.append((x, y, float(heat[y, x, part])))
        peaks.append(found)

    connections: list[list[tuple[int, int, float]]] = []  # per limb: (cid1, cid2, score)
    for (pa, pb), (ca, cb) in zip(PAIRS, PAIRS_NET):
        candidates = []
        for ia, a in enumerate(peaks[pa]):
            for ib, b in enumerate(peaks[pb]):
                vx, vy = float(b[0] - a[0]), float(b[1] - a[1])
                norm = math.sqrt(vx * vx + vy * vy)
                if norm < 1e-12:
                    continue
                vx, vy = vx / norm, vy / norm
                step_x, step_y = (b[0] - a[0]) / STEP_PAF, (b[1] - a[1]) / STEP_PAF
                total, hits = 0.0, 0
                for i in range(STEP_PAF):
                    px, py = int(a[0] + i * step_x + 0.5), int(a[1] + i * step_y + 0.5)
                    d = vx * paf[py, px, ca] + vy * paf[py, px, cb]
                    total += d
                    hits += d > THRESH_VECTOR_SCORE
                score = total / STEP_PAF + min(0.0, 0.5 * h1 / norm - 1.0)
                if hits > vector_count and score > 0:
                    candidates.append((score, ia, ib))
        candidates.sort(key=lambda c: -c[0])
        accepted: list[tuple[int, int, float, int, int]] = []
        for score, ia, ib in candidates:
            if any(c[3] == ia or c[4] == ib for c in accepted):
                continue
            accepted.append((peaks[pa][ia][3], peaks[pb][ib][3], score, ia, ib))
        connections.append([(c[0], c[1], c[2]) for c in accepted])

    subsets: list[list[float]] = []  # 18 part ids (-1 none), then total score, then part count
    for limb, ((pa, pb), conns) in enumerate(zip(PAIRS, connections)):
        for cid1, cid2, score in conns:
            found = [i for i, s in enumerate(subsets) if s[pa] == cid1 or s[pb] == cid2]
            if len(found) == 1:
                s = subsets[found[0]]
                if s[pb] != cid2:
                    s[pb] = cid2
                    s[19] += 1
                    s[18] += line[cid2][2] + score
            elif len(found) == 2:  # upstream does nothing when three or more people hold an end
                s1, s2 = subsets[found[0]], subsets[found[1]]
                if not any(s1[k] > 0 and s2[k] > 0 for k in range(18)):
                    for k in range(18):
                        s1[k] += s2[k] + 1
                    s1[19] += s2[19]
                    s1[18] += s2[18] + score
                    del subsets[found[1]]
                else:
                    s1[pb] = cid2
                    s1[19] += 1
                    s1[18] += line[cid2][2] + score
            elif limb < 17:
                row = [-1.0] * 20
                row[pa], row[pb] = cid1, cid2
                row[19] = 2
                row[18] = line[cid1][2] + line[cid2][2] + score
                subsets.append(row)
    people = []
    for s in subsets:
        if s[19] < THRESH_PART_CNT or s[18] / s[19] < human_score:
            continue
        parts = np.zeros((18, 3))
        for k in range(18):
            if s[k] >= 0:
                x, y, sc = line[int(s[k])]
                parts[k] = ((x + 0.5) / upsample, (y + 0.5) / upsample, sc)
        people.append((parts, s[18] / s[19]))
    return people
