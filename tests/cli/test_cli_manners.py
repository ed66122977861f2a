"""The command line as a new user meets it: messages, exit codes, quiet output, help, --version, graphs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

import posegraph
from posegraph.cli import build_parser, main
from posegraph.cli_report import EXIT_RUN, EXIT_USAGE, one_line_warnings

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MEDIA = SHARED / "media"
VIDEO = MEDIA / "video_squats_woman.mp4"
IMAGE = MEDIA / "yoga_tree_pose.jpeg"

needs_media = pytest.mark.skipif(not VIDEO.is_file(), reason="needs ../shared/media")


def cli(*args: str, env: dict | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    """Run the real command in a child process, stderr as a pipe (not a terminal)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "posegraph.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"posegraph {posegraph.__version__}"


def test_every_argument_has_help_and_top_help_has_no_markup(capsys):
    parser = build_parser(plugins=True)
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "``" not in text and "posegraph graphs" in text

    def check(p, where):
        for action in p._actions:
            if action.help is None:
                raise AssertionError(f"{where}: {action.option_strings or action.dest} has no help")
            if isinstance(action.choices, dict):
                for choice, sub in action.choices.items():
                    check(sub, f"{where} {choice}")

    for action in parser._actions:
        if action.dest == "command":
            for name, sub in action.choices.items():
                if name in ("train-classifier", "batch"):  # plugin commands, owned by their packages
                    continue
                check(sub, name)


def test_graphs_lists_shipped_graphs_with_options(capsys):
    assert main(["graphs"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("pose_tracking_cpu "))
    assert "flagship" in line.lower() or "BlazePose" in line
    assert "--input" in out and "--static" in out and "max_poses=" in out
    assert out.index("pose_tracking_cpu") < out.index("subgraphs")
    assert "pose_landmark_cpu" in out.split("subgraphs")[1]


def test_subgraph_with_flag_is_a_usage_error_not_invalid_graph(capsys):
    assert main(["run", "pose_landmark_cpu", "--input", "x.mp4"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "invalid graph" not in err and "command line cannot feed" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_flag_a_graph_does_not_take_is_a_usage_error(capsys):
    assert main(["run", "movenet_singlepose", "--input", str(IMAGE), "--side", "nonsense=1"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "does not take nonsense" in err and "invalid graph" not in err


def test_missing_input_names_the_flag(capsys):
    assert main(["run", "pose_tracking_cpu"]) == EXIT_USAGE
    assert "pose_tracking_cpu needs --input PATH" in capsys.readouterr().err


def test_bad_flag_exits_2(capsys):
    assert main(["run", "movenet_singlepose", "--no-such-flag"]) == EXIT_USAGE
    assert "unrecognized arguments" in capsys.readouterr().err


@needs_media
def test_missing_file_one_message_exit_1_traceback_only_with_debug():
    result = cli("run", "pose_tracking_cpu", "--input", "/no/such/clip.mp4")
    assert result.returncode == EXIT_RUN
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "/no/such/clip.mp4 does not exist" in result.stderr and "Traceback" not in result.stderr
    debug = cli("run", "pose_tracking_cpu", "--input", "/no/such/clip.mp4", "--debug")
    assert debug.returncode == EXIT_RUN and "Traceback" in debug.stderr


def test_bad_media_one_message(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("garbage\n")
    result = cli("run", "pose_tracking_cpu", "--input", str(bad))
    assert result.returncode == EXIT_RUN
    assert "Traceback" not in result.stderr and "moov atom" not in result.stderr  # FFmpeg's own line is dropped
    assert f"cannot open video {bad}" in result.stderr


def test_missing_model_one_message():
    missing = cli("run", "movenet_singlepose", "--input", str(IMAGE), "--side", "model=nowhere_model.tflite")
    assert missing.returncode == EXIT_RUN and "Traceback" not in missing.stderr
    assert "nowhere_model.tflite' was not found" in missing.stderr and "Looked in" in missing.stderr


def test_missing_optional_dependency_message(capsys):
    from posegraph.cli_report import describe
    from posegraph.errors import CalculatorError

    try:
        import no_such_package_for_posegraph  # noqa: F401
    except ModuleNotFoundError as exc:
        error = CalculatorError("detector", "open", None, exc)
    message, code = describe(error)
    assert code == EXIT_RUN and "pip install no_such_package_for_posegraph" in message
    assert "Traceback" not in message and "node 'detector'" in message


def test_unexpected_error_says_rerun_with_debug():
    from posegraph.cli_report import describe
    message, code = describe(ZeroDivisionError("division by zero"))
    assert code == EXIT_RUN and "--debug" in message


def test_file_errors_name_the_file_without_errno():
    from posegraph.cli_report import describe
    from posegraph.errors import CalculatorError
    try:
        open("/no/such/folder/out.html", "w")
    except OSError as exc:
        error = exc
    assert describe(error) == ("/no/such/folder/out.html: no such file or directory", EXIT_RUN)
    message, _ = describe(CalculatorError("sink", "close", None, FileNotFoundError(2, "No such file", "a", None, "b")))
    assert message == "node 'sink' (close): a -> b: no such file"


@needs_media
def test_a_long_opening_is_announced_unless_quiet(monkeypatch, capsys):
    from posegraph import cli as cli_module

    monkeypatch.setattr(cli_module, "OPENING_NOTICE_S", 0.0)  # every opening counts as long
    assert cli_module.main(["run", "pose_tracking_cpu", "--input", str(VIDEO), "--max-frames", "2"]) == 0
    err = capsys.readouterr().err
    assert "posegraph: opening pose_tracking_cpu (loading models; a first run also compiles kernels" in err
    assert err.index("opening pose_tracking_cpu") < err.index("ran pose_tracking_cpu")
    assert cli_module.main(["run", "pose_tracking_cpu", "--input", str(VIDEO), "--max-frames", "2", "-q"]) == 0
    assert capsys.readouterr().err == ""


@needs_media
def test_run_is_quiet_by_default_and_profile_shows_the_table():
    quiet = cli("run", "pose_tracking_cpu", "--input", str(VIDEO), "--max-frames", "3")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == ""
    assert "XNNPACK" not in quiet.stderr and "INFO" not in quiet.stderr
    assert quiet.stderr.strip().splitlines()[-1].startswith("posegraph: ran pose_tracking_cpu: 3 frames")
    silent = cli("run", "pose_tracking_cpu", "--input", str(VIDEO), "--max-frames", "2", "--quiet")
    assert silent.returncode == 0 and silent.stdout == "" and silent.stderr == ""
    table = cli("run", "pose_tracking_cpu", "--input", str(VIDEO), "--max-frames", "2", "--profile")
    assert table.returncode == 0 and "calls" in table.stdout and "MediaSourceCalculator" in table.stdout
    verbose = cli("run", "pose_tracking_cpu", "--input", str(VIDEO), "--max-frames", "2", "-v")
    assert "calls" in verbose.stdout


@needs_media
def test_progress_on_a_pipe_is_plain_lines_of_finished_frames():
    result = cli("run", "pose_tracking_cpu", "--input", str(VIDEO), "--max-frames", "20",
                 env={"POSEGRAPH_PROGRESS_INTERVAL": "0.1"})
    assert result.returncode == 0, result.stderr
    lines = [l for l in result.stderr.splitlines() if "frames finished" in l]
    assert lines and all("\r" not in l for l in lines)
    assert all("/20 frames finished" in l and "frames/s" in l for l in lines)
    done = [int(l.split()[1].split("/")[0]) for l in lines]
    assert done == sorted(done) and max(done) <= 20


@needs_media
def test_static_on_a_graph_without_tracking_state_is_a_no_op(tmp_path):
    out = tmp_path / "p.jsonl"
    result = cli("run", "posenet_singlepose", "--input", str(IMAGE), "--static", "--landmarks", str(out))
    assert result.returncode == 0, result.stderr
    assert out.is_file()


@needs_media
def test_ctrl_c_exits_130():
    # --live paces the 7.5 s video at its frame rate, so the signal lands mid-run however fast the machine is
    process = subprocess.Popen([sys.executable, "-m", "posegraph.cli", "run", "pose_tracking_cpu", "--live", "--input",
                                str(MEDIA / "video_upper_body_selfie.mp4")], stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err


def test_warnings_are_one_line(capsys):
    with one_line_warnings():
        warnings.warn("the video has no frame rate; assuming 30", UserWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err == "posegraph: warning: the video has no frame rate; assuming 30\n"


def test_viz_png_without_graphviz_or_chromium_is_one_message(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = cli("viz", "pose_tracking_cpu", "-o", str(tmp_path / "g.png"),
                 env={"PATH": str(empty), "POSEGRAPH_BROWSER": str(tmp_path / "no-browser")})
    assert result.returncode == EXIT_RUN
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert "apt-get install graphviz" in result.stderr


def test_plugin_commands_take_debug_too(capsys, tmp_path):
    assert main(["train-classifier", str(tmp_path / "none"), "-o", str(tmp_path / "x.npz"), "--debug"]) == 1


def test_a_reader_that_leaves_early_is_not_an_error():
    done = subprocess.run(f"{sys.executable} -m posegraph.cli calculators | head -1", shell=True, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.count("\n") == 1 and done.stderr == ""


@needs_media
def test_a_real_warning_is_one_line(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "person.jpeg").write_bytes(IMAGE.read_bytes())
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    result = subprocess.run([sys.executable, "-m", "posegraph", "run", "movenet_singlepose", "--input",
                             str(tmp_path / "in")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    warning = [l for l in result.stderr.splitlines() if "notes.txt" in l]
    assert len(warning) == 1 and warning[0].startswith("posegraph: warning: ")
    assert "UserWarning" not in result.stderr and "warnings.warn" not in result.stderr
