"""A scan's plan and its progress in the history database: which planned windows are still missing, and
results appended as they arrive, one transaction per batch, so that a scan stopped at any moment (even by
SIGKILL) resumes where it stopped and ends with every planned window exactly once.

The plan is made once per session by the engine (:func:`mellow.scan.plan.plan_scan`) from the parameters
stored with the scan, so a resumed scan asks the same windows.  The rules every driver follows (``mellow
scan`` too): a window that could not be read is not stored, so Resume asks it again; a file whose content
changed since the scan began is scanned again from the start (its stored answers were about other audio),
and :attr:`ScanSession.notice` says so.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from mellow.errors import one_line
from mellow.model.config import AudioConfig
from mellow.recordings import Recording
from mellow.scan.keys import missing_asks
from mellow.scan.plan import ScanPlan
from mellow.scan.types import Window, WindowResult
from mellow.scan.writers.records import ScanRow
from mellow_desktop.core.history_record import HistoryError
from mellow_desktop.core.history_schema import fts5_trigram_available, prepare_schema
from mellow_desktop.core.history_store import HistoryStore
from mellow_desktop.core.scan_planning import check_request, plan_for, take_facts, windows_in_order
from mellow_desktop.core.scan_record import ScanRecord
from mellow_desktop.core.scan_store import ScanStore

Database = str | os.PathLike[str] | HistoryStore


def connect(db_path: Database) -> tuple[sqlite3.Connection, bool]:
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
    """One scan's plan and stored progress on a connection of its own (see :func:`connect`).  Make it with
    :meth:`create` (a new scan) or :meth:`open` (a stored one, to resume).

    ``missing`` lists the (plan index, window) pairs not yet answered; :meth:`append` stores one batch of
    (plan index, result) in one transaction; :meth:`finish` records how the scan ended.
    """

    def __init__(self, conn: sqlite3.Connection, store: ScanStore, record: ScanRecord,
                 plan: ScanPlan) -> None:
        self._conn, self.store, self.record, self.plan = conn, store, record, plan
        self.notice: str | None = None  # what the user should know before it runs (changed files)

    @classmethod
    def create(cls, db: Database, record: ScanRecord, audio: AudioConfig | None = None) -> ScanSession:
        """Plan ``record`` (a file, or a folder's recordings) and store it as a new "running" scan (its files
        and ``n_windows`` set from the plan; ``scoring`` and the model as the caller set them)."""
        check_request(record)
        record.file = str(Path(record.file).expanduser().absolute())
        plan, recordings = plan_for(record, audio)
        take_facts(record, plan, recordings)
        if record.slot2_file:
            record.slot2_file = str(Path(record.slot2_file).expanduser().absolute())
        conn, fts = connect(db)
        try:
            store = ScanStore(conn, fts)
            store.create(record)
        except BaseException:
            conn.close()
            raise
        return cls(conn, store, record, plan)

    @classmethod
    def open(cls, db: Database, scan_id: int, audio: AudioConfig | None = None) -> ScanSession:
        """The stored scan ``scan_id``, planned again; the windows of a file that changed are forgotten and
        asked again (:attr:`notice` says so)."""
        conn, fts = connect(db)
        try:
            store = ScanStore(conn, fts)
            record = store.get(scan_id)
            if record is None:
                raise HistoryError(f"there is no scan {scan_id} in the history database {_path_of(db)}")
            plan, recordings = plan_for(record, audio)
            session = cls(conn, store, record, plan)
            session._restart_changed(recordings)
        except BaseException:
            conn.close()
            raise
        return session

    def _restart_changed(self, recordings: dict[Path, Recording]) -> None:
        before = self.store.done_indices(self.record)
        firsts = self.record.first_windows()
        counts = [sum(1 for i in before if a <= i < a + f.n_windows)
                  for a, f in zip(firsts, self.record.files, strict=True)]
        changed = take_facts(self.record, self.plan, recordings)
        if changed:
            self.store.restart(self.record, changed)
            names = ", ".join(self.record.files[i].name for i in changed[:3])
            names += ", …" if len(changed) > 3 else ""
            stored = sum(counts[i] for i in changed)
            what = "has" if len(changed) == 1 else "have"
            self.notice = (f"{names} {what} changed since this scan began: {stored} answers were about the "
                           "earlier audio, so their windows are asked again")

    @property
    def windows(self) -> list[tuple[int, Window]]:
        """(plan index, window) of every window planned now, in plan order."""
        return windows_in_order(self.record, self.plan)

    @property
    def audio_per_window_s(self) -> float:
        """Seconds of recording per window (for real-time factors; less than 10 with overlapping hops)."""
        return self.plan.range_s / max(1, self.plan.n_windows)

    def missing(self) -> list[tuple[int, Window]]:
        """(plan index, window) of every planned window with a question not yet answered, in plan order."""
        asks = self.asks()
        return [(i, w) for i, w in self.windows if w in asks]

    def asks(self) -> dict[Window, tuple[str, ...]]:
        """For each planned window with questions not yet answered, their names (in the set's order): the
        driver's ``asks`` (a question added to a stored scan is asked alone)."""
        names = self.record.question_set.names
        done_pairs = self.store.done_pairs(self.record)
        windows = self.windows
        done = {self.record.key_of(w, names[q]) for i, w in windows for q in range(len(names))
                if (i, q) in done_pairs}
        return missing_asks([w for _, w in windows], names, self.record.key_of, done)

    def append(self, batch: Sequence[tuple[int, WindowResult]]) -> None:
        """Store one batch of results in one transaction (durable when this returns)."""
        self.store.append_results(self.record, batch)

    def adopt(self, rows: Iterable[ScanRow]) -> int:
        """Store as answered the missing (window, question) pairs whose resume key is among ``rows`` (rows
        of a ``mellow scan`` output of the same file, questions, options and model); returns how many."""
        by_key = {r.key: r for r in rows}
        asks = self.asks()
        found = []
        for i, w in self.windows:
            for name in asks.get(w, ()):
                row = by_key.get(self.record.key_of(w, name))
                if row is not None:
                    found.append((i, WindowResult(w, text=row.text, tokens=list(row.tokens), score=row.score,
                                                  choices=row.choices, question=name)))
        self.append(found)
        return len(found)

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


def _path_of(db: Database) -> str:
    return str(db.path if isinstance(db, HistoryStore) else db)
