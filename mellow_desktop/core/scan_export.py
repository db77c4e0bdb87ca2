"""Exports of a stored scan: CSV, JSON lines, Audacity labels and Raven selection tables through the engine's
writers (:func:`mellow.scan.writers.export_bytes`, the same code path as ``mellow scan``), and the HTML report
(:mod:`.scan_report`).  Windows that could not be read are left out of the tables, as ``mellow scan`` does.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from mellow.errors import MellowError, one_line
from mellow.model.config import AudioConfig
from mellow.recordings import Recording
from mellow.scan.clock import window_clock, with_clock
from mellow.scan.questions import Question
from mellow.scan.writers import export_bytes, format_for, write_atomic
from mellow.scan.writers.records import ScanRow
from mellow_desktop.core.scan_record import LoadedScan

#: What the Export menu offers: name -> file suffix.
EXPORT_FORMATS = {"csv": ".csv", "audacity": ".txt", "raven": ".selections.txt", "jsonl": ".jsonl",
                  "html": ".html"}


class ExportError(MellowError):
    """The export could not be written (one line)."""


def scan_rows(loaded: LoadedScan, recording: Recording | None = None) -> list[ScanRow]:
    """The engine's export rows of the scan's answered windows, in plan order, keyed as ``mellow scan`` keys
    them (so ``mellow scan`` resumes an exported .jsonl/.csv without asking a window again), with the
    clock-time columns of each file's stored start (or of ``recording``, the file read again in a zone)."""
    rec = loaded.record
    qs = rec.question_set
    rows = [ScanRow.from_result(r, qs.get(r.question).prompt if r.question else rec.prompt, rec.model_id,
                                rec.key_of(r.window, r.question or None))
            for r in loaded.results if r.error is None]
    if recording is not None:
        return [with_clock(r, recording) for r in rows]
    starts = {f.path: (datetime.fromisoformat(f.recording_start) if f.recording_start else None,
                       f.time_source or "none") for f in rec.files}
    return [dataclasses.replace(r, **window_clock(*starts.get(r.file, (None, "none")), r.start_s, r.end_s))
            for r in rows]


def export_format(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The export format of ``path`` (by ``fmt`` or the suffix); "html" for ``.html``/``.htm``."""
    if (fmt or "").lower() == "html" or (not fmt and Path(path).suffix.lower() in (".html", ".htm")):
        return "html"
    return format_for(path, fmt)


def export_scan(loaded: LoadedScan, path: str | os.PathLike[str], fmt: str | None = None,
                threshold: float | None = None, audio: AudioConfig | None = None,
                recording: Recording | None = None, thresholds: Mapping[str, float] | None = None,
                question: str | None = None) -> Path:
    """Write the scan to ``path`` (atomically) as ``fmt`` or as its suffix says; returns the path.

    ``threshold`` (default: the scan's) sets the detections of yes/no scans in label and Raven exports and
    in the report, ``thresholds`` (default: the scan's questions' own) those of a question set's questions;
    ``question`` (a folder scan's HTML report): report that question of the set alone; ``recording`` (the
    file as a recording, :func:`mellow.recordings.read_recording` with the
    user's zone) adds clock times where its start is known.  Raises :class:`ExportError` or the engine's
    FormatError with a one-line reason.
    """
    audio, target = audio or AudioConfig(), Path(path)
    fmt = export_format(target, fmt)
    rec = loaded.record
    threshold = rec.threshold if threshold is None else float(threshold)
    if thresholds is None:
        thresholds = {n: rec.threshold_of(n) for n in rec.question_set.names} if rec.questions else {}
    if question is not None:
        loaded = only_question(loaded, question)
        threshold = thresholds.get(question, threshold)
    if fmt == "html" and loaded.record.is_folder:
        data = _deployment_html(loaded, threshold).encode("utf-8", "surrogateescape")
    elif fmt == "html":
        from mellow_desktop.core.scan_report import report_html

        data = report_html(loaded, threshold=threshold, audio=audio, recording=recording).encode(
            "utf-8", "surrogateescape")
    else:
        durations = {f.path: float(f.duration_s or 0.0) for f in loaded.record.files} or {
            loaded.record.file: float(loaded.record.duration_s or 0.0)}
        names = rec.question_set.names
        scored: bool | set[str] = ({n for n in names if rec.scoring_of(n) == "yes-no"} if rec.questions
                                   else rec.scoring == "yes-no")
        data = export_bytes(fmt, scan_rows(loaded, recording), durations, scored, threshold,
                            (audio.f_min, audio.f_max), thresholds)
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {one_line(exc)}") from None
    return target


def only_question(loaded: LoadedScan, question: str) -> LoadedScan:
    """The scan with the answers of its question ``question`` alone (asked as that question's prompt)."""
    q = loaded.record.question_set.get(question)
    record = dataclasses.replace(loaded.record, prompt=q.prompt, questions=None,
                                 threshold=loaded.record.threshold_of(question),
                                 scoring=loaded.record.scoring_of(question), scorings={})
    pairs = [(i, dataclasses.replace(r, question=Question.from_prompt(q.prompt).name))
             for i, r in zip(loaded.indices, loaded.results, strict=True) if r.question == question]
    return LoadedScan(record, tuple(r for _, r in pairs), tuple(i for i, _ in pairs))


def _deployment_html(loaded: LoadedScan, threshold: float) -> str:
    """The deployment report of a folder scan: its files read again as recordings (headers only) for the
    effort and the place, its rows with the stored clock times."""
    from mellow.recordings import build_deployment, parse_zone, read_recording
    from mellow_desktop.core.deployment_report import build_report, deployment_report_html

    rec = loaded.record
    zone = parse_zone(rec.zone or "UTC")
    recordings = [read_recording(f.path, zone=zone, root=Path(rec.file)) for f in rec.files]
    deployment = build_deployment(Path(rec.file), recordings, zone=zone)
    report = build_report(deployment, scan_rows(loaded), rec.prompt, threshold, model_id=rec.model_id)
    return deployment_report_html(report)
