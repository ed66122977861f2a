"""Look inside MediaPipe Tasks' PoseLandmarker (mediapipe >= 1.0, no CalculatorGraph bindings) by rewriting the
models of its .task bundle, and compare what it sees with posegraph, stage by stage, on still images.

The Tasks API only returns landmarks, but a world landmark's z passes the landmark model's output through
unchanged in IMAGE mode (WorldLandmarkProjection only rotates x and y), and projected landmarks of a model whose
outputs are constants show the ROI exactly. So:

    # 1. posegraph's venv: record posegraph's landmark-model input and outputs on an image
    python tools/probe_mediapipe_tasks.py dump IMAGE --out /tmp/pg.npz
    # 2. a venv with mediapipe==1.2.2 (not a posegraph dependency): does Tasks' landmark model get the same crop
    #    and give the same outputs? (sum and max of |Tasks' tensor - posegraph's| for the input and 5 outputs)
    python tools/probe_mediapipe_tasks.py tensors IMAGE --pg /tmp/pg.npz
    # 3. the ROI: Tasks with a landmark model that outputs constant points (and a heatmap that refines nothing)
    python tools/probe_mediapipe_tasks.py roi IMAGE --out /tmp/roi_tasks.json --tflite /tmp/roi_lm.tflite
    #    and posegraph with the same model file (posegraph's venv), then compare the two files
    python tools/probe_mediapipe_tasks.py roi-posegraph IMAGE --tflite /tmp/roi_lm.tflite --out /tmp/roi_pg.json
    python tools/probe_mediapipe_tasks.py compare /tmp/roi_tasks.json /tmp/roi_pg.json

This is how the last differences between posegraph's BlazePose graphs and Tasks 1.2.2 were found (same crops
nowhere but on 3 images, ROI rotations a few ulps apart: glibc's atan2f against LLVM libc's correctly rounded one).
The rewritten models use only builtin TFLite ops (SUB, ABS, SUM, REDUCE_MAX, RESHAPE, PAD, ADD, MUL); the bundle's
other files are copied unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BUNDLE = SHARED / "models" / "reference" / "mediapipe_pose_landmarker_lite_2021.task"
LANDMARK_MODEL = "pose_landmarks_detector.tflite"
TENSOR_NAMES = ("input", "landmarks", "pose_flag", "segmentation", "heatmap", "world")
# Constant crop points (tensor pixels) of the ROI model, repeated over the 39 landmarks.
ROI_POINTS = ((0.0, 0.0), (256.0, 0.0), (0.0, 256.0), (256.0, 256.0), (128.0, 128.0), (64.0, 192.0),
              (37.25, 201.5))
_BUILTIN = {"ADD": 0, "MUL": 18, "RESHAPE": 22, "PAD": 34, "SUB": 41, "SUM": 74, "REDUCE_MAX": 82, "ABS": 101}


# --------------------------------------------------------------------------------- model rewriting (mediapipe venv)


class _ModelEditor:
    """Appends tensors and operators to the first subgraph of a .tflite, through the flatbuffer object API."""

    def __init__(self, data: bytes):
        from mediapipe.tasks.metadata import schema_py_generated as schema

        self.s = schema
        self.model = schema.ModelT.InitFromPackedBuf(data, 0)
        self.graph = self.model.subgraphs[0]

    def opcode(self, name: str) -> int:
        code = _BUILTIN[name]
        for i, c in enumerate(self.model.operatorCodes):
            if c.builtinCode == code:
                return i
        c = self.s.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), 1
        self.model.operatorCodes.append(c)
        return len(self.model.operatorCodes) - 1

    def tensor(self, shape, name: str, data: np.ndarray | None = None) -> int:
        buffer = self.s.BufferT()
        buffer.data = None if data is None else np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8).copy()
        self.model.buffers.append(buffer)
        t = self.s.TensorT()
        t.shape = np.array(shape, np.int32)
        t.type = 2 if data is not None and data.dtype == np.int32 else 0  # INT32 or FLOAT32
        t.name, t.buffer = name.encode(), len(self.model.buffers) - 1
        self.graph.tensors.append(t)
        return len(self.graph.tensors) - 1

    def op(self, name: str, inputs, shape, options=None) -> int:
        out = self.tensor(shape, f"probe_{name.lower()}_{len(self.graph.operators)}")
        o = self.s.OperatorT()
        o.opcodeIndex = self.opcode(name)
        o.inputs, o.outputs = np.array(inputs, np.int32), np.array([out], np.int32)
        if options is not None:
            o.builtinOptionsType = getattr(self.s.BuiltinOptions, type(options).__name__[:-1])
            o.builtinOptions = options
        self.graph.operators.append(o)
        return out

    def shape(self, index: int) -> list[int]:
        return [int(v) for v in self.graph.tensors[index].shape]

    def outputs(self) -> list[int]:
        return [int(v) for v in self.graph.outputs]

    def set_output(self, slot: int, tensor: int) -> None:
        outs = np.array(self.graph.outputs, np.int32)
        outs[slot] = tensor
        self.graph.outputs = outs

    def constant_like(self, index: int, values: np.ndarray) -> int:
        """index * 0 + values: an output that is a constant but still computed from the model."""
        shape = self.shape(index)
        zero = self.tensor(shape, f"probe_zero_{index}", np.zeros(shape, np.float32))
        const = self.tensor(shape, f"probe_const_{index}", np.asarray(values, np.float32).reshape(shape))
        return self.op("ADD", [self.op("MUL", [index, zero], shape, self.s.MulOptionsT()), const], shape,
                       self.s.AddOptionsT())

    def abs_diff_stats(self, index: int, reference: np.ndarray) -> tuple[int, int]:
        """(sum, max) of |tensor - reference| as [1, 1] tensors."""
        shape = self.shape(index)
        ref = self.tensor(shape, f"probe_ref_{index}", np.asarray(reference, np.float32).reshape(shape))
        diff = self.op("ABS", [self.op("SUB", [index, ref], shape, self.s.SubOptionsT())], shape)
        axes = self.tensor([len(shape)], f"probe_axes_{index}", np.arange(len(shape), dtype=np.int32))
        stats = []
        for reducer in ("SUM", "REDUCE_MAX"):
            options = self.s.ReducerOptionsT()
            options.keepDims = True
            reduced = self.op(reducer, [diff, axes], [1] * len(shape), options)
            flat = self.tensor([2], f"probe_shape_{index}_{reducer}", np.array([1, 1], np.int32))
            stats.append(self.op("RESHAPE", [reduced, flat], [1, 1], self.s.ReshapeOptionsT()))
        return stats[0], stats[1]

    def place(self, value: int, slot: int, width: int) -> int:
        """A [1, 1] tensor padded into a [1, width] row at `slot`."""
        pads = self.tensor([2, 2], f"probe_pads_{value}", np.array([[0, 0], [slot, width - 1 - slot]], np.int32))
        return self.op("PAD", [value, pads], [1, width], self.s.PadOptionsT())

    def add(self, a: int, b: int) -> int:
        return self.op("ADD", [a, b], self.shape(a), self.s.AddOptionsT())

    def pack(self) -> bytes:
        import flatbuffers

        builder = flatbuffers.Builder(0)
        builder.Finish(self.model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _write_bundle(bundle: Path, landmark_model: bytes, out: Path) -> None:
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, landmark_model if name == LANDMARK_MODEL else src.read(name))


def tensor_probe_model(data: bytes, references: list[np.ndarray]) -> bytes:
    """The landmark model with its world-landmark output replaced: world landmark 2k's z holds sum|T_k - R_k|,
    2k+1's z max|T_k - R_k|, for T = (input, the 5 outputs) and R = `references`."""
    ed = _ModelEditor(data)
    outputs = ed.outputs()
    world_width = ed.shape(outputs[4])[1]
    row = None
    for k, (index, ref) in enumerate(zip([int(ed.graph.inputs[0]), *outputs], references)):
        for j, stat in enumerate(ed.abs_diff_stats(index, ref)):
            placed = ed.place(stat, 3 * (2 * k + j) + 2, world_width)
            row = placed if row is None else ed.add(row, placed)
    ed.set_output(4, row)
    return ed.pack()


def roi_model(data: bytes) -> bytes:
    """The landmark model with constant landmarks (ROI_POINTS) and a heatmap of -100 (no refinement)."""
    ed = _ModelEditor(data)
    landmarks, heatmap = ed.outputs()[0], ed.outputs()[3]
    n, dims = 39, ed.shape(landmarks)[1] // 39
    points = np.zeros((n, dims), np.float32)
    points[:, 3:] = 5.0  # visible, present
    for i in range(n):
        points[i, :2] = ROI_POINTS[i % len(ROI_POINTS)]
    ed.set_output(0, ed.constant_like(landmarks, points))
    ed.set_output(3, ed.constant_like(heatmap, np.full(ed.shape(heatmap), -100.0, np.float32)))
    return ed.pack()


def run_tasks(image: Path, task: Path) -> list[dict]:
    """Tasks PoseLandmarker in IMAGE mode with OpenCV decoding, as ../shared/reference/mediapipe/ was made."""
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(task)),
                                           running_mode=vision.RunningMode.IMAGE)
    rgb = cv2.cvtColor(cv2.imread(str(image), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
    return [{"landmarks": [[p.x, p.y, p.z] for p in lms], "world": [[p.x, p.y, p.z] for p in world]}
            for lms, world in zip(result.pose_landmarks, result.pose_world_landmarks)]


# ------------------------------------------------------------------------------------------- posegraph side


def _posegraph_run(image: Path, landmark_model: str | None = None, observe: dict | None = None) -> list:
    sys.path.insert(0, str(ROOT))
    from posegraph import Graph
    from posegraph.calculators.io.jsonl import read_jsonl

    graph = Graph("pose_tracking_cpu")
    for stream, callback in (observe or {}).items():
        graph.observe_output(stream, callback)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "poses.jsonl"
        side = {"input_path": str(image), "landmarks_path": str(out), "use_prev_landmarks": False}
        if landmark_model:
            side["landmark_model"] = landmark_model
        graph.start(side)
        graph.wait_until_done(timeout=300)
        return read_jsonl(out)


def dump(image: Path, out: Path) -> None:
    found: dict[str, np.ndarray] = {}

    def tensors_in(packet):
        found["input"] = np.asarray(packet.value[0], np.float32)

    def tensors_out(packet):
        for name, t in zip(TENSOR_NAMES[1:], packet.value):
            found[name] = np.asarray(t, np.float32)

    _posegraph_run(image, observe={"pose/landmarks/input_tensors": tensors_in,
                                   "pose/landmarks/landmark_tensors": tensors_out})
    if len(found) != len(TENSOR_NAMES):
        raise SystemExit(f"{image.name}: no pose found by posegraph, nothing to compare")
    np.savez(out, **found)
    print(f"{image.name}: posegraph's landmark-model input and outputs -> {out}")


# --------------------------------------------------------------------------------------------------- commands


def tensors(image: Path, pg: Path, bundle: Path) -> None:
    with np.load(pg) as data:
        refs = [data[name] for name in TENSOR_NAMES]
    with zipfile.ZipFile(bundle) as z:
        model = tensor_probe_model(z.read(LANDMARK_MODEL), refs)
    task = pg.with_suffix(".probe.task")
    _write_bundle(bundle, model, task)
    poses = run_tasks(image, task)
    if not poses:
        raise SystemExit("Tasks found no pose")
    world = poses[0]["world"]
    print(f"{'tensor':14s} {'sum |d|':>12s} {'max |d|':>12s}   (Tasks' landmark model against posegraph's)")
    for k, name in enumerate(TENSOR_NAMES):
        print(f"{name:14s} {world[2 * k][2]:12.6g} {world[2 * k + 1][2]:12.6g}")


def roi(image: Path, out: Path, tflite: Path, bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as z:
        model = roi_model(z.read(LANDMARK_MODEL))
    tflite.write_bytes(model)
    task = tflite.with_suffix(".task")
    _write_bundle(bundle, model, task)
    poses = run_tasks(image, task)
    out.write_text(json.dumps([p["landmarks"][:len(ROI_POINTS)] for p in poses]))
    print(f"{image.name}: Tasks' ROI points -> {out}; landmark model for posegraph -> {tflite}")


def roi_posegraph(image: Path, tflite: Path, out: Path) -> None:
    records = _posegraph_run(image, landmark_model=str(tflite))
    points = [np.asarray(p.landmarks, np.float32)[:len(ROI_POINTS), :3].tolist() for p in records[0].poses]
    out.write_text(json.dumps(points))
    print(f"{image.name}: posegraph's ROI points -> {out}")


def compare(a: Path, b: Path) -> int:
    pa, pb = (np.float32(json.loads(p.read_text())) for p in (a, b))
    if pa.shape != pb.shape:
        print(f"different numbers of poses: {pa.shape} / {pb.shape}")
        return 1
    diff = np.abs(pa - pb)
    print(f"max |difference| of the ROI points (normalised): {diff.max() if diff.size else 0.0:.3g}; "
          f"centre point {'identical' if not diff.size or not diff[:, 4].any() else 'differs'}")
    return int(bool(diff.size and diff.any()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("dump", help="posegraph's venv: save posegraph's landmark-model tensors")
    p.add_argument("image", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("tensors", help="mediapipe venv: compare Tasks' landmark-model tensors with posegraph's")
    p.add_argument("image", type=Path)
    p.add_argument("--pg", type=Path, required=True)
    p.add_argument("--bundle", type=Path, default=BUNDLE)
    p = sub.add_parser("roi", help="mediapipe venv: Tasks' ROI through a constant landmark model")
    p.add_argument("image", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--tflite", type=Path, required=True, help="where to write the constant landmark model")
    p.add_argument("--bundle", type=Path, default=BUNDLE)
    p = sub.add_parser("roi-posegraph", help="posegraph's venv: posegraph's ROI with the same model")
    p.add_argument("image", type=Path)
    p.add_argument("--tflite", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("compare", help="compare two ROI point files")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args.image, args.out)
    elif args.command == "tensors":
        tensors(args.image, args.pg, args.bundle)
    elif args.command == "roi":
        roi(args.image, args.out, args.tflite, args.bundle)
    elif args.command == "roi-posegraph":
        roi_posegraph(args.image, args.tflite, args.out)
    else:
        return compare(args.a, args.b)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
