"""k-NN pose classification on landmarks (MediaPipe's fitness-counting approach), for any pose topology.

Python API::

    samples = PoseSampleSet.load("classifier.npz")          # written by `posegraph train-classifier`
    knn = KnnPoseClassifier(samples)
    votes = knn.votes(pose.landmarks, pose.topology, width, height)   # neighbours per class
    smoother = EmaSmoother(len(samples.class_names))
    classification = knn.classification(smoother.update(votes / knn.top_n_by_mean_distance))

The calculator `KnnPoseClassifierCalculator` does the same per frame on the first pose of POSES.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, calculator

from ..types import ImageFrame, Pose
from .embedding import EmbeddingLayout, layout_for
from .kernels import ema_smooth, knn_votes, knn_votes_many, to_pixels
from .kernels import embed as embed_kernel
from .types import Classification

__all__ = ["EmaSmoother", "KnnPoseClassifier", "KnnPoseClassifierCalculator", "KnnPoseClassifierOptions",
           "PoseSampleSet", "SAMPLE_SET_KIND"]

SAMPLE_SET_KIND = "posegraph.knn_pose_samples"
SAMPLE_SET_VERSION = 1


@dataclass(frozen=True, eq=False)
class PoseSampleSet:
    """Labelled poses: landmarks S x K x 5 (normalised, as in `Pose`), the image size (W, H) of each, the label
    (index into `class_names`) and a name (the source image) per sample, all of one topology."""

    topology: str
    class_names: tuple[str, ...]
    labels: np.ndarray
    landmarks: np.ndarray
    image_sizes: np.ndarray
    sample_names: tuple[str, ...] = ()
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        s = len(self.labels)
        lm = np.asarray(self.landmarks)
        if lm.ndim != 3 or lm.shape[0] != s or lm.shape[2] < 3:
            raise ValueError(f"landmarks must be S x K x (3..5) for {s} labels, got shape {lm.shape}")
        if np.asarray(self.image_sizes).shape != (s, 2):
            raise ValueError(f"image_sizes must be {s} x 2 (width, height), got {np.asarray(self.image_sizes).shape}")
        if self.sample_names and len(self.sample_names) != s:
            raise ValueError(f"{len(self.sample_names)} sample names for {s} samples")
        if s and (np.min(self.labels) < 0 or np.max(self.labels) >= len(self.class_names)):
            raise ValueError(f"labels must index the {len(self.class_names)} class names")
        if not np.all(np.isfinite(lm[:, :, :3])):
            raise ValueError("sample landmarks contain NaN or infinity")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_keypoints(self) -> int:
        return int(self.landmarks.shape[1])

    def counts(self) -> dict[str, int]:
        """Samples per class."""
        return {name: int(np.sum(self.labels == i)) for i, name in enumerate(self.class_names)}

    def subset(self, keep: np.ndarray) -> "PoseSampleSet":
        """The samples where boolean mask `keep` is true (class names unchanged)."""
        keep = np.asarray(keep, bool)
        names = tuple(n for n, k in zip(self.sample_names, keep) if k) if self.sample_names else ()
        return PoseSampleSet(self.topology, self.class_names, self.labels[keep], self.landmarks[keep],
                             self.image_sizes[keep], names, dict(self.info))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write an .npz (no pickles) that `load` and `KnnPoseClassifierCalculator` read."""
        path = Path(path)
        if path.suffix != ".npz":  # np.savez would append .npz silently
            path = path.with_name(path.name + ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        info_keys = sorted(self.info)
        np.savez(path, kind=np.array(SAMPLE_SET_KIND), version=np.array(SAMPLE_SET_VERSION),
                 topology=np.array(self.topology), class_names=np.array(self.class_names, dtype=str),
                 labels=np.asarray(self.labels, np.int64), landmarks=np.asarray(self.landmarks, np.float32),
                 image_sizes=np.asarray(self.image_sizes, np.float32),
                 sample_names=np.array(self.sample_names, dtype=str),
                 info_keys=np.array(info_keys, dtype=str),
                 info_values=np.array([str(self.info[k]) for k in info_keys], dtype=str))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "PoseSampleSet":
        """Read a file written by `save`; errors name the file and what is wrong."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"k-NN pose sample file {path} does not exist (make one with "
                                    "`posegraph train-classifier DIR -o FILE.npz`)")
        from ..safe_npz import ArraySpec, NpzError, read_npz

        # Only the arrays a sample set has, each checked before it is allocated (an .npz is untrusted input).
        # Missing ones are reported below, after the kind and version checks.
        specs = {name: ArraySpec(kinds, ndim, optional=True) for name, kinds, ndim in (
            ("kind", "U", 0), ("version", "iu", 0), ("topology", "U", 0), ("class_names", "U", 1),
            ("labels", "iu", 1), ("landmarks", "fiu", 3), ("image_sizes", "fiu", 2), ("sample_names", "U", 1),
            ("info_keys", "U", 1), ("info_values", "U", 1))}
        try:
            arrays = read_npz(path, specs)
        except NpzError as exc:
            raise ValueError(f"{path} is not a k-NN pose sample file (.npz): {exc}") from None
        if str(arrays.get("kind", "")) != SAMPLE_SET_KIND:
            raise ValueError(f"{path} is not a posegraph k-NN pose sample file (no kind={SAMPLE_SET_KIND!r})")
        version = int(arrays.get("version", -1))
        if version != SAMPLE_SET_VERSION:
            raise ValueError(f"{path}: sample file version {version}, this posegraph reads {SAMPLE_SET_VERSION}")
        missing = [k for k in ("topology", "class_names", "labels", "landmarks", "image_sizes") if k not in arrays]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing}")
        info = dict(zip(arrays.get("info_keys", np.array([], str)).tolist(),
                        arrays.get("info_values", np.array([], str)).tolist()))
        try:
            return cls(str(arrays["topology"]), tuple(arrays["class_names"].tolist()),
                       arrays["labels"].astype(np.int64), arrays["landmarks"].astype(np.float32),
                       arrays["image_sizes"].astype(np.float64),
                       tuple(arrays.get("sample_names", np.array([], str)).tolist()), info)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc


class EmaSmoother:
    """Exponential moving average of class-score vectors over the last `window` frames (MediaPipe's
    EMADictSmoothing: weights (1 - alpha)^age, normalised). `update(None)` counts as a frame of zeros."""

    def __init__(self, num_classes: int, window: int = 10, alpha: float = 0.2):
        if window < 1:
            raise ValueError("window must be at least 1")
        if not 0.0 < alpha <= 1.0:
            raise ValueError("alpha must be in (0, 1]")
        self.num_classes = num_classes
        self.alpha = alpha
        self._history: deque[np.ndarray] = deque(maxlen=window)

    def reset(self) -> None:
        self._history.clear()

    def update(self, scores: np.ndarray | None) -> np.ndarray:
        row = np.zeros(self.num_classes) if scores is None else np.asarray(scores, np.float64)
        self._history.appendleft(row)
        return ema_smooth(np.stack(self._history), self.alpha)


class KnnPoseClassifier:
    """Top-k search over a `PoseSampleSet`: max distance keeps `top_n_by_max_distance`, mean distance keeps
    `top_n_by_mean_distance`, which vote. Queries of another topology are compared through the named body joints
    (x and y only, since not every model gives z). With `mirror` (the default, as MediaPipe's classifier) a sample's
    distance is the smaller of its distances to the query and to the query's left-right mirror."""

    def __init__(self, samples: PoseSampleSet, *, top_n_by_max_distance: int = 30, top_n_by_mean_distance: int = 10,
                 axes_weights: tuple[float, float, float] = (1.0, 1.0, 0.2), mirror: bool = True):
        if len(samples) == 0:
            raise ValueError("the k-NN pose sample set is empty")
        if top_n_by_mean_distance < 1 or top_n_by_max_distance < top_n_by_mean_distance:
            raise ValueError("need 1 <= top_n_by_mean_distance <= top_n_by_max_distance")
        if len(axes_weights) != 3 or min(axes_weights) < 0:
            raise ValueError("axes_weights must be 3 non-negative numbers")
        self.samples = samples
        self.class_names = samples.class_names
        self.top_n_by_max_distance = int(top_n_by_max_distance)
        self.top_n_by_mean_distance = int(top_n_by_mean_distance)
        self.weights = np.asarray(axes_weights, np.float64)
        self.mirror = bool(mirror)
        self._labels = np.ascontiguousarray(samples.labels, np.int64)
        self._set_layout = layout_for(samples.topology, samples.num_keypoints)
        self._prepared: dict[tuple[str, int], tuple[EmbeddingLayout, np.ndarray, bool]] = {}

    @property
    def votes_total(self) -> int:
        """How many neighbours vote (the denominator of the scores)."""
        return min(self.top_n_by_mean_distance, len(self.samples))

    def _sample_embeddings(self, use_z: bool) -> np.ndarray:
        layout = self._set_layout
        out = np.empty((len(self.samples), layout.num_pairs, 3), np.float32)
        for s, (lm, (w, h)) in enumerate(zip(self.samples.landmarks, self.samples.image_sizes)):
            out[s] = layout.embed(lm, float(w), float(h), use_z=use_z)
        return out

    def _prepare(self, topology: str, num_keypoints: int) -> tuple[EmbeddingLayout, np.ndarray, bool]:
        key = (topology, num_keypoints)
        found = self._prepared.get(key)
        if found is not None:
            return found
        if topology == self.samples.topology and num_keypoints == self.samples.num_keypoints:
            layout, use_z = self._set_layout, True
        else:
            layout = layout_for(topology, num_keypoints)
            if not (layout.named and self._set_layout.named):
                raise ValueError(f"cannot compare a {topology} pose ({num_keypoints} keypoints) with samples of "
                                 f"topology {self.samples.topology}: one of them lacks the named body joints")
            use_z = False
        prepared = (layout, self._sample_embeddings(use_z), use_z)
        self._prepared[key] = prepared
        return prepared

    def embeddings(self, landmarks: np.ndarray, topology: str, width: float = 1.0,
                   height: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(embedding, mirrored embedding) of a query pose, in the layout its topology compares with."""
        landmarks = np.asarray(landmarks)
        layout, _, use_z = self._prepare(topology, int(landmarks.shape[0]))
        points = to_pixels(landmarks, width, height, use_z)
        query = embed_kernel(points, layout.pairs, layout.norm_points, layout.centre, layout.torso, 2.5, False)
        if layout.mirrored_pairs is None:
            return query, query
        mirrored = embed_kernel(points, layout.mirrored_pairs, layout.norm_points, layout.centre, layout.torso,
                                2.5, True)
        return query, mirrored

    def votes(self, landmarks: np.ndarray, topology: str, width: float = 1.0, height: float = 1.0) -> np.ndarray:
        """Neighbours per class (int array in `class_names` order) for one pose of an image `width` x `height`."""
        landmarks = np.asarray(landmarks)
        _, samples, _ = self._prepare(topology, int(landmarks.shape[0]))
        query, mirrored = self.embeddings(landmarks, topology, width, height)
        if not self.mirror:
            mirrored = query
        return knn_votes(query, mirrored, samples, self._labels, self.weights, len(self.class_names),
                         self.top_n_by_max_distance, self.top_n_by_mean_distance, -1)

    def scores(self, landmarks: np.ndarray, topology: str, width: float = 1.0, height: float = 1.0) -> np.ndarray:
        """Votes as fractions of the voters (sum 1)."""
        return self.votes(landmarks, topology, width, height) / self.votes_total

    def leave_one_out_votes(self) -> np.ndarray:
        """S x C votes of each sample against all the others (for outlier reports)."""
        samples = self._sample_embeddings(True)
        layout = self._set_layout
        if layout.mirrored_pairs is None or not self.mirror:
            mirrored = samples
        else:
            mirrored = np.stack([layout.embed(lm, float(w), float(h), mirror=True)
                                 for lm, (w, h) in zip(self.samples.landmarks, self.samples.image_sizes)])
        return knn_votes_many(samples, mirrored, samples, self._labels, self.weights, len(self.class_names),
                              self.top_n_by_max_distance, self.top_n_by_mean_distance, leave_one_out=True)

    def classification(self, scores: np.ndarray) -> Classification:
        """A Classification from a score vector in class order (the best class; the first on ties)."""
        scores = np.asarray(scores, np.float64)
        return Classification(self.class_names[int(np.argmax(scores))],
                              {name: float(v) for name, v in zip(self.class_names, scores)})


@dataclass
class KnnPoseClassifierOptions:
    # The sample file (.npz from `posegraph train-classifier`); the CLASSIFIER side packet overrides it.
    classifier: str = ""
    top_n_by_max_distance: int = 30
    top_n_by_mean_distance: int = 10
    axes_weights: list[float] = field(default_factory=lambda: [1.0, 1.0, 0.2])
    # Also compare the pose's left-right mirror with the samples (a squat facing left matches one facing right).
    mirror: bool = True
    # EMA smoothing of the class scores over frames; window 1 = no smoothing.
    smoothing_window: int = 10
    smoothing_alpha: float = 0.2

    def __post_init__(self):
        if self.top_n_by_mean_distance < 1 or self.top_n_by_max_distance < self.top_n_by_mean_distance:
            raise ValueError("need 1 <= top_n_by_mean_distance <= top_n_by_max_distance")
        if len(self.axes_weights) != 3 or min(self.axes_weights) < 0:
            raise ValueError("axes_weights must be 3 non-negative numbers")
        if self.smoothing_window < 1:
            raise ValueError("smoothing_window must be at least 1")
        if not 0.0 < self.smoothing_alpha <= 1.0:
            raise ValueError("smoothing_alpha must be in (0, 1]")


@calculator("KnnPoseClassifierCalculator")
class KnnPoseClassifierCalculator(Calculator):
    """POSES (+ IMAGE for the aspect ratio) -> CLASSIFICATION of the first pose by k-NN over labelled samples.

    CLASSIFIER (side packet: a .npz path or a PoseSampleSet; or the `classifier` option) holds the samples. Scores are
    the fractions of the nearest samples per class, EMA-smoothed over frames; a frame without a pose emits None and
    decays the smoothing. Without any classifier the node emits None at every frame (so graphs can make it optional).
    """

    POSES = Input[list]("POSES")
    IMAGE = Input[ImageFrame]("IMAGE", optional=True)
    CLASSIFICATION = Output[Classification]("CLASSIFICATION")
    CLASSIFIER = InputSidePacket("CLASSIFIER", optional=True)
    Options = KnnPoseClassifierOptions

    def open(self, ctx):
        source = ctx.side(self.CLASSIFIER) or self.options.classifier
        self._knn = None
        if not source:
            return
        samples = source if isinstance(source, PoseSampleSet) else PoseSampleSet.load(source)
        opts = self.options
        self._knn = KnnPoseClassifier(samples, top_n_by_max_distance=opts.top_n_by_max_distance,
                                      top_n_by_mean_distance=opts.top_n_by_mean_distance,
                                      axes_weights=tuple(opts.axes_weights), mirror=opts.mirror)
        self._smoother = EmaSmoother(len(samples.class_names), opts.smoothing_window, opts.smoothing_alpha)
        self._knn.votes(samples.landmarks[0], samples.topology)  # compile the kernels before frame 1

    def process(self, ctx):
        if self._knn is None:
            ctx.send(self.CLASSIFICATION, None)
            return
        poses: list[Pose] = ctx[self.POSES] or []
        if not poses:
            self._smoother.update(None)
            ctx.send(self.CLASSIFICATION, None)
            return
        frame: ImageFrame | None = ctx[self.IMAGE]
        width, height = (frame.width, frame.height) if frame is not None else (1.0, 1.0)
        pose = poses[0]
        scores = self._knn.scores(pose.landmarks, pose.topology, width, height)
        ctx.send(self.CLASSIFICATION, self._knn.classification(self._smoother.update(scores)))
