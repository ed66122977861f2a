"""Inference: runs a model on a list of tensors, with a choice of runtime (TFLite / LiteRT or OpenVINO).

``InferenceCalculator`` (options ``posegraph.InferenceOptions``) takes the ``backend`` option ("tflite", the
default, or "openvino"); ``TfliteInferenceCalculator`` is its deprecated 0.1 name, kept for graphs that still use it. The backend only changes which wrapper loads the
model; the contract (TENSORS list in, TENSORS list out, model outputs in order) is the same, so a graph swaps
runtimes by changing one option.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posegraph import Calculator, Input, InputSidePacket, Output, OutputSidePacket, calculator

from ...models import resolve_model
from .base import ModelMismatchError, ModelSpecs, raise_on_mismatch
from .core_gauge import GAUGE
from .model_pool import lease_model
from .openvino_model import PRECISIONS
from .specs import model_specs, publish

BACKENDS = ("tflite", "openvino")


def auto_threads() -> int:
    """Interpreter threads when a graph does not say: OMP_NUM_THREADS when set (process pools and Ray set it per
    worker, so workers sharing a machine do not oversubscribe it), else one per core, at most 4."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return max(1, min(4, os.cpu_count() or 1))


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1x224x224x3"`` -> (1, 224, 224, 3); ``-1`` or ``?`` is any size."""
    return tuple(-1 if part in ("?", "-1") else int(part) for part in text.lower().split("x"))


@dataclass
class InferenceOptions:
    # A model name from models/manifest.toml, a file name, or a path (see posegraph.models.resolve_model).
    model: str = ""
    # "tflite" (LiteRT, or tflite-runtime) or "openvino" (needs the optional `openvino` package; model = IR .xml).
    backend: str = "tflite"
    # Interpreter threads; 0 = auto: one per core, at most 4 (with max_in_flight > 1: for a call alone in the
    # process; a call beside other model calls runs on an interpreter with half as many, see core_gauge).
    num_threads: int = 0
    # Expected tensor shapes ("1x224x224x3"); a model that does not match is refused before the first frame.
    input_shapes: list[str] = field(default_factory=list)
    output_shapes: list[str] = field(default_factory=list)
    # OpenVINO only: the device ("CPU") and the inference precision hint ("f32"; "" = the device default, which is
    # bf16 on recent CPUs and moves heatmap peaks).
    device: str = "CPU"
    precision: str = "f32"
    # Load the model on the node's first packet instead of at open(): for a branch that carries packets in some
    # runs only (MoveNet's static-image refine pass), so that the other runs hold no interpreter for it (~10 MB).
    # Shapes are still checked, and SPECS set, at open() from the model's specs.
    load_on_first_packet: bool = False
    # With max_in_flight > 1: load the interpreters beyond the first on the first call that runs beside another
    # model call, instead of at open(). For nodes whose calls overlap in some runs only (BlazePose's detector and
    # landmark model: static mode and multi-person overlap, tracking never does), so tracking does not hold
    # interpreters it never uses (~55 MB single-person, ~115 MB multi-person); the runs that do overlap pay one
    # load (95-210 ms) on about their second frame. Off by default: a node whose calls always overlap (PoseNet)
    # loads them all ahead, with no load inside the frame loop.
    load_extra_on_overlap: bool = False
    # Indices of model outputs copied out only when the OPTIONAL_OUTPUTS side packet is given and true; else each
    # is an empty array of its dtype. For outputs that only a branch switched on by the same side packet reads:
    # BlazePose's segmentation mask (256 KB copied after every landmark call for nothing when segmentation is off,
    # 25-30 us a frame right after the model ran).
    optional_outputs: list[int] = field(default_factory=list)

    def __post_init__(self):
        for text in (*self.input_shapes, *self.output_shapes):
            parse_shape(text)
        if self.num_threads < 0:
            raise ValueError("num_threads must be 0 (auto) or more")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(repr(b) for b in BACKENDS)}, not {self.backend!r}")
        if any(i < 0 for i in self.optional_outputs):
            raise ValueError("optional_outputs are output indices (0 or more)")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {self.precision!r}")
        if self.backend == "tflite" and self.device.upper() != "CPU":
            raise ValueError(f"the tflite backend runs on the CPU only; device {self.device!r} needs backend "
                             "'openvino'")


@dataclass
class TfliteInferenceOptions(InferenceOptions):
    """The options of TfliteInferenceCalculator (the same fields as InferenceOptions)."""


def _check_format(path: Path, backend: str) -> None:
    suffix = path.suffix.lower()
    if backend == "tflite" and suffix in (".xml", ".bin"):
        raise ValueError(f"model {path} is an OpenVINO IR file; set backend: \"openvino\"")
    if backend == "openvino" and suffix == ".tflite":
        raise ValueError(f"model {path} is a TFLite file; set backend: \"tflite\" (the default)")


class _InferenceBase(Calculator):
    """The implementation of InferenceCalculator (its deprecated name TfliteInferenceCalculator subclasses it only
    to read the old options message)."""

    TENSORS_IN = Input("TENSORS")
    TENSORS_OUT = Output[list]("TENSORS")
    MODEL = InputSidePacket[str]("MODEL", optional=True)
    # Overrides num_threads: lets an app size interpreter threads against the graph's worker threads.
    NUM_THREADS = InputSidePacket[int]("NUM_THREADS", optional=True)
    # True: the outputs listed in optional_outputs are copied out too (see InferenceOptions.optional_outputs).
    OPTIONAL_OUTPUTS = InputSidePacket[bool]("OPTIONAL_OUTPUTS", optional=True)
    # The model's tensors (names, shapes, dtypes, quantisation), whatever the backend; also published through
    # calculators.inference.specs for the decoders and crops configured with the same model.
    SPECS = OutputSidePacket[ModelSpecs]("SPECS", optional=True)
    Options = InferenceOptions

    # Frames that do not depend on each other may be inferred at once: with ``max_in_flight: N`` on the node, the
    # runtime overlaps up to N process() calls (outputs still leave in timestamp order) and each call runs on its
    # own interpreter: all leased at open() (the first on the first packet, with load_on_first_packet), or, with
    # load_extra_on_overlap, each beyond the first by the first call that finds none idle (see _take).
    CONCURRENT_PROCESS = True

    def open(self, ctx):
        opts = self.options
        copies = ctx.max_in_flight
        given = int(ctx.side(self.NUM_THREADS, default=None) or opts.num_threads)
        threads = given or auto_threads()
        # One interpreter per call in flight. With auto threads and max_in_flight > 1 they adapt (core_gauge): the
        # first has `threads` for a call alone in the process, the others half as many for calls beside other model
        # calls, so that interpreters do not spin against each other. Given threads are kept as given.
        narrow = threads if given else max(1, threads // 2)
        model = ctx.side(self.MODEL) or opts.model
        if not model:
            raise ValueError(f"node '{self.name}': no model given (set options.model or the MODEL side packet)")
        path = resolve_model(model)
        _check_format(path, opts.backend)
        self._leases = []
        self._wide: list = []  # the idle interpreters: wide for a call alone, narrow else (taken under `_pick`)
        self._narrow: list = []
        self._pick = threading.Lock()
        self._counts = [threads] + [narrow] * (copies - 1)
        self._load = lambda count: lease_model(path, opts.backend, num_threads=count, device=opts.device,
                                               precision=opts.precision)
        self.model = None
        if opts.load_on_first_packet:
            specs = model_specs(path)
        else:
            self._load_wide()
            if not opts.load_extra_on_overlap:
                try:
                    while len(self._leases) < len(self._counts):
                        self._narrow.append(self._load_narrow())
                except BaseException:
                    self._release_all()  # close() is not called when open() fails
                    raise
            specs = self.model.specs
            publish(specs)
        ctx.set_side(self.SPECS, specs)
        if opts.input_shapes or opts.output_shapes:
            try:
                raise_on_mismatch(f"{specs.kind} {specs.path}",
                                  [parse_shape(s) for s in opts.input_shapes] or None,
                                  [parse_shape(s) for s in opts.output_shapes] or None, specs.inputs, specs.outputs)
            except ModelMismatchError as exc:
                self._release_all()  # close() is not called when open() fails
                raise ModelMismatchError(f"node '{self.name}': model {path} does not fit this node: {exc}") from exc
        wanted = bool(ctx.side(self.OPTIONAL_OUTPUTS, default=False))
        too_far = [i for i in opts.optional_outputs if i >= len(specs.outputs)]
        if too_far:
            self._release_all()  # close() is not called when open() fails
            raise ValueError(f"node '{self.name}': optional_outputs {too_far} but model {path} has "
                             f"{len(specs.outputs)} outputs")
        self._skip = frozenset() if wanted else frozenset(opts.optional_outputs)

    def _load_wide(self) -> None:
        """Lease the interpreter for a call alone from the process's pool (runs one after another reuse it; see
        model_pool). With load_extra_on_overlap the narrow ones wait for a call that wants one: in tracking, where
        each frame's ROI comes from the previous frame, calls never overlap, and the narrow interpreters of
        pose_tracking_cpu's detector and landmark nodes were ~55 MB of peak RSS held for nothing (~115 MB in
        pose_tracking_multi_cpu)."""
        self._leases.append(self._load(self._counts[0]))
        self._wide.append(self._leases[0])
        self.model = self._leases[0].model

    def _load_narrow(self):
        """Lease the next interpreter for a call beside other model calls (kept in `_leases` for close())."""
        self._leases.append(self._load(self._counts[len(self._leases)]))
        return self._leases[-1]

    def _take(self, others: int) -> tuple[list, object]:
        """An idle interpreter and the list it goes back to (called under `_pick`): the preferred one (wide for a
        call alone, narrow beside other model calls), else a newly loaded narrow one while fewer than max_in_flight
        are loaded, else the other kind. At most max_in_flight calls overlap, so one of them is there.

        The narrow ones are loaded here, on the call that first wants one, not on a thread of their own: a TFLite
        load holds the GIL for most of its 95-210 ms (meanwhile another thread went 80-145 ms without running), so
        a load in the background stalls the graph's workers as much as one on the calling worker (measured: the
        first six calls' slowest alike, 97-184 ms vs 97-161 ms for the detector in static mode, both noisy)."""
        if not self._leases:  # load_on_first_packet
            self._load_wide()
        idle = self._narrow if others else self._wide
        if not idle and len(self._leases) < len(self._counts):
            return self._narrow, self._load_narrow()
        if not idle:
            idle = self._wide if others else self._narrow
        return idle, idle.pop()

    def process(self, ctx):
        tensors = ctx[self.TENSORS_IN]
        if isinstance(tensors, np.ndarray):
            tensors = [tensors]
        others = GAUGE.enter()
        try:
            with self._pick:
                idle, lease = self._take(others)
        except BaseException:
            GAUGE.leave()
            raise
        try:
            outputs = lease.run(*tensors, skip=self._skip)
        finally:
            idle.append(lease)
            GAUGE.leave()
        ctx.send(self.TENSORS_OUT, outputs)

    def close(self, ctx):
        self._release_all()

    def _release_all(self) -> None:
        for lease in self._leases:
            lease.release()
        self._leases = []


@calculator("InferenceCalculator")
class InferenceCalculator(_InferenceBase):
    """TENSORS (a list of arrays, or one array) -> TENSORS (the model's outputs, in order); TFLite or OpenVINO.

    The MODEL side packet, when given, overrides the ``model`` option (e.g. to swap the lite landmark model for
    the full one). One interpreter / infer request per node, leased from a process-wide pool (model_pool) so
    that runs one after another reuse it; inference releases the GIL, so other nodes run
    meanwhile. ``max_in_flight: N`` on the node (for calls that do not depend on each other: frames in static
    mode, people) runs up to N calls at once, one interpreter each, outputs in timestamp order; with auto threads
    a call beside other model calls gets an interpreter with half the threads. ``backend: "openvino"`` needs the
    optional ``openvino`` package (pip install 'posegraph[openvino]').
    SPECS (optional output side packet): the model's tensor specs, also published for decoders and crops.
    """

    Options = InferenceOptions


_warned_deprecated = False


@calculator("TfliteInferenceCalculator")
class TfliteInferenceCalculator(InferenceCalculator):
    """Deprecated: the 0.1 name of InferenceCalculator (options ``posegraph.TfliteInferenceOptions``, the same
    fields). Graphs still written with it run unchanged and warn once per process (DeprecationWarning); write
    ``calculator: "InferenceCalculator"`` with ``[posegraph.InferenceOptions.ext]`` instead."""

    Options = TfliteInferenceOptions

    def open(self, ctx):
        global _warned_deprecated
        if not _warned_deprecated:
            _warned_deprecated = True
            warnings.warn("calculator 'TfliteInferenceCalculator' is deprecated: use 'InferenceCalculator' (options "
                          "posegraph.InferenceOptions, the same fields)", DeprecationWarning, stacklevel=2)
        super().open(ctx)


__all__ = ["BACKENDS", "InferenceCalculator", "InferenceOptions", "TfliteInferenceCalculator", "TfliteInferenceOptions",
           "parse_shape"]
