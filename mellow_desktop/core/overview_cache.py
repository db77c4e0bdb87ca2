"""The overview of a file, cached on disk per file content, so reopening a long recording draws at once.

Cache files live in ``<data folder>/overview-cache/`` (:func:`mellow_desktop.core.paths.data_dir`), named by
the file's content hash (:data:`mellow.file_hash.CONTENT_HASH`) and the overview's size.  Hashing a 2-hour
file reads all of it, so the hash goes through :mod:`mellow.file_hash` with its notes kept in ``seen/`` here:
a file already seen (same path, size, modification time) is found without reading it, also after a restart,
and a changed file (new size or time) is not.
Files are written through a temporary file and a rename; a damaged cache file counts as missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mellow.errors import AudioError
from mellow.file_hash import CONTENT_HASH, file_digest, known_digest
from mellow.files import write_atomic
from mellow.model.config import AudioConfig
from mellow_desktop.core.overview import DEFAULT_COLUMNS, Overview, overview_chunks
from mellow_desktop.core.paths import data_dir

CACHE_DIR_NAME = "overview-cache"
FORMAT_VERSION = 1


def cache_dir(create: bool = True) -> Path:
    """``<data folder>/overview-cache``."""
    path = data_dir(create) / CACHE_DIR_NAME
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def _notes(folder: Path) -> Path:
    """The folder of the content-hash notes (:mod:`mellow.file_hash`) of the files already seen."""
    return folder / "seen"


def _cache_path(folder: Path, content_hash: str, columns: int, n_mels: int) -> Path:
    return folder / f"{content_hash}-{columns}x{n_mels}-v{FORMAT_VERSION}.npz"


def _load(path: Path) -> Overview | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = data["meta"]
            return Overview(float(meta[0]), int(meta[1]), int(meta[2]), int(meta[3]), data["env_min"],
                            data["env_max"], data["mel_db"], data["band_edges_hz"], int(data["env_min"].size))
    except (OSError, ValueError, KeyError, IndexError):
        return None


def _save(path: Path, ov: Overview) -> None:
    meta = np.array([ov.duration_s, ov.sample_rate, ov.channels, ov.frames], dtype=np.float64)
    write_atomic(path, lambda fh: np.savez(fh, meta=meta, env_min=ov.env_min, env_max=ov.env_max,
                                            mel_db=ov.mel_db, band_edges_hz=ov.band_edges_hz),
                 make_parents=True)


def cached_overview(path: str | os.PathLike[str], columns: int = DEFAULT_COLUMNS, n_mels: int = 64,
                    folder: Path | None = None) -> Overview | None:
    """The cached complete overview of ``path`` when this file (same path, size and time) was seen."""
    folder = folder or cache_dir()
    content_hash = known_digest(path, CONTENT_HASH, notes=_notes(folder))
    return _load(_cache_path(folder, content_hash, columns, n_mels)) if content_hash else None


def file_overview(path: str | os.PathLike[str], columns: int = DEFAULT_COLUMNS, n_mels: int = 64,
                  audio: AudioConfig | None = None, folder: Path | None = None) -> Iterator[Overview]:
    """Snapshots of the overview of ``path`` (see :func:`~.overview.overview_chunks`): the cached one alone
    when there is one, else computed, and then cached by content (the file is hashed after the last
    snapshot, so drawing never waits for it).  Raises :class:`~mellow.errors.AudioError` (one line)."""
    folder, p = folder or cache_dir(), Path(path)
    hit = cached_overview(p, columns, n_mels, folder)
    if hit is not None:
        yield hit
        return
    last = None
    for last in overview_chunks(p, columns, n_mels, audio):
        yield last
    content_hash = file_digest(p, CONTENT_HASH, error=AudioError, notes=_notes(folder))
    target = _cache_path(folder, content_hash, columns, n_mels)
    if last is not None and last.complete and _load(target) is None:
        _save(target, last)
