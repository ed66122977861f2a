"""Side packets with conventional names, through which the media apps take their files and modes.

A graph that reads media declares these as input side packets and its source and sink calculators consume them;
``posegraph run`` fills them from its media flags, ``posegraph batch`` per file, ``posegraph train-classifier`` per
folder. The runtime gives them no meaning: they are names, kept here so that every command spells them alike.
"""

from __future__ import annotations

INPUT_PATH = "input_path"                    # image, folder, video, camera or stream the source reads
OUTPUT_VIDEO_PATH = "output_video_path"      # annotated video / image(s) the renderer's sink writes
LANDMARKS_PATH = "landmarks_path"            # landmarks file (.jsonl, .json, .csv) the landmarks sink writes
MAX_FRAMES = "max_frames"                    # the source stops after this many frames
MASKS_PATH = "masks_path"                    # person masks the mask sink writes
MODEL_COMPLEXITY = "model_complexity"        # BlazePose landmark model: 0 lite, 1 full, 2 heavy
USE_PREV_LANDMARKS = "use_prev_landmarks"    # tracking between frames (false: static-image mode)
ENABLE_SEGMENTATION = "enable_segmentation"  # compute the masks that MASKS_PATH writes

# `posegraph run`'s flags (argparse destinations) that set one side packet each; --static clears USE_PREV_LANDMARKS.
RUN_FLAGS: dict[str, str] = {"input": INPUT_PATH, "output": OUTPUT_VIDEO_PATH, "landmarks": LANDMARKS_PATH,
                             "max_frames": MAX_FRAMES, "masks": MASKS_PATH, "model_complexity": MODEL_COMPLEXITY}


def flag(dest: str) -> str:
    """The option as typed: ``max_frames`` -> ``--max-frames``."""
    return "--" + dest.replace("_", "-")


# The flag that sets each side packet, for messages and `posegraph graphs`.
FLAG_FOR_SIDE: dict[str, str] = {name: flag(dest) for dest, name in RUN_FLAGS.items()} | {USE_PREV_LANDMARKS:
                                                                                            "--static"}

__all__ = ["ENABLE_SEGMENTATION", "FLAG_FOR_SIDE", "INPUT_PATH", "LANDMARKS_PATH", "MASKS_PATH", "MAX_FRAMES",
           "MODEL_COMPLEXITY", "OUTPUT_VIDEO_PATH", "RUN_FLAGS", "USE_PREV_LANDMARKS", "flag"]
