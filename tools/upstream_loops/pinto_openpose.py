"""PINTO0309/MobileNetV2-PoseEstimation `tflite-usbcamera-cpu-sync.py`, per frame: the TFLite demo published with
the OpenPose model graphs/openpose_multipose.pbtxt ships (its decoder is the learnopencv.com OpenPose sample's).

Per frame (re-written from the demo's source, drawing and window left out):

1. the BGR frame resized to fit 432x368 (`cv2.INTER_CUBIC`), centred on a grey (128) canvas, fed as float32;
2. per part (18): the heatmap resized to the canvas (bilinear), `cv2.GaussianBlur` 3x3, mask > 0.1,
   `cv2.findContours`; per blob the maximum of the smoothed map inside its convex fill (`cv2.fillConvexPoly` on a
   float64 canvas-size mask, `cv2.minMaxLoc`), scored with the unsmoothed map;
3. per limb (19, the demo's `POSE_PAIRS` / `mapIdx`): both PAF channels resized to the canvas; for every part a of
   the limb the best part b by mean PAF along 10 `np.linspace` samples, kept when more than 70% of them exceed 0.1;
4. `getPersonwiseKeypoints`: limbs joined into rows by their first part (a new row for the first 17 limbs), each
   row's score the sum of part and limb scores; every row is a person (no minimum part count or score).

Keypoints are mapped from the canvas back to the frame (the demo draws on the canvas itself).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

N_POINTS = 18
THRESHOLD = 0.1
POSE_PAIRS = [[1, 2], [1, 5], [2, 3], [3, 4], [5, 6], [6, 7], [1, 8], [8, 9], [9, 10], [1, 11], [11, 12], [12, 13],
              [1, 0], [0, 14], [14, 16], [0, 15], [15, 17], [2, 17], [5, 16]]
MAP_IDX = [[31, 32], [39, 40], [33, 34], [35, 36], [41, 42], [43, 44], [19, 20], [21, 22], [23, 24], [25, 26],
           [27, 28], [29, 30], [47, 48], [49, 50], [53, 54], [51, 52], [55, 56], [37, 38], [45, 46]]


def get_keypoints(prob_map: np.ndarray, threshold: float = THRESHOLD) -> list[tuple]:
    map_smooth = cv2.GaussianBlur(prob_map, (3, 3), 0, 0)
    map_mask = np.uint8(map_smooth > threshold)
    contours, _ = cv2.findContours(map_mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    keypoints = []
    for cnt in contours:
        blob_mask = cv2.fillConvexPoly(np.zeros(map_mask.shape), cnt, 1)
        _, _, _, max_loc = cv2.minMaxLoc(map_smooth * blob_mask)
        keypoints.append(max_loc + (prob_map[max_loc[1], max_loc[0]],))
    return keypoints


class PintoOpenPoseUpstream:
    """One frame of the demo's loop body: BGR frame -> people (18 COCO-18 parts each, normalised to the frame)."""

    bgr_input = True

    def __init__(self, model: Path, threads: int):
        from ai_edge_litert.interpreter import Interpreter
        self.it = Interpreter(model_path=str(model), num_threads=threads)
        self.it.allocate_tensors()
        detail = self.it.get_input_details()[0]
        self.input_index = detail["index"]
        self.h, self.w = int(detail["shape"][1]), int(detail["shape"][2])
        self.output_index = self.it.get_output_details()[0]["index"]

    def valid_pairs(self, outputs: np.ndarray, detected: list[list[tuple]]):
        valid, invalid = [], []
        n_samples, paf_score_th, conf_th = 10, 0.1, 0.7
        for k in range(len(MAP_IDX)):
            paf_a = cv2.resize(outputs[0, MAP_IDX[k][0], :, :], (self.w, self.h))
            paf_b = cv2.resize(outputs[0, MAP_IDX[k][1], :, :], (self.w, self.h))
            cand_a, cand_b = detected[POSE_PAIRS[k][0]], detected[POSE_PAIRS[k][1]]
            if not cand_a or not cand_b:
                invalid.append(k)
                valid.append([])
                continue
            pairs = np.zeros((0, 3))
            for a in cand_a:
                max_j, max_score, found = -1, -1, False
                for j, b in enumerate(cand_b):
                    d = np.subtract(b[:2], a[:2])
                    norm = np.linalg.norm(d)
                    if not norm:
                        continue
                    d = d / norm
                    coords = list(zip(np.linspace(a[0], b[0], num=n_samples), np.linspace(a[1], b[1], num=n_samples)))
                    interp = [[paf_a[int(round(y)), int(round(x))], paf_b[int(round(y)), int(round(x))]]
                              for x, y in coords]
                    scores = np.dot(interp, d)
                    avg = sum(scores) / len(scores)
                    if len(np.where(scores > paf_score_th)[0]) / n_samples > conf_th and avg > max_score:
                        max_j, max_score, found = j, avg, True
                if found:
                    pairs = np.append(pairs, [[a[3], cand_b[max_j][3], max_score]], axis=0)
            valid.append(pairs)
        return valid, invalid

    @staticmethod
    def personwise(valid, invalid, keypoints_list: np.ndarray) -> np.ndarray:
        people = -1 * np.ones((0, 19))
        for k in range(len(MAP_IDX)):
            if k in invalid:
                continue
            part_as, part_bs = valid[k][:, 0], valid[k][:, 1]
            index_a, index_b = np.array(POSE_PAIRS[k])
            for i in range(len(valid[k])):
                person = next((j for j in range(len(people)) if people[j][index_a] == part_as[i]), -1)
                if person >= 0:
                    people[person][index_b] = part_bs[i]
                    people[person][-1] += keypoints_list[part_bs[i].astype(int), 2] + valid[k][i][2]
                elif k < 17:
                    row = -1 * np.ones(19)
                    row[index_a], row[index_b] = part_as[i], part_bs[i]
                    row[-1] = sum(keypoints_list[valid[k][i, :2].astype(int), 2]) + valid[k][i][2]
                    people = np.vstack([people, row])
        return people

    def __call__(self, bgr: np.ndarray) -> list[dict]:
        h, w = self.h, self.w
        colh, colw = bgr.shape[:2]
        scale = min(w / colw, h / colh)
        new_w, new_h = int(colw * scale), int(colh * scale)
        resized = cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_CUBIC)
        canvas = np.full((h, w, 3), 128)
        top, left = (h - new_h) // 2, (w - new_w) // 2
        canvas[top:top + new_h, left:left + new_w, :] = resized
        self.it.set_tensor(self.input_index, canvas.astype(np.float32)[np.newaxis])
        self.it.invoke()
        outputs = self.it.get_tensor(self.output_index).transpose((0, 3, 1, 2))
        detected, keypoints_list, keypoint_id = [], np.zeros((0, 3)), 0
        for part in range(N_POINTS):
            prob_map = cv2.resize(outputs[0, part, :, :], (w, h))
            with_id = []
            for kp in get_keypoints(prob_map):
                with_id.append(kp + (keypoint_id,))
                keypoints_list = np.vstack([keypoints_list, kp])
                keypoint_id += 1
            detected.append(with_id)
        valid, invalid = self.valid_pairs(outputs, detected)
        people = []
        for row in self.personwise(valid, invalid, keypoints_list):
            kps = []
            for k in range(N_POINTS):
                if row[k] < 0:
                    kps.append([0.0, 0.0, 0.0])
                else:
                    x, y, s = keypoints_list[int(row[k])]
                    kps.append([(x - left) / scale / colw, (y - top) / scale / colh, float(s)])
            people.append({"score": float(row[-1]), "keypoints": kps})
        return people
