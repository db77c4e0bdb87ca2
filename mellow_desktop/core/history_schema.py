"""The history database's tables, their upgrade from schema 1, and its search index (stdlib ``sqlite3``).

Only :mod:`.history_store` uses this module; the functions run inside its connection (autocommit mode).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from mellow_desktop.core.history_record import clip_names

SCHEMA_VERSION = 2

COLUMNS = (
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
    "duration_a",
    "duration_b",
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
    n_tokens INTEGER,
    duration_a REAL,
    duration_b REAL
);
CREATE INDEX IF NOT EXISTS history_created ON history(created);
"""

# Schema 1 -> 2: the clip durations (unknown, NULL, for older entries).
_MIGRATE_1_TO_2 = """
ALTER TABLE history ADD COLUMN duration_a REAL;
ALTER TABLE history ADD COLUMN duration_b REAL;
"""

# Search index (rowid = history.id), case-folded prompt, answer and clip file names, filled by HistoryStore
# itself (no triggers, so the file stays usable from plain sqlite3 tools). Schema 1 had one "body" column.
_FTS_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS history_fts USING fts5(prompt, answer, clips, tokenize='trigram');
"""

FTS_INSERT = "INSERT INTO history_fts(rowid, prompt, answer, clips) VALUES (?, ?, ?, ?)"


def fts5_trigram_available() -> bool:
    """True when this SQLite has FTS5 with the trigram tokenizer (SQLite 3.34+ built with FTS5)."""
    try:
        con = sqlite3.connect(":memory:")
        try:
            con.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return True


def index_values(
    rid: int, prompt: str, answer: str, clip_a: str | None, clip_b: str | None
) -> tuple[int, str, str, str]:
    """The search-index row of one record: rowid and the case-folded prompt, answer and clip file names."""
    return (rid, prompt.casefold(), answer.casefold(), clip_names(clip_a, clip_b).casefold())


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}


def prepare_schema(conn: sqlite3.Connection, fts: bool) -> None:
    """Create the tables, or bring a schema-1 file up to date, in one transaction; refuse newer files."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"written by a newer version (schema {version})")
    with transaction(conn):
        if "history" in _tables(conn) and "duration_a" not in _columns(conn, "history"):
            _run_script(conn, _MIGRATE_1_TO_2)
        if fts and "history_fts" in _tables(conn) and "clips" not in _columns(conn, "history_fts"):
            conn.execute("DROP TABLE history_fts")  # schema 1's one-column index; rebuilt below
        _run_script(conn, _SCHEMA + (_FTS_SCHEMA if fts else ""))
        if version != SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        if fts and not _index_in_step(conn):
            _rebuild_index(conn)


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated DDL statements one by one, inside the caller's transaction (not executescript)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _index_in_step(conn: sqlite3.Connection) -> bool:
    """True when the search index has the same rows as the history (else, e.g., written without FTS5)."""
    main = conn.execute("SELECT count(*), max(id) FROM history").fetchone()
    index = conn.execute("SELECT count(*), max(rowid) FROM history_fts").fetchone()
    return tuple(main) == tuple(index)


def _rebuild_index(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM history_fts")
    rows = conn.execute("SELECT id, prompt, answer, clip_a, clip_b FROM history")
    conn.executemany(FTS_INSERT, (index_values(*row) for row in rows))


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
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
