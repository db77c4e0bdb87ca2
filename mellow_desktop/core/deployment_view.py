"""What the window shows of a deployment (a folder of recordings, :mod:`mellow.recordings`), as plain data:
the recordings table (sortable), the recording effort per recorder for the timeline, and a summary line.

Times are shown in the deployment's zone (the one naive times were read in: ``--timezone`` on the command
line, the *Times in* field in the window), as ``2026-05-03 05:30:00``; the zone's name is in the summary.
No Qt: the Qt side maps rows to its table model and paints the lanes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mellow.recordings import Deployment, Recording
from mellow.recordings.zones import zone_name
from mellow.timefmt import format_seconds

#: Table columns, in order: title -> the row's sort key.
COLUMNS = ("File", "Start", "Duration", "Recorder", "Time from", "Notes")


@dataclass(frozen=True)
class RecordingRow:
    """One row of the recordings table (``index``: the recording's place in the deployment's listing)."""

    index: int
    recording: Recording
    cells: tuple[str, str, str, str, str, str]

    @property
    def path(self) -> Path:
        return self.recording.path


def recorder_label(recorder_id: str) -> str:
    """``serial:24F31905`` -> ``24F31905``; ``prefix:SITE`` -> ``SITE``; ``folder:`` -> ``(this folder)``."""
    _kind, _, name = recorder_id.partition(":")
    return name or "(this folder)"


def local_text(moment: datetime | None, deployment: Deployment) -> str:
    """``2026-05-03 05:30:00`` in the deployment's zone, or "" when unknown."""
    if moment is None:
        return ""
    return moment.astimezone(deployment.zone).strftime("%Y-%m-%d %H:%M:%S")


def _row(index: int, rec: Recording, deployment: Deployment) -> RecordingRow:
    notes = [rec.error] if rec.error else []
    transition = deployment.transition_before(rec)
    if transition is not None and transition.is_gap:
        notes.append(f"gap of {format_seconds(transition.seconds)} before")
    elif transition is not None and transition.is_overlap:
        notes.append(f"overlaps the previous file by {format_seconds(-transition.seconds)}")
    notes += list(rec.notes)
    duration = "" if rec.duration_s is None else format_seconds(rec.duration_s)
    source = rec.time_source if rec.start is not None else "no time found"
    cells = (rec.path.name, local_text(rec.start, deployment), duration, recorder_label(rec.recorder_id),
             source, "; ".join(notes))
    return RecordingRow(index, rec, cells)  # type: ignore[arg-type]


def recording_rows(deployment: Deployment) -> list[RecordingRow]:
    """One row per recording, recorder by recorder in clock order (the listing's order)."""
    return [_row(i, rec, deployment) for i, rec in enumerate(deployment.recordings)]


def _sort_key(column: int) -> Callable[[RecordingRow], tuple]:
    def key(row: RecordingRow) -> tuple:
        rec = row.recording
        if column == 1:
            return (rec.start is None, rec.start.timestamp() if rec.start else 0.0, row.cells[0])
        if column == 2:
            return (rec.duration_s is None, rec.duration_s or 0.0, row.cells[0])
        return (row.cells[column].casefold(), row.index)

    return key


def sorted_rows(rows: list[RecordingRow], column: int, descending: bool = False) -> list[RecordingRow]:
    """``rows`` sorted by a column of :data:`COLUMNS` (start and duration by value; unknown ones last)."""
    ordered = sorted(rows, key=_sort_key(column), reverse=descending)
    if descending and column in (1, 2):  # unknown starts and durations stay last
        ordered.sort(key=lambda r: (r.recording.start if column == 1 else r.recording.duration_s) is None)
    return ordered


@dataclass(frozen=True)
class EffortLane:
    """One recorder's recording effort: (start, end) Unix seconds of each stretch, in order."""

    recorder: str
    intervals: tuple[tuple[float, float], ...]
    files: int


def effort_lanes(deployment: Deployment) -> list[EffortLane]:
    """One lane per recorder (recorders in the deployment's order)."""
    return [EffortLane(recorder_label(seq.recorder_id),
                       tuple((i.start.timestamp(), i.end.timestamp()) for i in seq.effort),
                       len(seq.recordings))
            for seq in deployment.recorders]


@dataclass(frozen=True)
class DeploymentView:
    """Everything the pane shows of a deployment, made off the GUI thread: rows (in clock order), lanes,
    summary."""

    deployment: Deployment
    rows: list[RecordingRow]
    lanes: list[EffortLane]
    summary: str


def deployment_view(deployment: Deployment) -> DeploymentView:
    """The pane's data of ``deployment`` (rows sorted by start, as the table first shows them)."""
    rows = sorted_rows(recording_rows(deployment), 1)
    return DeploymentView(deployment, rows, effort_lanes(deployment), summary_text(deployment))


def summary_text(deployment: Deployment) -> str:
    """``412 files · 3 recorders · 96.5 h recorded · 2026-05-01 05:30 – 2026-05-08 06:00 (Europe/Berlin) ·
    4 gaps · 2 without a time · 1 unreadable``."""
    recs = deployment.recordings
    parts = [f"{len(recs)} file{'' if len(recs) == 1 else 's'}",
             f"{len(deployment.recorders)} recorder{'' if len(deployment.recorders) == 1 else 's'}",
             f"{deployment.recorded_s / 3600:.1f} h recorded"]
    first, last = deployment.first_start, deployment.last_end
    if first is not None and last is not None:
        parts.append(f"{local_text(first, deployment)[:16]} – {local_text(last, deployment)[:16]} "
                     f"({zone_name(deployment.zone)})")
    gaps = sum(len(seq.gaps) for seq in deployment.recorders)
    overlaps = sum(len(seq.overlaps) for seq in deployment.recorders)
    for count, what in ((gaps, "gap"), (overlaps, "overlap")):
        if count:
            parts.append(f"{count} {what}{'' if count == 1 else 's'}")
    if deployment.untimed:
        parts.append(f"{len(deployment.untimed)} without a time")
    if deployment.unreadable:
        parts.append(f"{len(deployment.unreadable)} unreadable")
    return " · ".join(parts)
