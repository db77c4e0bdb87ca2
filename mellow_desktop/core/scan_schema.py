"""The scan tables of the history database (schema 4): one ``scan`` row per scan, its files (``scan_file``:
one, or every recording of a folder), its questions (``scan_question``: one, or a question set), and one
``scan_window`` row per answered (file, window, question), with the scan's search text beside the
questions' (same layout: ``scan_text`` and its FTS5 trigram index ``scan_fts``, see :mod:`.history_schema`).

Schema 2 files get these tables on open; schema 3 files (one file and one question per scan, windows keyed
by their place in the plan) are upgraded in place: each scan gets its file and question rows, and its
windows keep their index under file 0 and question 0.  Only :mod:`.history_schema` and :mod:`.scan_store`
use this module; the functions run inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3

SCAN_STATUSES = ("running", "finished", "cancelled", "failed")

SCAN_COLUMNS = (
    "created",
    "finished",
    "status",
    "prompt",
    "file",
    "file_hash",
    "duration_s",
    "hop_s",
    "from_s",
    "to_s",
    "threshold",
    "slot2_mode",
    "slot2_file",
    "slot2_hash",
    "slot2_start_s",
    "scoring",
    "options",
    "model_id",
    "model_checksum",
    "n_windows",
    "message",
)

WINDOW_COLUMNS = ("scan_id", "file_idx", "idx", "q", "start_s", "end_s", "slot2_start_s", "text", "tokens",
                  "score", "choices", "error")
FILE_COLUMNS = ("scan_id", "idx", "path", "file_hash", "duration_s", "recording_start", "time_source",
                "n_windows", "problem")
QUESTION_COLUMNS = ("scan_id", "q", "name", "prompt", "threshold", "scoring")

_SCAN_SCHEMA = """
CREATE TABLE IF NOT EXISTS scan (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'cancelled', 'failed')),
    prompt TEXT NOT NULL,
    file TEXT NOT NULL,
    file_hash TEXT NOT NULL,
    duration_s REAL,
    hop_s REAL NOT NULL,
    from_s REAL NOT NULL DEFAULT 0,
    to_s REAL,
    threshold REAL NOT NULL DEFAULT 0.5,
    slot2_mode TEXT NOT NULL DEFAULT 'same' CHECK (slot2_mode IN ('same', 'against', 'pair')),
    slot2_file TEXT,
    slot2_hash TEXT,
    slot2_start_s REAL NOT NULL DEFAULT 0,
    scoring TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    model_id TEXT NOT NULL DEFAULT '',
    model_checksum TEXT NOT NULL DEFAULT '',
    n_windows INTEGER NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS scan_created ON scan(created);
CREATE TABLE IF NOT EXISTS scan_window (
    scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,
    file_idx INTEGER NOT NULL DEFAULT 0,
    idx INTEGER NOT NULL,
    q INTEGER NOT NULL DEFAULT 0,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    slot2_start_s REAL,
    text TEXT NOT NULL,
    tokens TEXT NOT NULL,
    score REAL,
    choices TEXT,
    error TEXT,
    PRIMARY KEY (scan_id, file_idx, idx, q)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scan_file (
    scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    path TEXT NOT NULL,
    file_hash TEXT NOT NULL DEFAULT '',
    duration_s REAL,
    recording_start TEXT,
    time_source TEXT,
    n_windows INTEGER NOT NULL DEFAULT 0,
    problem TEXT,
    PRIMARY KEY (scan_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scan_question (
    scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,
    q INTEGER NOT NULL,
    name TEXT NOT NULL,
    prompt TEXT NOT NULL,
    threshold REAL,
    scoring TEXT,
    PRIMARY KEY (scan_id, q)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scan_text (
    id INTEGER PRIMARY KEY,
    prompt TEXT NOT NULL,
    answer TEXT NOT NULL,
    clips TEXT NOT NULL
);
"""
"""``scan_window.idx`` is the window's place in its file's plan (file ``file_idx`` of ``scan_file``, question
``q`` of ``scan_question``); the primary key makes each (file, window, question) once.  ``scan_file.
recording_start`` is ISO 8601 with its offset (NULL when unknown); ``problem`` says why a file could not be
planned (then it has no windows)."""

# Schema 3 -> 4: windows keyed by (file, window, question); every scan gets its file and question rows.
_MIGRATE_3_TO_4 = """
ALTER TABLE scan_window RENAME TO scan_window_3;
CREATE TABLE scan_window (
    scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,
    file_idx INTEGER NOT NULL DEFAULT 0,
    idx INTEGER NOT NULL,
    q INTEGER NOT NULL DEFAULT 0,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    slot2_start_s REAL,
    text TEXT NOT NULL,
    tokens TEXT NOT NULL,
    score REAL,
    choices TEXT,
    error TEXT,
    PRIMARY KEY (scan_id, file_idx, idx, q)
) WITHOUT ROWID;
INSERT INTO scan_window (scan_id, file_idx, idx, q, start_s, end_s, slot2_start_s, text, tokens, score,
                         choices, error)
    SELECT scan_id, 0, idx, 0, start_s, end_s, slot2_start_s, text, tokens, score, choices, error
    FROM scan_window_3;
DROP TABLE scan_window_3
"""
_FILL_4 = """
INSERT OR IGNORE INTO scan_file (scan_id, idx, path, file_hash, duration_s, n_windows)
    SELECT id, 0, file, file_hash, duration_s, n_windows FROM scan;
INSERT OR IGNORE INTO scan_question (scan_id, q, name, prompt, threshold, scoring)
    SELECT id, 0, prompt, prompt, threshold, scoring FROM scan
"""

_SCAN_FTS_SCHEMA = """
CREATE VIRTUAL TABLE scan_fts USING fts5(
    prompt, answer, clips, content='scan_text', content_rowid='id', tokenize='trigram'
);
"""


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def prepare_scan_tables(conn: sqlite3.Connection, fts: bool, tables: set[str]) -> bool:
    """Create the scan tables that are missing (``tables``: those that exist), upgrading schema-3 tables;
    True when the FTS index was created now (so the caller rebuilds it)."""
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(scan_window)")}
    if "scan_window" in tables and "q" not in columns:
        _run_script(conn, _MIGRATE_3_TO_4)
    _run_script(conn, _SCAN_SCHEMA)
    if "scan_file" not in tables:
        _run_script(conn, _FILL_4)
    if fts and "scan_fts" not in tables:
        _run_script(conn, _SCAN_FTS_SCHEMA)
        return True
    return False


def scan_text_in_step(conn: sqlite3.Connection) -> bool:
    """True when every scan has its search-text row and no other row is there."""
    main = conn.execute("SELECT count(*), max(id) FROM scan").fetchone()
    text = conn.execute("SELECT count(*), max(id) FROM scan_text").fetchone()
    return tuple(main) == tuple(text)


def scan_search_row(conn: sqlite3.Connection, scan_id: int) -> tuple[int, str, str, str] | None:
    """The search-text row of scan ``scan_id`` from the database: its prompt, the distinct answers of its
    windows (one a line) and its files' names, case-folded; None when there is no such scan."""
    from mellow_desktop.core.history_record import clip_names

    head = conn.execute("SELECT prompt, file, slot2_file FROM scan WHERE id = ?", (scan_id,)).fetchone()
    if head is None:
        return None
    texts = conn.execute("SELECT DISTINCT text FROM scan_window WHERE scan_id = ? AND text != '' "
                         "ORDER BY idx", (scan_id,))
    answers = "\n".join(str(r[0]) for r in texts)
    return (scan_id, str(head[0]).casefold(), answers.casefold(), clip_names(head[1], head[2]).casefold())


def rebuild_scan_text(conn: sqlite3.Connection) -> None:
    """Recompute every scan's search text (after an upgrade or a session that could not keep it)."""
    conn.execute("DELETE FROM scan_text")
    for (scan_id,) in conn.execute("SELECT id FROM scan").fetchall():
        row = scan_search_row(conn, int(scan_id))
        if row is not None:
            conn.execute("INSERT INTO scan_text(id, prompt, answer, clips) VALUES (?, ?, ?, ?)", row)
