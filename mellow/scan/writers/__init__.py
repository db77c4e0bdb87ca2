"""Scan outputs: JSON lines and CSV (one row per window and question, appendable, resumable), Audacity label
tracks and Raven selection tables (merged detections of scored questions, every window's answer otherwise,
labelled by question), with readers.

``FORMATS`` names them; :func:`format_for` picks one from ``--format`` or the file name.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from mellow.errors import MellowError
from mellow.files import write_atomic
from mellow.scan.merge import merge_detections
from mellow.scan.writers import audacity, jsonl, raven, table
from mellow.scan.writers.audacity import Label
from mellow.scan.writers.raven import Selection
from mellow.scan.writers.records import ScanRow

#: Format name -> the suffix that selects it.
FORMATS = {"jsonl": ".jsonl", "csv": ".csv", "audacity": ".txt", "raven": ".selections.txt"}
_ALIASES = {"json": "jsonl", "labels": "audacity", "txt": "audacity", "selections": "raven"}
#: Formats written row by row while the scan runs (the others are written whole at the end).
APPENDABLE = {"jsonl": jsonl, "csv": table}
#: Formats written whole at the end, with their readers.
EXPORTS = {"audacity": audacity, "raven": raven}


class FormatError(MellowError):
    """The output format is unknown."""


def format_for(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The format name for ``--out path`` and ``--format fmt``; raises FormatError when neither names one."""
    names = ", ".join(FORMATS)
    if fmt:
        name = _ALIASES.get(fmt.lower(), fmt.lower())
        if name not in FORMATS:
            raise FormatError(f"unknown format {fmt!r} (use one of {names})")
        return name
    lower = Path(path).name.lower()
    for name, suffix in sorted(FORMATS.items(), key=lambda item: -len(item[1])):
        if lower.endswith(suffix):
            return name
    raise FormatError(f"cannot tell the format of {Path(path).name!r} from its suffix: use --format "
                      f"({names}) or a name ending in {', '.join(FORMATS.values())}")


def table_module(fmt: str) -> ModuleType:
    """The module (``header``, ``encode_row``, ``parse``, ``read``) of an appendable format."""
    return APPENDABLE[fmt]


def ordered(rows: Sequence[ScanRow], files: Sequence[str]) -> list[ScanRow]:
    """``rows`` in window order: files in ``files`` order, then by start."""
    rank = {f: i for i, f in enumerate(files)}
    return sorted(rows, key=lambda r: (rank.get(r.file, len(rank)), r.file, r.start_s))


#: Which rows are merged into detections: all (True), none (False), or the questions of these names.
Scored = bool | Collection[str]


def _scored(scored: Scored, question: str) -> bool:
    return scored if isinstance(scored, bool) else question in scored


def _by_question(rows: Sequence[ScanRow]) -> dict[str, list[ScanRow]]:
    """Rows grouped by question name, in the order the questions first appear (each group in row order)."""
    groups: dict[str, list[ScanRow]] = {}
    for r in rows:
        groups.setdefault(r.question, []).append(r)
    return groups


@dataclass(frozen=True)
class _Item:
    """One label or selection before formatting: a window's answer or a merged detection."""

    file: str
    start_s: float
    end_s: float
    text: str
    score: float | None
    question: str


def _items(rows: Sequence[ScanRow], scored: Scored, threshold: float,
           thresholds: Mapping[str, float] | None) -> list[_Item]:
    """Per question: its merged detections when scored (at its threshold), else every window's answer;
    all of them in window order (file by file, by start), the questions in order at equal times."""
    rank = {f: i for i, f in enumerate(dict.fromkeys(r.file for r in rows))}
    items: list[tuple[tuple[int, float, int], _Item]] = []
    for q_rank, (question, group) in enumerate(_by_question(rows).items()):
        if _scored(scored, question):
            limit = (thresholds or {}).get(question, threshold)
            got = [_Item(str(d.file), d.start_s, d.end_s, d.text, d.max_score, question)
                   for d in merge_detections([r.to_result() for r in group], limit)]
        else:
            got = [_Item(r.file, r.start_s, r.end_s, r.text, r.score, question) for r in group]
        items += [((rank.get(i.file, len(rank)), i.start_s, q_rank), i) for i in got]
    return [i for _, i in sorted(items, key=lambda pair: pair[0])]


def labels_for(rows: Sequence[ScanRow], scored: Scored, threshold: float,
               thresholds: Mapping[str, float] | None = None) -> list[Label]:
    """Audacity labels: merged detections (label "answer (max score)") or, unscored, every window's answer.

    Rows of several questions are labelled with the question's name ("birds: yes (0.93)"), rows of several
    files with the file's name ("dawn.wav: yes (0.93)"), times within the file.  ``scored``: see
    :data:`Scored`; ``thresholds`` by question name override ``threshold``.
    """
    multi_file = len({r.file for r in rows}) > 1
    multi_question = len({r.question for r in rows}) > 1
    labels = []
    for i in _items(rows, scored, threshold, thresholds):
        text = f"{i.text} ({i.score:.2f})" if _scored(scored, i.question) else i.text
        if multi_question:
            text = f"{i.question}: {text}"
        if multi_file:
            text = f"{Path(i.file).name}: {text}"
        labels.append(Label(i.start_s, i.end_s, text))
    return labels


def selections_for(rows: Sequence[ScanRow], durations: dict[str, float], scored: Scored, threshold: float,
                   band: tuple[float, float] = (50.0, 14000.0),
                   thresholds: Mapping[str, float] | None = None) -> list[Selection]:
    """Raven selections, ``Annotation`` the question's name; a file's times are offset by the lengths of the
    files before it in ``durations``.  A selection's clock time is its first window's ``start_time``."""
    offsets, total = {}, 0.0
    for file, duration in durations.items():
        offsets[file] = total
        total += duration
    low, high = band
    clock = {(r.file, r.start_s): r.start_time for r in rows}
    return [Selection(offsets.get(i.file, 0.0) + i.start_s, offsets.get(i.file, 0.0) + i.end_s, i.file,
                      i.start_s, i.text, i.score, low, high, clock.get((i.file, i.start_s), ""), i.question)
            for i in _items(rows, scored, threshold, thresholds)]


def export_bytes(fmt: str, rows: Sequence[ScanRow], durations: dict[str, float], scored: Scored,
                 threshold: float, band: tuple[float, float] = (50.0, 14000.0),
                 thresholds: Mapping[str, float] | None = None) -> bytes:
    """The whole output file of ``fmt`` for ``rows`` (put in window order first)."""
    rows = ordered(rows, list(durations))
    if fmt == "audacity":
        return audacity.encode(labels_for(rows, scored, threshold, thresholds))
    if fmt == "raven":
        return raven.encode(selections_for(rows, durations, scored, threshold, band, thresholds))
    module = table_module(fmt)
    return module.header() + b"".join(module.encode_row(r) for r in rows)


__all__ = ["APPENDABLE", "EXPORTS", "FORMATS", "FormatError", "Label", "ScanRow", "Scored", "Selection",
           "export_bytes", "format_for", "labels_for", "ordered", "selections_for", "table_module",
           "write_atomic"]
