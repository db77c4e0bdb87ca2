"""The history database's tables, their upgrade from schema 1, and its search index (stdlib ``sqlite3``).

Only :mod:`.history_store` (and :mod:`.scan_store`) use this module; the functions run inside its
connection (autocommit mode). Schema 3 adds the scan tables, schema 4 their files and questions
(:mod:`.scan_schema`); the search functions serve both kinds of entry, ``table`` "history" (questions) or
"scan" (whole-recording scans).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from mellow_desktop.core.history_record import clip_names
from mellow_desktop.core.scan_schema import prepare_scan_tables, rebuild_scan_text, scan_text_in_step

SCHEMA_VERSION = 4

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

# Search text: the case-folded prompt, answer and clip file names of each record (id = history.id), kept by
# HistoryStore itself (no triggers, so the file stays usable from plain sqlite3 tools). Substring search
# scans it (short queries, or SQLite without FTS5); the FTS5 trigram index over it serves longer queries.
# Schema 1 had only an FTS5 table with one "body" column (prompt and answer).
_TEXT_SCHEMA = """
CREATE TABLE IF NOT EXISTS history_text (
    id INTEGER PRIMARY KEY,
    prompt TEXT NOT NULL,
    answer TEXT NOT NULL,
    clips TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_FTS_SCHEMA = """
CREATE VIRTUAL TABLE history_fts USING fts5(
    prompt, answer, clips, content='history_text', content_rowid='id', tokenize='trigram'
);
"""

_STALE = "INSERT OR REPLACE INTO history_meta(key, value) VALUES ('fts_stale', '1')"
"""Set by a session without FTS5, whose writes do not reach the index: the next one with FTS5 rebuilds it."""

SCAN_NEWEST = (
    "SELECT h.id FROM {table} h INDEXED BY {table}_created JOIN {table}_text t ON t.id = h.id "
    "WHERE instr(t.prompt, ?1) > 0 OR instr(t.answer, ?1) > 0 OR instr(t.clips, ?1) > 0 "
    "ORDER BY h.created DESC, h.id DESC LIMIT ?2"
)
"""Ids of the newest ``?2`` entries whose search text contains ``?1``, by a scan that stops at the limit."""

MATCH = "SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ?1"
"""Ids of the entries whose search text contains the FTS5 phrase ``?1`` (see :func:`fts_phrase`)."""

MANY_HITS = 1000
"""Above this many matches, search walks the entries newest first and stops at the limit (else it sorts)."""

TABLES = ("history", "scan")


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


def search_text(
    rid: int, prompt: str, answer: str, clip_a: str | None, clip_b: str | None
) -> tuple[int, str, str, str]:
    """The search-text row of one record: id and the case-folded prompt, answer and clip file names."""
    return (rid, prompt.casefold(), answer.casefold(), clip_names(clip_a, clip_b).casefold())


def index_record(
    conn: sqlite3.Connection, fts: bool, row: tuple[int, str, str, str], table: str = "history"
) -> None:
    """Add one :func:`search_text` row of a ``table`` entry (inside the caller's transaction)."""
    assert table in TABLES
    conn.execute(f"INSERT INTO {table}_text(id, prompt, answer, clips) VALUES (?, ?, ?, ?)", row)
    if fts:
        conn.execute(f"INSERT INTO {table}_fts(rowid, prompt, answer, clips) VALUES (?, ?, ?, ?)", row)


def unindex_record(conn: sqlite3.Connection, fts: bool, rid: int, table: str = "history") -> None:
    """Remove entry ``rid`` of ``table`` from the search text and index (inside the caller's transaction)."""
    assert table in TABLES
    if fts:  # an external-content FTS5 table is told the old text to take out
        conn.execute(
            f"INSERT INTO {table}_fts({table}_fts, rowid, prompt, answer, clips) "
            f"SELECT 'delete', id, prompt, answer, clips FROM {table}_text WHERE id = ?",
            (rid,),
        )
    conn.execute(f"DELETE FROM {table}_text WHERE id = ?", (rid,))


def matching_ids(
    conn: sqlite3.Connection, fts: bool, needle: str, limit: int, table: str = "history"
) -> list[int]:
    """Ids of the newest ``limit`` entries of ``table`` whose search text contains the case-folded ``needle``.

    Uses the FTS5 trigram index for needles of three or more characters when available, else a scan.
    """
    assert table in TABLES
    if fts and len(needle) >= 3:
        phrase, match = fts_phrase(needle), MATCH.format(table=table)
        hits = conn.execute(f"SELECT count(*) FROM ({match})", (phrase,)).fetchone()[0]
        # Many hits: walk the created index newest first, stopping at the limit. Few: fetch, then sort.
        plan = f"INDEXED BY {table}_created" if hits > MANY_HITS else "NOT INDEXED"
        newest = "ORDER BY created DESC, id DESC LIMIT ?2"
        rows = conn.execute(f"SELECT id FROM {table} {plan} WHERE id IN ({match}) {newest}", (phrase, limit))
    else:
        rows = conn.execute(SCAN_NEWEST.format(table=table), (needle, limit))
    return [int(r[0]) for r in rows]


def fts_phrase(needle: str) -> str:
    """``needle`` as one FTS5 phrase: with the trigram tokenizer, a substring match (3+ characters)."""
    return '"' + needle.replace('"', '""') + '"'


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}


def prepare_schema(conn: sqlite3.Connection, fts: bool) -> None:
    """Create the tables, or bring a schema-1/2 file up to date, in one transaction; refuse newer files."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"written by a newer version (schema {version})")
    with transaction(conn):
        tables = _tables(conn)
        if "history" in tables and "duration_a" not in _columns(conn, "history"):
            _run_script(conn, _MIGRATE_1_TO_2)
        if fts and "history_fts" in tables and "clips" not in _columns(conn, "history_fts"):
            conn.execute("DROP TABLE history_fts")  # schema 1's one-column index
            tables.discard("history_fts")
        _run_script(conn, _SCHEMA + _TEXT_SCHEMA)
        rebuild_index = prepare_scan_tables(conn, fts, tables)
        if version != SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        if not _text_in_step(conn):
            _rebuild_text(conn)
            rebuild_index = True
        if not scan_text_in_step(conn):
            rebuild_scan_text(conn)
            rebuild_index = True
        _prepare_index(conn, fts, tables, rebuild_index)


def _prepare_index(conn: sqlite3.Connection, fts: bool, tables: set[str], rebuild: bool) -> None:
    """Create the questions' FTS5 index when missing and rebuild both indexes when they may be out of step."""
    if fts:
        if "history_fts" not in tables:
            _run_script(conn, _FTS_SCHEMA)
            rebuild = True
        stale = conn.execute("SELECT 1 FROM history_meta WHERE key = 'fts_stale'").fetchone()
        if rebuild or stale:
            for table in TABLES:
                conn.execute(f"INSERT INTO {table}_fts({table}_fts) VALUES ('rebuild')")
            conn.execute("DELETE FROM history_meta WHERE key = 'fts_stale'")
    elif "history_fts" in tables or "scan_fts" in tables:
        conn.execute(_STALE)


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated DDL statements one by one, inside the caller's transaction (not executescript)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _text_in_step(conn: sqlite3.Connection) -> bool:
    """True when the search text has the same rows as the history (else, e.g., an upgraded schema-1 file)."""
    main = conn.execute("SELECT count(*), max(id) FROM history").fetchone()
    text = conn.execute("SELECT count(*), max(id) FROM history_text").fetchone()
    return tuple(main) == tuple(text)


def _rebuild_text(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM history_text")
    rows = conn.execute("SELECT id, prompt, answer, clip_a, clip_b FROM history")
    conn.executemany(
        "INSERT INTO history_text(id, prompt, answer, clips) VALUES (?, ?, ?, ?)",
        (search_text(*row) for row in rows),
    )


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
