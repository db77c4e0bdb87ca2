"""A deployment's activity as data: a date × hour-of-day grid of detections over the time recorded in each
cell, for the window's chart and the HTML report alike (no Qt).

Inputs, plain so that they do not depend on how a scan is stored:

- windows (:class:`ActivityWindow`): each answered window in clock time with its P(yes) or detection flag,
  made from a file's start and offsets (:func:`window_at`) or from scan rows with clock-time columns
  (:func:`windows_from_rows`);
- effort: the recorded stretches of clock time (:class:`~mellow.recordings.Interval`), one list over all
  recorders (:func:`recorder_effort` of a :class:`~mellow.recordings.Deployment`); without it, the union of
  each file's windows stands for it.

Rules:

- a cell is one clock hour of one calendar date in the grid's zone (:func:`choose_zone`); a window counts in
  the cell of its start; the effort is split at the hour boundaries;
- minutes recorded are recorder-minutes: two recorders recording at once count twice, as the windows of both
  are counted;
- a detection is a window whose P(yes) reaches the threshold (or that the caller flags): windows, not merged
  events, so that counts do not depend on how neighbouring hits are joined; with overlapping windows (hop
  shorter than the window) each window counts;
- detections per recorded hour = detections / (minutes recorded / 60); a cell where nothing was recorded, or
  nothing of what was recorded was scanned, has no data (its rate is None, never 0).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo

from mellow.recordings import Deployment, Interval, merge_intervals
from mellow.recordings.zones import zone_name
from mellow.scan.writers.records import ScanRow

CellKey = tuple[date, int]
#: Display order of the hours: a day from midnight, a night from noon to noon.
DAY_HOURS = tuple(range(24))
NIGHT_HOURS = tuple(range(12, 24)) + tuple(range(12))


@dataclass(frozen=True)
class ActivityWindow:
    """One answered window: ``start``/``end`` aware, ``score`` its P(yes) (None when not scored),
    ``detected`` whether it counts as a detection, ``question`` the question's name (scans of several),
    ``text`` the answer, ``offset_s`` where the window starts in its file (None when not known)."""

    file: str
    start: datetime
    end: datetime
    score: float | None = None
    detected: bool = False
    question: str = ""
    text: str = ""
    offset_s: float | None = None


def window_at(file: str, recording_start: datetime, start_s: float, end_s: float, score: float | None = None,
              *, threshold: float = 0.5, detected: bool | None = None, question: str = "",
              text: str = "") -> ActivityWindow:
    """The window from ``start_s`` to ``end_s`` seconds into a file that began at ``recording_start``;
    ``detected`` defaults to ``score >= threshold``."""
    if detected is None:
        detected = score is not None and score >= threshold
    return ActivityWindow(file, recording_start + timedelta(seconds=start_s),
                          recording_start + timedelta(seconds=end_s), score, detected, question, text,
                          start_s)


def windows_from_rows(rows: Iterable[ScanRow], threshold: float = 0.5) -> list[ActivityWindow]:
    """The windows of scan rows that have a clock time (``start_time``); rows without one are left out."""
    return [ActivityWindow(r.file, datetime.fromisoformat(r.start_time), datetime.fromisoformat(r.end_time),
                           r.score, r.score is not None and r.score >= threshold,
                           getattr(r, "question", "") or "", r.text, r.start_s)
            for r in rows if r.start_time and r.end_time]


def recorder_effort(deployment: Deployment) -> list[Interval]:
    """Every recorder's recorded stretches (a stretch two recorders share appears twice)."""
    return [i for seq in deployment.recorders for i in seq.effort]


def _offset_text(offset: timedelta) -> str:
    return zone_name(timezone(offset)) if offset else "UTC"


def choose_zone(starts: Iterable[datetime], preferred: tzinfo | None = None) -> tuple[tzinfo, str | None]:
    """The zone a grid is drawn in, and a note when the recordings' offsets disagree.

    ``preferred`` (the deployment's ``--timezone``; an IANA zone follows clock changes) when every start's
    offset is the one it gives at that moment; otherwise the UTC offset most of the starts carry (ties: the
    earliest start's), with a note naming the offsets found.  UTC when there is no start at all.
    """
    ordered = sorted(starts)
    if not ordered:
        return preferred or timezone.utc, None
    if preferred is not None and all(s.astimezone(preferred).utcoffset() == s.utcoffset() for s in ordered):
        return preferred, None
    offsets = [s.utcoffset() or timedelta(0) for s in ordered]
    counts = Counter(offsets)
    best = max(counts, key=lambda o: (counts[o], -offsets.index(o)))
    zone = timezone(best) if best else timezone.utc
    if len(counts) == 1 and preferred is None:
        return zone, None
    found = ", ".join(f"{n} at {_offset_text(o)}" for o, n in counts.most_common())
    instead = f", not {zone_name(preferred)}" if preferred is not None else ""
    return zone, f"recordings' UTC offsets: {found}; times are shown at {_offset_text(best)}{instead}"


def cell_of(moment: datetime, zone: tzinfo) -> CellKey:
    """The (local date, hour) of an aware time in ``zone``."""
    local = moment.astimezone(zone)
    return local.date(), local.hour


def hour_pieces(interval: Interval, zone: tzinfo) -> Iterator[tuple[CellKey, float]]:
    """``interval`` split at the clock-hour boundaries of ``zone``: (cell, seconds) pieces in order."""
    t = interval.start
    while t < interval.end:
        local = t.astimezone(zone)
        floor = local.replace(minute=0, second=0, microsecond=0)
        boundary = (floor + timedelta(hours=1)).astimezone(timezone.utc)  # wall-clock step: clock changes
        stop = min(max(boundary, t + timedelta(seconds=1)), interval.end)
        yield (local.date(), local.hour), (stop - t).total_seconds()
        t = stop


@dataclass
class ActivityCell:
    """One (date, hour): seconds recorded, windows answered, detections, and the P(yes) sum for the mean."""

    day: date
    hour: int
    recorded_s: float = 0.0
    windows: int = 0
    detections: int = 0
    score_sum: float = 0.0
    scored: int = 0

    @property
    def minutes_recorded(self) -> float:
        return self.recorded_s / 60.0

    @property
    def has_data(self) -> bool:
        """Something was recorded and scanned here (else the cell is "no data", not zero)."""
        return self.recorded_s > 0 and self.windows > 0

    @property
    def rate(self) -> float | None:
        """Detections per recorded hour; None without data."""
        return self.detections / (self.recorded_s / 3600.0) if self.has_data else None

    @property
    def mean_score(self) -> float | None:
        """Mean P(yes) of the cell's windows; None without data or scores."""
        return self.score_sum / self.scored if self.has_data and self.scored else None

    def add(self, other: ActivityCell) -> None:
        self.recorded_s += other.recorded_s
        self.windows += other.windows
        self.detections += other.detections
        self.score_sum += other.score_sum
        self.scored += other.scored


@dataclass(frozen=True)
class GridRow:
    """One row of the chart: ``day`` (the date its first hour falls on), its ``label`` and its 24 cells'
    keys in display order (a night row runs from noon of ``day`` to noon of the next day)."""

    day: date
    label: str
    keys: tuple[CellKey, ...]


@dataclass(frozen=True)
class ActivityGrid:
    """The cells of a deployment's scan (keyed by calendar date and hour in ``zone``), the threshold they
    were counted with, the question they are about ("" for all), and a note on the zone when the
    recordings' offsets disagree (:func:`choose_zone`)."""

    zone: tzinfo
    threshold: float
    cells: dict[CellKey, ActivityCell] = field(default_factory=dict)
    question: str = ""
    zone_note: str | None = None

    def cell(self, day: date, hour: int) -> ActivityCell:
        """The cell (an empty one, with no data, where nothing was recorded)."""
        return self.cells.get((day, hour)) or ActivityCell(day, hour)

    def days(self) -> list[date]:
        """Every calendar date from the first to the last with something recorded or answered."""
        used = [d for (d, _), c in self.cells.items() if c.recorded_s > 0 or c.windows > 0]
        if not used:
            return []
        first, last = min(used), max(used)
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def rows(self, night: bool = False) -> list[GridRow]:
        """The chart's rows: one per date, or (``night``) one per noon-to-noon night, empty nights at either
        end left out."""
        days = self.days()
        if not night:
            return [GridRow(d, d.isoformat(), tuple((d, h) for h in DAY_HOURS)) for d in days]
        if not days:
            return []
        rows = []
        for n in range(-1, len(days)):
            d = days[0] + timedelta(days=n)
            keys = tuple((d if h >= 12 else d + timedelta(days=1), h) for h in NIGHT_HOURS)
            rows.append(GridRow(d, f"{d.isoformat()} → {(d + timedelta(days=1)):%m-%d}", keys))
        used = [i for i, r in enumerate(rows) if any(self.cell(*k).recorded_s or self.cell(*k).windows
                                                     for k in r.keys)]
        return rows[used[0]:used[-1] + 1] if used else []

    def day_totals(self) -> list[ActivityCell]:
        """Per calendar date, the sums of its cells (``hour`` -1): recorded, windows, detections, rate."""
        totals = []
        for d in self.days():
            total = ActivityCell(d, -1)
            for h in DAY_HOURS:
                total.add(self.cell(d, h))
            totals.append(total)
        return totals

    def total(self) -> ActivityCell:
        """The whole deployment's sums (``hour`` -1)."""
        whole = ActivityCell(date.min, -1)
        for c in self.cells.values():
            whole.add(c)
        return whole

    def key_of(self, window: ActivityWindow) -> CellKey:
        return cell_of(window.start, self.zone)


def _windows_as_effort(windows: Sequence[ActivityWindow]) -> list[Interval]:
    """Each file's windows' union: what was scanned, standing for what was recorded."""
    by_file: dict[str, list[Interval]] = {}
    for w in windows:
        by_file.setdefault(w.file, []).append(Interval(w.start, w.end))
    return [i for spans in by_file.values() for i in merge_intervals(spans)]


def activity_grid(windows: Iterable[ActivityWindow], effort: Iterable[Interval] | None = None, *,
                  threshold: float = 0.5, zone: tzinfo | None = None, preferred: tzinfo | None = None,
                  question: str | None = None) -> ActivityGrid:
    """Count ``windows`` (those of ``question`` only, when given) and ``effort`` into hour cells.

    ``zone`` fixes the grid's zone; else it is chosen from the effort's (or the windows') starts with
    ``preferred`` (:func:`choose_zone`).  ``threshold`` is recorded with the grid (the windows carry their
    detection flags already).
    """
    chosen = [w for w in windows if question is None or w.question == question]
    spans = list(effort) if effort is not None else _windows_as_effort(chosen)
    note = None
    if zone is None:
        zone, note = choose_zone([i.start for i in spans] or [w.start for w in chosen], preferred)
    grid = ActivityGrid(zone, threshold, {}, question or "", note)

    def cell(key: CellKey) -> ActivityCell:
        return grid.cells.setdefault(key, ActivityCell(*key))

    for interval in spans:
        for key, seconds in hour_pieces(interval, zone):
            cell(key).recorded_s += seconds
    for w in chosen:
        c = cell(grid.key_of(w))
        c.windows += 1
        c.detections += int(w.detected)
        if w.score is not None:
            c.score_sum += w.score
            c.scored += 1
    return grid


def cell_windows(grid: ActivityGrid, windows: Iterable[ActivityWindow], key: CellKey,
                 detected_only: bool = True) -> list[ActivityWindow]:
    """The windows (the detections, by default) that fall in the cell ``key``, in time order (what a click
    on the cell lists)."""
    found = [w for w in windows if grid.key_of(w) == key and (w.detected or not detected_only)
             and (not grid.question or w.question == grid.question)]
    return sorted(found, key=lambda w: (w.start, w.file))
