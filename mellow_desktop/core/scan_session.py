"""A scan's plan and its progress in the history database: which planned windows are still missing, and
results appended as they arrive, one transaction per batch, so that a scan stopped at any moment (even by
SIGKILL) resumes where it stopped and ends with every planned window exactly once.

The plan is made by the engine (:func:`mellow.scan.plan.plan_scan`) from the parameters stored with the scan,
so a resumed scan asks the same windows; a file whose content changed since is refused (one-line message).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mellow.errors import one_line
from mellow.model.config import AudioConfig
from mellow.scan.plan import ScanPlan, ScanRange, ScanSetupError, plan_scan, slot_two
from mellow.scan.types import Window, WindowResult
from mellow_desktop.core.history_record import HistoryError
from mellow_desktop.core.history_schema import fts5_trigram_available, prepare_schema
from mellow_desktop.core.history_store import HistoryStore
from mellow_desktop.core.scan_record import ScanRecord
from mellow_desktop.core.scan_store import ScanStore


@dataclass(frozen=True)
class ScanRequest:
    """What the user asked for in the Scan dialog (seconds; ``to_s`` None: to the end of the file).

    ``slot2_mode``: "same" (the window itself), "against" (``slot2_file`` from ``slot2_start_s``, a fixed
    reference) or "pair" (``slot2_file`` at the same time plus ``slot2_start_s``, for two recordings of the
    same period).  ``score``: "auto" (yes/no or options from the prompt), "yes-no", "choices" or None.
    """

    file: str | os.PathLike[str]
    prompt: str
    hop_s: float = 10.0
    from_s: float = 0.0
    to_s: float | None = None
    threshold: float = 0.5
    slot2_mode: str = "same"
    slot2_file: str | os.PathLike[str] | None = None
    slot2_start_s: float = 0.0
    max_len: int = 300
    score: str | None = "auto"


def check_request(request: ScanRequest | ScanRecord) -> None:
    """Raise ScanSetupError (one line) for a prompt or threshold the scan cannot use."""
    if not request.prompt.strip():
        raise ScanSetupError("type a prompt to ask of every window")
    if not 0.0 <= float(request.threshold) <= 1.0:
        raise ScanSetupError(f"the threshold must be between 0 and 1, got {request.threshold:g}")


def plan_for(record: ScanRecord | ScanRequest, audio: AudioConfig | None = None) -> ScanPlan:
    """The engine's plan of one scan (one file); raises ScanSetupError with the reason when it has none."""
    audio = audio or AudioConfig()
    rng = ScanRange(from_s=record.from_s, to_s=record.to_s, hop_s=record.hop_s)
    if record.slot2_mode not in ("same", "against", "pair"):
        raise ScanSetupError(f"unknown slot-2 mode {record.slot2_mode!r} (use same, against or pair)")
    other = record.slot2_file if record.slot2_mode != "same" else None
    if record.slot2_mode != "same" and not other:
        raise ScanSetupError(f"slot 2 mode {record.slot2_mode!r} needs a second file")
    against = other if record.slot2_mode == "against" else None
    pair = other if record.slot2_mode == "pair" else None
    slot2 = slot_two(against, record.slot2_start_s, pair, record.slot2_start_s, audio)
    plan = plan_scan([record.file], rng, slot2, audio)
    if plan.problems or not plan.n_windows:
        reason = plan.problems[0].reason if plan.problems else f"nothing to scan in {record.file}"
        raise ScanSetupError(reason)
    return plan


def connect(db_path: str | os.PathLike[str] | HistoryStore) -> tuple[sqlite3.Connection, bool]:
    """A connection of its own to the history database (a path, or the GUI's store: its file) (WAL,
    ``synchronous=FULL``, schema brought up to date), usable from one thread at a time, whichever; and
    whether FTS5 trigram search is there."""
    db_path = db_path.path if isinstance(db_path, HistoryStore) else db_path
    try:
        conn = sqlite3.connect(str(db_path), timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        fts = fts5_trigram_available()
        prepare_schema(conn, fts)
    except sqlite3.Error as exc:
        raise HistoryError(f"cannot open the history database {db_path}: {one_line(exc)}") from None
    return conn, fts


class ScanSession:
    """One scan's plan and stored progress on a connection of its own (see :func:`connect`), given the
    history database (its path or the :class:`HistoryStore`) and the scan's id.

    ``missing`` lists the (plan index, window) pairs not yet stored; :meth:`append` stores one batch of
    (plan index, result) in one transaction; :meth:`finish` records how the scan ended.
    """

    def __init__(self, db_path: str | os.PathLike[str] | HistoryStore, scan_id: int,
                 audio: AudioConfig | None = None) -> None:
        self._conn, fts = connect(db_path)
        self.store = ScanStore(self._conn, fts)
        try:
            record = self.store.get(scan_id)
            if record is None:
                raise HistoryError(f"there is no scan {scan_id} in the history database {db_path}")
            self.record: ScanRecord = record
            self.plan = plan_for(record, audio)
            self._check_same_file()
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def create(cls, db_path: str | os.PathLike[str] | HistoryStore, record: ScanRecord,
               audio: AudioConfig | None = None) -> ScanSession:
        """Store a new scan (``record.n_windows``, ``file_hash`` and ``duration_s`` are set from its plan)."""
        check_request(record)
        plan = plan_for(record, audio)
        scanned = plan.files[0]
        record.file, record.file_hash = str(scanned.path), scanned.file_hash
        record.duration_s = scanned.duration_s
        record.n_windows = len(scanned.windows)
        record.slot2_hash = scanned.windows[0].slot2_hash or None
        if record.slot2_file:
            record.slot2_file = str(Path(record.slot2_file).expanduser().absolute())
        conn, fts = connect(db_path)
        try:
            ScanStore(conn, fts).create(record)
        finally:
            conn.close()
        return cls(db_path, int(record.id or 0), audio)

    def _check_same_file(self) -> None:
        scanned = self.plan.files[0]
        if scanned.file_hash != self.record.file_hash:
            raise ScanSetupError(f"{scanned.path} has changed since this scan began, so it cannot be "
                                 "resumed; start a new scan")
        if len(scanned.windows) != self.record.n_windows:
            raise ScanSetupError(f"the plan of {scanned.path} no longer has {self.record.n_windows} windows; "
                                 "start a new scan")

    @property
    def windows(self) -> tuple[Window, ...]:
        """Every planned window, in plan order (index = place in the plan)."""
        return self.plan.files[0].windows

    @property
    def audio_per_window_s(self) -> float:
        """Seconds of recording per window (for real-time factors; less than 10 with overlapping hops)."""
        return self.plan.range_s / max(1, self.plan.n_windows)

    def missing(self) -> list[tuple[int, Window]]:
        """(plan index, window) of every planned window not yet stored, in plan order."""
        done = self.store.done_indices(int(self.record.id or 0))
        return [(i, w) for i, w in enumerate(self.windows) if i not in done]

    def append(self, batch: Sequence[tuple[int, WindowResult]]) -> None:
        """Store one batch of results in one transaction (durable when this returns)."""
        self.store.append_results(self.record, batch)

    def finish(self, status: str, message: str | None = None) -> None:
        """Record how the scan ended: "finished", "cancelled" or "failed" (with a one-line ``message``)."""
        self.store.set_status(int(self.record.id or 0), status, message)
        self.record.status, self.record.message = status, message

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ScanSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
