"""A listening session in the history: its rows stored as one scan of its question set, so that History
lists it, re-opens it (a lane per question) and exports it (CSV, JSON lines, Audacity, Raven, the report)
through the scan code.

A session's rows name the file each window is in (the input file for a file played in real time, the kept
stream's hourly files, or the session folder for a device whose stream was not kept); a scan's files are
those, in order, and a file's windows are its rows by start.  ``history.json`` in the session folder records
the scans made, so a session is stored once.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from mellow.files import write_atomic
from mellow.listen.rows import QUESTION, ListenRow
from mellow.listen.session import SESSION_FILE, read_rows
from mellow.scan.questions import Question, QuestionSet
from mellow.scan.scores import YES_NO
from mellow.scan.types import Window, WindowResult
from mellow_desktop.core.scan_record import ScannedFile, ScanRecord
from mellow_desktop.core.scan_session import Database, connect
from mellow_desktop.core.scan_store import ScanStore

HISTORY_FILE = "history.json"
"""In a session folder: the ids of the scans it was stored as (``{"scans": [3, 4]}``)."""


def session_scans(session_dir: Path) -> list[tuple[ScanRecord, list[tuple[int, WindowResult]]]]:
    """The session as one scan of its question set — (record, [(plan index, result)]) — or [] when it has
    no rows; the questions are those with rows, in the set's order."""
    info = _info(session_dir)
    settings = info.get("settings") or {}
    rows = [r for r in read_rows(session_dir) if r.role == QUESTION]
    if not rows:
        return []
    return [_scan_of(session_dir, info, settings, rows)]


def _questions(settings: dict[str, Any], rows: list[ListenRow]) -> QuestionSet:
    """The session's questions that have rows, named and with thresholds as listened (set order)."""
    asked = {r.scan.question: r for r in rows}
    given = {str(q.get("name")): q for q in settings.get("questions") or [] if isinstance(q, dict)}
    order = [n for n in given if n in asked] + [n for n in asked if n not in given]
    return QuestionSet(tuple(Question(n, asked[n].prompt, asked[n].threshold) for n in order))


def _scan_of(session_dir: Path, info: dict[str, Any], settings: dict[str, Any], rows: list[ListenRow]
             ) -> tuple[ScanRecord, list[tuple[int, WindowResult]]]:
    files: dict[str, dict[float, list[ListenRow]]] = {}
    for row in sorted(rows, key=lambda r: r.stream_s):
        files.setdefault(row.scan.file, {}).setdefault(round(row.scan.start_s, 3), []).append(row)
    scanned, results, first = [], [], 0
    for path, windows in files.items():
        starts = sorted(windows)
        some = [windows[s][0].scan for s in starts]
        end = max(s.end_s for s in some)
        scanned.append(ScannedFile(path, some[0].file_hash, end, n_windows=len(starts)))
        for i, start in enumerate(starts):
            for r in windows[start]:
                s = r.scan
                window = Window(Path(s.file), s.start_s, s.end_s, s.file_hash)
                results.append((first + i, WindowResult(window, s.text, list(s.tokens), s.score, s.choices,
                                                        question=s.question)))
        first += len(starts)
    questions = _questions(settings, rows)
    scored = {r.scan.question for r in rows if r.score is not None}
    head, one = rows[0], len(scanned) == 1
    record = ScanRecord(
        prompt=questions[0].prompt, questions=questions if len(questions) > 1 else None,
        file=scanned[0].path if one else str(session_dir), files=scanned,
        hop_s=float(settings.get("hop_s") or 10.0), threshold=float(settings.get("threshold") or 0.5),
        max_len=int(settings.get("max_len") or 300), score="auto",
        file_hash=scanned[0].file_hash if one else "",
        n_windows=first, duration_s=scanned[0].duration_s if one else None,
        scoring=YES_NO if questions[0].name in scored else None,
        scorings={q.name: YES_NO if q.name in scored else None for q in questions}, model_id=head.scan.model,
        status="finished" if info.get("ended") not in (None, "interrupted") else "cancelled",
        message=f"listening session {session_dir.name} ({info.get('input', '')})",
        created=_created(info, session_dir))
    return record, results


def store_session(db: Database, session_dir: Path) -> list[int]:
    """Store the session's questions as scans in the history database ``db`` (once: a session already stored
    returns its scans' ids); returns the ids, [] when it has no rows."""
    done = _stored(session_dir)
    if done is not None:
        return done
    scans = session_scans(session_dir)
    ids: list[int] = []
    if scans:
        conn, fts = connect(db)
        try:
            store = ScanStore(conn, fts)
            for record, results in scans:
                store.create(record)
                store.append_results(record, results)
                store.set_status(int(record.id or 0), record.status, record.message)
                ids.append(int(record.id or 0))
        finally:
            conn.close()
    write_atomic(session_dir / HISTORY_FILE, json.dumps({"scans": ids}).encode("utf-8"))
    return ids


def _stored(session_dir: Path) -> list[int] | None:
    try:
        data = json.loads((session_dir / HISTORY_FILE).read_text(encoding="utf-8"))
        return [int(i) for i in data["scans"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _info(session_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((session_dir / SESSION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _created(info: dict[str, Any], session_dir: Path) -> float:
    try:
        return datetime.fromisoformat(str(info.get("started"))).timestamp()
    except ValueError:
        return os.stat(session_dir).st_mtime
