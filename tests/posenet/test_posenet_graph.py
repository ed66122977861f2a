"""graphs/posenet_{multi,single}pose.pbtxt on the real model and media."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from posegraph import Graph
from posegraph.calculators.io.images import read_image
from posegraph.calculators.types import ImageFrame, Pose
from posegraph.errors import CalculatorError

pytestmark = pytest.mark.timeout(120)


def run_graph(graph: str, side: dict) -> list[list[Pose]]:
    g = Graph(graph)
    out: list[list[Pose]] = []
    g.observe_output("poses", lambda p: out.append(p.value))
    g.start(side)
    g.wait_until_done(timeout=60)
    return out


@pytest.fixture(scope="module")
def coral_reference(media):
    """Coral's decoder output on people_two_walking_snow.bmp: {pose id: (17 x 2 image-normalised x, y; 17 scores)}.

    The CSV has the decoder's input pixels divided by 480 / 352 (MANIFEST.md: its block grid spans pixels 0..480 x
    0..352 of the 481 x 353 input, which Coral filled with the whole 640 x 480 image). Back to input pixels, then
    to the image with pixel centres: x = (x_csv * 480 + 0.5) / 481, y = (y_csv * 352 + 0.5) / 353."""
    with open(media / "ground_truth" / "coral_posenet_353x481_reference_people_two_walking_snow.csv") as f:
        rows = list(csv.DictReader(f))
    ref = {}
    for pid in sorted({int(r["pose_id"]) for r in rows}):
        mine = sorted((r for r in rows if int(r["pose_id"]) == pid), key=lambda r: int(r["keypoint_id"]))
        xy = np.array([[(float(r["keypoint_x"]) * 480 + 0.5) / 481, (float(r["keypoint_y"]) * 352 + 0.5) / 353]
                       for r in mine])
        scores = np.array([float(r["keypoint_score"]) for r in mine])
        ref[pid] = (xy, scores)
    return ref


def test_multipose_matches_coral_on_two_walkers(media, coral_reference):
    out = run_graph("posenet_multipose", {"input_path": str(media / "people_two_walking_snow.bmp")})
    poses = out[0]
    assert len(poses) == 2
    assert poses[0].score >= poses[1].score > 0.5
    used = set()
    for pid, (xy, scores) in coral_reference.items():
        # the decoded pose closest to this reference pose
        dists = [np.median(np.abs(p.landmarks[:, :2] - xy)) for p in poses]
        best = int(np.argmin(dists))
        assert best not in used
        used.add(best)
        confident = scores > 0.5
        err = np.abs(poses[best].landmarks[:, :2] - xy).max(axis=1)[confident]
        assert confident.sum() >= 15
        assert err.max() <= 0.01, err.round(4)  # measured: 0.0081 and 0.0047 (letterboxed, not Coral's stretch)
    assert len(used) == 2


def test_multipose_dequantises_with_the_model_quantisation(media):
    """The same graph with the quantisation given as options instead of read from the model: same poses; with
    wrong zero points the poses fall apart."""
    graph = """
    input_stream: "frames"  output_stream: "poses"
    node { calculator: "ImageToTensorCalculator" input_stream: "IMAGE:frames" output_stream: "TENSORS:t"
           output_stream: "MATRIX:m"
           options { [posegraph.ImageToTensorOptions.ext] { output_tensor_width: 481 output_tensor_height: 353
                     keep_aspect_ratio: true range_min: 0 range_max: 255 tensor_type: UINT8 } } }
    node { calculator: "InferenceCalculator" input_stream: "TENSORS:t" output_stream: "TENSORS:o"
           options { [posegraph.InferenceOptions.ext] { model: "posenet" } } }
    node { calculator: "PoseNetDecoderCalculator" input_stream: "TENSORS:o" input_stream: "MATRIX:m"
           output_stream: "POSES:poses"
           options { [posegraph.PoseNetDecoderOptions.ext] { QUANT } } }
    """
    frame = ImageFrame(read_image(media / "people_two_walking_snow.bmp"), "snow")

    def decode(quant: str) -> list[Pose]:
        g = Graph(graph.replace("QUANT", quant))
        got = []
        g.observe_output("poses", lambda p: got.append(p.value))
        g.start()
        g.add_packet("frames", frame, 0)
        g.close()
        return got[0]

    from_model = decode('model: "posenet"')
    from_options = decode("quant_scales: 0.08941769 quant_scales: 0.72241402 quant_scales: 1.48163044 "
                          "quant_zero_points: 180 quant_zero_points: 134 quant_zero_points: 118")
    assert len(from_model) == len(from_options) == 2
    for a, b in zip(from_model, from_options):
        np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1e-4)
    wrong = decode("quant_scales: 0.08941769 quant_scales: 0.72241402 quant_scales: 1.48163044 "
                   "quant_zero_points: 100 quant_zero_points: 134 quant_zero_points: 118")
    assert len(wrong) != 2 or not np.allclose(wrong[0].landmarks, from_model[0].landmarks, atol=1e-2)
    with pytest.raises(CalculatorError, match="no quantisation is known"):
        decode("mode: MULTI")


@pytest.mark.parametrize("graph", ["posenet_multipose", "posenet_singlepose"])
@pytest.mark.parametrize("image", ["negative_cat.bmp", "negative_dogs.jpg"])
def test_nobody_on_negatives(media, graph, image):
    assert run_graph(graph, {"input_path": str(media / image)}) == [[]]


@pytest.mark.parametrize("graph", ["posenet_multipose", "posenet_singlepose"])
def test_single_person_against_tfexamples_truth(media, graph):
    # tensorflow/examples ground truth row 2 = person_single_fullbody_man_suit.jpeg (MoveNet's reference; PoseNet
    # at output stride 16 is coarser: measured median 7-10 px, worst keypoint 38 px)
    with open(media / "ground_truth" / "tfexamples_pose_landmark_truth.csv") as f:
        truth = np.array(list(csv.reader(f))[2], dtype=float).reshape(17, 2)
    out = run_graph(graph, {"input_path": str(media / "person_single_fullbody_man_suit.jpeg")})
    assert len(out[0]) == 1
    pose = out[0][0]
    assert pose.topology == "coco17" and pose.landmarks.shape == (17, 5)
    h, w = read_image(media / "person_single_fullbody_man_suit.jpeg").shape[:2]
    err = np.abs(pose.landmarks[:, :2] * [w, h] - truth).max(axis=1)
    assert np.median(err) < 12.0 and err.max() < 45.0


def test_a_model_that_does_not_fit_is_refused_naming_node_and_shapes(media):
    with pytest.raises(CalculatorError) as info:
        run_graph("posenet_multipose", {"input_path": str(media / "fitness_squat.bmp"),
                                        "model": "movenet_lightning_int8"})
    message = str(info.value)
    assert "posenet_decoder" in message and "[1, H, W, 17]" in message and "[1, 1, 17, 3]" in message


_CORAL_GEOMETRY = """
input_stream: "frames"  output_stream: "poses"
node { calculator: "ImageToTensorCalculator" input_stream: "IMAGE:frames" output_stream: "TENSORS:t"
       output_stream: "MATRIX:m"
       options { [posegraph.ImageToTensorOptions.ext] { output_tensor_width: 481 output_tensor_height: 353
                 keep_aspect_ratio: @KEEP@ range_min: 0 range_max: 255 tensor_type: UINT8 } } }
node { calculator: "InferenceCalculator" input_stream: "TENSORS:t" output_stream: "TENSORS:o"
       options { [posegraph.InferenceOptions.ext] { model: "posenet" } } }
node { calculator: "PoseNetDecoderCalculator" input_stream: "TENSORS:o" input_stream: "MATRIX:m" @IMAGE@
       output_stream: "POSES:poses" options { [posegraph.PoseNetDecoderOptions.ext] { model: "posenet" } } }
"""


def decode_frame(frame: ImageFrame, *, keep_aspect: bool, with_image: bool) -> list[Pose]:
    text = _CORAL_GEOMETRY.replace("@KEEP@", "true" if keep_aspect else "false")
    g = Graph(text.replace("@IMAGE@", 'input_stream: "IMAGE:frames"' if with_image else ""))
    got = []
    g.observe_output("poses", lambda p: got.append(p.value))
    g.start()
    g.add_packet("frames", frame, 0)
    g.close()
    return got[0]


def test_keypoints_carry_no_half_pixel_offset(media):
    """The warp is corner-aligned, so input pixel p is image pixel index M(p / W); placing it at the input pixel's
    centre instead shifts every keypoint by 0.5 x (image px per input px - 1): 1.6 px on this 2000-px image."""
    frame = ImageFrame(read_image(media / "people_two_partial_body.jpg"), "two")
    exact = decode_frame(frame, keep_aspect=True, with_image=True)
    centred = decode_frame(frame, keep_aspect=True, with_image=False)
    assert len(exact) == len(centred) >= 1
    shift = (centred[0].landmarks[:, :2] - exact[0].landmarks[:, :2]) * [frame.width, frame.height]
    # letterboxed: 2000 image px over the 481 input px in both directions
    np.testing.assert_allclose(shift, 0.5 * (2000 / 481 - 1), atol=0.01)  # 1.58 px


def test_the_exact_placement_is_closer_to_coral(media, coral_reference):
    """With Coral's own input geometry (the whole 640x480 frame stretched to 481x353) the exact placement brings
    every confident keypoint of both poses closer to Coral's decoder output: measured mean 1.84 -> 1.76 px and
    1.81 -> 1.60 px."""
    frame = ImageFrame(read_image(media / "people_two_walking_snow.bmp"), "snow")

    def mean_errors(poses: list[Pose]) -> list[float]:
        errors = []
        for xy, scores in coral_reference.values():
            best = min(poses, key=lambda p: np.median(np.abs(p.landmarks[:, :2] - xy)))
            d = (best.landmarks[:, :2] - xy) * [640, 480]
            errors.append(float(np.hypot(d[:, 0], d[:, 1])[scores > 0.5].mean()))
        return errors

    exact = mean_errors(decode_frame(frame, keep_aspect=False, with_image=True))
    centred = mean_errors(decode_frame(frame, keep_aspect=False, with_image=False))
    assert all(e < c for e, c in zip(exact, centred)), (exact, centred)
    assert max(exact) < 1.8, exact


def test_the_2020_libcoral_backward_edge_reading_gives_the_same_poses(media):
    """One 2020 libcoral release followed the first backward edge (left eye -> nose) with the *forward*
    displacement of that edge. On Coral's test image both readings give the same poses, so Coral's reference CSV
    cannot tell them apart; the decoder reads the backward block for every backward edge."""
    from posegraph.calculators.inference.tflite_model import TfliteModel
    from posegraph.calculators.posenet.kernels import NUM_EDGES, dequantize
    from posegraph.calculators.posenet.multi_pose import decode_multi_pose
    from posegraph.models import resolve_model

    g = Graph(_CORAL_GEOMETRY.replace("@KEEP@", "true").replace("@IMAGE@", "")
              .replace('output_stream: "poses"', 'output_stream: "o"'))
    raw = []
    g.observe_output("o", lambda p: raw.append(p.value))
    g.start()
    g.add_packet("frames", ImageFrame(read_image(media / "people_two_walking_snow.bmp"), "snow"), 0)
    g.close()
    quant = [(t.quant_scale, t.quant_zero_point) for t in TfliteModel(resolve_model("posenet")).outputs]
    heatmaps, offsets, displacements = (dequantize(np.asarray(t)[0], s, z) for t, (s, z) in zip(raw[0], quant))
    libcoral_2020 = displacements.copy()
    libcoral_2020[:, :, 2 * NUM_EDGES] = displacements[:, :, 0]             # backward y of edge 0 <- forward y
    libcoral_2020[:, :, 3 * NUM_EDGES] = displacements[:, :, NUM_EDGES]     # backward x of edge 0 <- forward x
    assert not np.array_equal(libcoral_2020, displacements)
    fixed, fixed_scores = decode_multi_pose(heatmaps, offsets, displacements, 16)
    old, old_scores = decode_multi_pose(heatmaps, offsets, libcoral_2020, 16)
    assert len(fixed) == len(old) == 2
    np.testing.assert_allclose(old, fixed, atol=1e-4)
    np.testing.assert_allclose(old_scores, fixed_scores, atol=1e-6)
