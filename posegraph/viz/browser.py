"""A headless Chromium driven over the DevTools protocol (``--remote-debugging-pipe``): load a page, collect its
console errors, uncaught exceptions and network requests, run JavaScript, take screenshots.

Used by the tests (pages must load without errors, offline) and to turn an SVG into PNG where Graphviz is missing.
Debian: ``apt-get install -y chromium``. Set ``POSEGRAPH_BROWSER`` to use another Chromium-family binary.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--disable-features=Translate,MediaRouter,OptimizationHints")
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class BrowserUnavailable(RuntimeError):
    """No Chromium-family browser could be found or started."""


class BrowserError(RuntimeError):
    """The browser reported an error for a command, or did not answer in time."""


def find_browser() -> str | None:
    configured = os.environ.get("POSEGRAPH_BROWSER")
    if configured:
        return configured if Path(configured).exists() or shutil.which(configured) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless browser process with one page (tab).

    ``with Browser() as b: b.open(url); b.evaluate("document.title"); b.screenshot()``; ``b.errors`` lists console
    errors and uncaught exceptions since the last ``open``; ``b.requests`` every URL the page asked for.
    """

    def __init__(self, executable: str | None = None, *, width: int = 1280, height: int = 860,
                 timeout: float = 30.0):
        self.executable = executable or find_browser()
        if self.executable is None:
            raise BrowserUnavailable("no Chromium found (Debian: apt-get install -y chromium; or set "
                                     "POSEGRAPH_BROWSER)")
        self.timeout = timeout
        self.width, self.height = width, height
        self.errors: list[str] = []
        self.console: list[str] = []
        self.requests: list[str] = []
        self._events: queue.Queue = queue.Queue()
        self._replies: dict[int, dict] = {}
        self._reply_cond = threading.Condition()
        self._next_id = 0
        self._profile = tempfile.TemporaryDirectory(prefix="posegraph-chromium-")
        self._start()

    # -- process and pipe ------------------------------------------------------------------------------------
    def _start(self) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire_fds() -> None:  # the browser reads commands on fd 3 and writes replies on fd 4
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [self.executable, *FLAGS, f"--user-data-dir={self._profile.name}", "--remote-debugging-pipe",
                f"--window-size={self.width},{self.height}", "about:blank"]
        try:
            self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, preexec_fn=wire_fds, close_fds=False)
        except OSError as exc:
            raise BrowserUnavailable(f"cannot start {self.executable}: {exc}") from None
        finally:
            os.close(to_chrome_r)
            os.close(from_chrome_w)
        self._reader = threading.Thread(target=self._read_loop, name="cdp-reader", daemon=True)
        self._reader.start()
        try:
            target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable")
            self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                              "deviceScaleFactor": 1, "mobile": False})
        except Exception:
            self.close()
            raise

    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._reply_cond:
                    self._replies[-1] = {"error": {"message": "browser closed the pipe"}}
                    self._reply_cond.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                if "id" in message:
                    with self._reply_cond:
                        self._replies[message["id"]] = message
                        self._reply_cond.notify_all()
                else:
                    self._on_event(message)

    def _on_event(self, message: dict) -> None:
        method = message.get("method", "")
        params = message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "exception")
            self.errors.append(f"uncaught: {text}")
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append(f"{params.get('type')}: {text}")
            if params.get("type") in ("error", "assert"):
                self.errors.append(f"console.{params.get('type')}: {text}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                self.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))
        self._events.put(message)

    def _call(self, method: str, params: dict | None = None, session: str | None = None,
              timeout: float | None = None) -> dict:
        if self._proc.poll() is not None:
            raise BrowserError(f"browser exited with status {self._proc.returncode}")
        with self._reply_cond:
            self._next_id += 1
            call_id = self._next_id
        message = {"id": call_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode("utf-8") + b"\0"
        view = memoryview(data)
        while view:
            written = os.write(self._to_chrome, view)
            view = view[written:]
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._reply_cond:
            while call_id not in self._replies:
                if -1 in self._replies:
                    raise BrowserError(f"{method}: {self._replies[-1]['error']['message']}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BrowserError(f"{method}: no answer within {timeout or self.timeout} s")
                self._reply_cond.wait(remaining)
            reply = self._replies.pop(call_id)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def send(self, method: str, params: dict | None = None, timeout: float | None = None) -> dict:
        """A DevTools command on the page's session."""
        return self._call(method, params, self._session, timeout)

    # -- page helpers ----------------------------------------------------------------------------------------
    def open(self, url: str, timeout: float | None = None, ready: str | None = None) -> None:
        """Navigate and wait for the load event (and for the JavaScript expression `ready` to be truthy)."""
        self.errors.clear()
        self.console.clear()
        self.requests.clear()
        while not self._events.empty():
            self._events.get_nowait()
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        self.send("Page.navigate", {"url": url})
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"{url} did not finish loading within {timeout} s")
            try:
                event = self._events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event.get("method") == "Page.loadEventFired":
                break
        if ready:
            self.wait_for(ready, timeout=max(1.0, deadline - time.monotonic()))

    def evaluate(self, expression: str, timeout: float | None = None) -> Any:
        """Run JavaScript in the page; returns its (JSON-able) value; raises on an exception."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript failed: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 10.0, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression}")
            time.sleep(interval)

    def mouse(self, kind: str, x: float, y: float, **extra) -> None:
        """A real input event (mousePressed, mouseReleased, mouseMoved, mouseWheel) at page coordinates."""
        params = {"type": kind, "x": x, "y": y, **extra}
        if kind in ("mousePressed", "mouseReleased"):
            params.setdefault("button", "left")
            params.setdefault("clickCount", 1)
        self.send("Input.dispatchMouseEvent", params)

    def click(self, x: float, y: float) -> None:
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y)
        self.mouse("mouseReleased", x, y)

    def screenshot(self, path: str | os.PathLike | None = None, full_page: bool = False) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
            params["captureBeyondViewport"] = True
        data = base64.b64decode(self.send("Page.captureScreenshot", params)["data"])
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def close(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            try:
                self._call("Browser.close", timeout=3.0)
            except Exception:  # noqa: BLE001 - it is going away anyway
                pass
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5.0)
        reader = getattr(self, "_reader", None)
        if reader is not None and proc is not None and proc.poll() is not None:
            reader.join(timeout=2.0)  # it sees end-of-file once the browser is gone
        for fd in ("_to_chrome", "_from_chrome"):
            value = getattr(self, fd, None)
            if value is not None:
                try:
                    os.close(value)
                except OSError:
                    pass
                setattr(self, fd, None)
        self._profile.cleanup()

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def svg_to_png(svg: str, executable: str | None = None) -> bytes:
    """Render an SVG document at its own size to PNG with headless Chromium."""
    import re

    match = re.search(r'width="([\d.]+)" height="([\d.]+)"', svg)
    width, height = (int(float(match.group(1))) + 1, int(float(match.group(2))) + 1) if match else (1200, 900)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "drawing.svg"
        page.write_text(svg, encoding="utf-8")
        with Browser(executable, width=min(width, 16000), height=min(height, 16000)) as browser:
            browser.open(page.as_uri())
            return browser.screenshot()


__all__ = ["Browser", "BrowserError", "BrowserUnavailable", "find_browser", "svg_to_png", "FLAGS"]
