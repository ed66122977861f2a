"""How the command line talks to people: one message per error, exit codes, one line per warning, and no
third-party chatter.

Exit codes follow the usual convention: 0 success, 1 the run failed (missing file, bad media, missing model or
package, a calculator error), 2 a usage or configuration error (bad flag, invalid graph), 130 interrupted (Ctrl-C).
A traceback is printed only with ``--debug``: a user error is not a bug, and the message already says what to do.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import traceback
import warnings
from contextlib import contextmanager
from typing import IO, Iterator

from .errors import CalculatorError, GraphConfigError, PosegraphError

EXIT_OK = 0
EXIT_RUN = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Lines that native libraries write straight to file descriptor 2, bypassing Python: informational, never actionable.
NATIVE_NOISE = (
    re.compile(rb"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.\s*$"),  # LiteRT / tflite-runtime
    re.compile(rb"^INFO: Initialized TensorFlow Lite runtime\.\s*$"),
    re.compile(rb"^\[[\w,]+ @ 0x[0-9a-f]+\] "),  # FFmpeg through OpenCV (the run's own error says what is wrong)
    # OpenCV's video I/O retrying a stream that is gone ("backend is generally available but can't be used to
    # capture by name"): the reconnect warning says it better
    re.compile(rb"^\[ WARN:[\d@.]+\] global cap[\w.]*\.cpp:\d+ "),
)


class UsageError(PosegraphError, ValueError):
    """The command line asks for something this graph or command cannot do (exit code 2); not a graph problem."""


def _root_cause(exc: BaseException) -> BaseException:
    """The error worth showing: a calculator's own exception rather than the wrapper that names the node."""
    return exc.original if isinstance(exc, CalculatorError) else exc


def describe(exc: BaseException) -> tuple[str, int]:
    """The one message and the exit code for an exception that ended a command."""
    if isinstance(exc, (GraphConfigError, UsageError)):
        return str(exc), EXIT_USAGE
    cause = _root_cause(exc)
    where = ""
    if isinstance(exc, CalculatorError):
        at = f" at {exc.timestamp} us" if exc.timestamp is not None else ""
        where = f"node '{exc.node}' ({exc.method}{at}): "
    if isinstance(cause, ModuleNotFoundError) and cause.name:
        hint = (f"a package this graph needs is not installed: {cause.name} ({cause}). Install it "
                f"(pip install {cause.name.split('.')[0]}) or the extra that names it (pip install 'posegraph[...]')")
        return where + hint, EXIT_RUN
    if isinstance(cause, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    known = (PosegraphError, OSError, ValueError, ImportError, RuntimeError, LookupError, TimeoutError)
    text = str(cause).strip() or type(cause).__name__
    if isinstance(cause, OSError) and cause.filename is not None and cause.strerror and text.startswith("[Errno"):
        # "[Errno 2] No such file or directory: '/x/out.html'" -> "/x/out.html: no such file or directory"
        target = f"{cause.filename} -> {cause.filename2}" if cause.filename2 is not None else f"{cause.filename}"
        return f"{where}{target}: {cause.strerror[0].lower()}{cause.strerror[1:]}", EXIT_RUN
    if isinstance(cause, known):
        if type(cause).__module__ == "builtins" and not isinstance(cause, (OSError, ValueError)):
            text = f"{type(cause).__name__}: {text}"
        return where + text, EXIT_RUN
    return (f"{where}unexpected {type(cause).__name__}: {text} (probably a bug: rerun with --debug for the "
            f"traceback and report it)"), EXIT_RUN


def report(exc: BaseException, *, prog: str = "posegraph", debug: bool = False, stream: IO[str] | None = None) -> int:
    """Print `exc` as one message (with the traceback first under `debug`) and return the exit code."""
    stream = stream or sys.stderr
    message, code = describe(exc)
    if debug:
        traceback.print_exception(exc, file=stream)
    prefix = f"{prog}: error: " if code != EXIT_INTERRUPTED else f"{prog}: "
    print(prefix + message, file=stream, flush=True)
    return code


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    stream = file or sys.stderr
    kind = "" if category is UserWarning else f" ({category.__name__})"
    text = str(message).strip().replace("\n", " ")
    try:
        print(f"posegraph: warning{kind}: {text}", file=stream, flush=True)
    except (OSError, ValueError):  # the stream went away while exiting
        pass


@contextmanager
def one_line_warnings(enabled: bool = True) -> Iterator[None]:
    """Show every warning as one ``posegraph: warning: ...`` line instead of file, line and source."""
    if not enabled:
        yield
        return
    previous = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        yield
    finally:
        warnings.showwarning = previous


class _NativeStderrFilter:
    """Routes file descriptor 2 through a pipe and drops known informational lines of native libraries.

    Python's own ``sys.stderr`` is pointed at a duplicate of the original descriptor, so the CLI's messages and
    progress bar go straight out; only what C/C++ code writes to fd 2 passes the filter, line by line.
    """

    def __init__(self, patterns=NATIVE_NOISE):
        self.patterns = patterns
        self.saved_fd = -1
        self.read_fd = -1
        self.thread: threading.Thread | None = None
        self.previous_stderr = None

    def start(self) -> bool:
        try:
            if sys.stderr.fileno() != 2:  # already redirected in Python (a test's capture, an embedding app)
                return False
        except (AttributeError, OSError, ValueError):
            return False
        try:
            sys.stderr.flush()
            self.saved_fd = os.dup(2)
            self.read_fd, write_fd = os.pipe()
            os.dup2(write_fd, 2)
            os.close(write_fd)
        except OSError:
            return False
        self.previous_stderr = sys.stderr
        encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
        sys.stderr = open(os.dup(self.saved_fd), "w", encoding=encoding, errors="backslashreplace",
                          buffering=1, closefd=True)
        self.thread = threading.Thread(target=self._pump, name="posegraph-stderr-filter", daemon=True)
        self.thread.start()
        return True

    def _pump(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self.read_fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            out = b"".join(line + b"\n" for line in lines if not any(p.search(line) for p in self.patterns))
            if out:
                os.write(self.saved_fd, out)
        if pending and not any(p.search(pending) for p in self.patterns):
            os.write(self.saved_fd, pending)
        os.close(self.read_fd)

    def stop(self) -> None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.saved_fd, 2)  # closes the pipe's last write end (unless a child process still holds it)
        if self.thread is not None:
            self.thread.join(2.0)
        replaced, sys.stderr = sys.stderr, self.previous_stderr
        try:
            replaced.close()
        except OSError:
            pass
        if self.thread is None or not self.thread.is_alive():
            os.close(self.saved_fd)
        # else: a child process still holds the pipe and the pump still forwards its lines: keep the descriptor
        # open (closing it could let the pump write into whatever file reuses the number)


@contextmanager
def quiet_native_stderr(enabled: bool = True) -> Iterator[None]:
    """Silence the informational lines native libraries print to fd 2 (the LiteRT XNNPACK line, FFmpeg's
    demuxer messages) for the duration of a command. The environment variables those libraries read are not
    enough: LiteRT prints its delegate line whatever ``TF_CPP_MIN_LOG_LEVEL`` says."""
    filt = _NativeStderrFilter()
    active = enabled and filt.start()
    try:
        yield
    finally:
        if active:
            filt.stop()


__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_RUN", "EXIT_USAGE", "NATIVE_NOISE", "UsageError", "describe",
           "one_line_warnings", "quiet_native_stderr", "report"]
