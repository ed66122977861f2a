"""RecolorCalculator against MediaPipe's CPU blend, restated here in numpy from recolor_calculator.cc (`Blend` and
`RenderCpu`; mediapipe's Python wheels do not link the calculator, so its binary cannot be run): the mask is
resized to the image in its own type, an 8-bit mask becomes weight * (1.0 / 255), the weight is scaled by the
pixel's luminance (not the colour: the previous version did that, and recoloured dark pixels fully), and each term
of `image * (1 - mix) + color * mix` is rounded (ties to even) and saturated on its own."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.types import ImageFrame

GRAPH = """
input_stream: "image"  input_stream: "mask"  output_stream: "out"
node {
  calculator: "RecolorCalculator"
  input_stream: "IMAGE:image"  input_stream: "MASK:mask"  output_stream: "IMAGE:out"
  options { [mediapipe.RecolorCalculatorOptions.ext] { color { r: 0 g: 0 b: 255 } invert_mask: %s
                                                       adjust_with_luminance: %s } }
}
"""


def mediapipe_blend(image: np.ndarray, mask: np.ndarray, color, invert: bool, adjust: bool) -> np.ndarray:
    height, width = image.shape[:2]
    if mask.shape[:2] != (height, width):
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    weight = (mask * (1.0 / 255.0)).astype(np.float32) if mask.dtype == np.uint8 else mask.astype(np.float32)
    if invert:
        weight = np.float32(1.0) - weight
    c1 = image.astype(np.float64)
    luminance = (c1[..., 0] * 0.299 + c1[..., 1] * 0.587 + c1[..., 2] * 0.114) / 255 if adjust else 1.0
    mix = (weight.astype(np.float64) * luminance).astype(np.float32).astype(np.float64)[..., None]
    kept = np.clip(np.rint(c1 * (1.0 - mix)), 0, 255)
    added = np.clip(np.rint(np.asarray(color, np.float64) * mix), 0, 255)
    return np.minimum(kept + added, 255).astype(np.uint8)


@pytest.mark.parametrize("invert, adjust", [(False, True), (True, True), (False, False)])
@pytest.mark.parametrize("mask_kind", ["float_full", "float_small", "uint8_small"])
def test_recolor_is_mediapipe_blend(media, invert, adjust, mask_kind):
    image = cv2.cvtColor(cv2.imread(str(media / "yoga_tree_pose.jpeg")), cv2.COLOR_BGR2RGB)
    height, width = image.shape[:2]
    size = (height, width) if mask_kind == "float_full" else (height // 3, width // 3)
    yy, xx = np.mgrid[0:size[0], 0:size[1]]
    mask = (np.sin(xx / 17.0) * np.cos(yy / 23.0) * 0.5 + 0.5).astype(np.float32)  # every weight in [0, 1]
    mask[: size[0] // 4] = 1.0
    mask[-size[0] // 4:] = 0.0
    if mask_kind == "uint8_small":
        mask = np.round(mask * 255).astype(np.uint8)
    graph = Graph(GRAPH % (str(invert).lower(), str(adjust).lower()))
    out = graph.process({"image": ImageFrame(image, "t", 0), "mask": mask}, timestamp=0)["out"]
    graph.close()
    expected = mediapipe_blend(image, mask, (0, 0, 255), invert, adjust)
    assert np.array_equal(out.pixels, expected)
    assert not np.array_equal(out.pixels, image)  # the blend did something


def test_recolor_passes_the_image_without_a_mask(media):
    image = cv2.cvtColor(cv2.imread(str(media / "yoga_tree_pose.jpeg")), cv2.COLOR_BGR2RGB)
    graph = Graph(GRAPH % ("false", "true"))
    out = graph.process({"image": ImageFrame(image, "t", 0)}, timestamp=0)["out"]
    graph.close()
    assert out.pixels is image
