"""Scan outputs: JSON lines and CSV (one row per window, appendable, resumable), Audacity label tracks and
Raven selection tables (merged detections for scored scans, every window otherwise), with readers.

``FORMATS`` names them; :func:`format_for` picks one from ``--format`` or the file name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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


def labels_for(rows: Sequence[ScanRow], scored: bool, threshold: float) -> list[Label]:
    """Audacity labels: merged detections (label "answer (max score)") or, unscored, every window's answer.

    Rows of several files are prefixed with the file's name ("dawn.wav: yes (0.93)"), times within the file.
    """
    multi = len({r.file for r in rows}) > 1

    def name(file: str, text: str) -> str:
        return f"{Path(file).name}: {text}" if multi else text

    if scored:
        events = merge_detections([r.to_result() for r in rows], threshold)
        return [Label(d.start_s, d.end_s, name(str(d.file), f"{d.text} ({d.max_score:.2f})")) for d in events]
    return [Label(r.start_s, r.end_s, name(r.file, r.text)) for r in rows]


def selections_for(rows: Sequence[ScanRow], durations: dict[str, float], scored: bool, threshold: float,
                   band: tuple[float, float] = (50.0, 14000.0)) -> list[Selection]:
    """Raven selections; a file's times are offset by the lengths of the files before it in ``durations``.
    A selection's clock time is its first window's ``start_time``."""
    offsets, total = {}, 0.0
    for file, duration in durations.items():
        offsets[file] = total
        total += duration
    low, high = band
    if scored:
        clock = {(r.file, r.start_s): r.start_time for r in rows}
        events = merge_detections([r.to_result() for r in rows], threshold)
        return [Selection(offsets.get(str(d.file), 0.0) + d.start_s, offsets.get(str(d.file), 0.0) + d.end_s,
                          str(d.file), d.start_s, d.text, d.max_score, low, high,
                          clock.get((str(d.file), d.start_s), "")) for d in events]
    return [Selection(offsets.get(r.file, 0.0) + r.start_s, offsets.get(r.file, 0.0) + r.end_s, r.file,
                      r.start_s, r.text, r.score, low, high, r.start_time) for r in rows]


def export_bytes(fmt: str, rows: Sequence[ScanRow], durations: dict[str, float], scored: bool,
                 threshold: float, band: tuple[float, float] = (50.0, 14000.0)) -> bytes:
    """The whole output file of ``fmt`` for ``rows`` (put in window order first)."""
    rows = ordered(rows, list(durations))
    if fmt == "audacity":
        return audacity.encode(labels_for(rows, scored, threshold))
    if fmt == "raven":
        return raven.encode(selections_for(rows, durations, scored, threshold, band))
    module = table_module(fmt)
    return module.header() + b"".join(module.encode_row(r) for r in rows)


__all__ = ["APPENDABLE", "EXPORTS", "FORMATS", "FormatError", "Label", "ScanRow", "Selection", "export_bytes",
           "format_for", "labels_for", "ordered", "selections_for", "table_module", "write_atomic"]
