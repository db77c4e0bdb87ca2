"""A deployment scan's tables: the per-day/per-hour summary (CSV) of an activity grid, and the effort table
(one row per recorder) of a deployment.

Summary columns (:data:`SUMMARY_FIELDS`): ``date`` (ISO, in the grid's zone), ``hour`` (0-23, the clock
hour the cell starts at), ``minutes_recorded``, ``windows``, ``detections``,
``detections_per_recorded_hour`` and ``mean_p_yes``; one row for every hour of every date from the first to
the last, so an hour with no data is a row whose rate and mean are empty (not 0).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mellow.files import write_atomic
from mellow.recordings import Deployment
from mellow_desktop.core.activity import DAY_HOURS, ActivityCell, ActivityGrid

SUMMARY_FIELDS = ("date", "hour", "minutes_recorded", "windows", "detections", "detections_per_recorded_hour",
                  "mean_p_yes")


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def summary_row(cell: ActivityCell) -> dict[str, Any]:
    """The :data:`SUMMARY_FIELDS` of one cell, as text (empty for "no data")."""
    return {"date": cell.day.isoformat(), "hour": cell.hour,
            "minutes_recorded": _number(cell.minutes_recorded, 3), "windows": cell.windows,
            "detections": cell.detections,
            "detections_per_recorded_hour": _number(cell.rate, 3), "mean_p_yes": _number(cell.mean_score, 4)}


def summary_csv(grid: ActivityGrid) -> str:
    """The summary table of ``grid`` as CSV text (a header row, then every hour of every date)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for day in grid.days():
        for hour in DAY_HOURS:
            writer.writerow(summary_row(grid.cell(day, hour)))
    return buffer.getvalue()


def write_summary_csv(grid: ActivityGrid, path: str | os.PathLike[str]) -> Path:
    """Write :func:`summary_csv` to ``path`` atomically; returns the path."""
    target = Path(path)
    write_atomic(target, summary_csv(grid).encode("utf-8"))
    return target


@dataclass(frozen=True)
class EffortRow:
    """One recorder of a deployment: its device, files, first start and last end, time recorded, and the
    gaps and overlaps between its consecutive files."""

    recorder: str
    device: str
    files: int
    first_start: datetime | None
    last_end: datetime | None
    recorded_s: float
    gaps: int
    overlaps: int


def effort_rows(deployment: Deployment) -> list[EffortRow]:
    """One :class:`EffortRow` per recorder, in the deployment's order."""
    rows = []
    for seq in deployment.recorders:
        devices = sorted({r.device.label() for r in seq.recordings if r.device.label()})
        rows.append(EffortRow(seq.recorder_id, ", ".join(devices), len(seq.recordings),
                              seq.effort[0].start if seq.effort else None,
                              seq.effort[-1].end if seq.effort else None, seq.recorded_s, len(seq.gaps),
                              len(seq.overlaps)))
    return rows
