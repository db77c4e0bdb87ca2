"""Fetching a model's files from the Hugging Face Hub into its model folder (resumable, cancellable).

Downloads use huggingface_hub's metadata request and HTTP reader (so ``HF_ENDPOINT``, ``HF_HOME`` tokens,
proxies and CDN redirects work as for any Hub download) but keep unfinished files in ``.partial/``:
``hf_hub_download`` deletes a partial file when a run stops, and the checkpoint is 0.67 GB.  Files already in
the Hub cache are linked instead of downloaded.  Environment: ``HF_ENDPOINT`` (mirror) and
``HF_HUB_OFFLINE=1`` (never touch the network), read at call time.  Where the files go, and finding them on
disk: :mod:`mellow.model_files`.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mellow.errors import DownloadError
from mellow.file_hash import SHA256, read_digest
from mellow.model_files import (
    DEFAULT_MODEL,
    MODEL_REPO,
    REQUIRED_TOKENIZER_FILE,
    TOKENIZER_DIR,
    TOKENIZER_FILES,
    TOKENIZER_REPO,
    ModelFiles,
    default_model_dir,
    from_hub_cache,
)

PARTIAL_DIR = ".partial"
COMPLETE_MARK = ".complete"  # written when a download run finished; later runs then skip the Hub entirely
_DEFAULT_ENDPOINT = "https://huggingface.co"
_SHA256 = re.compile(r"[0-9a-f]{64}")

ProgressCallback = Callable[[str, int, "int | None"], None]
"""``progress(filename, bytes_done, bytes_total_or_None)``, called from the downloading thread."""


class DownloadCancelled(DownloadError):
    """The caller's cancel event was set; what was fetched so far is kept and the next run resumes it."""


# --------------------------------------------------------------------------------------------- places
def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) asks for no network access."""
    return _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE"))


def hub_endpoint() -> str:
    """The Hub address: ``HF_ENDPOINT`` or huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT).rstrip("/")


# --------------------------------------------------------------------------------------------- fetching
def partial_path(dest_dir: Path, filename: str, etag: str) -> Path:
    """Where the unfinished download of ``filename`` (version ``etag``) is kept."""
    tag = re.sub(r"[^0-9A-Za-z]", "", etag)[:24] or "noetag"
    return dest_dir / PARTIAL_DIR / f"{Path(filename).name}.{tag}.part"


class _Reporter:
    """Stands in for huggingface_hub's tqdm bar: forwards byte counts and stops when ``cancel`` is set."""

    def __init__(self, name: str, progress: ProgressCallback | None, cancel: threading.Event | None,
                 *, total: int | None = None, initial: int = 0, **_: Any) -> None:
        self.name, self.progress, self.cancel = name, progress, cancel
        self.total, self.n = total, initial
        self._check()

    def _check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise DownloadCancelled(f"download of {self.name} cancelled; run it again to resume")
        if self.progress is not None:
            self.progress(self.name, self.n, self.total)

    def update(self, n: int = 1) -> None:
        self.n += n
        self._check()

    def __enter__(self) -> _Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None


def _place(src: Path, target: Path) -> None:
    """Put a copy of ``src`` (e.g. from the Hub cache) at ``target``: a hard link when possible."""
    src = src.resolve()  # the Hub cache's snapshot entries are relative symlinks to blobs
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, target)


def _hub_error(exc: Exception, repo: str, filename: str, endpoint: str) -> DownloadError:
    """Turn a huggingface_hub/httpx failure into one readable line."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, RemoteEntryNotFoundError):
        return DownloadError(f"{repo} on {endpoint} has no file {filename}")
    if isinstance(exc, GatedRepoError):
        return DownloadError(f"{repo} on {endpoint} needs you to log in (huggingface-cli login)")
    if isinstance(exc, RepositoryNotFoundError):
        return DownloadError(f"repository {repo} not found on {endpoint}")
    if isinstance(exc, RevisionNotFoundError):
        return DownloadError(f"{repo} on {endpoint} has no such revision")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "?"
        if status == 404:
            return DownloadError(f"{repo}/{filename} not found on {endpoint} (HTTP 404)")
        return DownloadError(f"downloading {repo}/{filename} from {endpoint} failed (HTTP {status})")
    detail = " ".join(str(exc).split())[:160] or type(exc).__name__
    return DownloadError(
        f"cannot download {repo}/{filename} from {endpoint}: {detail} (check the network or HF_ENDPOINT)")


def _metadata(repo: str, filename: str, revision: str) -> tuple[Any, str, str] | None:
    """(metadata, url, endpoint) of ``repo/filename`` on the Hub; None when the Hub has no such file."""
    from huggingface_hub import constants as hub_constants
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import RemoteEntryNotFoundError

    # huggingface_hub reads HF_HUB_OFFLINE once, at import: follow the variable as it is now.
    hub_constants.HF_HUB_OFFLINE = is_offline()
    endpoint = hub_endpoint()
    url = hf_hub_url(repo, filename, revision=revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, endpoint=endpoint)
    except RemoteEntryNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - network/HTTP failures of any client library huggingface_hub uses
        raise _hub_error(exc, repo, filename, endpoint) from None
    if not meta.etag or meta.commit_hash is None:
        raise DownloadError(f"{endpoint} does not look like a Hugging Face Hub (no ETag or commit id)")
    return meta, url, endpoint


def _fetch(repo: str, filename: str, target: Path, dest_dir: Path, *, revision: str,
           progress: ProgressCallback | None, cancel: threading.Event | None) -> bool:
    """Download ``repo/filename`` to ``target``, resuming a partial file; False when the Hub has no such file.

    The file lands in ``target`` only when complete (size checked; SHA-256 too for LFS files).
    """
    from filelock import FileLock, Timeout
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    found = _metadata(repo, filename, revision)
    if found is None:
        return False
    meta, url, endpoint = found
    headers = build_hf_headers()
    location = meta.location or url
    if urlparse(location).hostname != urlparse(url).hostname:
        headers.pop("authorization", None)  # never send a Hub token to a CDN
    part = partial_path(dest_dir, filename, meta.etag)
    part.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(part.parent / f"{Path(filename).name}.lock"), timeout=2)
    try:
        lock.acquire()
    except Timeout:
        raise DownloadError(f"another download of {filename} into {dest_dir} is running") from None
    try:
        for stale in part.parent.glob(f"{Path(filename).name}.*.part"):
            if stale != part:
                stale.unlink(missing_ok=True)  # an older version of the file: cannot be resumed
        done = part.stat().st_size if part.exists() else 0
        if meta.size is not None and done > meta.size:
            part.unlink()
            done = 0
        reporter = functools.partial(_Reporter, filename, progress, cancel)
        try:
            with part.open("ab") as f:
                http_get(location, f, resume_size=done, headers=headers, expected_size=meta.size,
                         displayed_filename=filename, tqdm_class=reporter)  # type: ignore[arg-type]
        except DownloadCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - as above; the partial file stays for the next run
            if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
                part.unlink(missing_ok=True)
            raise _hub_error(exc, repo, filename, endpoint) from None
        if _SHA256.fullmatch(meta.etag) and read_digest(part, SHA256, error=DownloadError) != meta.etag:
            part.unlink(missing_ok=True)
            raise DownloadError(f"downloaded {filename} is corrupt (checksum mismatch); download it again")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
    finally:
        lock.release()
    return True


def _report_done(progress: ProgressCallback | None, filename: str, target: Path) -> None:
    if progress is not None:
        size = target.stat().st_size
        progress(filename, size, size)


def _plan(model: str, dest: Path) -> list[tuple[str, str, Path, bool]]:
    """(repo, filename, target, required) for every file of a model folder."""
    items = [(MODEL_REPO, f"{model}.ckpt", dest / f"{model}.ckpt", True)]
    items += [(TOKENIZER_REPO, name, dest / TOKENIZER_DIR / name, name == REQUIRED_TOKENIZER_FILE)
              for name in TOKENIZER_FILES]
    return items


def download_model(dest_dir: str | os.PathLike[str] | None = None, progress: ProgressCallback | None = None,
                   cancel: threading.Event | None = None, *, model: str = DEFAULT_MODEL,
                   revision: str = "main", force: bool = False) -> ModelFiles:
    """Fetch ``<model>.ckpt`` from soham97/Mellow and the SmolLM2 tokenizer files into ``dest_dir``.

    Files already in place are kept (``force`` fetches them again); files in the Hugging Face cache are
    linked instead of downloaded; an interrupted or cancelled download resumes where it stopped.  Optional
    tokenizer files the Hub lacks are skipped.  Raises DownloadCancelled when ``cancel`` is set, and
    DownloadError (offline, unreachable, missing on the Hub, corrupt) otherwise.
    """
    dest = Path(dest_dir).expanduser() if dest_dir is not None else default_model_dir(model)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {dest}: {exc.strerror or exc}") from None
    plan = _plan(model, dest)
    files = ModelFiles(checkpoint=dest / f"{model}.ckpt", tokenizer=dest / TOKENIZER_DIR)
    mark = dest / PARTIAL_DIR / f"{model}{COMPLETE_MARK}"
    if not force and mark.is_file() and all(t.is_file() for _, _, t, required in plan if required):
        return files
    offline = is_offline()
    for repo, filename, target, required in plan:
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled(f"download cancelled before {filename}; run it again to resume")
        if target.is_file() and not force:
            _report_done(progress, filename, target)
            continue
        cached = None if force else from_hub_cache(repo, filename)
        if cached is not None:
            _place(cached, target)
            _report_done(progress, filename, target)
            continue
        if offline:
            if not required:
                continue
            raise DownloadError(
                f"{filename} is not in {dest} and HF_HUB_OFFLINE is set: unset it and run `mellow download`, "
                f"or copy the file from https://huggingface.co/{repo} into {target.parent}"
            )
        found = _fetch(repo, filename, target, dest, revision=revision, progress=progress, cancel=cancel)
        if not found and required:
            raise DownloadError(f"{repo} on {hub_endpoint()} has no file {filename}")
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.touch()
    return files
