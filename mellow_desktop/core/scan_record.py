"""A whole-recording scan as plain data (no Qt, no SQLite): its parameters, model, file and outcome.

A :class:`ScanRecord` is what the history lists beside questions; its windows are
:class:`~mellow.scan.types.WindowResult` rows (the engine's own type), in plan order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mellow.scan.types import Window, WindowResult
from mellow_desktop.core.history_record import StoredEntry


@dataclass
class ScanRecord(StoredEntry):
    """One scan of one file.

    Parameters: ``prompt``; ``hop_s``, ``from_s``/``to_s`` (None: to the file's end); ``threshold`` on P(yes);
    slot 2: ``slot2_mode`` "same" (the window again), "against" (``slot2_file`` at ``slot2_start_s``) or
    "pair" (``slot2_file`` at the same time plus ``slot2_start_s``, the offset); ``scoring`` "yes-no",
    "choices" or None; ``options`` the decoding options and anything else that changes answers (JSON-able).
    The model: ``model_id`` ("v0 sha256:1a2b3c4d5e6f") and ``model_checksum`` ("sha256:1a2b3c4d5e6f").
    The file: absolute ``file``, its content hash ``file_hash`` (:func:`mellow.audio.clip_content_hash`),
    ``duration_s`` on the engine's grid.  ``n_windows`` planned; ``status`` "running" until it ends
    ("finished", "cancelled", "failed" with ``message``); ``created``/``finished`` are Unix times.
    """

    prompt: str
    file: str
    file_hash: str
    n_windows: int
    hop_s: float = 10.0
    from_s: float = 0.0
    to_s: float | None = None
    threshold: float = 0.5
    slot2_mode: str = "same"
    slot2_file: str | None = None
    slot2_hash: str | None = None
    slot2_start_s: float = 0.0
    scoring: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    model_id: str = ""
    model_checksum: str = ""
    duration_s: float | None = None
    status: str = "running"
    message: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    id: int | None = None

    kind = "scan"
    """Tells scans from :class:`~mellow_desktop.core.history_record.HistoryRecord` s (kind "question")."""

    @property
    def file_name(self) -> str:
        return Path(self.file).name


    def window_of(self, start_s: float, end_s: float, slot2_start_s: float | None) -> Window:
        """The engine's :class:`Window` of this scan at ``start_s`` (slot 2 as the scan set it)."""
        s2 = Path(self.slot2_file) if self.slot2_file and self.slot2_mode != "same" else None
        return Window(Path(self.file), start_s, end_s, self.file_hash, s2,
                      float(slot2_start_s or 0.0) if s2 is not None else 0.0, self.slot2_hash or "")


def checksum_of(model_id: str) -> str:
    """The ``sha256:...`` part of a model id ("v0 sha256:1a2b3c4d5e6f bfloat16" -> "sha256:1a2b3c4d5e6f")."""
    return next((part for part in model_id.split() if part.startswith("sha256:")), "")


@dataclass(frozen=True)
class LoadedScan:
    """A scan re-opened from the history: its record and every stored window result, in plan order
    (``indices[i]`` is ``results[i]``'s place in the plan)."""

    record: ScanRecord
    results: tuple[WindowResult, ...]
    indices: tuple[int, ...]
