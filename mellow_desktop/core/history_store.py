"""The question/answer history: a SQLite database (stdlib ``sqlite3``) in WAL mode, no Qt.

Durability: every :meth:`HistoryStore.add` is one transaction with ``synchronous=FULL``, so a record is on
disk when ``add`` returns and a crash (even SIGKILL mid-write) never damages earlier records.

Threads: a ``HistoryStore`` belongs to the thread that opened it (the GUI thread); sqlite3's
``check_same_thread`` guard stays on, so use from another thread raises instead of corrupting anything.
Each call is a few milliseconds, fine for the GUI thread.

A damaged database file is moved aside as ``<name>.corrupt-<timestamp>`` (with its ``-wal``/``-shm``
companions) and a fresh one is started; :attr:`HistoryStore.recovery_message` says so for the GUI.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mellow.errors import MellowError

SCHEMA_VERSION = 1
STATUSES = ("finished", "cancelled", "failed")

_COLUMNS = (
    "created",
    "prompt",
    "answer",
    "status",
    "clip_a",
    "clip_b",
    "hash_a",
    "hash_b",
    "start_a",
    "start_b",
    "model_id",
    "settings",
    "tokens_per_s",
    "n_tokens",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    prompt TEXT NOT NULL,
    answer TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('finished', 'cancelled', 'failed')),
    clip_a TEXT,
    clip_b TEXT,
    hash_a TEXT,
    hash_b TEXT,
    start_a REAL NOT NULL DEFAULT 0,
    start_b REAL NOT NULL DEFAULT 0,
    model_id TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    tokens_per_s REAL,
    n_tokens INTEGER
);
CREATE INDEX IF NOT EXISTS history_created ON history(created);
"""

# Search index: case-folded "prompt\n\nanswer" per record (rowid = history.id), filled by HistoryStore itself
# (no triggers, so the file stays usable from plain sqlite3 tools).
_FTS_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS history_fts USING fts5(body, tokenize='trigram');
"""


class HistoryError(MellowError, OSError):
    """The history database or an export file could not be read or written (one-line message)."""


@dataclass
class HistoryRecord:
    """One question and its answer, with what it was asked about.

    ``created`` is Unix time in seconds; ``start_a``/``start_b`` are the analysis-window starts in seconds;
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
    created: float = field(default_factory=time.time)
    id: int | None = None

    def created_iso(self) -> str:
        """Creation time as local ISO 8601 text with offset, seconds precision."""
        local = datetime.fromtimestamp(self.created, tz=timezone.utc).astimezone()
        return local.isoformat(timespec="seconds")

    def to_json_dict(self) -> dict[str, Any]:
        """Plain dict for JSON export (adds ``created_iso``)."""
        d = asdict(self)
        d["created_iso"] = self.created_iso()
        return d


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
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


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
    text = _one_line(exc)
    if "full" in text or "I/O" in text:
        return f"{text} (is the disk full or the data folder not writable?)"
    return text


def _fts5_trigram_available() -> bool:
    try:
        con = sqlite3.connect(":memory:")
        try:
            con.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return True


def _casefold(text: str | None) -> str:
    return (text or "").casefold()


def _search_body(prompt: str, answer: str) -> str:
    return (prompt + "\n\n" + answer).casefold()


class HistoryStore:
    """Persistent list of :class:`HistoryRecord` s. Create with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, fts: bool, recovery_message: str | None) -> None:
        self._conn = conn
        self.path = path
        self.fts = fts
        self.recovery_message = recovery_message
        """Set when a damaged database was moved aside on open (show it to the user once)."""

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
                raise HistoryError(f"cannot open the history database {path}: {_one_line(exc)}") from None
            reason = _one_line(exc)
        aside = cls._move_aside(path)
        try:
            conn, fts = cls._connect(path)
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot create the history database {path}: {_one_line(exc)}") from None
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
            conn.create_function("mellow_casefold", 1, _casefold, deterministic=True)
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.DatabaseError(f"cannot switch to WAL journal mode (got {mode})")
            conn.execute("PRAGMA synchronous=FULL")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise _Damaged(f"integrity check failed: {check}")
            fts = _fts5_trigram_available()
            conn.executescript("BEGIN;" + _SCHEMA + (_FTS_SCHEMA if fts else "") + "COMMIT;")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"written by a newer version (schema {version})")
            if fts:
                # Rebuild the index if it is out of step (for example the file was written without FTS5).
                n_main = conn.execute("SELECT count(*) FROM history").fetchone()[0]
                n_fts = conn.execute("SELECT count(*) FROM history_fts").fetchone()[0]
                if n_main != n_fts:
                    with _transaction(conn):
                        conn.execute("DELETE FROM history_fts")
                        for rid, prompt, answer in conn.execute("SELECT id, prompt, answer FROM history"):
                            conn.execute(
                                "INSERT INTO history_fts(rowid, body) VALUES (?, ?)",
                                (rid, _search_body(prompt, answer)),
                            )
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
            raise HistoryError(f"cannot move the damaged history database aside: {_one_line(exc)}") from None
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
        """Store ``record`` in its own committed transaction; sets and returns ``record.id``."""
        if record.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {record.status!r}")
        values = [getattr(record, c) for c in _COLUMNS]
        values[_COLUMNS.index("settings")] = json.dumps(record.settings, ensure_ascii=False, default=str)
        sql = f"INSERT INTO history ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
        try:
            with _transaction(self._conn):
                cur = self._conn.execute(sql, values)
                if self.fts:
                    self._conn.execute(
                        "INSERT INTO history_fts(rowid, body) VALUES (?, ?)",
                        (cur.lastrowid, _search_body(record.prompt, record.answer)),
                    )
        except sqlite3.OperationalError as exc:
            raise HistoryError(f"cannot save to the history database: {_write_failure(exc)}") from None
        record.id = int(cur.lastrowid)
        return record.id

    def get(self, record_id: int) -> HistoryRecord | None:
        """The record with this id, or None."""
        row = self._conn.execute("SELECT * FROM history WHERE id = ?", (record_id,)).fetchone()
        return _row_to_record(row) if row else None

    def delete(self, record_id: int) -> bool:
        """Delete one record; True if it existed."""
        try:
            with _transaction(self._conn):
                cur = self._conn.execute("DELETE FROM history WHERE id = ?", (record_id,))
                if self.fts:
                    self._conn.execute("DELETE FROM history_fts WHERE rowid = ?", (record_id,))
        except sqlite3.OperationalError as exc:
            raise HistoryError(f"cannot delete from the history database: {_write_failure(exc)}") from None
        return cur.rowcount > 0

    def all(self) -> list[HistoryRecord]:
        """Every record, oldest first."""
        rows = self._conn.execute("SELECT * FROM history ORDER BY created, id").fetchall()
        return [_row_to_record(r) for r in rows]

    def search(self, text: str, limit: int = 200) -> list[HistoryRecord]:
        """Records whose prompt or answer contains ``text`` (case-insensitive), newest first.

        An empty query returns the newest ``limit`` records. Uses the FTS5 trigram index for queries of three
        or more characters when available, else a scan; both compare Unicode case-folded text.
        """
        query = text.strip()
        if not query:
            rows = self._conn.execute(
                "SELECT * FROM history ORDER BY created DESC, id DESC LIMIT ?", (limit,)
            ).fetchall()
        elif self.fts and len(query.casefold()) >= 3:
            needle = query.casefold()
            phrase = '"' + needle.replace('"', '""') + '"'
            rows = self._conn.execute(
                "SELECT h.* FROM history_fts f JOIN history h ON h.id = f.rowid "
                "WHERE history_fts MATCH ? ORDER BY h.created DESC, h.id DESC LIMIT ?",
                (phrase, limit),
            ).fetchall()
        else:
            needle = query.casefold()
            rows = self._conn.execute(
                "SELECT * FROM history WHERE instr(mellow_casefold(prompt), ?) > 0 "
                "OR instr(mellow_casefold(answer), ?) > 0 ORDER BY created DESC, id DESC LIMIT ?",
                (needle, needle, limit),
            ).fetchall()
        return [_row_to_record(r) for r in rows]

    def _select(self, ids: Iterable[int] | None) -> list[HistoryRecord]:
        if ids is None:
            return self.all()
        wanted = list(dict.fromkeys(int(i) for i in ids))
        found = {r.id: r for r in (self.get(i) for i in wanted) if r is not None}
        return sorted(found.values(), key=lambda r: (r.created, r.id or 0))

    # ------------------------------------------------------------------------------------------- export

    def export_markdown(self, ids: Iterable[int] | None, path: str | os.PathLike[str]) -> Path:
        """Write the chosen records (all when ``ids`` is None) as Markdown, atomically; returns the path."""
        records = self._select(ids)
        return _atomic_write_text(Path(path), render_markdown(records))

    def export_json(self, ids: Iterable[int] | None, path: str | os.PathLike[str]) -> Path:
        """Write the chosen records as a JSON document, atomically; returns the path."""
        records = self._select(ids)
        doc = {"format": "mellow-history", "version": 1, "records": [r.to_json_dict() for r in records]}
        return _atomic_write_text(Path(path), json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (the connection is in autocommit mode)."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if conn.in_transaction:
        conn.execute("COMMIT")


def _clip_line(label: str, path: str | None, start: float) -> str:
    if not path:
        return f"- Clip {label}: (none)"
    return f"- Clip {label}: `{path}` (window {start:.2f}–{start + 10.0:.2f} s)"


def render_markdown(records: list[HistoryRecord]) -> str:
    """The Markdown text of an export."""
    out = ["# Mellow conversation", ""]
    for r in records:
        out.append(f"## {r.created_iso()} ({r.status})")
        out.append("")
        out.append(_clip_line("A", r.clip_a, r.start_a))
        out.append(_clip_line("B", r.clip_b, r.start_b))
        facts = []
        if r.model_id:
            facts.append(f"model `{r.model_id}`")
        if r.n_tokens is not None:
            facts.append(f"{r.n_tokens} tokens")
        if r.tokens_per_s is not None:
            facts.append(f"{r.tokens_per_s:.1f} tokens/s")
        if facts:
            out.append("- " + ", ".join(facts))
        out.append("")
        out.append("**Question**")
        out.append("")
        out.extend("> " + line if line else ">" for line in r.prompt.splitlines() or [""])
        out.append("")
        out.append("**Answer**" + ("" if r.status == "finished" else f" ({r.status})"))
        out.append("")
        out.append(r.answer)
        out.append("")
    return "\n".join(out)


def _atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to a temp file beside ``path``, fsync, then rename over it.

    On any failure (disk full, file-size limit, permissions) the temp file is removed, an existing file at
    ``path`` is untouched, and :class:`HistoryError` explains what happened.
    """
    data = text.encode("utf-8")
    directory = path.parent if str(path.parent) else Path(".")
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        reason = exc.strerror or _one_line(exc)
        if exc.errno in (28, 27, 122):  # ENOSPC, EFBIG, EDQUOT
            reason = f"disk full or file too large ({reason})"
        err = HistoryError(f"cannot export to {path}: {reason}; any existing file there was left unchanged")
        err.errno = exc.errno
        raise err from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    return path
