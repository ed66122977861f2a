"""No Numba kernel is compiled or loaded inside the frame loop: every kernel a frame calls was already called, with
the same argument types, in some node's open(). A kernel's first call loads it from Numba's cache (5-8 ms each;
BlazePose's first frame carried ~30 ms of them) or compiles it; a warm-up call in open() with other types (a
read-only or non-contiguous array, an int for a float) would not count, which is what this test catches: it counts
each dispatcher's compiled signatures after start() and again after some frames, in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, sys
import cv2
from numba.core.dispatcher import Dispatcher
from posegraph import Graph
from posegraph.calculators.types import ImageFrame

graph_name, video, static, output = sys.argv[1], sys.argv[2], sys.argv[3] == "static", sys.argv[4]


def signatures():
    return {f"{name}.{attr}": len(obj.signatures) for name, module in list(sys.modules.items())
            if name.startswith("posegraph.calculators") and module is not None
            for attr, obj in list(vars(module).items()) if isinstance(obj, Dispatcher)}


graph = Graph(graph_name)
graph.start({"use_prev_landmarks": not static, **json.loads(sys.argv[5])}, synchronous=True)
opened = signatures()
capture = cv2.VideoCapture(video)
for i in range(6):
    ok, bgr = capture.read()
    out = graph.process({"image": ImageFrame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), "test", i)}, timestamp=i * 33333)
    assert out[output] is not None and len(out[output]), f"no pose in frame {i}"
graph.close(timeout=60)
after = signatures()
print(json.dumps({name: [opened.get(name, 0), n] for name, n in after.items() if n != opened.get(name, 0)}))
"""


MP_POSE_LANDMARK = "mediapipe/modules/pose_landmark/pose_landmark_cpu.pbtxt"  # under ../shared/mediapipe_graphs


@pytest.mark.parametrize("graph", ["pose_landmark_cpu", "pose_landmark_multi_cpu", "movenet_pose_cpu",
                                   MP_POSE_LANDMARK])
@pytest.mark.parametrize("mode", ["tracking", "static"])
def test_frames_call_no_kernel_that_open_did_not_load(shared, media, graph, mode):
    output, side = "poses", {}
    if graph == MP_POSE_LANDMARK:  # MediaPipe's own graph file: its calculators' MediaPipe contracts
        graph, output, side = str(shared / "mediapipe_graphs" / graph), "pose_landmarks", {"model_complexity": 0}
    done = subprocess.run([sys.executable, "-c", SCRIPT, graph, str(media / "video_dance_single_synthetic.mp4"), mode,
                           output, json.dumps(side)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded_in_frames = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded_in_frames == {}, f"kernels first called in a frame (signatures after open, after frames): " \
                                   f"{loaded_in_frames}"
