"""A whole-recording scan as plain data (no Qt, no SQLite): what was asked, of which file, with which model,
and how it went.  The one record of a scan: the Scan dialog fills in the parameters, :class:`.ScanSession`
plans and stores it (filling in the file's facts and the model), the history lists and re-opens it.

Its windows are :class:`~mellow.scan.types.WindowResult` rows (the engine's own type), in plan order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from mellow.generation import GenerationOptions
from mellow.scan.keys import options_text, row_key
from mellow.scan.types import Window, WindowResult
from mellow_desktop.core.history_record import StoredEntry


@dataclass
class ScanRecord(StoredEntry):
    """One scan of one file.

    What was asked (the Scan dialog's fields): ``prompt``; ``hop_s``, ``from_s``/``to_s`` (None: to the file's
    end); ``threshold`` on P(yes); slot 2: ``slot2_mode`` "same" (the window again), "against"
    (``slot2_file`` at ``slot2_start_s``) or "pair" (``slot2_file`` at the same time plus ``slot2_start_s``,
    the offset); ``max_len`` tokens per answer; ``score`` "auto" (from the prompt), "yes-no", "choices" or
    None; ``dtype`` the decoder's precision ("float32", as published; "bfloat16", "float16").
    Filled in when the scan is stored: the file (absolute ``file``, its content hash ``file_hash``,
    ``duration_s`` on the engine's grid, ``slot2_hash``), ``n_windows`` planned, the resolved ``scoring``
    ("yes-no", "choices" or None), the model (``model_id`` "v0 sha256:1a2b3c4d5e6f", ``model_checksum``).
    How it went: ``status`` "running" until it ends ("finished", "cancelled", "failed"), ``message`` (why
    it failed, or which windows could not be read), ``created``/``finished`` Unix times.
    """

    prompt: str
    file: str
    hop_s: float = 10.0
    from_s: float = 0.0
    to_s: float | None = None
    threshold: float = 0.5
    slot2_mode: str = "same"
    slot2_file: str | None = None
    slot2_start_s: float = 0.0
    max_len: int = 300
    score: str | None = "auto"
    dtype: str = "float32"
    file_hash: str = ""
    n_windows: int = 0
    duration_s: float | None = None
    slot2_hash: str | None = None
    scoring: str | None = None
    model_id: str = ""
    model_checksum: str = ""
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

    def generation_options(self) -> GenerationOptions:
        """The decoding options the scan answers with (greedy, as published, ``max_len`` tokens)."""
        return GenerationOptions(max_len=int(self.max_len))

    def key_of(self, window: Window) -> str:
        """The resume key of this scan's question about ``window``: the key ``mellow scan`` gives the same
        window, prompt, options, precision and model (:mod:`mellow.scan.keys`)."""
        text = options_text(self.generation_options(), self.scoring, self.dtype)
        return row_key(window, self.prompt, text, self.model_id)

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
