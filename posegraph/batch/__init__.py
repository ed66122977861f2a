"""Batch processing: run any graph over many media files, on this machine or on a Ray cluster.

    from posegraph.batch import run_batch
    summary = run_batch("pose_tracking_cpu", ["videos/*.mp4"], "out/", engine="local", max_frames=300)

or ``posegraph batch pose_tracking_cpu --inputs 'videos/*.mp4' --out out/ [--engine ray --address ADDR]``.
The batch layer is runtime-level: it knows side packets and files, not pose. See README.md in this folder for the
design, the resume rules and the scaling model.
"""

from .driver import ENGINES, BatchSummary, job_key, run_batch
from .errors import BatchError
from .inputs import expand_inputs, output_stems
from .store import OutputStore, read_manifest
from .worker import FileOutcome, FileRunner, FileTask

__all__ = ["ENGINES", "BatchError", "BatchSummary", "FileOutcome", "FileRunner", "FileTask", "OutputStore",
           "expand_inputs", "job_key", "output_stems", "read_manifest", "run_batch"]
