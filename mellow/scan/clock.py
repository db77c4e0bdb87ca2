"""Scans in clock time: each planned file's :class:`~mellow.recordings.Recording` (its start and where the
start came from, read from headers, metadata and the name by :mod:`mellow.recordings`), and the clock-time
columns of a scan's rows.

Columns (:data:`CLOCK_FIELDS`), ISO 8601 with the UTC offset the start was read with (the offset a file's
metadata or name gives, else the one ``--timezone`` gives at that moment), "" when unknown:

- ``recording_start``: when the file's recording began;
- ``start_time`` / ``end_time``: the window's start and end, ``recording_start`` plus the offsets in the
  file (divided by GUANO's time expansion, ``TE``, for time-expanded files);
- ``time_source``: where the start came from (:data:`mellow.recordings.TIME_SOURCES`, ``none`` when nothing
  gives one; "" in rows written before these columns existed).

None of this enters a resume key (:mod:`mellow.scan.keys`): a row written without these columns is the same
answer, and :func:`refresh_clock` adds them to it without asking the window again.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from mellow.recordings.folder import absolute_path
from mellow.recordings.reading import read_recording
from mellow.recordings.records import Recording
from mellow.recordings.zones import DEFAULT_ZONE, iso

if TYPE_CHECKING:  # the rows' module imports the scan's questions, which import the plan, which imports this
    from mellow.scan.writers.records import ScanRow

#: The clock-time columns of a scan row, in table order.
CLOCK_FIELDS = ("recording_start", "start_time", "end_time", "time_source")


@dataclass(frozen=True)
class ClockOptions:
    """How a scan reads its files' start times: ``zone`` for times that carry none (an IANA zone follows
    clock changes), ``overrides`` the starts a user gave (naive ones read in ``zone``) by file path."""

    zone: tzinfo = DEFAULT_ZONE
    overrides: Mapping[str | os.PathLike[str], datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        normalized = {absolute_path(k): v for k, v in self.overrides.items()}
        object.__setattr__(self, "overrides", normalized)

    def recording(self, path: Path) -> Recording:
        """What ``path`` is as a recording (headers, metadata and name; never its samples)."""
        return read_recording(path, zone=self.zone, override=self.overrides.get(absolute_path(path)))

    def strays(self, files: Iterable[Path]) -> list[Path]:
        """The overridden paths that are not among ``files`` (their override would be lost)."""
        planned = {absolute_path(f) for f in files}
        return [p for p in self.overrides if p not in planned]


def clock_at(recording: Recording | None, offset_s: float) -> datetime | None:
    """The clock time ``offset_s`` seconds into the file (None when its start is unknown)."""
    if recording is None or recording.start is None:
        return None
    return recording.start + timedelta(seconds=offset_s / (recording.time_expansion or 1.0))


def clock_values(recording: Recording | None, start_s: float, end_s: float) -> dict[str, str]:
    """The :data:`CLOCK_FIELDS` of a window from ``start_s`` to ``end_s`` of ``recording``'s file."""
    if recording is None:
        return dict.fromkeys(CLOCK_FIELDS, "")
    return window_clock(recording.start, recording.time_source, start_s, end_s, recording.time_expansion)


def window_clock(start: datetime | None, source: str, start_s: float, end_s: float,
                 expansion: float | None = None) -> dict[str, str]:
    """The :data:`CLOCK_FIELDS` of a window from ``start_s`` to ``end_s`` of a file that began at ``start``
    (None: unknown) by ``source``, its offsets slowed ``expansion`` times (GUANO time expansion)."""
    if start is None:
        return {**dict.fromkeys(CLOCK_FIELDS, ""), "time_source": source}
    scale = expansion or 1.0
    begin, end = start + timedelta(seconds=start_s / scale), start + timedelta(seconds=end_s / scale)
    return {"recording_start": iso(start), "start_time": iso(begin), "end_time": iso(end),
            "time_source": source}


def with_clock(row: ScanRow, recording: Recording | None) -> ScanRow:
    """``row`` with its clock-time columns set from ``recording`` (its file's)."""
    return dataclasses.replace(row, **clock_values(recording, row.start_s, row.end_s))


def refresh_clock(rows: Sequence[ScanRow],
                  recordings: Mapping[str, Recording | None]) -> list[ScanRow] | None:
    """``rows`` with the clock columns the plan gives (``recordings``, by file) wherever they would change a
    row's times: rows written before the columns existed, or under another ``--timezone`` or ``--start``.
    None when no row's times change (a row that only lacks ``time_source`` "none" is left as it is), so an
    output is rewritten only when it gains or changes a clock time.  Rows of other files are kept as they
    are."""
    refreshed, changed = [], False
    for row in rows:
        recording = recordings.get(row.file)
        if recording is not None:
            new = with_clock(row, recording)
            changed = changed or _times(new) != _times(row)
            row = new
        refreshed.append(row)
    return refreshed if changed else None


def _times(row: ScanRow) -> tuple[str, str, str]:
    return row.recording_start, row.start_time, row.end_time
