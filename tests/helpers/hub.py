"""A tiny Hugging Face Hub look-alike for download tests (real HTTP on 127.0.0.1, random port).

It answers what ``huggingface_hub`` asks when it fetches a file:

- ``HEAD``/``GET /{org}/{repo}/resolve/{revision}/{filename}`` with ``X-Repo-Commit``, ``ETag`` and
  ``Content-Length``; unknown repos, revisions and files get 404 with the Hub's ``X-Error-Code``.
- Large ("LFS") files answer with a 302 to a second server on 127.0.0.2 (a different host, like the Hub's
  CDN) carrying ``X-Linked-Etag`` (the SHA-256) and ``X-Linked-Size``; the CDN serves ``/cdn/{sha256}``.
- ``Range: bytes=N-`` gives ``206 Partial Content``, so resumed downloads work.

Faults for tests: ``drop_after[filename] = n`` sends only ``n`` bytes of the next full GET and closes the
connection; ``wrong_sha.add(filename)`` advertises a wrong SHA-256.  Every request is recorded.

The fixtures ``env`` (a clean, online user) and ``hub`` (a running hub with a model and a tokenizer) reach
the engine tests through tests/mellow/conftest.py.
"""

from __future__ import annotations

import hashlib
import random
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Seen:
    """One request as the server saw it."""

    host: str
    method: str
    path: str
    range: str | None
    authorization: str | None


@dataclass
class HubFile:
    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def git_etag(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()


@dataclass
class HubState:
    files: dict[str, dict[str, HubFile]] = field(default_factory=dict)  # repo -> filename -> file
    seen: list[Seen] = field(default_factory=list)
    drop_after: dict[str, int] = field(default_factory=dict)
    wrong_sha: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    cdn_base: str | None = None


_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<name>.+)$")
_CDN = re.compile(r"^/cdn/(?P<sha>[0-9a-f]{64})$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
        return

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        self._answer(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(body=True)

    # ------------------------------------------------------------------------------------------------
    def _answer(self, body: bool) -> None:
        state = self.server.state
        with state.lock:
            state.seen.append(Seen(self.server.name, self.command, self.path, self.headers.get("Range"),
                                   self.headers.get("Authorization")))
        if (m := _CDN.match(self.path)) and self.server.name == "cdn":
            found = self._by_sha(m["sha"])
            if found is None:
                return self._status(404)
            return self._send_bytes(found[0], found[1], body)
        m = _RESOLVE.match(self.path)
        if m is None or self.server.name != "hub":
            return self._status(404)
        repo = state.files.get(m["repo"])
        if repo is None:
            return self._status(401, {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repo not found"})
        if m["rev"] not in ("main", COMMIT):
            return self._status(404, {"X-Error-Code": "RevisionNotFound"})
        f = repo.get(m["name"])
        if f is None:
            return self._status(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT})
        if f.lfs and state.cdn_base is not None:
            sha = "0" * 64 if m["name"] in state.wrong_sha else f.sha256
            return self._status(302, {
                "Location": f"{state.cdn_base}/cdn/{f.sha256}", "X-Repo-Commit": COMMIT,
                "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(f.data)), "ETag": f'"{f.git_etag}"',
            })
        self._send_bytes(m["name"], f, body, {"X-Repo-Commit": COMMIT})

    def _by_sha(self, sha: str) -> tuple[str, HubFile] | None:
        for repo in self.server.state.files.values():
            for name, f in repo.items():
                if f.sha256 == sha:
                    return name, f
        return None

    def _status(self, code: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_bytes(self, name: str, f: HubFile, body: bool, extra: dict[str, str] | None = None) -> None:
        data, start = f.data, 0
        rng = self.headers.get("Range")
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-", rng.strip())
            if m is None or int(m[1]) >= len(data):
                return self._status(416, {"Content-Range": f"bytes */{len(data)}"})
            start = int(m[1])
        self.send_response(206 if rng else 200)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("ETag", f'"{f.sha256 if f.lfs else f.git_etag}"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data) - start))
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if not body:
            return
        state = self.server.state
        with state.lock:
            cut = state.drop_after.pop(name, None) if not rng else None
        if cut is not None:
            self.wfile.write(data[start:start + cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data[start:])


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, name: str, state: HubState) -> None:
        super().__init__((host, 0), _Handler)
        self.name, self.state = name, state


class HubServer:
    """Start with ``with HubServer() as hub:``; ``hub.url`` is the value for ``HF_ENDPOINT``."""

    def __init__(self) -> None:
        self.state = HubState()
        self._servers: list[_Server] = []

    def add(self, repo: str, filename: str, data: bytes, lfs: bool | None = None) -> HubFile:
        """Publish ``data`` as ``repo/filename`` (LFS when ``lfs`` or, by default, when over 64 KiB)."""
        f = HubFile(data, lfs if lfs is not None else len(data) > 65536)
        self.state.files.setdefault(repo, {})[filename] = f
        return f

    @property
    def url(self) -> str:
        host, port = self._servers[0].server_address[:2]
        return f"http://{host}:{port}"

    @property
    def seen(self) -> list[Seen]:
        """File requests so far (huggingface_hub's own ``/api/...`` side requests left out)."""
        with self.state.lock:
            return [s for s in self.state.seen if not s.path.startswith("/api/")]

    def start(self) -> HubServer:
        self._servers.append(_Server("127.0.0.1", "hub", self.state))
        try:  # a different host name for the CDN, as on the real Hub; fall back to direct serving
            cdn = _Server("127.0.0.2", "cdn", self.state)
            self._servers.append(cdn)
            self.state.cdn_base = f"http://127.0.0.2:{cdn.server_address[1]}"
        except OSError:
            self.state.cdn_base = None
        for srv in self._servers:
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        self._servers.clear()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment: empty HF_HOME and Mellow data dir under tmp_path, online, with a token."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("MELLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_TOKEN", "hf_secret_test_token")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,127.0.0.2,localhost")
    return tmp_path


@pytest.fixture
def hub(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """A running hub with a fake v0.ckpt (LFS) and SmolLM2 tokenizer files (no special_tokens_map.json)."""
    from mellow.model_files import MODEL_REPO, TOKENIZER_REPO

    with HubServer() as server:
        server.add(MODEL_REPO, "v0.ckpt", random.Random(1).randbytes(300_000))
        server.add(TOKENIZER_REPO, "tokenizer.json", b'{"version": "1.0", "model": {}}')
        server.add(TOKENIZER_REPO, "tokenizer_config.json", b'{"model_max_length": 8192}')
        server.add(TOKENIZER_REPO, "vocab.json", b'{"!": 17}')
        server.add(TOKENIZER_REPO, "merges.txt", b"#version: 0.2\n")
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server
