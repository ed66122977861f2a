"""`posegraph train-classifier`: a k-NN pose sample file from a folder of labelled images.

    DIR/downdog/*.jpg, DIR/tree/*.png, ...   one sub-folder per class
    posegraph train-classifier DIR -o classifier.npz [--graph pose_tracking_cpu]

Landmarks come from any pose graph run through `posegraph.Graph` on the images (default: BlazePose
`pose_tracking_cpu` in static-image mode); the graph must take the `input_path` side packet and output a POSES stream
(list[Pose] per image). Nothing in the folder stops training: files that are not images or cannot be decoded, classes
without images and images without a person are reported and left out. Each sample is then classified against all
the others (leave-one-out k-NN); samples whose own class does not win alone are reported as outliers (MediaPipe's
advice: look at them, then fix or remove them; `--drop-outliers` removes them).

The file loads into `KnnPoseClassifierCalculator` (option `classifier` or side packet CLASSIFIER) and
`PoseSampleSet.load`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..calculators.classify.knn import KnnPoseClassifier, PoseSampleSet
from ..calculators.io.images import ImageDecodeError, list_images, read_image
from ..media_packets import INPUT_PATH, USE_PREV_LANDMARKS
from ..side_args import parse_side_args

__all__ = ["Outlier", "SkippedSample", "TrainingReport", "collect_samples", "find_outliers", "register",
           "train_classifier"]


@dataclass(frozen=True, slots=True)
class SkippedSample:
    """A file or folder left out of training, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Outlier:
    """A sample whose nearest neighbours (itself excluded) do not vote for its own class alone."""

    path: str
    class_name: str
    votes: dict[str, int]

    @property
    def predicted(self) -> list[str]:
        best = max(self.votes.values()) if self.votes else 0
        return [name for name, v in self.votes.items() if v == best]


@dataclass
class TrainingReport:
    """What happened to every file: samples per class, skipped files (not an image, undecodable, no person),
    empty classes, images with several people (the first pose was used) and outliers."""

    samples_per_class: dict[str, int] = field(default_factory=dict)
    skipped: list[SkippedSample] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)
    several_people: list[str] = field(default_factory=list)
    outliers: list[Outlier] = field(default_factory=list)
    dropped_outliers: int = 0
    topology: str = ""
    output: str = ""

    @property
    def num_samples(self) -> int:
        return sum(self.samples_per_class.values())

    def lines(self) -> list[str]:
        out = [f"{self.num_samples} samples ({self.topology or 'no poses'}) in {len(self.samples_per_class)} "
               f"class(es): " + ", ".join(f"{k} {v}" for k, v in self.samples_per_class.items())]
        for name in self.empty_classes:
            out.append(f"class {name!r}: no usable samples; it is left out")
        if self.skipped:
            out.append(f"left out {len(self.skipped)} file(s):")
            out += [f"  {s.path}: {s.reason}" for s in self.skipped]
        if self.several_people:
            out.append(f"{len(self.several_people)} image(s) with several people (the first pose was used):")
            out += [f"  {p}" for p in self.several_people]
        if self.outliers:
            verb = "dropped" if self.dropped_outliers else "kept; check them or use --drop-outliers"
            out.append(f"{len(self.outliers)} outlier(s) (nearest samples vote for another class; {verb}):")
            out += [f"  {o.path} [{o.class_name}] -> {', '.join(o.predicted)} (votes "
                    + ", ".join(f"{k} {v}" for k, v in o.votes.items() if v) + ")" for o in self.outliers]
        else:
            out.append("no outliers")
        if self.output:
            out.append(f"wrote {self.output}")
        return out


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.symlink(source.resolve(), target)
    except OSError:  # no symlinks (Windows without the privilege, some file systems)
        shutil.copyfile(source, target)


def _run_pose_graph(graph: str, folder: Path, count: int, stream: str, side: dict | None) -> list[list]:
    """Run `graph` on every image of `folder` (static-image mode when the graph has use_prev_landmarks); return the
    POSES value per image in file order."""
    from posegraph import Graph

    g = Graph(graph)
    declared = set(g.spec.input_side_packets)
    if INPUT_PATH not in declared:
        raise ValueError(f"graph {graph} has no input_path side packet, so it cannot read images; its side packets: "
                         f"{', '.join(sorted(declared)) or '(none)'}")
    if stream not in g.spec.output_streams:
        raise ValueError(f"graph {graph} has no output stream {stream!r}; its outputs: "
                         f"{', '.join(g.spec.output_streams) or '(none)'}")
    packets: list = []
    g.observe_output(stream, lambda p: packets.append((p.timestamp, p.value)))
    sides = {INPUT_PATH: str(folder)}
    if USE_PREV_LANDMARKS in declared:
        sides[USE_PREV_LANDMARKS] = False
    sides.update(side or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every file in the folder is a checked image
        g.start(sides)
        g.wait_until_done()
    packets.sort(key=lambda tv: tv[0])
    if len(packets) != count:
        raise ValueError(f"graph {graph} emitted {len(packets)} {stream} packets for {count} images; it must emit one "
                         f"list of poses per image")
    return [value or [] for _, value in packets]


def collect_samples(root: str | os.PathLike[str], *, graph: str = "pose_tracking_cpu", stream: str = "poses",
                    side: dict | None = None, log: Callable[[str], None] | None = None
                    ) -> tuple[PoseSampleSet | None, TrainingReport]:
    """Landmarks of the first person in every image of ROOT/<class>/ as a PoseSampleSet (None when no image gave a
    pose), with the report of everything left out."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"training folder {root} does not exist or is not a folder")
    report = TrainingReport()
    classes: list[str] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            classes.append(entry.name)
        else:
            report.skipped.append(SkippedSample(str(entry), "not in a class folder (put images in ROOT/<class>/)"))
    if not classes:
        raise ValueError(f"{root} has no class sub-folders; expected {root}/<class name>/<images>")
    items: list[tuple[int, Path, tuple[int, int]]] = []
    for label, name in enumerate(classes):
        listing = list_images(root / name)
        for skipped in listing.skipped:
            report.skipped.append(SkippedSample(str(skipped.path), f"not an image: {skipped.reason}"))
        for path in listing.images:
            try:
                pixels = read_image(path)
            except (ImageDecodeError, ValueError, OSError) as exc:
                report.skipped.append(SkippedSample(str(path), f"unreadable: {exc}"))
                continue
            items.append((label, path, (pixels.shape[1], pixels.shape[0])))
        if log:
            log(f"{name}: {sum(1 for i in items if i[0] == label)} image(s)")
    per_pose: list[list] = []
    if items:
        with tempfile.TemporaryDirectory(prefix="posegraph-train-") as tmp:
            for k, (_, path, _) in enumerate(items):
                _link_or_copy(path, Path(tmp) / f"{k:07d}{path.suffix.lower()}")
            per_pose = _run_pose_graph(graph, Path(tmp), len(items), stream, side)
    labels, landmarks, sizes, names = [], [], [], []
    topology = None
    for (label, path, size), poses in zip(items, per_pose):
        if not poses:
            report.skipped.append(SkippedSample(str(path), "no person found"))
            continue
        pose = poses[0]
        lm = np.asarray(pose.landmarks, np.float32)
        if topology is None:
            topology = (pose.topology, lm.shape)
        elif (pose.topology, lm.shape) != topology:
            raise ValueError(f"{path}: pose of topology {pose.topology} {lm.shape}, the others are {topology}")
        if not np.all(np.isfinite(lm[:, :3])):
            report.skipped.append(SkippedSample(str(path), "pose has non-finite landmarks"))
            continue
        if len(poses) > 1:
            report.several_people.append(str(path))
        labels.append(label)
        landmarks.append(lm)
        sizes.append(size)
        names.append(str(path.relative_to(root)))
    counts = {name: labels.count(i) for i, name in enumerate(classes)}
    report.empty_classes = [name for name, n in counts.items() if n == 0]
    if not labels:
        return None, report
    # Keep only classes with samples, so that every label of the file means something.
    used = [i for i, name in enumerate(classes) if counts[name]]
    remap = {old: new for new, old in enumerate(used)}
    class_names = tuple(classes[i] for i in used)
    report.samples_per_class = {name: counts[name] for name in class_names}
    report.topology = topology[0]
    samples = PoseSampleSet(topology[0], class_names, np.array([remap[x] for x in labels], np.int64),
                            np.stack(landmarks), np.array(sizes, np.float64), tuple(names),
                            {"graph": graph, "root": str(root)})
    return samples, report


def find_outliers(samples: PoseSampleSet, *, top_n_by_max_distance: int = 30,
                  top_n_by_mean_distance: int = 10) -> list[Outlier]:
    """Samples whose leave-one-out k-NN vote is not won by their own class alone."""
    if len(samples) < 2:
        return []
    knn = KnnPoseClassifier(samples, top_n_by_max_distance=top_n_by_max_distance,
                            top_n_by_mean_distance=top_n_by_mean_distance)
    votes = knn.leave_one_out_votes()
    outliers = []
    for s, row in enumerate(votes):
        best = row.max()
        winners = np.flatnonzero(row == best)
        if len(winners) != 1 or winners[0] != samples.labels[s]:
            name = samples.sample_names[s] if samples.sample_names else f"sample {s}"
            outliers.append(Outlier(name, samples.class_names[samples.labels[s]],
                                    {c: int(v) for c, v in zip(samples.class_names, row)}))
    return outliers


def train_classifier(root: str | os.PathLike[str], output: str | os.PathLike[str] | None, *,
                     graph: str = "pose_tracking_cpu", stream: str = "poses", side: dict | None = None,
                     drop_outliers: bool = False, top_n_by_max_distance: int = 30, top_n_by_mean_distance: int = 10,
                     log: Callable[[str], None] | None = None) -> tuple[PoseSampleSet | None, TrainingReport]:
    """Collect samples, report outliers, optionally drop them, write `output` (.npz) when there are samples."""
    samples, report = collect_samples(root, graph=graph, stream=stream, side=side, log=log)
    if samples is None:
        return None, report
    report.outliers = find_outliers(samples, top_n_by_max_distance=top_n_by_max_distance,
                                    top_n_by_mean_distance=top_n_by_mean_distance)
    if drop_outliers and report.outliers:
        bad = {o.path for o in report.outliers}
        samples = samples.subset(np.array([n not in bad for n in samples.sample_names]))
        report.dropped_outliers = len(report.outliers)
        report.samples_per_class = {k: v for k, v in samples.counts().items() if v}
        if len(samples) == 0:
            return None, report
    if output is not None:
        report.output = str(samples.save(output))
    return samples, report


def cmd_train_classifier(args: argparse.Namespace) -> int:
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    samples, report = train_classifier(args.dir, args.output, graph=args.graph, stream=args.stream,
                                       side=parse_side_args(args.side), drop_outliers=args.drop_outliers,
                                       top_n_by_max_distance=args.top_n_by_max_distance,
                                       top_n_by_mean_distance=args.top_n_by_mean_distance, log=log)
    print("\n".join(report.lines()))
    if samples is None:
        print(f"posegraph: error: no image in {args.dir} gave a pose; nothing written", file=sys.stderr)
        return 1
    if len(samples.class_names) < 2:
        print("posegraph: warning: only one class has samples; every pose will be classified as it",
              file=sys.stderr)
    return 0


def register(subparsers) -> None:
    """Entry point of group `posegraph.commands`: adds `posegraph train-classifier`."""
    parser = subparsers.add_parser(
        "train-classifier", help="build a k-NN pose classifier (.npz) from DIR/<class>/<images>",
        description="Extract landmarks from DIR/<class>/<images> with a pose graph and write a k-NN sample file for "
                    "KnnPoseClassifierCalculator. Unreadable files, empty classes and images without a person are "
                    "reported, not fatal; leave-one-out outliers are reported.")
    parser.add_argument("dir", help="folder with one sub-folder of images per class")
    parser.add_argument("-o", "--output", required=True, help="the sample file to write (.npz)")
    parser.add_argument("--graph", default="pose_tracking_cpu",
                        help="pose graph (shipped name or .pbtxt) taking input_path; default pose_tracking_cpu, run "
                             "in static-image mode")
    parser.add_argument("--stream", default="poses", help="the graph's POSES output stream (default poses)")
    parser.add_argument("--side", action="append", metavar="KEY=VALUE", help="extra side packet for the graph")
    parser.add_argument("--drop-outliers", action="store_true", help="leave outliers out of the file")
    parser.add_argument("--top-n-by-max-distance", type=int, default=30)
    parser.add_argument("--top-n-by-mean-distance", type=int, default=10)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=cmd_train_classifier)
