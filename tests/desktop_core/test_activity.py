"""The activity grid as data: counts, effort and rates per (date, hour), "no data" never zero, effort split at
hour boundaries (and across clock changes), recorders counted each, the night view, the zone when recorders
disagree, sunrise and sunset (astral), the summary CSV, and the static chart's SVG."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from mellow.recordings import Interval, Location, parse_zone
from mellow.scan.writers.records import ScanRow
from mellow_desktop.core.activity import (
    activity_grid,
    cell_windows,
    choose_zone,
    window_at,
    windows_from_rows,
)
from mellow_desktop.core.deployment_tables import SUMMARY_FIELDS, write_summary_csv
from mellow_desktop.core.report_graphics import activity_svg, cell_title
from mellow_desktop.core.sun import sun_marks

PLUS2 = timezone(timedelta(hours=2))
BERLIN = parse_zone("Europe/Berlin")


def _at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, second, tzinfo=PLUS2)


def _half_hour_with_three_detections() -> tuple[list, list[Interval]]:
    """1 May 05:00-05:30 recorded and scanned (180 windows of 10 s, 3 of them detections); 2 May 21:00-22:00
    recorded and scanned without a detection."""
    start = _at(1, 5)
    windows = [window_at("/d/a.wav", start, 10.0 * k, 10.0 * k + 10, 0.9 if k in (3, 60, 170) else 0.1)
               for k in range(180)]
    evening = _at(2, 21)
    windows += [window_at("/d/b.wav", evening, 10.0 * k, 10.0 * k + 10, 0.2) for k in range(360)]
    effort = [Interval(start, start + timedelta(minutes=30)), Interval(evening, evening + timedelta(hours=1))]
    return windows, effort


def test_an_hour_with_30_recorded_minutes_and_3_detections_is_6_per_recorded_hour() -> None:
    windows, effort = _half_hour_with_three_detections()
    grid = activity_grid(windows, effort, threshold=0.5)
    cell = grid.cell(date(2026, 5, 1), 5)
    assert (cell.minutes_recorded, cell.windows, cell.detections) == (30.0, 180, 3)
    assert cell.rate == pytest.approx(6.0) and cell.mean_score == pytest.approx((3 * 0.9 + 177 * 0.1) / 180)
    quiet = grid.cell(date(2026, 5, 2), 21)
    assert (quiet.minutes_recorded, quiet.detections, quiet.rate) == (60.0, 0, 0.0), "zero: none found"
    empty = grid.cell(date(2026, 5, 1), 6)
    assert not empty.has_data and empty.rate is None and empty.mean_score is None, "no data, not zero"
    assert grid.days() == [date(2026, 5, 1), date(2026, 5, 2)] and grid.zone_note is None
    assert [(d.day, d.detections, d.recorded_s) for d in grid.day_totals()] == [
        (date(2026, 5, 1), 3, 1800.0), (date(2026, 5, 2), 0, 3600.0)]
    listed = cell_windows(grid, windows, (date(2026, 5, 1), 5))
    assert [w.offset_s for w in listed] == [30.0, 600.0, 1700.0]
    assert "3 detection(s) in 180 window(s), 30.0 min recorded, 6.00 per recorded hour" in cell_title(cell)
    assert cell_title(empty) == "2026-05-01 06:00–07:00: no data (nothing recorded)"


def test_effort_is_split_at_hour_boundaries_and_two_recorders_count_twice() -> None:
    a = Interval(_at(1, 5, 45), _at(1, 6, 20))
    b = Interval(_at(1, 6, 0), _at(1, 6, 30))  # a second recorder at the same time
    grid = activity_grid([window_at("/d/a.wav", a.start, 0, 10, 0.9)], [a, b])
    assert grid.cell(date(2026, 5, 1), 5).minutes_recorded == pytest.approx(15.0)
    six = grid.cell(date(2026, 5, 1), 6)
    assert six.minutes_recorded == pytest.approx(50.0) and not six.has_data, "recorded, but not scanned"
    assert "recorded but not scanned" in cell_title(six)
    scanned_only = activity_grid([window_at("/d/a.wav", a.start, 0, 10, 0.9)])  # no effort: the windows
    assert scanned_only.cell(date(2026, 5, 1), 5).recorded_s == pytest.approx(10.0)


def test_clock_changes_follow_the_wall_clock_of_the_deployments_zone() -> None:
    spring = Interval(datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc), datetime(2026, 3, 29, 1, 30,
                                                                                   tzinfo=timezone.utc))
    grid = activity_grid([], [spring], zone=BERLIN)  # 01:30 CET to 03:30 CEST: one real hour
    minutes = {h: grid.cell(date(2026, 3, 29), h).minutes_recorded for h in range(5)}
    assert minutes == {0: 0.0, 1: 30.0, 2: 0.0, 3: 30.0, 4: 0.0}
    autumn = Interval(datetime(2026, 10, 24, 23, 30, tzinfo=timezone.utc), datetime(2026, 10, 25, 1, 30,
                                                                                    tzinfo=timezone.utc))
    grid = activity_grid([], [autumn], zone=BERLIN)  # 01:30 CEST to 02:30 CET: 02:00-03:00 happens twice
    assert [grid.cell(date(2026, 10, 25), h).minutes_recorded for h in (1, 2, 3)] == [30.0, 90.0, 0.0]


def test_the_zone_is_the_deployments_unless_recorders_disagree() -> None:
    cest = [datetime(2026, 5, 1, 5, tzinfo=PLUS2), datetime(2026, 5, 2, 5, tzinfo=PLUS2)]
    assert choose_zone(cest, BERLIN) == (BERLIN, None)
    winter_and_summer = [datetime(2026, 3, 28, 5, tzinfo=timezone(timedelta(hours=1))), *cest]
    assert choose_zone(winter_and_summer, BERLIN) == (BERLIN, None), "Berlin's own clock change"
    utc = datetime(2026, 5, 1, 3, tzinfo=timezone.utc)
    zone, note = choose_zone([utc, *cest], BERLIN)
    assert zone.utcoffset(None) == timedelta(hours=2)
    assert note == "recordings' UTC offsets: 2 at UTC+02:00, 1 at UTC; times are shown at UTC+02:00, not " \
                   "Europe/Berlin"
    zone, note = choose_zone([utc, cest[0]])  # a tie: the earliest start's offset
    assert zone == timezone.utc and note is not None
    assert choose_zone([]) == (timezone.utc, None)


def test_the_night_view_runs_noon_to_noon_and_leaves_out_empty_nights() -> None:
    windows, effort = _half_hour_with_three_detections()
    grid = activity_grid(windows, effort)
    days = grid.rows()
    assert [r.label for r in days] == ["2026-05-01", "2026-05-02"]
    assert days[0].keys[5] == (date(2026, 5, 1), 5)
    nights = grid.rows(night=True)
    assert [r.label for r in nights] == ["2026-04-30 → 05-01", "2026-05-01 → 05-02", "2026-05-02 → 05-03"]
    assert nights[0].keys[0] == (date(2026, 4, 30), 12) and nights[0].keys[17] == (date(2026, 5, 1), 5)
    assert nights[1].keys[9] == (date(2026, 5, 1), 21)
    only_evening = activity_grid(windows[180:], effort[1:])
    assert [r.label for r in only_evening.rows(night=True)] == ["2026-05-02 → 05-03"]


def test_sunrise_and_sunset_fall_where_they_should_on_each_row() -> None:
    grid = activity_grid([], [Interval(datetime(2026, 6, 21, 3, tzinfo=PLUS2),
                                       datetime(2026, 6, 21, 23, tzinfo=PLUS2))], zone=BERLIN)
    berlin = Location(52.52, 13.405)
    (day,) = grid.rows()
    rise, fall = sun_marks(day, berlin, BERLIN)
    assert (rise.kind, fall.kind) == ("sunrise", "sunset")
    assert 4.6 < rise.hours < 4.9 and 21.4 < fall.hours < 21.7  # 04:43 and 21:33 CEST
    night, _ = grid.rows(night=True)  # from noon on 20 June: that evening's sunset, the next sunrise
    fall, rise = sun_marks(night, berlin, BERLIN)
    assert (fall.kind, rise.kind) == ("sunset", "sunrise")
    assert 9.4 < fall.hours < 9.7 and 16.6 < rise.hours < 16.9
    assert sun_marks(day, Location(78.22, 15.65), BERLIN) == [], "midnight sun: no sunrise, no sunset"


def test_the_summary_csv_has_every_hour_of_every_date_and_empty_rates_without_data(tmp_path) -> None:
    windows, effort = _half_hour_with_three_detections()
    path = write_summary_csv(activity_grid(windows, effort), tmp_path / "summary.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert tuple(rows[0]) == SUMMARY_FIELDS and len(rows) == 48
    five = rows[5]
    assert five == {"date": "2026-05-01", "hour": "5", "minutes_recorded": "30.000", "windows": "180",
                    "detections": "3", "detections_per_recorded_hour": "6.000", "mean_p_yes": "0.1133"}
    assert rows[6]["minutes_recorded"] == "0.000" and rows[6]["detections_per_recorded_hour"] == ""
    assert rows[24 + 21]["detections_per_recorded_hour"] == "0.000"


def test_rows_with_clock_times_become_windows_and_others_are_left_out() -> None:
    timed = ScanRow("/d/a.wav", 10.0, 20.0, "q", "yes", 0.8, key="k" * 20,
                    recording_start="2026-05-01T05:00:00+02:00", start_time="2026-05-01T05:00:10+02:00",
                    end_time="2026-05-01T05:00:20+02:00", time_source="guano")
    untimed = ScanRow("/d/b.wav", 0.0, 10.0, "q", "no", 0.1, key="j" * 20, time_source="none")
    (w,) = windows_from_rows([timed, untimed], threshold=0.5)
    assert (w.start, w.detected, w.offset_s, w.text) == (_at(1, 5, 0, 10), True, 10.0, "yes")


def test_the_chart_svg_has_a_cell_per_hour_hatched_no_data_a_colour_bar_and_sun_lines() -> None:
    windows, effort = _half_hour_with_three_detections()
    grid = activity_grid(windows, effort)
    suns = [sun_marks(r, Location(52.52, 13.405), grid.zone) for r in grid.rows()]
    svg = activity_svg(grid, suns=suns)
    assert svg.count('class="cell"') == 2 and svg.count('class="cell nodata"') == 46
    assert svg.count('fill="url(#activity-nodata)"') == 47, "46 cells and the legend's swatch"
    assert 'id="activity-bar"' in svg and ">detections per recorded hour<" in svg and ">6.00<" in svg
    assert svg.count('class="sunrise"') == 3 and svg.count('class="sunset"') == 3, "2 rows + the legend"
    assert "no data (nothing recorded or scanned)" in svg
    assert re.search(r'<rect [^>]*data-day="2026-05-01" data-hour="5"><title>2026-05-01 05:00–06:00: 3 '
                     r'detection', svg)
    night = activity_svg(grid, night=True, measure="mean", chart_id="n")
    assert night.count("<rect x=") >= 3 * 24 and ">mean P(yes)<" in night and ">12:00<" in night
