"""PoseClassifier: a TFLite pose classification model (the TensorFlow yoga classifier) on COCO-17 keypoints.

The model (`pose_classifier_yoga`, tensorflow/examples `ml/classifier.py`) takes [1, 51] = 17 x (y, x, score) in
*pixel* coordinates of the original image, COCO-17 order, normalises the landmarks itself and outputs one softmax
score per label. Its batch dimension is declared dynamic but results depend on the batch size, so poses are run
one at a time. Poses of other topologies (BlazePose-33, COCO-18) are mapped to COCO-17 by keypoint name, with
their visibility as the score.

The model is not mirror-invariant (the tree-pose photo flipped left to right comes out chair 0.47, tree 0.28), so by
default (`mirror`) each pose is classified twice, as it is and as its left-right mirror (left and right keypoints
swapped, x flipped), and the two score vectors are combined by their geometric mean (renormalised): a label must be
plausible in both views.

Python API::

    model = PoseClassifierModel()                    # or PoseClassifierModel("my_classifier.tflite", labels=...)
    classification = model.classify(pose, width, height)   # Classification(label, scores)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ...models import find_spec, resolve_model
from ..inference.tflite_model import ModelMismatchError, TfliteModel
from ..render.topologies import COCO17, TOPOLOGIES
from ..types import ImageFrame, Pose
from .knn import EmaSmoother
from .types import Classification

__all__ = ["PoseClassifierCalculator", "PoseClassifierModel", "PoseClassifierOptions", "classifier_input",
           "coco17_indices", "combine_mirrored", "mirror_classifier_input", "read_labels"]

_COCO17_CACHE: dict[tuple[str, int], np.ndarray] = {}


def coco17_indices(topology: str, num_keypoints: int) -> np.ndarray:
    """For each COCO-17 keypoint, its index in a pose of `topology` (found by name); ValueError when one lacks."""
    key = (topology, num_keypoints)
    found = _COCO17_CACHE.get(key)
    if found is not None:
        return found
    known = TOPOLOGIES.get(topology)
    if known is None or known.num_keypoints != num_keypoints:
        raise ValueError(f"cannot map a {topology!r} pose of {num_keypoints} keypoints to COCO-17: unknown topology")
    names = {n: i for i, n in enumerate(known.keypoint_names)}
    missing = [n for n in COCO17.keypoint_names if n not in names]
    if missing:
        raise ValueError(f"cannot map {topology} to COCO-17: it has no {', '.join(missing)}")
    found = np.array([names[n] for n in COCO17.keypoint_names], np.int64)
    _COCO17_CACHE[key] = found
    return found


def classifier_input(landmarks: np.ndarray, topology: str, width: float, height: float) -> np.ndarray:
    """[1, 51] float32: 17 x (y, x, score) in pixels, COCO-17 order; score = the landmark's visibility."""
    lm = np.asarray(landmarks)
    idx = coco17_indices(topology, int(lm.shape[0]))
    picked = lm[idx]
    out = np.empty((17, 3), np.float32)
    out[:, 0] = picked[:, 1] * height
    out[:, 1] = picked[:, 0] * width
    out[:, 2] = picked[:, 3] if lm.shape[1] > 3 else 1.0
    return out.reshape(1, 51)


def _coco17_mirror_order() -> np.ndarray:
    names = COCO17.keypoint_names
    swap = {"left": "right", "right": "left"}
    mirrored = ["_".join([swap.get(n.split("_")[0], n.split("_")[0])] + n.split("_")[1:]) for n in names]
    return np.array([names.index(n) for n in mirrored], np.int64)


_COCO17_MIRROR = _coco17_mirror_order()


def mirror_classifier_input(tensor: np.ndarray, width: float) -> np.ndarray:
    """The left-right mirror of a [1, 51] (y, x, score) input: left and right keypoints swapped, x -> width - x."""
    points = np.asarray(tensor, np.float32).reshape(17, 3)[_COCO17_MIRROR].copy()
    points[:, 1] = np.float32(width) - points[:, 1]
    return points.reshape(1, 51)


def combine_mirrored(scores: np.ndarray, mirrored: np.ndarray) -> np.ndarray:
    """Geometric mean of two softmax score vectors, renormalised (the softmax of the mean logits)."""
    logs = 0.5 * (np.log(np.maximum(np.asarray(scores, np.float64), 1e-30))
                  + np.log(np.maximum(np.asarray(mirrored, np.float64), 1e-30)))
    combined = np.exp(logs - logs.max())
    return combined / combined.sum()


def read_labels(path: str | os.PathLike[str]) -> list[str]:
    """One label per non-empty line."""
    labels = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not labels:
        raise ValueError(f"labels file {path} is empty")
    return labels


def _labels_path(model: str, model_path: Path, labels: str) -> Path:
    if labels:
        return resolve_model(labels)
    spec = find_spec(model) or find_spec(model_path.name)
    if spec is not None and spec.labels:
        return resolve_model(spec.labels)
    for candidate in (model_path.with_name(model_path.stem + "_labels.txt"), model_path.with_name("labels.txt")):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no labels for classifier model {model_path}: give the `labels` option, or put "
                            f"{model_path.stem}_labels.txt next to the model")


class PoseClassifierModel:
    """A loaded pose classification model and its labels; `classify` runs one pose."""

    def __init__(self, model: str | os.PathLike[str] = "pose_classifier_yoga", *, labels: str = "",
                 num_threads: int = 1, mirror: bool = True):
        self.mirror = mirror
        self.path = resolve_model(model)
        self.model = TfliteModel(self.path, num_threads=num_threads)
        self.labels = read_labels(_labels_path(os.fspath(model), self.path, labels))
        inputs, outputs = self.model.inputs, self.model.outputs
        in_shape = inputs[0].shape if len(inputs) == 1 else None
        if in_shape is None or tuple(in_shape[-1:]) != (51,) or int(np.prod(in_shape)) != 51:
            raise ModelMismatchError(f"classifier model {self.path} must take one [1, 51] tensor (17 x y, x, score), "
                                     f"has inputs {[list(t.shape) for t in inputs]}")
        if len(outputs) != 1 or int(np.prod(outputs[0].shape)) != len(self.labels):
            raise ModelMismatchError(f"classifier model {self.path} outputs {[list(t.shape) for t in outputs]}, "
                                     f"expected one tensor of {len(self.labels)} scores (one per label)")
        if inputs[0].dtype != np.float32:
            raise ModelMismatchError(f"classifier model {self.path} input is {inputs[0].dtype}, expected float32")

    def scores(self, landmarks: np.ndarray, topology: str, width: float, height: float) -> np.ndarray:
        """Softmax scores per label for one pose (one invoke per view: the model is not batch-safe); with `mirror`,
        combined with the scores of its left-right mirror."""
        tensor = classifier_input(landmarks, topology, width, height)
        scores = self.model.run(tensor)[0].reshape(-1)
        if not self.mirror:
            return scores
        mirrored = self.model.run(mirror_classifier_input(tensor, width))[0].reshape(-1)
        return combine_mirrored(scores, mirrored)

    def classification(self, scores: np.ndarray) -> Classification:
        scores = np.asarray(scores, np.float64)
        return Classification(self.labels[int(np.argmax(scores))],
                              {name: float(v) for name, v in zip(self.labels, scores)})

    def classify(self, pose: Pose, width: float, height: float) -> Classification:
        return self.classification(self.scores(pose.landmarks, pose.topology, width, height))


@dataclass
class PoseClassifierOptions:
    model: str = "pose_classifier_yoga"
    # Labels file (name or path); default: the manifest's labels for the model, or <model>_labels.txt beside it.
    labels: str = ""
    num_threads: int = 1
    # Classify the pose and its left-right mirror and combine the scores (the model is not mirror-invariant).
    mirror: bool = True
    # EMA smoothing of scores over frames (window 1 = none, the default: the model classifies single images).
    smoothing_window: int = 1
    smoothing_alpha: float = 0.2

    def __post_init__(self):
        if self.num_threads < 1:
            raise ValueError("num_threads must be at least 1")
        if self.smoothing_window < 1:
            raise ValueError("smoothing_window must be at least 1")
        if not 0.0 < self.smoothing_alpha <= 1.0:
            raise ValueError("smoothing_alpha must be in (0, 1]")


@calculator("PoseClassifierCalculator")
class PoseClassifierCalculator(Calculator):
    """IMAGE + POSES -> CLASSIFICATION (label and softmax scores) of the first pose with a TFLite pose classifier.

    Default model: the TensorFlow yoga classifier (chair, cobra, dog, tree, warrior) on 17 x (y, x, score) pixel
    keypoints. COCO-17 poses go in as they are; BlazePose-33 and COCO-18 poses are mapped to COCO-17 by name. None
    is emitted for a frame without a pose. MODEL (side packet) overrides the `model` option.
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    POSES = Input[list]("POSES")
    CLASSIFICATION = Output[Classification]("CLASSIFICATION")
    MODEL = InputSidePacket[str]("MODEL", optional=True)
    Options = PoseClassifierOptions

    def open(self, ctx):
        opts = self.options
        self._model = PoseClassifierModel(ctx.side(self.MODEL) or opts.model, labels=opts.labels,
                                          num_threads=opts.num_threads, mirror=opts.mirror)
        self._smoother = (EmaSmoother(len(self._model.labels), opts.smoothing_window, opts.smoothing_alpha)
                          if opts.smoothing_window > 1 else None)

    def process(self, ctx):
        poses: list[Pose] = ctx[self.POSES] or []
        if not poses:
            if self._smoother is not None:
                self._smoother.update(None)
            ctx.send(self.CLASSIFICATION, None)
            return
        frame: ImageFrame = ctx[self.IMAGE]
        pose = poses[0]
        try:
            scores = self._model.scores(pose.landmarks, pose.topology, frame.width, frame.height)
        except ValueError as exc:
            raise ValueError(f"node '{self.name}' (PoseClassifierCalculator): {exc}") from exc
        if self._smoother is not None:
            scores = self._smoother.update(scores)
        ctx.send(self.CLASSIFICATION, self._model.classification(scores))
