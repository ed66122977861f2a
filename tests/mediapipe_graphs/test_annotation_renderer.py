"""AnnotationOverlay's drawing against MediaPipe's CPU `AnnotationRenderer` (annotation_renderer.cc), restated with
the OpenCV calls it makes: pixel = C round(x * width) (half away from zero), thickness = C round, 8-connected lines
(no anti-aliasing), a point a filled circle of radius `thickness`, an unrotated rect `cv::rectangle(Rect)` (far edges
one pixel inside), a rotated one four lines between its rounded corners; and the order LandmarksToRenderData adds
primitives in (points, then the connections over them)."""

from __future__ import annotations

import cv2
import numpy as np

from posegraph import Graph
from posegraph.calculators.mediapipe.render import draw
from posegraph.calculators.mediapipe.types import Color, RenderData

RED, GREEN = Color(255, 0, 0), Color(0, 255, 0)


def blank() -> np.ndarray:
    return np.zeros((40, 50, 3), np.uint8)


def test_points_and_lines_round_half_away_from_zero_without_anti_aliasing():
    got = blank()
    draw(got, RenderData([("point", 10.5 / 50, 12.5 / 40, RED, 2.5), ("line", 0.1, 0.9, 0.9, 0.1, GREEN, 1.5)]))
    expected = blank()
    cv2.circle(expected, (11, 13), 3, (255, 0, 0), -1)   # Python's round() would give (10, 12) and radius 2
    cv2.line(expected, (5, 36), (45, 4), (0, 255, 0), 2)
    assert np.array_equal(got, expected)
    assert set(map(tuple, got.reshape(-1, 3))) <= {(0, 0, 0), (255, 0, 0), (0, 255, 0)}  # no blended pixels


def test_rects_follow_cv_rectangle_and_rotated_rect_corners():
    got = blank()
    draw(got, RenderData([("rect", 0.1, 0.1, 0.5, 0.6, 0.0, RED, 1.0, False),
                          ("rect", 0.3, 0.3, 0.3, 0.9, 0.0, RED, 1.0, False),       # empty: nothing
                          ("rect", 0.5, 0.2, 0.9, 0.8, 0.4, GREEN, 1.0, False)]))
    expected = blank()
    cv2.rectangle(expected, (5, 4), (24, 23), (255, 0, 0), 1)
    corners = np.rint(cv2.boxPoints(((35.0, 20.0), (20.0, 24.0), 0.4 / np.pi * 180.0))).astype(int)
    for i in range(4):
        cv2.line(expected, tuple(map(int, corners[i])), tuple(map(int, corners[(i + 1) % 4])), (0, 255, 0), 1)
    assert np.array_equal(got, expected)


def test_landmarks_render_points_first_then_connections():
    graph = Graph("""
    input_stream: "landmarks"  output_stream: "render_data"
    node {
      calculator: "LandmarksToRenderDataCalculator"
      input_stream: "NORM_LANDMARKS:landmarks"  output_stream: "RENDER_DATA:render_data"
      options { [mediapipe.LandmarksToRenderDataCalculatorOptions.ext] {
        landmark_connections: [0, 1]  landmark_color { r: 255 }  connection_color { g: 255 }  thickness: 2.0 } }
    }""")
    landmarks = np.array([[0.2, 0.5, 0, 1, 1], [0.8, 0.5, 0, 1, 1]], np.float32)
    data = graph.process({"landmarks": landmarks}, timestamp=0)["render_data"]
    graph.close()
    assert [p[0] for p in data.primitives] == ["point", "point", "line"]


def test_an_oval_is_the_ellipse_inscribed_in_its_rect():
    got = blank()
    draw(got, RenderData([("oval", 0.1, 0.1, 0.5, 0.6, 0.0, RED, 1.0, False),
                          ("oval", 0.6, 0.2, 0.9, 0.7, 0.0, GREEN, 1.0, True)]))
    expected = blank()
    cv2.ellipse(expected, (15, 14), (10, 10), 0.0, 0, 360, (255, 0, 0), 1)   # rect (5, 4)-(25, 24)
    cv2.ellipse(expected, (37, 18), (7, 10), 0.0, 0, 360, (0, 255, 0), -1)   # rect (30, 8)-(45, 28)
    assert np.array_equal(got, expected)
