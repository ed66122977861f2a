"""PersonCrop: one detected person -> the pose model's input (crop at the model's aspect ratio, UDP warp)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posegraph import Calculator, Input, Output, calculator

from ..types import Detection, ImageFrame, NormalizedRect
from .kernels import IMAGENET_MEAN, IMAGENET_STD, crop_person, person_crop_rect


@dataclass
class PersonCropOptions:
    # The pose model's input (PP-TinyPose 128x96: width 96, height 128, i.e. 3:4).
    output_width: int = 96
    output_height: int = 128
    # Margin added to each side of the box, as a fraction of its size (PaddleDetection's expand_crop: 0.3); the
    # shorter side then grows to the model's aspect ratio.
    expand_ratio: float = 0.3
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))

    def __post_init__(self):
        if self.output_width < 2 or self.output_height < 2:
            raise ValueError("output size must be at least 2 x 2")
        if self.expand_ratio <= -1.0:
            raise ValueError(f"expand_ratio must be > -1, got {self.expand_ratio}")
        if len(self.mean) != 3 or len(self.std) != 3 or any(s <= 0 for s in self.std):
            raise ValueError("mean and std need 3 values (RGB); std values must be positive")


@calculator("PersonCropCalculator")
class PersonCropCalculator(Calculator):
    """IMAGE + DETECTION (a person box) -> TENSORS ([1 x 3 x H x W] float32: RGB/255, mean/std) and NORM_RECT (the
    crop, normalised, axis-aligned; what HeatmapPoseDecodeCalculator maps keypoints back through).

    The box grows by ``expand_ratio`` and then to the model's aspect ratio around its centre; the crop is warped with
    UDP's (size - 1) scale and padded with black where it leaves the image (it is never clipped, so the person is
    never distorted).
    """

    IMAGE = Input[ImageFrame]("IMAGE")
    DETECTION = Input[Detection]("DETECTION")
    TENSORS = Output[list]("TENSORS")
    NORM_RECT = Output[NormalizedRect]("NORM_RECT", optional=True)
    Options = PersonCropOptions

    def open(self, ctx):
        opts = self.options  # the crop kernel's first call (~3 ms: Numba's cache), here instead of the first frame
        crop_person(np.zeros((48, 64, 3), np.uint8), (32.0, 24.0, 20.0, 30.0), opts.output_width, opts.output_height,
                    opts.mean, opts.std)

    def process(self, ctx):
        opts = self.options
        frame: ImageFrame = ctx[self.IMAGE]
        detection: Detection = ctx[self.DETECTION]
        width, height = frame.width, frame.height
        xmin, ymin, box_w, box_h = (float(v) for v in detection.box)
        box_px = (xmin * width, ymin * height, (xmin + box_w) * width, (ymin + box_h) * height)
        rect_px = person_crop_rect(box_px, opts.expand_ratio, opts.output_width / opts.output_height)
        if rect_px[2] <= 0.0 or rect_px[3] <= 0.0:
            return  # an empty box: nothing to crop (the loop gathers no pose for it)
        tensor = crop_person(frame.pixels, rect_px, opts.output_width, opts.output_height, opts.mean, opts.std)
        cx, cy, w, h = rect_px
        ctx.send(self.TENSORS, [tensor])
        ctx.send(self.NORM_RECT, NormalizedRect(cx / width, cy / height, w / width, h / height, 0.0))
