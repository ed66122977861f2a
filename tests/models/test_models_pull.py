"""`posegraph models list|pull` against a local HTTP server that serves ../shared/models in place of the public URLs
(this machine cannot reach them): download, sha256 check, deletion of a mismatch, resume, derived files."""

from __future__ import annotations

import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from posegraph.cli import main
from posegraph.models import load_manifest, resolve_model, sha256_of
from posegraph.models import resolver as resolver_module

SHARED_MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"
pytestmark = pytest.mark.skipif(not SHARED_MODELS.is_dir(), reason="needs ../shared/models")


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves a folder with single-range support (what resuming needs), and records each request's Range."""

    requests: list = []

    def log_message(self, *args):  # keep test output clean
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        header = self.headers.get("Range")
        type(self).requests.append((self.path, header))
        if not header or not path.is_file():
            return super().send_head()
        start = int(header.removeprefix("bytes=").split("-")[0])
        data = path.read_bytes()
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        import io
        return io.BytesIO(data[start:])


@pytest.fixture
def serve():
    servers = []

    def start(folder: Path) -> str:
        RangeHandler.requests = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No model anywhere but the (empty) user cache: no ../shared, no POSEGRAPH_MODELS."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POSEGRAPH_MODELS", raising=False)
    monkeypatch.delenv("POSEGRAPH_MODELS_MIRROR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(resolver_module, "_repository_root", lambda start: None)
    return tmp_path / "cache" / "posegraph" / "models"


def test_list_says_missing_then_pull_then_found(isolated, serve, capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("blazepose_detector "))
    assert "missing" in line and "posegraph models pull blazepose_detector" in line
    assert "mediapipe_pose_landmarker_lite_task" in out and "no public download" in out

    url = serve(SHARED_MODELS)
    assert main(["models", "pull", "blazepose_detector", "--mirror", url]) == 0
    target = isolated / "blazepose_pose_detection.tflite"
    assert sha256_of(target) == load_manifest()["blazepose_detector"].sha256
    assert "downloaded" in capsys.readouterr().out
    assert resolve_model("blazepose_detector", verify="sha256") == target  # the resolver's last folder

    assert main(["models", "list"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("blazepose_detector "))
    assert "found" in line and str(target) in line

    assert main(["models", "pull", "blazepose_detector", "--mirror", url]) == 0  # already there: no download
    assert "present" in capsys.readouterr().out


def test_mismatch_is_deleted_and_reported(isolated, serve, tmp_path, capsys):
    bad = tmp_path / "served"
    bad.mkdir()
    data = bytearray((SHARED_MODELS / "pose_classifier_yoga.tflite").read_bytes())
    data[100] ^= 0xFF
    (bad / "pose_classifier_yoga.tflite").write_bytes(bytes(data))
    url = serve(bad)
    assert main(["models", "pull", "pose_classifier_yoga", "--mirror", url]) == 1
    err = capsys.readouterr().err
    assert "does not match the manifest" in err and "deleted" in err and "Traceback" not in err
    assert not any(isolated.rglob("pose_classifier_yoga*")) if isolated.exists() else True


def test_resume_sends_a_range_and_completes(isolated, serve, monkeypatch):
    spec = load_manifest()["movenet_lightning_int8"]
    isolated.mkdir(parents=True)
    full = (SHARED_MODELS / spec.file).read_bytes()
    (isolated / (spec.file + ".part")).write_bytes(full[:1000])
    url = serve(SHARED_MODELS)
    from posegraph.models.download import pull
    result = pull("movenet_lightning_int8", mirror=url)
    assert result.status == "resumed"
    assert ("/" + spec.file, "bytes=1000-") in RangeHandler.requests
    assert sha256_of(result.path) == spec.sha256
    assert not (isolated / (spec.file + ".part")).exists()


def test_environment_mirror_companions_and_derived(isolated, serve, monkeypatch):
    monkeypatch.setenv("POSEGRAPH_MODELS_MIRROR", serve(SHARED_MODELS))
    assert main(["models", "pull", "pp_tinypose_128x96", "posenet", "--quiet"]) == 0
    spec = load_manifest()["pp_tinypose_128x96"]
    assert sha256_of(isolated / spec.companions[0].file) == spec.companions[0].sha256
    posenet = load_manifest()["posenet"]
    assert sha256_of(isolated / posenet.file) == posenet.sha256  # made from posenet_customop by the byte patch
    assert (isolated / load_manifest()["posenet_customop"].file).is_file()


def test_every_public_entry_has_a_url_at_a_commit():
    for spec in load_manifest().values():
        if spec.url:
            assert spec.url.startswith("https://") and any(len(p) == 40 for p in spec.url.split("/")), spec.url


def test_usage_errors(isolated, capsys):
    assert main(["models", "pull"]) == 2
    assert main(["models", "pull", "no_such_model"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_unreachable_server_keeps_nothing_and_says_so(isolated, capsys):
    assert main(["models", "pull", "blazepose_detector", "--mirror", "http://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert "cannot download http://127.0.0.1:9/blazepose_pose_detection.tflite" in err
    shutil.rmtree(isolated, ignore_errors=True)
