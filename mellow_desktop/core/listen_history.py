"""A listening session in the history: each question's rows stored as a scan (one per question), so that
History lists it, re-opens it and exports it (CSV, JSON lines, Audacity, Raven, the report) through the scan
code.

A session's rows name the file each window is in (the input file for a file played in real time, the kept
stream's hourly files, or the session folder for a device whose stream was not kept); a scan's files are
those, in order, and a file's windows are its rows by start.  ``history.json`` in the session folder records
the scans made, so a session is stored once.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from mellow.files import write_atomic
from mellow.listen.rows import QUESTION, ListenRow
from mellow.listen.session import SESSION_FILE, read_rows
from mellow.scan.scores import YES_NO
from mellow.scan.types import Window, WindowResult
from mellow_desktop.core.scan_record import ScannedFile, ScanRecord
from mellow_desktop.core.scan_session import Database, connect
from mellow_desktop.core.scan_store import ScanStore

HISTORY_FILE = "history.json"
"""In a session folder: the ids of the scans it was stored as (``{"scans": [3, 4]}``)."""


def session_scans(session_dir: Path) -> list[tuple[ScanRecord, list[tuple[int, WindowResult]]]]:
    """One (record, [(plan index, result)]) per question of the session that has rows, in the set's order."""
    info = _info(session_dir)
    settings = info.get("settings") or {}
    by_question: dict[str, list[ListenRow]] = defaultdict(list)
    for row in read_rows(session_dir):
        if row.role == QUESTION:
            by_question[row.scan.question].append(row)
    names = [q.get("name") for q in settings.get("questions") or []]
    ordered = [n for n in names if n in by_question] + [n for n in by_question if n not in names]
    return [_scan_of(session_dir, info, settings, by_question[n]) for n in ordered]


def _scan_of(session_dir: Path, info: dict[str, Any], settings: dict[str, Any], rows: list[ListenRow]
             ) -> tuple[ScanRecord, list[tuple[int, WindowResult]]]:
    files: dict[str, list[ListenRow]] = {}
    for row in sorted(rows, key=lambda r: r.stream_s):
        files.setdefault(row.scan.file, []).append(row)
    scanned, results, first = [], [], 0
    for path, file_rows in files.items():
        unique = list({round(r.scan.start_s, 3): r for r in file_rows}.values())
        unique.sort(key=lambda r: r.scan.start_s)
        scanned.append(ScannedFile(path, unique[0].scan.file_hash, max(r.scan.end_s for r in unique),
                                   n_windows=len(unique)))
        for i, r in enumerate(unique):
            s = r.scan
            window = Window(Path(s.file), s.start_s, s.end_s, s.file_hash)
            results.append((first + i, WindowResult(window, s.text, list(s.tokens), s.score, s.choices,
                                                    question=s.question)))
        first += len(unique)
    head = rows[0]
    one = len(scanned) == 1
    record = ScanRecord(
        prompt=head.prompt, file=scanned[0].path if one else str(session_dir), files=scanned,
        hop_s=float(settings.get("hop_s") or 10.0), threshold=float(head.threshold or 0.5),
        max_len=int(settings.get("max_len") or 300), score="auto",
        file_hash=scanned[0].file_hash if one else "",
        n_windows=first, duration_s=scanned[0].duration_s if one else None,
        scoring=YES_NO if any(r.score is not None for r in rows) else None, model_id=head.scan.model,
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
