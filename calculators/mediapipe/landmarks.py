"""MediaPipe's landmark calculators: tensors to landmarks, heatmap refinement, letterbox removal, projection,
visibility copy and smoothing."""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass

import numpy as np

from posegraph import Calculator, Input, Output, calculator
from posegraph.registry import register_variant

from ..image.transforms import remove_letterbox
from ..landmarks.kernels import decode_landmarks, project_world_landmarks, refine_landmarks_from_heatmap
from ..landmarks.smoothing import (OneEuroFilter, OneEuroParams, RelativeVelocityFilter, VisibilityFilter,
                                   object_scale_from_rect)
from ..types import LetterboxPadding, NormalizedRect
from .types import RELEASED_EXACT_MATH

_F32 = np.float32


class Activation(enum.Enum):
    NONE = 0
    SIGMOID = 1


@dataclass
class MpTensorsToLandmarksOptions:
    __proto_name__ = "mediapipe.TensorsToLandmarksCalculatorOptions"
    num_landmarks: int = 0
    input_image_width: int = 0
    input_image_height: int = 0
    flip_vertically: bool = False
    flip_horizontally: bool = False
    normalize_z: float = 1.0
    visibility_activation: Activation = Activation.NONE
    presence_activation: Activation = Activation.NONE

    def __post_init__(self):
        if self.num_landmarks < 1:
            raise ValueError("num_landmarks must be set")
        if self.flip_vertically or self.flip_horizontally:
            raise ValueError("flip_vertically and flip_horizontally are not supported")


class MpTensorsToLandmarks(Calculator):
    """TENSORS (one landmark tensor) -> NORM_LANDMARKS (divided by input_image_width/height, z by the width and
    normalize_z) and/or LANDMARKS (raw values); visibility and presence through their activation."""

    TENSORS = Input[list]("TENSORS")
    NORM_LANDMARKS = Output[np.ndarray]("NORM_LANDMARKS", optional=True)
    LANDMARKS = Output[np.ndarray]("LANDMARKS", optional=True)
    Options = MpTensorsToLandmarksOptions

    def open(self, ctx):
        o = self.options  # loads the kernel now, not in the first frame
        decode_landmarks(np.zeros(max(o.num_landmarks, 1) * 5, np.float32), max(o.num_landmarks, 1), 1, 1, 1.0,
                         True, True, exact_math=RELEASED_EXACT_MATH)

    def process(self, ctx):
        tensors = ctx[self.TENSORS]
        if not tensors:
            return
        o = self.options
        raw = np.asarray(tensors[0], dtype=np.float32).reshape(-1)
        if raw.shape[0] < o.num_landmarks or raw.shape[0] % o.num_landmarks:
            raise ValueError(f"node '{self.name}': a tensor of {raw.shape[0]} values does not hold "
                             f"{o.num_landmarks} landmarks")
        vis = o.visibility_activation is Activation.SIGMOID
        pres = o.presence_activation is Activation.SIGMOID
        if ctx.connected(self.LANDMARKS):
            ctx.send(self.LANDMARKS, decode_landmarks(raw, o.num_landmarks, 1, 1, 1.0, vis, pres,
                                                      exact_math=RELEASED_EXACT_MATH))
        if ctx.connected(self.NORM_LANDMARKS):
            if not o.input_image_width or not o.input_image_height:
                raise ValueError(f"node '{self.name}': NORM_LANDMARKS needs input_image_width and "
                                 f"input_image_height")
            ctx.send(self.NORM_LANDMARKS, decode_landmarks(raw, o.num_landmarks, o.input_image_width,
                                                           o.input_image_height, o.normalize_z, vis, pres,
                                                           exact_math=RELEASED_EXACT_MATH))


register_variant("TensorsToLandmarksCalculator", MpTensorsToLandmarksOptions.__proto_name__, MpTensorsToLandmarks)


# MediaPipe's released packages refine with the options message's default kernel size whatever a graph sets:
# measured on mediapipe 0.10.21's mp.solutions.pose, whose pose_landmark_cpu graph sets kernel_size 7 but whose
# landmarks are those of kernel 9 (bit for bit on every shared image; with 7 they move by up to 3.5 px). The cause
# is in its Python layer: SolutionBase re-reads the expanded graph config with Python protobuf, where the options
# extensions of modules it never imported are dropped (RefineLandmarksFromHeatmap, VisibilityCopy and
# SegmentationSmoothing options in the pose graph), so the C++ calculator sees default options.
RELEASED_KERNEL_SIZE = 9


@dataclass
class RefineLandmarksFromHeatmapCalculatorOptions:
    __proto_name__ = "mediapipe.RefineLandmarksFromHeatmapCalculatorOptions"
    kernel_size: int = 9
    min_confidence_to_refine: float = 0.5
    refine_presence: bool = False
    refine_visibility: bool = False
    # posegraph only: honour kernel_size as written. Off by default, to give what MediaPipe's released packages
    # give for MediaPipe's own graphs (see RELEASED_KERNEL_SIZE).
    honor_kernel_size: bool = False

    def effective_kernel_size(self) -> int:
        return self.kernel_size if self.honor_kernel_size else RELEASED_KERNEL_SIZE


@calculator("RefineLandmarksFromHeatmapCalculator")
class RefineLandmarksFromHeatmapCalculator(Calculator):
    """NORM_LANDMARKS + TENSORS (one H x W x N heatmap of logits) -> NORM_LANDMARKS with x, y moved to the
    confidence-weighted mean of the heatmap around each landmark."""

    NORM_LANDMARKS = Input[np.ndarray]("NORM_LANDMARKS")
    TENSORS = Input[list]("TENSORS")
    OUT = Output[np.ndarray]("NORM_LANDMARKS")
    Options = RefineLandmarksFromHeatmapCalculatorOptions

    def open(self, ctx):
        self._refine(np.full((3, 5), 0.5, np.float32), np.zeros((1, 8, 8, 3), np.float32))  # loads the kernel now

    def process(self, ctx):
        landmarks, tensors = ctx[self.NORM_LANDMARKS], ctx[self.TENSORS]
        if landmarks is None:
            return
        if not tensors:
            ctx.send(self.OUT, landmarks)
            return
        ctx.send(self.OUT, self._refine(landmarks, tensors[0]))

    def _refine(self, landmarks: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
        o = self.options
        return refine_landmarks_from_heatmap(landmarks, heatmap, o.effective_kernel_size(), o.min_confidence_to_refine,
                                             o.refine_presence, o.refine_visibility, exact_math=RELEASED_EXACT_MATH)


@calculator("LandmarkLetterboxRemovalCalculator")
class LandmarkLetterboxRemovalCalculator(Calculator):
    """LANDMARKS (normalised to a letterboxed tensor) + LETTERBOX_PADDING -> LANDMARKS normalised to the image
    inside the padding; z scales like x."""

    LANDMARKS = Input[np.ndarray]("LANDMARKS", multiple=True)
    LETTERBOX_PADDING = Input[LetterboxPadding]("LETTERBOX_PADDING")
    OUT = Output[np.ndarray]("LANDMARKS", multiple=True)

    def process(self, ctx):
        padding = ctx[self.LETTERBOX_PADDING]
        if padding is None:
            return
        lr = _F32(padding.left) + _F32(padding.right)
        for i, landmarks in enumerate(ctx.values(self.LANDMARKS)):
            if landmarks is None:
                continue
            out = remove_letterbox(landmarks, padding)
            out[:, 2] = np.asarray(landmarks, dtype=np.float32)[:, 2] / (_F32(1.0) - lr)
            ctx.send(self.OUT, out, index=i)


@calculator("WorldLandmarkProjectionCalculator")
class WorldLandmarkProjectionCalculator(Calculator):
    """LANDMARKS (world, in the crop's frame) + NORM_RECT (optional) -> LANDMARKS rotated back by the rect's
    rotation (no scale, no translation: world landmarks stay metric)."""

    LANDMARKS = Input[np.ndarray]("LANDMARKS")
    NORM_RECT = Input[NormalizedRect]("NORM_RECT", optional=True)
    OUT = Output[np.ndarray]("LANDMARKS")

    def process(self, ctx):
        landmarks = ctx[self.LANDMARKS]
        if landmarks is None:
            return
        ctx.send(self.OUT, project_world_landmarks(landmarks, ctx[self.NORM_RECT], exact_math=RELEASED_EXACT_MATH))


@dataclass
class VisibilityCopyCalculatorOptions:
    __proto_name__ = "mediapipe.VisibilityCopyCalculatorOptions"
    copy_visibility: bool = True
    copy_presence: bool = True


@calculator("VisibilityCopyCalculator")
class VisibilityCopyCalculator(Calculator):
    """Visibility and presence of one landmark list (FROM) onto another (TO), landmark for landmark. Tags:
    LANDMARKS_FROM / NORM_LANDMARKS_FROM in, LANDMARKS_TO / NORM_LANDMARKS_TO in and out."""

    LANDMARKS_FROM = Input[np.ndarray]("LANDMARKS_FROM", optional=True)
    NORM_LANDMARKS_FROM = Input[np.ndarray]("NORM_LANDMARKS_FROM", optional=True)
    LANDMARKS_TO = Input[np.ndarray]("LANDMARKS_TO", optional=True)
    NORM_LANDMARKS_TO = Input[np.ndarray]("NORM_LANDMARKS_TO", optional=True)
    LANDMARKS_TO_OUT = Output[np.ndarray]("LANDMARKS_TO", optional=True)
    NORM_LANDMARKS_TO_OUT = Output[np.ndarray]("NORM_LANDMARKS_TO", optional=True)
    Options = VisibilityCopyCalculatorOptions

    def process(self, ctx):
        src = ctx[self.LANDMARKS_FROM] if ctx.connected(self.LANDMARKS_FROM) else ctx[self.NORM_LANDMARKS_FROM]
        to_world = ctx.connected(self.LANDMARKS_TO)
        dst = ctx[self.LANDMARKS_TO] if to_world else ctx[self.NORM_LANDMARKS_TO]
        if src is None or dst is None:
            return
        out = np.array(dst, dtype=np.float32, copy=True)
        n = min(out.shape[0], src.shape[0])
        if self.options.copy_visibility:
            out[:n, 3] = src[:n, 3]
        if self.options.copy_presence:
            out[:n, 4] = src[:n, 4]
        ctx.send(self.LANDMARKS_TO_OUT if to_world else self.NORM_LANDMARKS_TO_OUT, out)


# ------------------------------------------------------------------------------------------------ smoothing


@dataclass
class NoFilter:
    pass


@dataclass
class LowPassFilter:
    alpha: float = 0.1


@dataclass
class VisibilitySmoothingCalculatorOptions:
    __proto_name__ = "mediapipe.VisibilitySmoothingCalculatorOptions"
    no_filter: NoFilter | None = None
    low_pass_filter: LowPassFilter | None = None

    def __post_init__(self):
        if self.no_filter is not None and self.low_pass_filter is not None:
            raise ValueError("no_filter and low_pass_filter are exclusive (a oneof)")


@calculator("VisibilitySmoothingCalculator")
class VisibilitySmoothingCalculator(Calculator):
    """NORM_LANDMARKS or LANDMARKS -> NORM_FILTERED_LANDMARKS or FILTERED_LANDMARKS with visibility low-passed
    (``low_pass_filter``) or passed through (``no_filter``); an empty frame resets the filter."""

    NORM_LANDMARKS = Input[np.ndarray]("NORM_LANDMARKS", optional=True)
    LANDMARKS = Input[np.ndarray]("LANDMARKS", optional=True)
    NORM_FILTERED_LANDMARKS = Output[np.ndarray]("NORM_FILTERED_LANDMARKS", optional=True)
    FILTERED_LANDMARKS = Output[np.ndarray]("FILTERED_LANDMARKS", optional=True)
    Options = VisibilitySmoothingCalculatorOptions

    def open(self, ctx):
        lp = self.options.low_pass_filter
        self._filter = VisibilityFilter(lp.alpha) if lp is not None else None
        if lp is not None:  # a throwaway filter: loads the kernel now, not in the first frame
            VisibilityFilter(lp.alpha).apply(np.ones(33, np.float32))

    def process(self, ctx):
        norm = ctx.connected(self.NORM_LANDMARKS)
        landmarks = ctx[self.NORM_LANDMARKS] if norm else ctx[self.LANDMARKS]
        if landmarks is None:
            if self._filter is not None:
                self._filter.reset()
            return
        out = landmarks
        if self._filter is not None:
            out = np.array(landmarks, dtype=np.float32, copy=True)
            out[:, 3] = self._filter.apply(out[:, 3])
        ctx.send(self.NORM_FILTERED_LANDMARKS if norm else self.FILTERED_LANDMARKS, out)


@dataclass
class VelocityFilter:
    window_size: int = 5
    velocity_scale: float = 10.0
    min_allowed_object_scale: float = 1e-6
    disable_value_scaling: bool = False


@dataclass
class OneEuroFilterOptions:
    frequency: float = 30.0
    min_cutoff: float = 1.0
    beta: float = 0.0
    derivate_cutoff: float = 1.0
    min_allowed_object_scale: float = 1e-6
    disable_value_scaling: bool = False


@dataclass
class MpLandmarksSmoothingOptions:
    __proto_name__ = "mediapipe.LandmarksSmoothingCalculatorOptions"
    no_filter: NoFilter | None = None
    velocity_filter: VelocityFilter | None = None
    one_euro_filter: OneEuroFilterOptions | None = None

    def __post_init__(self):
        if sum(f is not None for f in (self.no_filter, self.velocity_filter, self.one_euro_filter)) > 1:
            raise ValueError("no_filter, velocity_filter and one_euro_filter are exclusive (a oneof)")


class MpLandmarksSmoothing(Calculator):
    """NORM_LANDMARKS (+ IMAGE_SIZE, optional OBJECT_SCALE_ROI) -> NORM_FILTERED_LANDMARKS, or LANDMARKS (world)
    -> FILTERED_LANDMARKS: One Euro or relative-velocity filtering in pixels (z scaled like x), object scale from
    the ROI or the landmarks' extent; an empty frame resets the filter (MediaPipe's LandmarksSmoothingCalculator)."""

    NORM_LANDMARKS = Input[np.ndarray]("NORM_LANDMARKS", optional=True)
    LANDMARKS = Input[np.ndarray]("LANDMARKS", optional=True)
    IMAGE_SIZE = Input[tuple]("IMAGE_SIZE", optional=True)
    OBJECT_SCALE_ROI = Input[NormalizedRect]("OBJECT_SCALE_ROI", optional=True)
    NORM_FILTERED_LANDMARKS = Output[np.ndarray]("NORM_FILTERED_LANDMARKS", optional=True)
    FILTERED_LANDMARKS = Output[np.ndarray]("FILTERED_LANDMARKS", optional=True)
    Options = MpLandmarksSmoothingOptions

    def open(self, ctx):
        o = self.options
        if o.one_euro_filter is not None:
            f = o.one_euro_filter
            self._filter = OneEuroFilter(OneEuroParams(f.min_cutoff, f.beta, f.derivate_cutoff, f.frequency,
                                                       f.min_allowed_object_scale, f.disable_value_scaling))
        elif o.velocity_filter is not None:
            f = o.velocity_filter
            self._filter = RelativeVelocityFilter(f.window_size, f.velocity_scale, f.min_allowed_object_scale,
                                                  f.disable_value_scaling)
        else:
            self._filter = None
        if self._filter is not None:  # a throwaway copy filters a spread of points: loads the kernels now
            sample = np.linspace(0.0, 100.0, 33 * 3, dtype=np.float32).reshape(33, 3)
            copy.deepcopy(self._filter).apply(sample, 0, None)

    def process(self, ctx):
        norm = ctx.connected(self.NORM_LANDMARKS)
        landmarks = ctx[self.NORM_LANDMARKS] if norm else ctx[self.LANDMARKS]
        if landmarks is None:
            if self._filter is not None:
                self._filter.reset()
            return
        if self._filter is None and not norm:
            ctx.send(self.FILTERED_LANDMARKS, landmarks)
            return
        out = np.array(landmarks, dtype=np.float32, copy=True)
        if norm:
            # Normalised landmarks are filtered in pixels and converted back, also without a filter (MediaPipe
            # does the round trip either way, and it can move a value by an ulp).
            size = ctx[self.IMAGE_SIZE]
            if size is None:
                raise ValueError(f"node '{self.name}': NORM_LANDMARKS need IMAGE_SIZE")
            w, h = _F32(size[0]), _F32(size[1])
            rect = ctx[self.OBJECT_SCALE_ROI]
            scale = object_scale_from_rect(rect, int(size[0]), int(size[1])) if rect is not None else None
            px = np.empty((out.shape[0], 3), dtype=np.float32)
            px[:, 0] = out[:, 0] * w
            px[:, 1] = out[:, 1] * h
            px[:, 2] = out[:, 2] * w
            f = px if self._filter is None else self._filter.apply(px, ctx.timestamp, scale)
            out[:, 0] = f[:, 0] / w
            out[:, 1] = f[:, 1] / h
            out[:, 2] = f[:, 2] / w
            ctx.send(self.NORM_FILTERED_LANDMARKS, out)
        else:
            rect = ctx[self.OBJECT_SCALE_ROI]
            scale = object_scale_from_rect(rect, 1, 1) if rect is not None else None
            out[:, :3] = self._filter.apply(out[:, :3], ctx.timestamp, scale)
            ctx.send(self.FILTERED_LANDMARKS, out)


register_variant("LandmarksSmoothingCalculator", MpLandmarksSmoothingOptions.__proto_name__, MpLandmarksSmoothing)

__all__ = ["MpTensorsToLandmarks", "RefineLandmarksFromHeatmapCalculator", "LandmarkLetterboxRemovalCalculator",
           "WorldLandmarkProjectionCalculator", "VisibilityCopyCalculator", "VisibilitySmoothingCalculator",
           "MpLandmarksSmoothing"]
