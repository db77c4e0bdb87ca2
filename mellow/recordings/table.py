"""A deployment as rows for machines (CSV, JSON Lines) and as notes for people: one row per file, every
absolute time ISO 8601 with its offset.

Columns (:data:`FIELDS`): ``file`` (relative to the listed folder), ``recorder``, ``start``, ``end``,
``duration_s``, ``time_source``, ``name_start`` (what the file name says, when it says anything),
``device_make``, ``device_model``, ``device_serial``, ``latitude``, ``longitude``, ``sample_rate``,
``channels``, ``gap_before_s`` (seconds from the end of the recorder's previous file; negative for an
overlap), ``flag`` (``gap``, ``overlap`` or empty), ``notes`` and ``error``.  In JSON Lines an unknown value
is ``null`` and ``notes`` is a list; in CSV it is an empty cell and the notes are joined with ``"; "``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from mellow.recordings.deployment import Deployment, Transition
from mellow.recordings.records import Recording
from mellow.recordings.zones import iso
from mellow.timefmt import format_seconds

FIELDS = ("file", "recorder", "start", "end", "duration_s", "time_source", "name_start", "device_make",
          "device_model", "device_serial", "latitude", "longitude", "sample_rate", "channels", "gap_before_s",
          "flag", "notes", "error")


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX separators) when under it, else the whole path."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def transition_flag(transition: Transition | None) -> str:
    """``gap``, ``overlap`` or empty."""
    if transition is None:
        return ""
    return "gap" if transition.is_gap else "overlap" if transition.is_overlap else ""


def transition_note(transition: Transition | None) -> str | None:
    """``gap of 9:00.0 before`` / ``overlaps the previous file by 2.00 s``; None when contiguous."""
    flag = transition_flag(transition)
    if not flag or transition is None:
        return None
    length = format_span(abs(transition.seconds))
    return f"gap of {length} before" if flag == "gap" else f"overlaps the previous file by {length}"


def format_span(seconds: float) -> str:
    """:func:`~mellow.timefmt.format_seconds`, with whole days split off: ``3 d 2:00:00.0``."""
    days, rest = divmod(seconds, 86400.0)
    return f"{int(days)} d {format_seconds(rest)}" if days >= 1 else format_seconds(seconds)


def row_notes(deployment: Deployment, rec: Recording) -> list[str]:
    """What to say about one file besides its error: its gap or overlap, no start, its own notes."""
    notes = []
    gap = transition_note(deployment.transition_before(rec))
    if gap:
        notes.append(gap)
    if rec.start is None:
        notes.append("no start time (metadata and name give none)")
    return notes + list(rec.notes)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def recording_row(deployment: Deployment, rec: Recording) -> dict[str, Any]:
    """The :data:`FIELDS` of one file (numbers as numbers, unknowns as None, notes as a list)."""
    transition = deployment.transition_before(rec)
    name_start = rec.name_start
    return {
        "file": relative_name(rec.path, deployment.root), "recorder": rec.recorder_id,
        "start": iso(rec.start) if rec.start else None, "end": iso(rec.end) if rec.end else None,
        "duration_s": _round(rec.duration_s, 3), "time_source": rec.time_source,
        "name_start": iso(name_start) if name_start else None,
        "device_make": rec.device.make, "device_model": rec.device.model, "device_serial": rec.device.serial,
        "latitude": rec.location.latitude if rec.location else None,
        "longitude": rec.location.longitude if rec.location else None,
        "sample_rate": rec.sample_rate, "channels": rec.channels,
        "gap_before_s": _round(transition.seconds, 3) if transition else None,
        "flag": transition_flag(transition), "notes": row_notes(deployment, rec), "error": rec.error,
    }


def rows(deployment: Deployment) -> Iterator[dict[str, Any]]:
    """:func:`recording_row` for every file, recorder by recorder, each in clock order."""
    for rec in deployment.recordings:
        yield recording_row(deployment, rec)


def write_csv(table: Iterable[dict[str, Any]], out: TextIO) -> None:
    """``table`` as CSV with a header row (empty cells for unknowns, notes joined by ``"; "``)."""
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: "; ".join(v) if k == "notes" else ("" if v is None else v)
                         for k, v in row.items()})


def write_jsonl(table: Iterable[dict[str, Any]], out: TextIO) -> None:
    """``table`` as JSON Lines, one object per file."""
    for row in table:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
