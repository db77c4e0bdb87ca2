"""Scans in the history database: create, list/search, load with every window, delete with undo, and
append window results one transaction per batch.

A :class:`ScanStore` works on any connection to the database: :attr:`HistoryStore.scans
<mellow_desktop.core.history_store.HistoryStore.scans>` uses the GUI's, a
:class:`~mellow_desktop.core.scan_session.ScanSession` opens its own on the worker thread (SQLite's WAL lets
one connection write while others read).  Writes are ``BEGIN IMMEDIATE`` transactions with
``synchronous=FULL``: a batch is on disk when :meth:`append_results` returns, and a crash loses at most the
batch being written, never a window twice (``(scan_id, file_idx, idx, q)`` is the primary key).  Callers
name windows by their plan index (:meth:`ScanRecord.locate <.scan_record.ScanRecord.locate>` maps it to the
stored file and window index).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence

from mellow.errors import MellowError, one_line
from mellow.generation.devices import dtype_name
from mellow.scan.questions import QuestionSet
from mellow.scan.scores import scoring_for
from mellow.scan.types import WindowResult
from mellow_desktop.core.deleted import SCAN, Deleted
from mellow_desktop.core.history_record import HistoryError
from mellow_desktop.core.history_schema import index_record, matching_ids, transaction, unindex_record
from mellow_desktop.core.scan_record import LoadedScan, ScannedFile, ScanRecord, set_label, stored_question
from mellow_desktop.core.scan_schema import (
    FILE_COLUMNS,
    QUESTION_COLUMNS,
    SCAN_COLUMNS,
    SCAN_STATUSES,
    WINDOW_COLUMNS,
    scan_search_row,
)


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_WINDOW_INSERT = _insert_sql("scan_window", WINDOW_COLUMNS)
_FILE_INSERT = _insert_sql("scan_file", FILE_COLUMNS)
_QUESTION_INSERT = _insert_sql("scan_question", QUESTION_COLUMNS)
_ANSWERED = "error IS NULL"  # earlier versions stored unreadable windows; they count as missing
_FORGET_UNREADABLE = ("DELETE FROM scan_window WHERE scan_id = ? AND file_idx = ? AND idx = ? AND q = ? "
                      "AND error IS NOT NULL")


def _record(row: sqlite3.Row) -> ScanRecord:
    """The record of a ``scan`` row; the ``options`` column holds the decoding options, precision and score
    mode as JSON (earlier versions wrote the precision as "torch.float32")."""
    try:
        options = json.loads(row["options"] or "{}")
    except json.JSONDecodeError:
        options = {}
    options = options if isinstance(options, dict) else {}
    values = {c: row[c] for c in SCAN_COLUMNS if c != "options"}
    generation = options.get("generation") if isinstance(options.get("generation"), dict) else {}
    try:
        dtype = dtype_name(options.get("dtype") or "float32")
    except MellowError:
        dtype = str(options.get("dtype"))
    return ScanRecord(id=int(row["id"]), max_len=int(generation.get("max_len", 300)), dtype=dtype,
                      score=options.get("score", row["scoring"]), zone=options.get("zone"),
                      date_from=options.get("date_from"), date_to=options.get("date_to"), **values)


def _options_json(scan: ScanRecord) -> str:
    options = {"generation": dataclasses.asdict(scan.generation_options()), "dtype": scan.dtype,
               "score": scan.score, "zone": scan.zone, "date_from": scan.date_from, "date_to": scan.date_to,
               **({"set_name": scan.questions.name} if scan.questions is not None and scan.questions.name
                  else {})}
    return json.dumps(options, ensure_ascii=False, default=str)


def _set_name(row: sqlite3.Row) -> str:
    """The question set's name a ``scan`` row's options hold ("" when none)."""
    try:
        options = json.loads(row["options"] or "{}")
    except json.JSONDecodeError:
        return ""
    return str(options.get("set_name") or "") if isinstance(options, dict) else ""


def _file_values(scan: ScanRecord) -> list[tuple[object, ...]]:
    return [(scan.id, i, f.path, f.file_hash, f.duration_s, f.recording_start, f.time_source, f.n_windows,
             f.problem) for i, f in enumerate(scan.files)]


def _question_values(scan: ScanRecord, first: int = 0) -> list[tuple[object, ...]]:
    """The ``scan_question`` rows of the scan's questions from the ``first``-th on (a one-question scan
    stores the scan's threshold with its question, as before sets)."""
    qs = scan.question_set
    return [(scan.id, k, q.name, q.prompt, scan.threshold if scan.questions is None else q.threshold,
             scan.scoring_of(q.name)) for k, q in enumerate(qs) if k >= first]


def _q_index(scan: ScanRecord, r: WindowResult) -> int:
    """The stored index of the question ``r`` answers (0: a result without a question's name)."""
    if not r.question or scan.questions is None:
        return 0
    return scan.questions.names.index(r.question)


def _window_values(scan: ScanRecord, plan_index: int, r: WindowResult) -> tuple[object, ...]:
    w = r.window
    file_idx, idx = scan.locate(int(plan_index))
    return (scan.id, file_idx, idx, _q_index(scan, r), float(w.start_s), float(w.end_s),
            float(w.slot2_start_s) if w.slot2_file is not None else None, r.text, json.dumps(list(r.tokens)),
            r.score, None if r.choices is None else json.dumps(r.choices), r.error)


def _result(scan: ScanRecord, row: sqlite3.Row) -> WindowResult:
    raw = None if row["choices"] is None else json.loads(row["choices"])
    choices = None if raw is None else {str(k): float(v) for k, v in raw.items()}
    window = scan.window_of(int(row["file_idx"]), float(row["start_s"]), float(row["end_s"]),
                            row["slot2_start_s"])
    names = scan.question_set.names
    q = int(row["q"])
    return WindowResult(window, text=row["text"], tokens=[int(t) for t in json.loads(row["tokens"])],
                        score=row["score"], choices=choices, error=row["error"],
                        question=names[q] if q < len(names) else "")


class ScanStore:
    """The scans of the history database on ``conn`` (autocommit mode); ``fts``: FTS5 trigram available."""

    def __init__(self, conn: sqlite3.Connection, fts: bool) -> None:
        self._conn = conn
        self.fts = fts

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[None]:
        """One write transaction; an SQLite failure becomes a one-line :class:`HistoryError`."""
        try:
            with transaction(self._conn):
                yield
        except sqlite3.Error as exc:  # a full disk, a lock held too long, a window stored twice
            raise HistoryError(f"cannot {doing} the history database: {one_line(exc)}") from None

    # ------------------------------------------------------------------------------------------- scans
    def create(self, scan: ScanRecord) -> int:
        """Store a new scan (no windows yet) in its own transaction; sets and returns ``scan.id``."""
        if scan.status not in SCAN_STATUSES:
            raise ValueError(f"status must be one of {SCAN_STATUSES}, got {scan.status!r}")
        with self._write("save the scan to"):
            scan.id = self._insert(scan)
        return scan.id

    def _insert(self, scan: ScanRecord, keep_id: bool = False) -> int:
        if not scan.files:  # a record made by hand: its one file
            scan.files = [ScannedFile(scan.file, scan.file_hash, scan.duration_s, n_windows=scan.n_windows)]
        columns = ("id", *SCAN_COLUMNS) if keep_id else SCAN_COLUMNS
        values = [_options_json(scan) if c == "options" else getattr(scan, c) for c in columns]
        sid = int(self._conn.execute(_insert_sql("scan", columns), values).lastrowid)
        scan.id = sid
        self._conn.executemany(_FILE_INSERT, _file_values(scan))
        self._conn.executemany(_QUESTION_INSERT, _question_values(scan))
        self._reindex(sid, fresh=True)
        return sid

    def _reindex(self, scan_id: int, fresh: bool = False) -> None:
        """Bring the scan's search text up to date (its answers grow batch by batch)."""
        if not fresh:
            unindex_record(self._conn, self.fts, scan_id, table="scan")
        row = scan_search_row(self._conn, scan_id)
        if row is not None:
            index_record(self._conn, self.fts, row, table="scan")

    def get(self, scan_id: int) -> ScanRecord | None:
        row = self._conn.execute("SELECT * FROM scan WHERE id = ?", (int(scan_id),)).fetchone()
        return None if row is None else self._with_files(_record(row), _set_name(row))

    def _with_files(self, scan: ScanRecord, set_name: str = "") -> ScanRecord:
        files = self._conn.execute("SELECT * FROM scan_file WHERE scan_id = ? ORDER BY idx", (scan.id,))
        scan.files = [ScannedFile(**{c: r[c] for c in FILE_COLUMNS[2:]}) for r in files]
        rows = self._conn.execute("SELECT * FROM scan_question WHERE scan_id = ? ORDER BY q",
                                  (scan.id,)).fetchall()
        if len(rows) > 1:  # a question set (one question: the scan's prompt, as before sets)
            scan.questions = QuestionSet(tuple(stored_question(r["name"], r["prompt"], r["threshold"])
                                               for r in rows), set_name)
        scan.scorings = {q.name: r["scoring"] for q, r in zip(scan.question_set, rows, strict=False)}
        return scan

    def add_questions(self, scan: ScanRecord, more: QuestionSet) -> None:
        """Add the questions ``more`` to the stored scan (Resume then asks only them of every window); sets
        the record's questions, label and scorings (``more``'s resolved as the scan resolves its own)."""
        taken = set(scan.question_set.names)
        renamed = []
        for q in more:  # a name already taken is numbered: "tone (2)"
            name, k = q.name, 1
            while name in taken:
                k += 1
                name = f"{q.name} ({k})"
            taken.add(name)
            renamed.append(dataclasses.replace(q, name=name))
        joined = scan.question_set.joined(QuestionSet(tuple(renamed), more.name))  # a prompt asked: error
        first = len(scan.question_set)
        if scan.questions is None and len(joined) > 1:  # the first question keeps the scan's threshold
            joined = QuestionSet((dataclasses.replace(joined[0], threshold=scan.threshold), *joined[1:]))
        before = scan.questions, scan.prompt, dict(scan.scorings)
        scan.questions, scan.prompt = joined, set_label(joined)
        scan.scorings = {q.name: scan.scoring_of(q.name) if k < first else scoring_for(q.prompt, scan.score)
                         for k, q in enumerate(joined)}
        try:
            with self._write("add the questions to"):
                self._conn.execute("DELETE FROM scan_question WHERE scan_id = ?", (scan.id,))
                self._conn.executemany(_QUESTION_INSERT, _question_values(scan))
                self._conn.execute("UPDATE scan SET prompt = ? WHERE id = ?", (scan.prompt, scan.id))
                self._reindex(int(scan.id or 0))
        except BaseException:
            scan.questions, scan.prompt, scan.scorings = before
            raise

    def set_status(self, scan_id: int, status: str, message: str | None = None) -> None:
        """Mark the scan "finished", "cancelled", "failed" (with ``message``) or "running" again (resumed)."""
        if status not in SCAN_STATUSES:
            raise ValueError(f"status must be one of {SCAN_STATUSES}, got {status!r}")
        finished = None if status == "running" else time.time()
        with self._write("update the scan in"):
            self._conn.execute("UPDATE scan SET status = ?, message = ?, finished = ? WHERE id = ?",
                               (status, message, finished, int(scan_id)))

    def search(self, text: str = "", limit: int = 200) -> list[ScanRecord]:
        """Scans whose prompt, answers or file names contain ``text`` (case-insensitive), newest first."""
        needle = text.strip().casefold()
        if not needle:
            rows = self._conn.execute("SELECT * FROM scan ORDER BY created DESC, id DESC LIMIT ?", (limit,))
            return [self._with_files(_record(r), _set_name(r)) for r in rows.fetchall()]
        ids = matching_ids(self._conn, self.fts, needle, limit, table="scan")
        return [r for r in (self.get(i) for i in ids) if r is not None]

    # ------------------------------------------------------------------------------------------- windows
    def done_indices(self, scan: ScanRecord | int) -> set[int]:
        """Plan indices of the windows of ``scan`` (a record, or a stored scan's id) with at least one
        answer."""
        return {i for i, _q in self.done_pairs(scan)}

    def done_pairs(self, scan: ScanRecord | int) -> set[tuple[int, int]]:
        """(plan index, question index) of every answer of ``scan`` (a record, or a stored scan's id)."""
        scan = scan if isinstance(scan, ScanRecord) else self.get(scan) or ScanRecord(prompt="", file="")
        rows = self._conn.execute(f"SELECT file_idx, idx, q FROM scan_window WHERE scan_id = ? AND "
                                  f"{_ANSWERED}", (int(scan.id or 0),))
        firsts = scan.first_windows()
        return {(firsts[int(f)] + int(i), int(q)) for f, i, q in rows if int(f) < len(firsts)}

    def restart(self, scan: ScanRecord, changed: Iterable[int]) -> None:
        """Forget the stored windows of the files ``changed`` (file indices: their content changed, so the
        answers were about other audio) and store the scan's file facts and plan size anew, in one
        transaction."""
        sid = int(scan.id or 0)
        with self._write("update the scan in"):
            self._conn.executemany("DELETE FROM scan_window WHERE scan_id = ? AND file_idx = ?",
                                   [(sid, int(i)) for i in changed])
            self._conn.execute("DELETE FROM scan_file WHERE scan_id = ?", (sid,))
            self._conn.executemany(_FILE_INSERT, _file_values(scan))
            self._conn.execute("UPDATE scan SET file_hash = ?, duration_s = ?, n_windows = ?, slot2_hash = ? "
                               "WHERE id = ?", (scan.file_hash, scan.duration_s, scan.n_windows,
                                                scan.slot2_hash, sid))
            self._reindex(sid)

    def done_counts(self, ids: Iterable[int]) -> dict[int, int]:
        """Answers stored per scan (for "34 of 720 windows" in the history list; 0 when none)."""
        wanted = [int(i) for i in ids]
        counts = dict.fromkeys(wanted, 0)
        marks = ", ".join("?" * len(wanted))
        if wanted:
            rows = self._conn.execute(f"SELECT scan_id, count(*) FROM scan_window WHERE scan_id IN ({marks}) "
                                      f"AND {_ANSWERED} GROUP BY scan_id", wanted)
            counts.update({int(r[0]): int(r[1]) for r in rows})
        return counts

    def append_results(self, scan: ScanRecord, results: Sequence[tuple[int, WindowResult]]) -> None:
        """Store one batch of (plan index, result) in one transaction (and refresh the search text)."""
        if not results:
            return
        values = [_window_values(scan, i, r) for i, r in results]
        with self._write("save the scan's results to"):
            self._conn.executemany(_FORGET_UNREADABLE, [v[:4] for v in values])
            self._conn.executemany(_WINDOW_INSERT, values)
            self._reindex(int(scan.id or 0))

    def load(self, scan_id: int) -> LoadedScan | None:
        """The scan with every answered window, in plan order; None when there is no such scan."""
        scan = self.get(scan_id)
        if scan is None:
            return None
        rows = self._conn.execute(f"SELECT * FROM scan_window WHERE scan_id = ? AND {_ANSWERED} "
                                  "ORDER BY file_idx, idx, q", (int(scan_id),)).fetchall()
        firsts = scan.first_windows()
        rows = [r for r in rows if int(r["file_idx"]) < len(firsts)]
        return LoadedScan(scan, tuple(_result(scan, r) for r in rows),
                          tuple(firsts[int(r["file_idx"])] + int(r["idx"]) for r in rows))

    # ------------------------------------------------------------------------------------------- delete
    def delete_scans(self, ids: Iterable[int]) -> Deleted[LoadedScan]:
        """Delete these scans and their windows in one transaction; give the result to :meth:`restore`."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        with self._write("delete from"):
            loaded = [s for s in (self.load(i) for i in wanted) if s is not None]
            for s in loaded:
                sid = int(s.record.id or 0)
                unindex_record(self._conn, self.fts, sid, table="scan")
                for table in ("scan_window", "scan_file", "scan_question"):
                    self._conn.execute(f"DELETE FROM {table} WHERE scan_id = ?", (sid,))
                self._conn.execute("DELETE FROM scan WHERE id = ?", (sid,))
        return Deleted(tuple(loaded), SCAN, self.restore)

    def restore(self, deleted: Deleted[LoadedScan]) -> int:
        """Put deleted scans back with their ids and windows (undo); returns how many came back."""
        with self._write("restore to"):
            missing = [s for s in deleted.items if s.record.id is not None and self.get(s.record.id) is None]
            for s in missing:
                self._insert(s.record, keep_id=True)
                self._conn.executemany(_WINDOW_INSERT, [_window_values(s.record, i, r)
                                                        for i, r in zip(s.indices, s.results, strict=True)])
                self._reindex(int(s.record.id or 0))
        return len(missing)
