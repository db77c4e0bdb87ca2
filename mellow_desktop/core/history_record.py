"""One history entry as plain data (no Qt, no SQLite): what was asked, about which files, and the outcome.

Clip paths are stored absolute and resolved (:func:`absolute_clip_path`, against the working folder the entry
is made in); entries written before that (schema 1) may hold paths relative to a folder that was not recorded,
which :meth:`HistoryRecord.locate_clip` looks for in the places it can know about.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mellow.errors import AudioError, MellowError

STATUSES = ("finished", "cancelled", "failed")


class HistoryError(MellowError, OSError):
    """The history database or an export file could not be read or written (one-line message)."""


def current_folder() -> str | None:
    """The process's working folder, or None when it no longer exists."""
    try:
        return os.getcwd()
    except OSError:
        return None


def absolute_clip_path(path: str | None, folder: str | None) -> str | None:
    """``path`` made absolute (relative ones against ``folder``, else the working folder) and resolved.

    ``~`` is expanded; symbolic links are followed where the file exists. None and "" stay as they are, and
    so does a relative path when the working folder no longer exists.
    """
    if not path:
        return path
    p = Path(path).expanduser()
    if not p.is_absolute():
        base = folder or current_folder()
        if base is None:
            return path
        p = Path(base) / p
    return str(p.resolve(strict=False))


def clip_names(*paths: str | None) -> str:
    """The distinct file names of ``paths`` (directories left out), one a line: what search matches."""
    return "\n".join(dict.fromkeys(Path(p).name for p in paths if p))


class StoredEntry:
    """What every history entry (question or scan, both dataclasses with a Unix ``created``) offers."""

    created: float

    def created_iso(self) -> str:
        """Creation time as local ISO 8601 text with offset, seconds precision."""
        local = datetime.fromtimestamp(self.created, tz=timezone.utc).astimezone()
        return local.isoformat(timespec="seconds")

    def to_json_dict(self) -> dict[str, Any]:
        """Plain dict for JSON export (adds ``created_iso``)."""
        d = asdict(self)  # type: ignore[call-overload]  # subclasses are dataclasses
        d["created_iso"] = self.created_iso()
        return d


@dataclass
class HistoryRecord(StoredEntry):
    """One question and its answer, with what it was asked about.

    ``created`` is Unix time in seconds; ``start_a``/``start_b`` are the analysis-window starts in seconds and
    ``duration_a``/``duration_b`` the clips' lengths in seconds (None when unknown: older entries);
    ``settings`` is any JSON-serialisable dict (generation options, device...).
    """

    prompt: str
    answer: str
    status: str = "finished"
    clip_a: str | None = None
    clip_b: str | None = None
    hash_a: str | None = None
    hash_b: str | None = None
    start_a: float = 0.0
    start_b: float = 0.0
    model_id: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    tokens_per_s: float | None = None
    n_tokens: int | None = None
    duration_a: float | None = None
    duration_b: float | None = None
    created: float = field(default_factory=time.time)
    id: int | None = None

    kind = "question"
    """Tells questions from scans (:class:`~mellow_desktop.core.scan_record.ScanRecord`, kind "scan")."""


    def with_absolute_paths(self, folder: str | None = None) -> None:
        """Make ``clip_a``/``clip_b`` absolute and resolved, relative ones against ``folder`` (in place)."""
        self.clip_a = absolute_clip_path(self.clip_a, folder)
        self.clip_b = absolute_clip_path(self.clip_b, folder)

    def locate_clip(self, slot: str, extra_folders: Iterable[str | os.PathLike[str]] = ()) -> Path | None:
        """The file of clip ``slot`` ("A" or "B") as it is on disk now, or None when it cannot be found.

        An absolute path is taken as it is. A relative one (entries from before paths were stored absolute,
        whose folder was not recorded) is tried in the working folder, then in ``extra_folders``; such a
        guessed place counts only when the file's content hash matches the stored one (when one is stored),
        so a different file of the same name is never taken for it.
        """
        path = self.clip_a if slot.upper() == "A" else self.clip_b
        wanted = self.hash_a if slot.upper() == "A" else self.hash_b
        if not path:
            return None
        p = Path(path).expanduser()
        if p.is_absolute():
            return p if p.is_file() else None
        for folder in (current_folder(), *extra_folders):
            candidate = Path(folder) / p if folder else None
            if candidate is not None and candidate.is_file() and _same_content(candidate, wanted):
                return candidate.resolve()
        return None


def _same_content(path: Path, content_hash: str | None) -> bool:
    if content_hash is None:
        return True
    from mellow.audio import clip_content_hash  # imports torch: only for the rare legacy relative path

    try:
        return clip_content_hash(path) == content_hash
    except AudioError:
        return False
