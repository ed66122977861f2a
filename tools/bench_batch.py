"""Batch throughput: files per minute with 1 and 2 workers, locally and on Ray, on the same cores.

    python tools/bench_batch.py [--frames 30] [--copies 2] [--repeat 2] [--skip-ray] [--skip-cli]

Workload: every shared video (first --frames frames) and a set of shared images, each linked --copies times under
distinct names, run through the flagship graph (landmarks JSONL). Each configuration writes to a fresh folder.
Printed per configuration: wall time including worker start-up and files/min over it; the sustained rate (workers
x files / time the files spent in workers: what the pool delivers once started); per file, the time and CPU time
inside a worker, and how many cores the workers kept busy; and the driver's CPU and commit time per file.
Each configuration runs --repeat times in alternating order; the median run is kept, and ratios compare 2 workers
with 1 worker of the same engine on the same cores. Baseline: one ``posegraph run`` process per file (a shell
loop), which pays start-up on every file.

The machine is shared and timings are noisy: compare ratios from one run, not absolute numbers across runs. CPU
time per file does not depend on other load and is the figure to scale from.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from posegraph.batch import run_batch

REPO = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("POSEGRAPH_SHARED", REPO.parent / "shared")) / "media"
GRAPH = "pose_tracking_cpu"
VIDEOS = ["video_dance_single_synthetic.mp4", "video_man_dancing_fullbody.mp4", "video_squats_woman.mp4",
          "video_upper_body_selfie.mp4"]
IMAGES = ["yoga_tree_pose.jpeg", "yoga_warrior2_beach.jpg", "person_single_fullbody_man_suit.jpeg",
          "person_single_fullbody_woman_standing.png", "fitness_squat.bmp", "negative_dogs.jpg",
          "figure_skater_seq_00001.jpg", "people_two_walking_snow.bmp"]


def make_inputs(folder: Path, copies: int) -> list[Path]:
    files = []
    for copy in range(copies):
        for name in VIDEOS + IMAGES:
            link = folder / f"c{copy}_{name}"
            link.symlink_to(MEDIA / name)
            files.append(link)
    return files


class Timeline:
    """When files finished, from the batch's events."""

    def __init__(self):
        self.done_at = []

    def __call__(self, kind, info):
        if kind == "done":
            self.done_at.append(time.perf_counter())


def bench(label: str, inputs: list[Path], work: Path, frames: int, graph: str | Path = GRAPH, **kwargs) -> dict:
    out = work / f"{label.replace(' ', '_').replace(',', '')}_{time.monotonic_ns()}"
    timeline = Timeline()
    started = time.perf_counter()
    summary = run_batch(graph, [str(p) for p in inputs], out, max_frames=frames, on_event=timeline, **kwargs)
    wall = time.perf_counter() - started
    if summary.failed:
        raise SystemExit(f"{label}: {summary.failed} files failed:\n{summary.text()}")
    workers = summary.engine["workers"]
    n = summary.ok
    # sustained: what the workers deliver once started, from the time files spent in them (no start-up; the
    # driver keeps each worker fed with --in-flight 2, so there are no gaps to leave out)
    sustained = 60 * workers * n / summary.worker_s
    result = {"label": label, "workers": workers, "threads": summary.engine.get("threads_per_worker"),
              "files": n, "frames": summary.frames, "wall": wall, "fpm": 60 * n / wall,
              "sustained_fpm": sustained, "first": timeline.done_at[0] - started,
              "file_ms": 1000 * summary.worker_s / n, "cpu_ms": 1000 * summary.cpu_s / n,
              "cores": summary.cpu_s / summary.worker_s * workers,
              "files_per_cpu_min": 60 * n / summary.cpu_s, "driver_ms": 1000 * summary.driver_cpu_s / n,
              "commit_ms": 1000 * summary.commit_s / n, "transfer": summary.engine.get("transfer", "-")}
    print(f"{label:<30} {workers} x {result['threads']} thr {result['transfer']:<5} | wall {wall:5.1f} s "
          f"{result['fpm']:5.0f} files/min | sustained {sustained:5.0f} files/min | first done "
          f"{result['first']:4.1f} s | per file in worker: {result['file_ms']:4.0f} ms, {result['cpu_ms']:4.0f} "
          f"ms CPU, {result['cores']:.2f} cores busy | driver CPU {result['driver_ms']:4.1f} ms/file "
          f"(commit {result['commit_ms']:4.1f} ms)", flush=True)
    return result


def median_run(runs: list[dict]) -> dict:
    """The run with the median sustained rate (a machine shared with other work disturbs single runs)."""
    return sorted(runs, key=lambda r: r["sustained_fpm"])[len(runs) // 2]


def bench_cli_loop(inputs: list[Path], work: Path, frames: int) -> dict:
    """One `posegraph run` process per file, over a sample of the inputs (every kind once)."""
    out = work / "cli_loop"
    out.mkdir()
    inputs = inputs[:len(VIDEOS) + len(IMAGES)]
    started = time.perf_counter()
    for path in inputs:
        subprocess.run([sys.executable, "-m", "posegraph.cli", "run", GRAPH, "--input", str(path), "--landmarks",
                        str(out / f"{path.stem}.jsonl"), "--max-frames", str(frames), "--quiet"], check=True,
                       stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    print(f"{'posegraph run per file (loop)':<30} one process per file wall {wall:5.1f} s "
          f"{60 * len(inputs) / wall:6.1f} files/min", flush=True)
    return {"label": "cli loop", "wall": wall, "fpm": 60 * len(inputs) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30, help="max frames per video")
    parser.add_argument("--copies", type=int, default=2, help="copies of the media set (distinct names)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds (alternating order); the best is kept")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        work = Path(tmp)
        (work / "inputs").mkdir()
        inputs = make_inputs(work / "inputs", args.copies)
        print(f"{len(inputs)} files ({len(VIDEOS) * args.copies} videos x <= {args.frames} frames, "
              f"{len(IMAGES) * args.copies} images), graph {GRAPH}, {cores} cores\n", flush=True)
        one = {"inference_threads": 1}  # the flagship's TFLite interpreters: 1 thread (default: one per core, <= 4)
        configs = [("local1", "local 1 worker x 2 threads", dict(engine="local", workers=1, threads=cores)),
                   ("local1t1", "local 1 worker x 1 thread", dict(engine="local", workers=1, threads=1)),
                   ("local2", "local 2 workers", dict(engine="local", workers=2, threads=max(1, cores // 2))),
                   ("local2i1", "local 2 workers, 1 tflite thr", dict(engine="local", workers=2, threads=1,
                                                                      side=one))]
        if not args.skip_ray:
            configs += [("ray1", "ray 1 actor x 2 CPUs", dict(engine="ray", workers=1, threads=2,
                                                               transfer="paths")),
                        ("ray2", "ray 2 actors", dict(engine="ray", workers=2, threads=1, transfer="paths")),
                        ("ray2i1", "ray 2 actors, 1 tflite thr", dict(engine="ray", workers=2, threads=1,
                                                                      transfer="paths", side=one)),
                        ("ray2b", "ray 2 actors, bytes", dict(engine="ray", workers=2, threads=1,
                                                              transfer="bytes"))]
            import ray
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        runs: dict[str, list[dict]] = {key: [] for key, _, _ in configs}
        try:
            bench("warm-up (Numba cache, page cache)", inputs[:4], work, args.frames, engine="local", workers=1)
            for round_ in range(args.repeat):
                print(f"-- round {round_ + 1} (load average {os.getloadavg()[0]:.1f})", flush=True)
                order = configs if round_ % 2 == 0 else configs[::-1]
                for key, label, kwargs in order:
                    runs[key].append(bench(label, inputs, work, args.frames, **kwargs))
        finally:
            if not args.skip_ray:
                ray.shutdown()
        results = {key: median_run(values) for key, values in runs.items()}
        print(f"\nmedian of {args.repeat} rounds (min..max sustained files/min):")
        for key, values in runs.items():
            r = results[key]
            rates = sorted(v["sustained_fpm"] for v in values)
            print(f"  {r['label']:<30} wall {r['fpm']:5.0f} files/min, sustained {r['sustained_fpm']:5.0f} files/min "
                  f"({rates[0]:.0f}..{rates[-1]:.0f}), {r['cpu_ms']:4.0f} ms CPU per file, {r['cores']:.2f} cores "
                  f"busy")
        if not args.skip_cli:
            results["cli"] = bench_cli_loop(inputs, work, args.frames)

    print("\nratios of the median runs (same engine, 2 workers / 1 worker on the same cores):")
    local2 = results["local2"]["sustained_fpm"]
    print(f"  local: wall {results['local2']['fpm'] / results['local1']['fpm']:.2f}x, "
          f"sustained {local2 / results['local1']['sustained_fpm']:.2f}x "
          f"(1 worker x 1 thread -> 2 workers: {local2 / results['local1t1']['sustained_fpm']:.2f}x; with 1 TFLite "
          f"thread per interpreter: {results['local2i1']['sustained_fpm'] / results['local1']['sustained_fpm']:.2f}x)")
    if "ray2" in results:
        print(f"  ray:   wall {results['ray2']['fpm'] / results['ray1']['fpm']:.2f}x, "
              f"sustained {results['ray2']['sustained_fpm'] / results['ray1']['sustained_fpm']:.2f}x (with 1 TFLite "
              f"thread per interpreter: {results['ray2i1']['sustained_fpm'] / results['ray1']['sustained_fpm']:.2f}x)")
        print(f"  ray 2 actors vs local 2 workers (sustained): "
              f"{results['ray2']['sustained_fpm'] / results['local2']['sustained_fpm']:.2f}x; bytes vs paths transfer "
              f"(sustained): {results['ray2b']['sustained_fpm'] / results['ray2']['sustained_fpm']:.2f}x")
    if "cli" in results:
        print(f"  local 2 workers vs a posegraph-run loop: {results['local2']['fpm'] / results['cli']['fpm']:.2f}x")


if __name__ == "__main__":
    main()
