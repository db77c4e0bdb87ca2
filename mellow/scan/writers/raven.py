"""Raven selection tables (``.selections.txt``): tab-separated, one header line, one selection per line.

Every selection is on ``Spectrogram 1``, channel 1, spanning the model's frequency range (50–14 000 Hz).
``Begin Time (s)`` counts on across files in input order (file k's times are offset by the lengths of the
files before it, as combined tables do); ``File Offset (s)`` is the time within ``Begin Path``.  Cells are
escaped with :mod:`~mellow.scan.writers.tabtext`; an empty ``Score`` means "not scored".

Clock time uses Raven's own measurement names and forms: ``Begin File`` (the file's name, without its
folder), ``Begin Date`` (``YYYY/MM/DD``) and ``Begin Clock Time`` (``HH:MM:SS.sss``, 24-hour), the wall
clock of the selection's start in the offset its recording's start was read with; both empty when the start
is unknown.  ``Annotation`` names the question (Raven's column for a selection's label), ``Answer`` holds
the model's answer.  Tables written before these columns existed are read too (columns are read by name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mellow.scan.writers.tabtext import decode_lines, encode_lines, escape, seconds, unescape

HEADER = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)",
          "Begin Path", "Begin File", "File Offset (s)", "Begin Date", "Begin Clock Time",
          "Annotation", "Answer", "Score")
#: Columns a table written before they existed lacks.
OPTIONAL = ("Begin File", "Begin Date", "Begin Clock Time", "Annotation")
VIEW = "Spectrogram 1"
CHANNEL = 1


@dataclass(frozen=True)
class Selection:
    """One row: times in the combined timeline, the file and the offset within it, answer and score;
    ``start_time`` is the selection's start in clock time (ISO 8601 with offset, "" when unknown),
    ``annotation`` the question's name."""

    begin_s: float
    end_s: float
    path: str
    file_offset_s: float
    answer: str
    score: float | None = None
    low_hz: float = 50.0
    high_hz: float = 14000.0
    start_time: str = ""
    annotation: str = ""


def date_and_clock(start_time: str) -> tuple[str, str]:
    """``Begin Date`` and ``Begin Clock Time`` of an ISO 8601 time: ``("2026/05/01", "05:30:00.000")``, the
    wall clock in the time's own offset; ``("", "")`` for ""."""
    if not start_time:
        return "", ""
    moment = datetime.fromisoformat(start_time)
    return moment.strftime("%Y/%m/%d"), moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def encode(selections: list[Selection]) -> bytes:
    rows = [list(HEADER)]
    for number, s in enumerate(selections, start=1):
        day, clock = date_and_clock(s.start_time)
        rows.append([str(number), VIEW, str(CHANNEL), seconds(s.begin_s), seconds(s.end_s), f"{s.low_hz:g}",
                     f"{s.high_hz:g}", escape(s.path), escape(Path(s.path).name), seconds(s.file_offset_s),
                     day, clock, escape(s.annotation), escape(s.answer),
                     "" if s.score is None else f"{s.score:.6f}"])
    return encode_lines(rows)


def _columns(header: list[str], name: str) -> tuple[str, ...]:
    """The header's names when it is ours (the optional columns may be missing); ValueError otherwise."""
    names = tuple(header)
    if names != tuple(c for c in HEADER if c in names) or set(HEADER) - set(names) - set(OPTIONAL):
        raise ValueError(f"{name} does not start with the Raven selection-table header")
    return names


def parse(data: bytes, name: str = "the file") -> list[Selection]:
    """Selections of a table written by :func:`encode` (or before its clock columns existed); raises
    ValueError on another layout.  ``start_time`` is read back as the wall clock without an offset."""
    lines = decode_lines(data)
    names = _columns(lines[0] if lines else [], name)
    out = []
    for number, cells in enumerate(lines[1:], start=2):
        if len(cells) != len(names):
            raise ValueError(f"{name}, line {number}: {len(cells)} columns instead of {len(names)}")
        rec = dict(zip(names, cells, strict=True))
        score = None if rec["Score"] == "" else float(rec["Score"])
        day, clock = rec.get("Begin Date", ""), rec.get("Begin Clock Time", "")
        start = f"{day.replace('/', '-')}T{clock}" if day and clock else ""
        out.append(Selection(float(rec["Begin Time (s)"]), float(rec["End Time (s)"]),
                             unescape(rec["Begin Path"]), float(rec["File Offset (s)"]),
                             unescape(rec["Answer"]), score, float(rec["Low Freq (Hz)"]),
                             float(rec["High Freq (Hz)"]), start,
                             unescape(rec.get("Annotation", ""))))
    return out


def read(path: str | Path) -> list[Selection]:
    return parse(Path(path).read_bytes(), str(path))
