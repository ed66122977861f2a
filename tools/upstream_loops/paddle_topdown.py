"""PaddleDetection `deploy/python/det_keypoint_unite_infer.py` (`topdown_unite_predict_video`), per frame: PicoDet
person detection -> `expand_crop` -> PP-TinyPose on each crop -> `HRNetPostProcess` with DARK -> back to the frame.

Paddle's predictor is not available here (paddlepaddle is not installed in this environment), so both models run
as the OpenVINO IR files that graphs/tinypose_topdown.pbtxt ships (PicoDet-S 192 pedestrian exported without NMS,
PP-TinyPose 128x96), with the same OpenVINO settings as posegraph's InferenceCalculator (f32, as Paddle's CPU
predictor runs). Everything around the models follows the deploy code (read from PaddleDetection's source,
re-written here):

- detector preprocess (`preprocess.py`, PicoDet's infer_cfg): `Resize` to 192x192 without keeping the aspect ratio
  (`cv2.resize` with fx, fy, `interp: 2` = bicubic), `NormalizeImage` (float32, * 1/255, ImageNet mean / std),
  `Permute` (HWC -> CHW copy);
- the exported PicoDet's own post-process (`PicoHeadV2.post_process`): boxes divided by the scale factor, then
  `MultiClassNMS` (score > 0.025, top 1000, IoU 0.6, keep 100; Paddle's C++ op, here OpenCV's `cv2.dnn.NMSBoxes`),
  then `Detector.filter_box` at `--det_threshold` 0.5;
- `KeyPointDetector.get_person_from_rect` -> `expand_crop` (box grown by 30%, widened to 3:4 when too tall, int
  pixel bounds clipped to the frame, an array slice of the RGB frame);
- keypoint preprocess (TinyPose's infer_cfg, from its TestReader): `TopDownEvalAffine` with trainsize 96x128 and no
  UDP (`get_affine_transform` from the crop's centre and width, `cv2.warpAffine` bilinear), `NormalizeImage`,
  `Permute`; one crop per inference call (the IR has a fixed batch of 1; the deploy default batches up to 8 crops);
- `HRNetPostProcess(use_dark=True)`: argmax, `gaussian_blur` (3x3, zero border, rescaled to the original maximum),
  log, `dark_parse` (Taylor step with the 2x2 Hessian), `transform_preds` back to the crop, then
  `translate_to_ori_images` (+ the crop's top-left corner).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])
DET_SIZE = 192
POSE_SIZE = (96, 128)  # trainsize (w, h)


def _normalize_permute(im: np.ndarray) -> np.ndarray:
    """preprocess.py `NormalizeImage` (is_scale, mean_std) + `Permute`."""
    im = im.astype(np.float32, copy=False)
    im *= 1.0 / 255.0
    im -= MEAN[np.newaxis, np.newaxis, :]
    im /= STD[np.newaxis, np.newaxis, :]
    return im.transpose((2, 0, 1)).copy()


def _rotate_point(pt, angle_rad):
    sn, cs = np.sin(angle_rad), np.cos(angle_rad)
    return [pt[0] * cs - pt[1] * sn, pt[0] * sn + pt[1] * cs]


def _third_point(a, b):
    direction = a - b
    return b + np.array([-direction[1], direction[0]], dtype=np.float32)


def get_affine_transform(center, input_size, rot, output_size, inv=False) -> np.ndarray:
    """keypoint_preprocess.py `get_affine_transform` (shift 0): only the source width sets the scale."""
    if not isinstance(input_size, (np.ndarray, list)):
        input_size = np.array([input_size, input_size], dtype=np.float32)
    src_w = input_size[0]
    dst_w, dst_h = output_size[0], output_size[1]
    rot_rad = np.pi * rot / 180
    src_dir = _rotate_point([0.0, src_w * -0.5], rot_rad)
    dst_dir = np.array([0.0, dst_w * -0.5])
    src = np.zeros((3, 2), dtype=np.float32)
    src[0, :] = center
    src[1, :] = center + src_dir
    src[2, :] = _third_point(src[0, :], src[1, :])
    dst = np.zeros((3, 2), dtype=np.float32)
    dst[0, :] = [dst_w * 0.5, dst_h * 0.5]
    dst[1, :] = np.array([dst_w * 0.5, dst_h * 0.5]) + dst_dir
    dst[2, :] = _third_point(dst[0, :], dst[1, :])
    if inv:
        return cv2.getAffineTransform(np.float32(dst), np.float32(src))
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def expand_crop(image: np.ndarray, rect: np.ndarray, expand_ratio: float = 0.3):
    """keypoint_preprocess.py `expand_crop`: (crop, [xmin, ymin, xmax, ymax]) or (None, None) for a non-person."""
    imgh, imgw, _ = image.shape
    label, _, xmin, ymin, xmax, ymax = [int(x) for x in rect.tolist()]
    if label != 0:
        return None, None
    h_half = (ymax - ymin) * (1 + expand_ratio) / 2.0
    w_half = (xmax - xmin) * (1 + expand_ratio) / 2.0
    if h_half > w_half * 4 / 3:
        w_half = h_half * 0.75
    center = [(ymin + ymax) / 2.0, (xmin + xmax) / 2.0]
    ymin = max(0, int(center[0] - h_half))
    ymax = min(imgh - 1, int(center[0] + h_half))
    xmin = max(0, int(center[1] - w_half))
    xmax = min(imgw - 1, int(center[1] + w_half))
    return image[ymin:ymax, xmin:xmax, :], [xmin, ymin, xmax, ymax]


def _gaussian_blur(heatmap: np.ndarray, kernel: int) -> np.ndarray:
    border = (kernel - 1) // 2
    batch, joints, height, width = heatmap.shape
    for i in range(batch):
        for j in range(joints):
            origin_max = np.max(heatmap[i, j])
            dr = np.zeros((height + 2 * border, width + 2 * border))
            dr[border:-border, border:-border] = heatmap[i, j].copy()
            dr = cv2.GaussianBlur(dr, (kernel, kernel), 0)
            heatmap[i, j] = dr[border:-border, border:-border].copy()
            heatmap[i, j] *= origin_max / np.max(heatmap[i, j])
    return heatmap


def _dark_parse(hm: np.ndarray, coord: np.ndarray) -> np.ndarray:
    heatmap_height, heatmap_width = hm.shape
    px, py = int(coord[0]), int(coord[1])
    if 1 < px < heatmap_width - 2 and 1 < py < heatmap_height - 2:
        dx = 0.5 * (hm[py][px + 1] - hm[py][px - 1])
        dy = 0.5 * (hm[py + 1][px] - hm[py - 1][px])
        dxx = 0.25 * (hm[py][px + 2] - 2 * hm[py][px] + hm[py][px - 2])
        dxy = 0.25 * (hm[py + 1][px + 1] - hm[py - 1][px + 1] - hm[py + 1][px - 1] + hm[py - 1][px - 1])
        dyy = 0.25 * (hm[py + 2][px] - 2 * hm[py][px] + hm[py - 2][px])
        if dxx * dyy - dxy ** 2 != 0:
            derivative = np.array([[dx], [dy]])
            hessian = np.array([[dxx, dxy], [dxy, dyy]])
            offset = -np.linalg.inv(hessian) @ derivative
            coord += offset[:, 0]
    return coord


def hrnet_postprocess(heatmaps: np.ndarray, center: np.ndarray, scale: np.ndarray, kernelsize: int = 3):
    """keypoint_postprocess.py `HRNetPostProcess(use_dark=True).__call__`: ([N, J, 3] (x, y, maxval), [N, 1])."""
    batch, joints, height, width = heatmaps.shape
    flat = heatmaps.reshape((batch, joints, -1))
    idx = np.argmax(flat, 2).reshape((batch, joints, 1))
    maxvals = np.amax(flat, 2).reshape((batch, joints, 1))
    coords = np.tile(idx, (1, 1, 2)).astype(np.float32)
    coords[:, :, 0] = coords[:, :, 0] % width
    coords[:, :, 1] = np.floor(coords[:, :, 1] / width)
    coords *= np.tile(np.greater(maxvals, 0.0), (1, 1, 2)).astype(np.float32)
    hm = np.log(np.maximum(_gaussian_blur(heatmaps, kernelsize), 1e-10))
    for n in range(batch):
        for p in range(joints):
            coords[n, p] = _dark_parse(hm[n][p], coords[n][p])
    preds = coords.copy()
    for i in range(batch):
        trans = get_affine_transform(center[i], scale[i] * 200, 0, [width, height], inv=True)
        for p in range(joints):
            preds[i, p, 0:2] = trans @ np.array([coords[i, p, 0], coords[i, p, 1], 1.0])
    return np.concatenate((preds, maxvals), axis=-1), np.mean(maxvals, axis=1)


class PaddleTopDownUpstream:
    """One frame of `topdown_unite_predict_video` without smoothing or drawing: RGB frame -> people."""

    def __init__(self, models: Path, threads: int, det_threshold: float = 0.5):
        import openvino as ov
        core = ov.Core()
        # the settings posegraph's OpenVinoModel compiles with (latency, one stream, no pinning, `threads` threads,
        # f32): f32 is also what Paddle Inference runs on a CPU, where OpenVINO's own default is bf16 on CPUs that
        # have it (~30% cheaper here, and it moves heatmap peaks)
        config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
                  "ENABLE_CPU_PINNING": False, "INFERENCE_PRECISION_HINT": "f32"}
        self.det = core.compile_model(core.read_model(str(models / "picodet_s_192_lcnet_pedestrian_fp16.xml")),
                                      "CPU", config)
        self.pose = core.compile_model(core.read_model(str(models / "pp_tinypose_128x96_fp16.xml")), "CPU", config)
        self.det_request = self.det.create_infer_request()
        self.pose_request = self.pose.create_infer_request()
        self.det_threshold = det_threshold

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """Detector.predict_image + filter_box: [N, 6] (class, score, x1, y1, x2, y2) in frame pixels."""
        h, w = rgb.shape[:2]
        sy, sx = DET_SIZE / h, DET_SIZE / w
        im = cv2.resize(rgb, None, None, fx=sx, fy=sy, interpolation=cv2.INTER_CUBIC)
        res = self.det_request.infer([_normalize_permute(im)[None]])
        boxes = np.asarray(res[self.det.outputs[0]])[0] / np.array([sx, sy, sx, sy], dtype=np.float32)
        scores = np.asarray(res[self.det.outputs[1]])[0, 0]
        xywh = np.stack([boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=1)
        keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), 0.025, 0.6, top_k=1000)
        keep = np.asarray(keep, dtype=np.int64).reshape(-1)[:100]
        out = np.concatenate([np.zeros((len(keep), 1)), scores[keep, None], boxes[keep]], axis=1)
        return out[out[:, 1] > self.det_threshold]

    def keypoints(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """KeyPointDetector.predict_image on one crop: ([17, 3] in crop pixels, score)."""
        imshape = np.array(crop.shape[:2], dtype=np.float32)[::-1]  # (w, h)
        trans = get_affine_transform(imshape / 2.0, imshape, 0, POSE_SIZE)
        im = cv2.warpAffine(crop, trans, POSE_SIZE, flags=cv2.INTER_LINEAR)
        res = self.pose_request.infer([_normalize_permute(im)[None]])
        heatmaps = np.array(res[self.pose.outputs[0]])
        kpts, score = hrnet_postprocess(heatmaps, np.round(imshape / 2.0)[None], (imshape / 200.0)[None])
        return kpts[0], float(score[0, 0])

    def __call__(self, rgb: np.ndarray) -> list[dict]:
        """People: score, detection box and 17 keypoints (x, y in frame pixels as the deploy code gives them,
        written normalised by the frame size like the other loops' JSON; maxval)."""
        h, w = rgb.shape[:2]
        people = []
        for rect in self.detect(rgb):
            crop, new_rect = expand_crop(rgb, rect)
            if crop is None or crop.size == 0:
                continue
            kpts, score = self.keypoints(crop)
            kpts[:, 0] = (kpts[:, 0] + new_rect[0]) / w  # translate_to_ori_images, then normalised
            kpts[:, 1] = (kpts[:, 1] + new_rect[1]) / h
            people.append({"score": score, "bbox": [float(v) for v in rect[2:]], "keypoints": kpts.tolist()})
        return people
