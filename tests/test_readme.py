"""Every Python block of the README runs as written, and its first command runs the flagship graph."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
SHARED = ROOT.parent / "shared"

pytestmark = pytest.mark.skipif(not (SHARED / "media").is_dir(), reason="the README's examples use ../shared")


def test_the_readme_has_python_examples():
    assert len(PYTHON_BLOCKS) >= 4
    first_tracker = README.index("PoseTracker")
    first_graph = README.index('Graph("')
    assert first_tracker < first_graph, "the README shows PoseTracker before the Graph API"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_block_runs(index):
    (ROOT / "out").mkdir(exist_ok=True)
    done = subprocess.run([sys.executable, "-c", PYTHON_BLOCKS[index]], cwd=ROOT, capture_output=True, text=True,
                          timeout=280)
    assert done.returncode == 0, f"README python block {index + 1} failed:\n{PYTHON_BLOCKS[index]}\n{done.stderr}"


@pytest.mark.timeout(300)
def test_first_command_runs_the_flagship_graph(tmp_path):
    first = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    assert "pip install -e . " in first and "[test]" not in first.split("# 2.")[0]
    command = re.search(r"(posegraph run .*?)(?:\n\n|\n#|$)", first.replace("\\\n", " "), re.S).group(1)
    args = shlex.split(command)[1:]
    args = [a.replace("out/", f"{tmp_path}/out/") for a in args] + ["--max-frames", "8"]
    done = subprocess.run([sys.executable, "-m", "posegraph.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=280)
    assert done.returncode == 0, done.stderr
    assert args[1] == "pose_tracking_cpu"
    out = tmp_path / "out"  # created by the run, as in a fresh clone
    assert len((out / "squats.jsonl").read_text().splitlines()) == 8 and (out / "squats.mp4").is_file()
