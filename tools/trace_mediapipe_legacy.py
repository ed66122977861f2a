"""Stage-by-stage comparison of MediaPipe's pose_landmark_cpu graph in posegraph and in mediapipe 0.10.21's legacy
solution (`mp.solutions.pose`, the reference of ../shared/reference/mediapipe_legacy/): where do they first differ?

Two steps, in two Python environments (mediapipe 0.10.21 needs numpy < 2; it is not a posegraph dependency):

    # 1. in a venv with mediapipe==0.10.21 whose modules/ hold our models (see the reference's README):
    python tools/trace_mediapipe_legacy.py record MEDIA --complexity 0 --out /tmp/trace.npz [--max-frames N]
    # 2. in posegraph's venv:
    python tools/trace_mediapipe_legacy.py compare MEDIA --complexity 0 --trace /tmp/trace.npz

`record` runs the graph config exactly as the solution runs it (the expanded config it re-reads in Python, which
has lost the options of calculators whose protos it never imports) with extra graph outputs on internal streams
(tensors through TensorsToFloatsCalculator), feeding frames at the solution's timestamps ((i + 1) * 33333 us;
stills static, videos tracked and smoothed). `compare` runs posegraph on ../shared/mediapipe_graphs' file with the
same streams observed and prints, per stage in graph order, how many timestamps differ, the largest difference and
the first differing timestamp.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GRAPH = ROOT.parent / "shared" / "mediapipe_graphs" / "mediapipe" / "modules" / "pose_landmark" / \
    "pose_landmark_cpu.pbtxt"
VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm"}

_BY_ROI = ("poselandmarkbyroicpu__", "PoseLandmarkByRoiCpu/")
_TENSORS = (_BY_ROI[0] + "tensorstoposelandmarksandsegmentation__",
            _BY_ROI[1] + "TensorsToPoseLandmarksAndSegmentation/")

# stage: (MediaPipe's expanded stream name, posegraph's stream name, kind), in graph order.
STAGES: dict[str, tuple[str, str, str]] = {
    "detector_input": ("posedetectioncpu__input_tensors", "PoseDetectionCpu/input_tensors", "tensor"),
    "detector_boxes": ("posedetectioncpu__detection_tensors", "PoseDetectionCpu/detection_tensors", "tensor"),
    "unfiltered_detections": ("posedetectioncpu__unfiltered_detections", "PoseDetectionCpu/unfiltered_detections",
                              "detections"),
    "nms_detections": ("posedetectioncpu__filtered_detections", "PoseDetectionCpu/filtered_detections",
                       "detections"),
    "pose_detections": ("pose_detections", "pose_detections", "detections"),
    "detection_raw_roi": ("posedetectiontoroi__raw_roi", "PoseDetectionToRoi/raw_roi", "rect"),
    "rect_from_detection": ("pose_rect_from_detection", "pose_rect_from_detection", "rect"),
    "pose_rect": ("pose_rect", "pose_rect", "rect"),
    "landmark_input": (_BY_ROI[0] + "input_tensors", _BY_ROI[1] + "input_tensors", "tensor"),
    "landmark_tensor": (_TENSORS[0] + "landmark_tensor", _TENSORS[1] + "landmark_tensor", "tensor"),
    "pose_flag_tensor": (_TENSORS[0] + "pose_flag_tensor", _TENSORS[1] + "pose_flag_tensor", "tensor"),
    "heatmap_tensor": (_TENSORS[0] + "heatmap_tensor", _TENSORS[1] + "heatmap_tensor", "tensor"),
    "world_tensor": (_TENSORS[0] + "world_landmark_tensor", _TENSORS[1] + "world_landmark_tensor", "tensor"),
    "raw_landmarks": (_TENSORS[0] + "raw_landmarks", _TENSORS[1] + "raw_landmarks", "landmarks"),
    "refined_landmarks": (_TENSORS[0] + "all_landmarks", _TENSORS[1] + "all_landmarks", "landmarks"),
    "letterbox_removed": (_BY_ROI[0] + "poselandmarksandsegmentationinverseprojection__adjusted_landmarks",
                          _BY_ROI[1] + "PoseLandmarksAndSegmentationInverseProjection/adjusted_landmarks",
                          "landmarks"),
    "projected_landmarks": ("unfiltered_pose_landmarks", "unfiltered_pose_landmarks", "landmarks"),
    "projected_auxiliary": ("unfiltered_auxiliary_landmarks", "unfiltered_auxiliary_landmarks", "landmarks"),
    "smoothed_auxiliary": ("auxiliary_landmarks", "auxiliary_landmarks", "landmarks"),
    "roi_from_landmarks": ("pose_rect_from_landmarks", "pose_rect_from_landmarks", "rect"),
    "pose_landmarks": ("pose_landmarks", "pose_landmarks", "landmarks"),
    "projected_world": ("unfiltered_world_landmarks", "unfiltered_world_landmarks", "landmarks"),
    "pose_world_landmarks": ("pose_world_landmarks", "pose_world_landmarks", "landmarks"),
}


def solution_timestamp(index: int) -> int:
    return (index + 1) * 33333


def _side(complexity: int, still: bool) -> dict:
    return {"model_complexity": complexity, "smooth_landmarks": not still, "use_prev_landmarks": not still,
            "enable_segmentation": False, "smooth_segmentation": False}


# ------------------------------------------------------------------------------------ record (mediapipe 0.10.21)


def _mp_frames(media: Path, max_frames: int | None):
    import cv2
    if media.suffix.lower() not in VIDEO_SUFFIXES:
        return [cv2.cvtColor(cv2.imread(str(media)), cv2.COLOR_BGR2RGB)], True
    cap, frames = cv2.VideoCapture(str(media)), []
    while max_frames is None or len(frames) < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    return frames, False


def _solution_config(complexity: int):
    """The expanded config as mp.solutions.pose runs it, with every options extension module imported so that it
    parses back (what the solution lost stays lost)."""
    import importlib

    import mediapipe as mp
    from google.protobuf import text_format
    from mediapipe.framework import calculator_pb2

    pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=complexity)
    text = pose._graph.text_config  # the canonical config the solution built (private, pinned to 0.10.21)
    pose.close()
    package = Path(mp.__file__).parent
    for proto in package.rglob("*_pb2.py"):
        try:
            importlib.import_module(".".join(proto.relative_to(package.parent).with_suffix("").parts))
        except ImportError:
            pass
    config = calculator_pb2.CalculatorGraphConfig()
    text_format.Parse(text, config)
    return config, package


def record(media: Path, complexity: int, out: Path, max_frames: int | None) -> None:
    import mediapipe as mp
    from mediapipe.python import packet_creator, packet_getter
    from mediapipe.python._framework_bindings import resource_util

    config, package = _solution_config(complexity)
    for stage, (stream, _, kind) in STAGES.items():
        if kind == "tensor":  # tensors are not readable from Python: their first tensor as a float vector
            node = config.node.add()
            node.calculator = "TensorsToFloatsCalculator"
            node.input_stream.append(f"TENSORS:{stream}")
            node.output_stream.append(f"FLOATS:trace_{stage}")
            config.output_stream.append(f"trace_{stage}")
        elif stream not in config.output_stream:
            config.output_stream.append(stream)
    resource_util.set_resource_dir(str(package.parent))
    graph = mp.CalculatorGraph(graph_config=config)
    arrays: dict[str, np.ndarray] = {}

    def convert(kind, packet):
        if kind == "tensor":
            return np.asarray(packet_getter.get_float_list(packet), np.float32)
        if kind == "detections":
            rows = []
            for d in packet_getter.get_proto_list(packet):
                box = d.location_data.relative_bounding_box
                kps = [v for k in d.location_data.relative_keypoints for v in (k.x, k.y)]
                rows.append([d.score[0], box.xmin, box.ymin, box.width, box.height, *kps])
            return np.asarray(rows, np.float32).reshape(len(rows), -1)
        value = packet_getter.get_proto(packet)
        if kind == "rect":
            return np.asarray([value.x_center, value.y_center, value.width, value.height, value.rotation], np.float32)
        return np.asarray([[lm.x, lm.y, lm.z, lm.visibility, lm.presence] for lm in value.landmark], np.float32)

    for stage, (stream, _, kind) in STAGES.items():
        name = f"trace_{stage}" if kind == "tensor" else stream
        graph.observe_output_stream(name, lambda _s, p, stage=stage, kind=kind: arrays.__setitem__(
            f"{stage}:{p.timestamp.value}", convert(kind, p)))
    frames, still = _mp_frames(media, max_frames)
    graph.start_run({k: packet_creator.create_int(v) if k == "model_complexity" else packet_creator.create_bool(v)
                     for k, v in _side(complexity, still).items()})
    for i, frame in enumerate(frames):
        image = packet_creator.create_image_frame(image_format=mp.ImageFormat.SRGB, data=frame)
        graph.add_packet_to_input_stream("image", image.at(0 if still else solution_timestamp(i)))
        graph.wait_until_idle()
    graph.close()
    np.savez_compressed(out, **arrays)
    print(f"{len(frames)} frames, {len(arrays)} arrays -> {out}")


# ------------------------------------------------------------------------------------------ compare (posegraph)


def _posegraph_value(kind: str, value) -> np.ndarray:
    if kind == "tensor":
        return np.asarray(value[0], np.float32).ravel()
    if kind == "detections":
        rows = [[d.score, *np.asarray(d.box[:4], np.float32), *np.asarray(d.keypoints, np.float32)[:, :2].ravel()]
                for d in value]
        return np.asarray(rows, np.float32).reshape(len(rows), -1)
    if kind == "rect":
        return np.asarray([value.x_center, value.y_center, value.width, value.height, value.rotation], np.float32)
    return np.asarray(value, np.float32)


def compare(media: Path, complexity: int, trace: Path, max_frames: int | None) -> None:
    sys.path.insert(0, str(ROOT))
    from posegraph import Graph
    from posegraph.calculators.mediapipe.runner import read_frames

    theirs: dict[str, dict[int, np.ndarray]] = {}
    with np.load(trace, allow_pickle=False) as data:
        for key in data.files:
            stage, ts = key.rsplit(":", 1)
            theirs.setdefault(stage, {})[int(ts)] = data[key]
    ours: dict[str, dict[int, np.ndarray]] = {}
    graph = Graph(str(GRAPH))
    for stage, (_, stream, kind) in STAGES.items():
        graph.observe_output(stream, lambda p, stage=stage, kind=kind: ours.setdefault(stage, {}).__setitem__(
            p.timestamp, _posegraph_value(kind, p.value)))
    frames, _, still = read_frames(str(media), max_frames=max_frames, timestamps="mediapipe")
    graph.start(_side(complexity, still))
    for item in frames:
        graph.add_packet("image", item.frame, timestamp=item.timestamp_us)
        graph.wait_until_idle()
    graph.close()
    print(f"{'stage':24} {'packets':>7} {'only one':>8} {'differ':>6} {'max |d|':>10} {'first':>9}")
    for stage, (_, _, kind) in STAGES.items():
        a, b = theirs.get(stage, {}), ours.get(stage, {})
        both = sorted(set(a) & set(b))
        differ, worst, first = 0, 0.0, None
        for ts in both:
            x, y = a[ts], b[ts]
            if kind == "landmarks":  # presence: the world landmarks' is not set upstream
                x, y = x[:, :4], y[:, :4]
            d = float(np.abs(x - y).max()) if x.shape == y.shape and x.size else (0.0 if x.shape == y.shape
                                                                                     else float("inf"))
            if d:
                differ += 1
                first = ts if first is None else first
            worst = max(worst, d)
        print(f"{stage:24} {len(both):7d} {len(set(a) ^ set(b)):8d} {differ:6d} {worst:10.3g} "
              f"{'' if first is None else first:>9}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("record", "compare"))
    parser.add_argument("media", type=Path)
    parser.add_argument("--complexity", type=int, choices=(0, 1), default=0)
    parser.add_argument("--out", type=Path, help="record: the .npz to write")
    parser.add_argument("--trace", type=Path, help="compare: the .npz that record wrote")
    parser.add_argument("--max-frames", type=int)
    args = parser.parse_args(argv)
    if args.mode == "record":
        if args.out is None:
            parser.error("record needs --out")
        record(args.media, args.complexity, args.out, args.max_frames)
    else:
        if args.trace is None:
            parser.error("compare needs --trace")
        compare(args.media, args.complexity, args.trace, args.max_frames)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
