"""Raven selection tables (``.selections.txt``): tab-separated, one header line, one selection per line.

Every selection is on ``Spectrogram 1``, channel 1, spanning the model's frequency range (50–14 000 Hz).
``Begin Time (s)`` counts on across files in input order (file k's times are offset by the lengths of the
files before it, as combined tables do); ``File Offset (s)`` is the time within ``Begin Path``.
``Annotation`` names the question (Raven's column for a selection's label), ``Answer`` holds the model's
answer.  Cells are escaped with :mod:`~mellow.scan.writers.tabtext`; an empty ``Score`` means "not scored".
Tables written before the ``Annotation`` column existed (:data:`HEADER_BEFORE_QUESTIONS`) are read too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mellow.scan.writers.tabtext import decode_lines, encode_lines, escape, seconds, unescape

HEADER = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)",
          "Begin Path", "File Offset (s)", "Annotation", "Answer", "Score")
HEADER_BEFORE_QUESTIONS = tuple(h for h in HEADER if h != "Annotation")
VIEW = "Spectrogram 1"
CHANNEL = 1


@dataclass(frozen=True)
class Selection:
    """One row: times in the combined timeline, the file and the offset within it, answer and score, and
    the question's name (``annotation``)."""

    begin_s: float
    end_s: float
    path: str
    file_offset_s: float
    answer: str
    score: float | None = None
    low_hz: float = 50.0
    high_hz: float = 14000.0
    annotation: str = ""


def encode(selections: list[Selection]) -> bytes:
    rows = [list(HEADER)]
    for number, s in enumerate(selections, start=1):
        rows.append([str(number), VIEW, str(CHANNEL), seconds(s.begin_s), seconds(s.end_s), f"{s.low_hz:g}",
                     f"{s.high_hz:g}", escape(s.path), seconds(s.file_offset_s), escape(s.annotation),
                     escape(s.answer),
                     "" if s.score is None else f"{s.score:.6f}"])
    return encode_lines(rows)


def parse(data: bytes, name: str = "the file") -> list[Selection]:
    """Selections of a table written by :func:`encode`; raises ValueError on another layout."""
    lines = decode_lines(data)
    header = tuple(lines[0]) if lines else ()
    if header not in (HEADER, HEADER_BEFORE_QUESTIONS):
        raise ValueError(f"{name} does not start with the Raven selection-table header")
    out = []
    for number, cells in enumerate(lines[1:], start=2):
        if len(cells) != len(header):
            raise ValueError(f"{name}, line {number}: {len(cells)} columns instead of {len(header)}")
        rec = dict(zip(header, cells, strict=True))
        score = None if rec["Score"] == "" else float(rec["Score"])
        out.append(Selection(float(rec["Begin Time (s)"]), float(rec["End Time (s)"]),
                             unescape(rec["Begin Path"]), float(rec["File Offset (s)"]),
                             unescape(rec["Answer"]), score, float(rec["Low Freq (Hz)"]),
                             float(rec["High Freq (Hz)"]), unescape(rec.get("Annotation", ""))))
    return out


def read(path: str | Path) -> list[Selection]:
    return parse(Path(path).read_bytes(), str(path))
