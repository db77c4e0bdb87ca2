"""A stored folder scan as the activity chart's input (:mod:`.activity`): each answered window in clock
time, and the recording effort of its files (each file with a known start, from its start to its end)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from mellow.recordings import Interval, parse_zone
from mellow.scan.types import WindowResult
from mellow_desktop.core.activity import ActivityGrid, ActivityWindow, activity_grid, window_at
from mellow_desktop.core.scan_record import ScanRecord


def file_starts(record: ScanRecord) -> dict[str, datetime]:
    """Each file's clock start (files without one are left out)."""
    return {f.path: datetime.fromisoformat(f.recording_start) for f in record.files if f.recording_start}


def activity_windows(record: ScanRecord, results: Iterable[WindowResult],
                     threshold: float) -> list[ActivityWindow]:
    """The answered windows of files with a known start, in clock time (P(yes) ≥ ``threshold`` counts as a
    detection)."""
    starts = file_starts(record)
    return [window_at(str(r.window.file), starts[str(r.window.file)], r.window.start_s, r.window.end_s,
                      r.score, threshold=threshold, text=r.text)
            for r in results if r.error is None and str(r.window.file) in starts]


def file_effort(record: ScanRecord) -> list[Interval]:
    """What was recorded: each timed file from its start for its length (two recorders at once count
    twice, as the chart's minutes are recorder-minutes)."""
    starts = file_starts(record)
    return [Interval(starts[f.path], starts[f.path] + timedelta(seconds=f.duration_s))
            for f in record.files if f.path in starts and f.duration_s]


def scan_grid(record: ScanRecord, results: Iterable[WindowResult], threshold: float) -> tuple[
        ActivityGrid, list[ActivityWindow]]:
    """The activity grid of a folder scan (in the scan's zone when the recordings agree with it) and the
    windows it counts."""
    windows = activity_windows(record, results, threshold)
    preferred = parse_zone(record.zone) if record.zone else None
    return activity_grid(windows, file_effort(record), threshold=threshold, preferred=preferred), windows
