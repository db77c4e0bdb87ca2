"""The HTML report of a deployment scan (a folder of recordings asked one question): ONE self-contained file
like the scan report (:mod:`.scan_report`: inline CSS and SVG, no script, nothing fetched) with the facts, the
static activity chart (:func:`.report_graphics.activity_svg`), the per-day totals, the effort table (one row
per recorder) and the detections with their clock times and file offsets.

Made from plain data (:class:`DeploymentReport`), so it does not depend on how a scan is stored;
:func:`build_report` makes that data from a listed deployment and scan rows with clock-time columns (a
``mellow scan`` output).  Every text from outside goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from mellow.recordings import Deployment, Location
from mellow.recordings.zones import zone_name
from mellow.scan.writers.records import ScanRow
from mellow.timefmt import format_seconds
from mellow_desktop.core.activity import (
    ActivityCell,
    ActivityGrid,
    ActivityWindow,
    activity_grid,
    recorder_effort,
    windows_from_rows,
)
from mellow_desktop.core.deployment_tables import EffortRow, effort_rows
from mellow_desktop.core.report_graphics import MEASURES, activity_svg
from mellow_desktop.core.scan_report import fact_rows, html_page
from mellow_desktop.core.sun import deployment_location, sun_marks

#: The most detections the report lists (the chart and the totals count them all).
MAX_LISTED = 500


@dataclass(frozen=True)
class DeploymentReport:
    """What the report shows: the ``folder``, the ``prompt`` asked, the activity ``grid`` and the
    ``windows`` it counts (detections are listed from them), the ``effort`` table, the place (for sunrise
    and sunset lines; None: none drawn), the model id, the chart's view (``night``) and ``measure``
    ("rate" or "mean"), and notes to print under the facts."""

    folder: str
    prompt: str
    grid: ActivityGrid
    windows: Sequence[ActivityWindow] = ()
    effort: Sequence[EffortRow] = ()
    location: Location | None = None
    model_id: str = ""
    night: bool = False
    measure: str = "rate"
    notes: Sequence[str] = field(default_factory=tuple)


def build_report(deployment: Deployment, rows: Sequence[ScanRow], prompt: str, threshold: float = 0.5, *,
                 model_id: str = "", night: bool = False, measure: str = "rate",
                 location: Location | None = None, question: str | None = None) -> DeploymentReport:
    """The report of ``rows`` (scan rows with clock times) over ``deployment``'s effort; the place is
    ``location``, else the first GUANO ``Loc Position`` of the deployment's files."""
    windows = windows_from_rows(rows, threshold)
    grid = activity_grid(windows, recorder_effort(deployment), threshold=threshold, preferred=deployment.zone,
                         question=question)
    untimed = sum(1 for r in rows if not r.start_time)
    notes = [f"{untimed} answered window(s) have no clock time (their files give no start) and are not in "
             "the chart"] if untimed else []
    return DeploymentReport(str(deployment.root), prompt, grid, windows, effort_rows(deployment),
                            location or deployment_location(deployment.recordings), model_id, night, measure,
                            tuple(notes))


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(moment: object) -> str:
    return "—" if moment is None else moment.isoformat(sep=" ", timespec="seconds")  # type: ignore[attr-defined]


def _facts(report: DeploymentReport) -> list[tuple[str, str]]:
    grid, total = report.grid, report.grid.total()
    days = grid.days()
    zone = zone_name(grid.zone) + (f" ({grid.zone_note})" if grid.zone_note else "")
    place = (f"{report.location.latitude:.5f}, {report.location.longitude:.5f}" if report.location
             else "unknown (no sunrise and sunset lines)")
    facts = [("Folder", report.folder), ("Question", report.prompt), ("Model", report.model_id or "—"),
             ("Threshold", f"P(yes) ≥ {grid.threshold:.2f} counts as a detection"), ("Time zone", zone),
             ("Dates", f"{days[0]} to {days[-1]} ({len(days)} days)" if days else "—"),
             ("Recorded", _hours(total.recorded_s) + (" (h:mm:ss of recorder time: two recorders at once "
                                                      "count twice)" if len(report.effort) > 1 else "")),
             ("Windows answered", str(total.windows)), ("Detections", str(total.detections)),
             ("Detections per recorded hour", _rate(total)), ("Location", place)]
    if grid.question:
        facts.insert(2, ("Question name", grid.question))
    return facts


def _hours(seconds: float) -> str:
    """``h:mm:ss`` (hours past 24 kept as hours: ``67:30:00``)."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _rate(cell: ActivityCell) -> str:
    return "no data" if cell.rate is None else f"{cell.rate:.2f}"


def _day_table(grid: ActivityGrid) -> str:
    head = ("<tr><th>Date</th><th>Recorded</th><th>Windows</th><th>Detections</th>"
            "<th>Per recorded hour</th><th>Mean P(yes)</th></tr>")
    body = []
    for day in grid.day_totals():
        mean = "—" if day.mean_score is None else f"{day.mean_score:.2f}"
        cells = (day.day.isoformat(), _hours(day.recorded_s), day.windows, day.detections, _rate(day),
                 mean)
        body.append("<tr>" + "".join(f"<td class=num>{_e(c)}</td>" for c in cells) + "</tr>")
    return f"<table class=days>{head}{''.join(body)}</table>"


def _effort_table(rows: Sequence[EffortRow]) -> str:
    head = ("<tr><th>Recorder</th><th>Device</th><th>Files</th><th>First start</th><th>Last end</th>"
            "<th>Recorded</th><th>Gaps</th><th>Overlaps</th></tr>")
    body = [f"<tr><td>{_e(r.recorder)}</td><td>{_e(r.device or '—')}</td><td class=num>{r.files}</td>"
            f"<td class=num>{_e(_when(r.first_start))}</td><td class=num>{_e(_when(r.last_end))}</td>"
            f"<td class=num>{_e(_hours(r.recorded_s))}</td><td class=num>{r.gaps}</td>"
            f"<td class=num>{r.overlaps}</td></tr>" for r in rows]
    return f"<table class=effort>{head}{''.join(body)}</table>"


def _detections_table(report: DeploymentReport) -> str:
    chosen = sorted((w for w in report.windows if w.detected and (not report.grid.question
                                                                  or w.question == report.grid.question)),
                    key=lambda w: (w.start, w.file))
    head = ("<tr><th>#</th><th>Clock time</th><th>File</th><th>Offset in file</th><th>Score</th>"
            "<th>Answer</th></tr>")
    body = []
    for n, w in enumerate(chosen[:MAX_LISTED], start=1):
        offset = "—" if w.offset_s is None else format_seconds(w.offset_s)
        score = "" if w.score is None else f"{w.score:.2f}"
        name = PurePath(w.file).name
        body.append(f"<tr class=hit><td class=num>{n}</td><td class=num>{_e(_when(w.start))}</td>"
                    f"<td title='{_e(w.file)}'>{_e(name)}</td><td class=num>{_e(offset)}</td>"
                    f"<td class=num>{score}</td><td>{_e(w.text)}</td></tr>")
    more = (f"<p class=note>The first {MAX_LISTED} of {len(chosen)} detections are listed.</p>"
            if len(chosen) > MAX_LISTED else "")
    return f"<table class=detections>{head}{''.join(body)}</table>{more}"


def _chart(report: DeploymentReport) -> str:
    grid = report.grid
    suns = ([sun_marks(row, report.location, grid.zone) for row in grid.rows(report.night)]
            if report.location is not None else None)
    svg = activity_svg(grid, night=report.night, measure=report.measure, suns=suns)
    view = "noon to noon, one row per night" if report.night else "one row per date"
    return (f"{svg}<p class=note>{_e(MEASURES[report.measure].capitalize())} in each clock hour ({view}, "
            f"{_e(zone_name(grid.zone))}); hatched cells have no data: nothing was recorded or scanned "
            "there, which is not the same as no detections.  Hover a cell for its counts and effort.</p>")


def deployment_report_html(report: DeploymentReport) -> str:
    """The report as one HTML document."""
    name = PurePath(report.folder).name or report.folder
    notes = "".join(f"<p class=note>{_e(n)}</p>" for n in report.notes)
    n_det = report.grid.total().detections
    parts = [f"<h1>Activity of {_e(name)}</h1><p class=sub>{_e(report.prompt)}</p>",
             f"<h2>Deployment scan</h2><table class=facts>{fact_rows(_facts(report))}</table>{notes}",
             "<h2>Activity</h2>", _chart(report),
             "<h2>Per day</h2>", _day_table(report.grid),
             f"<h2>Effort ({len(report.effort)} recorder{'s' * (len(report.effort) != 1)})</h2>",
             _effort_table(report.effort),
             f"<h2>Detections ({n_det})</h2>", _detections_table(report)]
    return html_page(f"Mellow deployment scan: {name}", parts)
