"""MediaPipe's rendering calculators: detections, landmarks and rects to RenderData, render scale, recolouring
by a mask, and the annotation overlay that draws RenderData on the image."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..types import Detection, ImageFrame, NormalizedRect
from .types import Color, RenderData


@dataclass
class ColorOption:
    r: int = 0
    g: int = 0
    b: int = 0

    def rgb(self) -> tuple[int, int, int]:
        return (int(self.r), int(self.g), int(self.b))


@dataclass
class RectToRenderScaleCalculatorOptions:
    __proto_name__ = "mediapipe.RectToRenderScaleCalculatorOptions"
    multiplier: float = 0.01
    process_timestamp_bounds: bool = False


@calculator("RectToRenderScaleCalculator")
class RectToRenderScaleCalculator(Calculator):
    """NORM_RECT + IMAGE_SIZE -> RENDER_SCALE: the rect's larger side in pixels times ``multiplier`` (1.0 when
    there is no rect), so that drawings grow with the object."""

    NORM_RECT = Input[NormalizedRect]("NORM_RECT")
    IMAGE_SIZE = Input[tuple]("IMAGE_SIZE")
    RENDER_SCALE = Output[float]("RENDER_SCALE")
    Options = RectToRenderScaleCalculatorOptions

    def process(self, ctx):
        rect, size = ctx[self.NORM_RECT], ctx[self.IMAGE_SIZE]
        if size is None:
            return
        if rect is None:
            ctx.send(self.RENDER_SCALE, 1.0)
            return
        side = max(rect.width * size[0], rect.height * size[1])
        ctx.send(self.RENDER_SCALE, float(side * self.options.multiplier))


@dataclass
class DetectionsToRenderDataCalculatorOptions:
    __proto_name__ = "mediapipe.DetectionsToRenderDataCalculatorOptions"
    produce_empty_packet: bool = True
    text_delimiter: str = ","
    one_label_per_line: bool = False
    thickness: float = 1.0
    color: ColorOption = field(default_factory=ColorOption)
    scene_class: str = "DETECTION"
    render_detection_id: bool = False


@calculator("DetectionsToRenderDataCalculator")
class DetectionsToRenderDataCalculator(Calculator):
    """DETECTION or DETECTIONS -> RENDER_DATA: each detection's box and keypoints."""

    DETECTION = Input[Detection]("DETECTION", optional=True)
    DETECTIONS = Input[list]("DETECTIONS", optional=True)
    RENDER_DATA = Output[RenderData]("RENDER_DATA")
    Options = DetectionsToRenderDataCalculatorOptions

    def process(self, ctx):
        detections = list(ctx[self.DETECTIONS] or [])
        if ctx[self.DETECTION] is not None:
            detections.append(ctx[self.DETECTION])
        o = self.options
        if not detections and not o.produce_empty_packet:
            return
        color, t = Color(*o.color.rgb()), float(o.thickness)
        prims = []
        for d in detections:  # the relative bounding box: right = xmin + width in float32
            x, y, w, h = (np.float32(v) for v in d.box[:4])
            prims.append(("rect", float(x), float(y), float(x + w), float(y + h), 0.0, color, t, False))
            prims += [("point", float(px), float(py), color, t) for px, py in np.asarray(d.keypoints).reshape(-1, 2)]
        ctx.send(self.RENDER_DATA, RenderData(prims))


@dataclass
class LandmarksToRenderDataCalculatorOptions:
    __proto_name__ = "mediapipe.LandmarksToRenderDataCalculatorOptions"
    landmark_connections: list[int] = field(default_factory=list)
    landmark_color: ColorOption = field(default_factory=ColorOption)
    render_landmarks: bool = True
    connection_color: ColorOption = field(default_factory=ColorOption)
    thickness: float = 1.0
    visualize_landmark_depth: bool = True
    utilize_visibility: bool = False
    visibility_threshold: float = 0.0
    utilize_presence: bool = False
    presence_threshold: float = 0.0
    min_depth_circle_thickness: float = 0.0
    max_depth_circle_thickness: float = 18.0
    min_depth_line_color: ColorOption = field(default_factory=ColorOption)
    max_depth_line_color: ColorOption = field(default_factory=ColorOption)

    def __post_init__(self):
        if len(self.landmark_connections) % 2:
            raise ValueError("landmark_connections holds pairs: its length must be even")


@calculator("LandmarksToRenderDataCalculator")
class LandmarksToRenderDataCalculator(Calculator):
    """NORM_LANDMARKS (or LANDMARKS) + RENDER_SCALE (optional) -> RENDER_DATA: a point per landmark and a line per
    connection, skipping landmarks under the visibility/presence thresholds when asked to."""

    NORM_LANDMARKS = Input[np.ndarray]("NORM_LANDMARKS", optional=True)
    LANDMARKS = Input[np.ndarray]("LANDMARKS", optional=True)
    RENDER_SCALE = Input[float]("RENDER_SCALE", optional=True)
    RENDER_DATA = Output[RenderData]("RENDER_DATA")
    Options = LandmarksToRenderDataCalculatorOptions

    def process(self, ctx):
        lm = ctx[self.NORM_LANDMARKS] if ctx.connected(self.NORM_LANDMARKS) else ctx[self.LANDMARKS]
        o = self.options
        if lm is None:
            ctx.send(self.RENDER_DATA, RenderData([]))
            return
        scale = float(ctx[self.RENDER_SCALE] or 1.0)
        thickness = o.thickness * scale
        lm = np.asarray(lm, dtype=np.float32)
        shown = np.ones(lm.shape[0], dtype=bool)
        if o.utilize_visibility:
            shown &= lm[:, 3] >= o.visibility_threshold
        if o.utilize_presence:
            shown &= lm[:, 4] >= o.presence_threshold
        prims = []
        line_color, point_color = Color(*o.connection_color.rgb()), Color(*o.landmark_color.rgb())
        if o.render_landmarks:  # points first, then the connections over them, as MediaPipe adds them
            prims += [("point", float(lm[i, 0]), float(lm[i, 1]), point_color, thickness)
                      for i in range(lm.shape[0]) if shown[i]]
        pairs = o.landmark_connections
        for a, b in zip(pairs[0::2], pairs[1::2]):
            if a < lm.shape[0] and b < lm.shape[0] and shown[a] and shown[b]:
                prims.append(("line", float(lm[a, 0]), float(lm[a, 1]), float(lm[b, 0]), float(lm[b, 1]), line_color,
                              thickness))
        ctx.send(self.RENDER_DATA, RenderData(prims))


@dataclass
class RectToRenderDataCalculatorOptions:
    __proto_name__ = "mediapipe.RectToRenderDataCalculatorOptions"
    filled: bool = False
    color: ColorOption = field(default_factory=ColorOption)
    thickness: float = 1.0
    oval: bool = False
    top_left_thickness: float | None = None


@calculator("RectToRenderDataCalculator")
class RectToRenderDataCalculator(Calculator):
    """NORM_RECT (or NORM_RECTS) -> RENDER_DATA: the rotated rectangle (or, with `oval`, its inscribed ellipse),
    outlined or filled."""

    NORM_RECT = Input[NormalizedRect]("NORM_RECT", optional=True)
    NORM_RECTS = Input[list]("NORM_RECTS", optional=True)
    RENDER_DATA = Output[RenderData]("RENDER_DATA")
    Options = RectToRenderDataCalculatorOptions

    def process(self, ctx):
        rects = list(ctx[self.NORM_RECTS] or [])
        if ctx[self.NORM_RECT] is not None:
            rects.append(ctx[self.NORM_RECT])
        o = self.options
        color = Color(*o.color.rgb())
        f32 = np.float32  # xmin = x_center - width / 2.f in float, as MediaPipe
        ctx.send(self.RENDER_DATA, RenderData([
            _normalized_rect("oval" if o.oval else "rect", f32(r.x_center) - f32(r.width) / f32(2.0),
                             f32(r.y_center) - f32(r.height) / f32(2.0), r.width, r.height, r.rotation, color,
                             o.thickness, o.filled) for r in rects]))


class MaskChannel(enum.Enum):
    UNKNOWN = 0
    RED = 1
    ALPHA = 2


@dataclass
class RecolorCalculatorOptions:
    __proto_name__ = "mediapipe.RecolorCalculatorOptions"
    mask_channel: MaskChannel = MaskChannel.RED
    color: ColorOption = field(default_factory=ColorOption)
    invert_mask: bool = False
    adjust_with_luminance: bool = True


@calculator("RecolorCalculator")
class RecolorCalculator(Calculator):
    """IMAGE + MASK (optional: a float mask in [0, 1], or an 8-bit one) -> IMAGE with ``color`` blended in where the
    mask (or its inverse) is high, by as much as the pixel is bright (``adjust_with_luminance``), as MediaPipe's CPU
    version computes it (recolor_kernel.py); the image passes unchanged on frames without a mask."""

    IMAGE = Input[ImageFrame]("IMAGE")
    MASK = Input("MASK", optional=True)
    OUT = Output[ImageFrame]("IMAGE")
    Options = RecolorCalculatorOptions

    def open(self, ctx):
        from .recolor_kernel import recolor_kernel  # Numba, loaded here rather than in the first frame
        self._kernel = recolor_kernel
        self._color = np.array(self.options.color.rgb(), dtype=np.float64)
        self._recolor(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.float32))

    def process(self, ctx):
        frame, mask = ctx[self.IMAGE], ctx[self.MASK]
        if frame is None:
            return
        if mask is None:
            ctx.send(self.OUT, frame)
            return
        m = np.asarray(getattr(mask, "pixels", mask))
        if m.ndim == 3:
            m = m[:, :, -1] if self.options.mask_channel is MaskChannel.ALPHA else m[:, :, 0]
        if m.shape != frame.pixels.shape[:2]:  # in the mask's own type, as MediaPipe resizes it
            m = cv2.resize(m, (frame.width, frame.height), interpolation=cv2.INTER_LINEAR)
        weight = (m * (1.0 / 255.0)).astype(np.float32) if m.dtype == np.uint8 else m.astype(np.float32)
        ctx.send(self.OUT, ImageFrame(self._recolor(frame.pixels, weight), frame.source, frame.index))

    def _recolor(self, pixels: np.ndarray, weight: np.ndarray) -> np.ndarray:
        out = np.empty(pixels.shape[:2] + (3,), np.uint8)
        self._kernel(np.ascontiguousarray(pixels[:, :, :3]), np.ascontiguousarray(weight), self._color,
                     bool(self.options.invert_mask), bool(self.options.adjust_with_luminance), out)
        return out


@dataclass
class AnnotationOverlayCalculatorOptions:
    __proto_name__ = "mediapipe.AnnotationOverlayCalculatorOptions"
    canvas_width_px: int = 1920
    canvas_height_px: int = 1080
    canvas_color: ColorOption = field(default_factory=ColorOption)
    flip_text_vertically: bool = False
    gpu_uses_top_left_origin: bool = True
    gpu_scale_factor: float = 1.0


_MAX_THICKNESS = 32767  # OpenCV's


def _c_round(value: float) -> int:
    """C's round(): half away from zero (Python's round() goes to even)."""
    magnitude = math.floor(abs(value))
    if abs(value) - magnitude >= 0.5:  # exact: a double minus its floor
        magnitude += 1
    return int(math.copysign(magnitude, value))


def _thickness(value: float) -> int:
    return min(max(_c_round(value), 1), _MAX_THICKNESS)


def _pixel_edges(prim: tuple, width: int, height: int) -> tuple[int, int, int, int]:
    """A rect or oval primitive's left, top, right, bottom in pixels."""
    _, left, top, right, bottom = prim[:5]
    return _c_round(left * width), _c_round(top * height), _c_round(right * width), _c_round(bottom * height)


def draw(pixels: np.ndarray, data: RenderData) -> None:
    """Draw RenderData primitives (normalised coordinates) on an RGB image in place, as MediaPipe's CPU
    `AnnotationRenderer` does: pixel = C round(x * width), thickness = C round(thickness) clamped to [1, 32767],
    OpenCV's default 8-connected lines; a point is a filled circle of radius `thickness`; a rect has its edges
    rounded to pixels first, then is drawn as `cv::rectangle` (unrotated; its far edges one pixel inside) or as four
    lines between the corners of the rotated rect (filled: `fillConvexPoly`)."""
    h, w = pixels.shape[:2]
    for prim in data.primitives:
        kind = prim[0]
        if kind == "point":
            _, x, y, color, t = prim
            cv2.circle(pixels, (_c_round(x * w), _c_round(y * h)), _thickness(t), (color.r, color.g, color.b), -1)
        elif kind == "line":
            _, x0, y0, x1, y1, color, t = prim
            cv2.line(pixels, (_c_round(x0 * w), _c_round(y0 * h)), (_c_round(x1 * w), _c_round(y1 * h)),
                     (color.r, color.g, color.b), _thickness(t))
        elif kind == "rect":
            _, _, _, _, _, rot, color, t, filled = prim
            rgb = (color.r, color.g, color.b)
            left, top, right, bottom = _pixel_edges(prim, w, h)
            if rot != 0.0:
                centre = (np.float32(left + right) / np.float32(2.0), np.float32(top + bottom) / np.float32(2.0))
                corners = np.rint(cv2.boxPoints((centre, (float(right - left), float(bottom - top)),
                                                 float(rot) / math.pi * 180.0))).astype(np.int32)
                if filled:
                    cv2.fillConvexPoly(pixels, corners, rgb)
                else:
                    for i in range(4):
                        cv2.line(pixels, tuple(map(int, corners[i])), tuple(map(int, corners[(i + 1) % 4])), rgb,
                                 _thickness(t))
            elif right > left and bottom > top:  # cv::rectangle(Rect): nothing for an empty one
                cv2.rectangle(pixels, (left, top), (right - 1, bottom - 1), rgb, -1 if filled else _thickness(t))
        elif kind == "oval":  # the ellipse inscribed in the rect, centre and axes in C++ integer division
            _, _, _, _, _, rot, color, t, filled = prim
            left, top, right, bottom = _pixel_edges(prim, w, h)
            axes = (int((right - left) / 2), int((bottom - top) / 2))
            cv2.ellipse(pixels, (int((left + right) / 2), int((top + bottom) / 2)),
                        (max(0, axes[0]), max(0, axes[1])) if filled else axes, float(rot) / math.pi * 180.0, 0, 360,
                        (color.r, color.g, color.b), -1 if filled else _thickness(t))


def _normalized_rect(kind: str, xmin: float, ymin: float, width: float, height: float, rotation: float,
                     color: Color, thickness: float, filled: bool) -> tuple:
    """A "rect" or "oval" primitive as MediaPipe's calculators fill a RenderAnnotation rectangle: left = xmin,
    right = xmin + width (in double, stored as float32)."""
    f32 = np.float32
    return (kind, float(f32(xmin)), float(f32(ymin)), float(f32(float(f32(xmin)) + float(f32(width)))),
            float(f32(float(f32(ymin)) + float(f32(height)))), float(f32(rotation)), color, float(thickness), filled)


@calculator("AnnotationOverlayCalculator")
class AnnotationOverlayCalculator(Calculator):
    """IMAGE + render data (untagged streams, and/or VECTOR: lists of RenderData) -> IMAGE with everything drawn
    on a copy, in input order."""

    IMAGE = Input[ImageFrame]("IMAGE")
    RENDER = Input[RenderData]("", multiple=True, optional=True)
    VECTOR = Input[list]("VECTOR", multiple=True, optional=True)
    OUT = Output[ImageFrame]("IMAGE")
    Options = AnnotationOverlayCalculatorOptions

    def process(self, ctx):
        frame = ctx[self.IMAGE]
        if frame is None:
            return
        pixels = np.array(frame.pixels, copy=True)
        for data in ctx.values(self.RENDER):
            if data is not None:
                draw(pixels, data)
        for datas in ctx.values(self.VECTOR):
            for data in datas or []:
                draw(pixels, data)
        ctx.send(self.OUT, ImageFrame(pixels, frame.source, frame.index))


__all__ = ["RectToRenderScaleCalculator", "DetectionsToRenderDataCalculator", "LandmarksToRenderDataCalculator",
           "RectToRenderDataCalculator", "RecolorCalculator", "AnnotationOverlayCalculator", "draw"]


@dataclass
class ConcatenateVectorCalculatorOptions:
    __proto_name__ = "mediapipe.ConcatenateVectorCalculatorOptions"
    only_emit_if_all_present: bool = False


@calculator("ConcatenateRenderDataVectorCalculator")
class ConcatenateRenderDataVectorCalculator(Calculator):
    """Untagged inputs (RenderData, or lists of them) -> one list with all of them, in input order."""

    IN = Input("", multiple=True)
    OUT = Output[list]("")
    Options = ConcatenateVectorCalculatorOptions

    def process(self, ctx):
        values = ctx.values(self.IN)
        if self.options.only_emit_if_all_present and any(v is None for v in values):
            return
        out: list = []
        for v in values:
            if v is None:
                continue
            out.extend(v if isinstance(v, list) else [v])
        ctx.send(self.OUT, out)
