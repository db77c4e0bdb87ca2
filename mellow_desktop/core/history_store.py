"""The question/answer history: a SQLite database (stdlib ``sqlite3``) in WAL mode, no Qt.

Durability: every :meth:`HistoryStore.add` is one transaction with ``synchronous=FULL``, so a record is on
disk when ``add`` returns and a crash (even SIGKILL mid-write) never damages earlier records.

Threads: a ``HistoryStore`` belongs to the thread that opened it (the GUI thread); sqlite3's
``check_same_thread`` guard stays on, so use from another thread raises instead of corrupting anything.
Each call is a few milliseconds, fine for the GUI thread.

A damaged database file is moved aside as ``<name>.corrupt-<timestamp>`` (with its ``-wal``/``-shm``
companions) and a fresh one is started; :attr:`HistoryStore.recovery_message` says so for the GUI.

Schema 2 (schema 1 files are upgraded in place on open): clip durations, and a search index over the prompt,
the answer and the clips' file names. Clip paths are stored absolute (see :mod:`.history_record`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from mellow.errors import one_line
from mellow_desktop.core.deleted import HISTORY_ENTRY, Deleted
from mellow_desktop.core.history_export import export_records
from mellow_desktop.core.history_record import STATUSES, HistoryError, HistoryRecord
from mellow_desktop.core.history_schema import (
    COLUMNS,
    MANY_HITS,
    SCHEMA_VERSION,
    fts5_trigram_available,
    index_record,
    matching_ids,
    prepare_schema,
    search_text,
    transaction,
    unindex_record,
)
from mellow_desktop.core.scan_record import ScanRecord
from mellow_desktop.core.scan_store import ScanStore

__all__ = ["MANY_HITS", "SCHEMA_VERSION", "STATUSES", "Deleted", "HistoryError", "HistoryRecord",
           "HistoryStore", "ScanRecord"]


def _row_to_record(row: sqlite3.Row) -> HistoryRecord:
    try:
        settings = json.loads(row["settings"] or "{}")
    except json.JSONDecodeError:
        settings = {}
    return HistoryRecord(
        id=int(row["id"]),
        created=float(row["created"]),
        prompt=row["prompt"],
        answer=row["answer"],
        status=row["status"],
        clip_a=row["clip_a"],
        clip_b=row["clip_b"],
        hash_a=row["hash_a"],
        hash_b=row["hash_b"],
        start_a=float(row["start_a"]),
        start_b=float(row["start_b"]),
        model_id=row["model_id"],
        settings=settings if isinstance(settings, dict) else {},
        tokens_per_s=row["tokens_per_s"],
        n_tokens=row["n_tokens"],
        duration_a=row["duration_a"],
        duration_b=row["duration_b"],
    )


class _Damaged(sqlite3.DatabaseError):
    """The file opened but its contents fail SQLite's checks."""


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """True for a file that is not a database or is corrupt (not for locks, permissions, versions)."""
    if isinstance(exc, _Damaged):
        return True
    name = str(getattr(exc, "sqlite_errorname", ""))
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return True
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


def _write_failure(exc: sqlite3.Error) -> str:
    """A user-facing reason for a failed database write."""
    text = one_line(exc)
    if "full" in text or "I/O" in text:
        return f"{text} (is the disk full or the data folder not writable?)"
    return text


class HistoryStore:
    """Persistent list of :class:`HistoryRecord` s. Create with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, fts: bool, recovery_message: str | None) -> None:
        self._conn = conn
        self.path = path
        self.fts = fts
        self.recovery_message = recovery_message
        """Set when a damaged database was moved aside on open (show it to the user once)."""
        self.scans = ScanStore(conn, fts)
        """The whole-recording scans in this database (same connection and thread)."""

    # ------------------------------------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> HistoryStore:
        """Open (or create) the database at ``path``; a damaged file is moved aside and replaced."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn, fts = cls._connect(path)
            return cls(conn, path, fts, None)
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):  # locked, unreadable, newer version...: never move a good file away
                raise HistoryError(f"cannot open the history database {path}: {one_line(exc)}") from None
            reason = one_line(exc)
        aside = cls._move_aside(path)
        try:
            conn, fts = cls._connect(path)
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot create the history database {path}: {one_line(exc)}") from None
        message = (
            f"The history database was damaged ({reason}); it was kept as {aside.name} "
            f"and a new, empty history was started."
        )
        return cls(conn, path, fts, message)

    @staticmethod
    def _connect(path: Path) -> tuple[sqlite3.Connection, bool]:
        conn = sqlite3.connect(str(path), timeout=5.0, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.DatabaseError(f"cannot switch to WAL journal mode (got {mode})")
            conn.execute("PRAGMA synchronous=FULL")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise _Damaged(f"integrity check failed: {check}")
            fts = fts5_trigram_available()
            prepare_schema(conn, fts)
        except BaseException:
            conn.close()
            raise
        return conn, fts

    @staticmethod
    def _move_aside(path: Path) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        try:
            if path.exists():
                os.replace(path, aside)
            # A stale WAL next to a fresh database would be replayed into it: move the companions too.
            for suffix in ("-wal", "-shm", "-journal"):
                companion = Path(str(path) + suffix)
                if companion.exists():
                    os.replace(companion, Path(str(aside) + suffix))
        except OSError as exc:
            raise HistoryError(f"cannot move the damaged history database aside: {one_line(exc)}") from None
        return aside

    # ------------------------------------------------------------------------------------------- basics

    def close(self) -> None:
        """Checkpoint the WAL and close the connection (idempotent)."""
        if self._conn is None:
            return
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()
        self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` result ("ok" when healthy)."""
        return "; ".join(str(r[0]) for r in self._conn.execute("PRAGMA integrity_check").fetchall())

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM history").fetchone()[0])

    # ------------------------------------------------------------------------------------------- records

    def add(self, record: HistoryRecord) -> int:
        """Store ``record`` in its own committed transaction; sets and returns ``record.id``.

        Relative clip paths are made absolute against the working folder first (``record`` is updated too).
        """
        return self.add_many([record])[0]

    def add_many(self, records: Iterable[HistoryRecord]) -> list[int]:
        """Store several records in one committed transaction (all or none); returns their ids."""
        records = list(records)
        for record in records:
            if record.status not in STATUSES:
                raise ValueError(f"status must be one of {STATUSES}, got {record.status!r}")
            record.with_absolute_paths()
        try:
            with transaction(self._conn):
                ids = [self._insert(record) for record in records]
        except sqlite3.OperationalError as exc:
            raise HistoryError(f"cannot save to the history database: {_write_failure(exc)}") from None
        for record, rid in zip(records, ids, strict=True):
            record.id = rid
        return ids

    def _insert(self, record: HistoryRecord, keep_id: bool = False) -> int:
        """INSERT one record (and its search-index row) inside the caller's transaction; returns its id."""
        columns = ("id", *COLUMNS) if keep_id else COLUMNS
        values = [getattr(record, c) for c in columns]
        values[columns.index("settings")] = json.dumps(record.settings, ensure_ascii=False, default=str)
        sql = f"INSERT INTO history ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        rid = int(self._conn.execute(sql, values).lastrowid)
        row = search_text(rid, record.prompt, record.answer, record.clip_a, record.clip_b)
        index_record(self._conn, self.fts, row)
        return rid

    def get(self, record_id: int) -> HistoryRecord | None:
        """The record with this id, or None."""
        row = self._conn.execute("SELECT * FROM history WHERE id = ?", (record_id,)).fetchone()
        return _row_to_record(row) if row else None

    def delete(self, record_id: int) -> bool:
        """Delete one record for good; True if it existed."""
        return len(self.delete_entries([record_id])) > 0

    def delete_entries(self, ids: Iterable[int]) -> Deleted[HistoryRecord]:
        """Delete these records in one transaction; the result can be given to :meth:`restore` to undo it."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        try:
            with transaction(self._conn):
                records = [r for r in (self.get(i) for i in wanted) if r is not None]
                for r in records:
                    self._conn.execute("DELETE FROM history WHERE id = ?", (r.id,))
                    unindex_record(self._conn, self.fts, int(r.id or 0))
        except sqlite3.OperationalError as exc:
            raise HistoryError(f"cannot delete from the history database: {_write_failure(exc)}") from None
        return Deleted(tuple(records), HISTORY_ENTRY, self.restore)

    def restore(self, deleted: Deleted[HistoryRecord]) -> int:
        """Put deleted records back with their ids (undo); returns how many came back (0 when done before)."""
        try:
            with transaction(self._conn):
                missing = [r for r in deleted.items if r.id is not None and self.get(r.id) is None]
                for r in missing:
                    self._insert(r, keep_id=True)
        except sqlite3.OperationalError as exc:
            raise HistoryError(f"cannot restore to the history database: {_write_failure(exc)}") from None
        return len(missing)

    def all(self) -> list[HistoryRecord]:
        """Every record, oldest first."""
        rows = self._conn.execute("SELECT * FROM history ORDER BY created, id").fetchall()
        return [_row_to_record(r) for r in rows]

    def search(self, text: str, limit: int = 200) -> list[HistoryRecord]:
        """Records whose prompt, answer or clip file name contains ``text`` (case-insensitive), newest first.

        An empty query returns the newest ``limit`` records. Uses the FTS5 trigram index for queries of three
        or more characters when available, else a scan; both compare Unicode case-folded text, as substrings.
        """
        needle = text.strip().casefold()
        if not needle:
            rows = self._conn.execute(
                "SELECT * FROM history ORDER BY created DESC, id DESC LIMIT ?", (limit,)
            ).fetchall()
            return [_row_to_record(r) for r in rows]
        ids = matching_ids(self._conn, self.fts, needle, limit)
        return [r for r in (self.get(i) for i in ids) if r is not None]

    def entries(self, text: str = "", limit: int = 200) -> list[HistoryRecord | ScanRecord]:
        """Questions and scans together, newest first, matching ``text`` as :meth:`search` does (for scans:
        prompt, any window's answer, file names); tell them apart by ``kind`` ("question" or "scan")."""
        both: list[HistoryRecord | ScanRecord] = [*self.search(text, limit), *self.scans.search(text, limit)]
        both.sort(key=lambda e: (e.created, e.kind == "scan", e.id or 0), reverse=True)
        return both[:limit]

    def _select(self, ids: Iterable[int] | None) -> list[HistoryRecord]:
        if ids is None:
            return self.all()
        wanted = list(dict.fromkeys(int(i) for i in ids))
        found = {r.id: r for r in (self.get(i) for i in wanted) if r is not None}
        return sorted(found.values(), key=lambda r: (r.created, r.id or 0))

    # ------------------------------------------------------------------------------------------- export

    def export_markdown(self, ids: Iterable[int] | None, path: str | os.PathLike[str]) -> Path:
        """Write the chosen records (all when ``ids`` is None) as Markdown, atomically; returns the path.

        ``.md`` is added to a name that does not end in it.
        """
        return export_records(self._select(ids), "md", path)

    def export_json(self, ids: Iterable[int] | None, path: str | os.PathLike[str]) -> Path:
        """Write the chosen records as a JSON document, atomically; returns the path (``.json`` added)."""
        return export_records(self._select(ids), "json", path)
