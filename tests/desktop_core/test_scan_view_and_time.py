"""The scan's view model (caption segments, score curve, detections at a moving threshold, the results
table's sort and filter) and the start field's time parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from mellow.scan.types import Window, WindowResult
from mellow.timefmt import format_seconds
from mellow_desktop.core.scan_view import ScanView
from mellow_desktop.core.time_entry import TimeEntryError, parse_time

F = Path("/rec/dawn.wav")


def _r(start: float, text: str, score: float | None, hop_end: float | None = None) -> WindowResult:
    return WindowResult(Window(F, start, hop_end if hop_end is not None else start + 10.0), text=text,
                        score=score)


def _view() -> ScanView:
    view = ScanView(threshold=0.5)
    rows = [_r(0, "no", 0.1), _r(10, "yes", 0.7), _r(20, "yes", 0.9), _r(30, "no", 0.4), _r(40, "yes", 0.55)]
    view.add([(4, rows[4]), (0, rows[0])])  # out of order, as batches may come back after a resume
    view.add([(1, rows[1]), (2, rows[2]), (3, rows[3])])
    return view


def test_detections_follow_the_threshold_without_rerunning() -> None:
    view = _view()
    assert [(d.start_s, d.end_s, d.n_windows) for d in view.detections()] == [(10, 30, 2), (40, 50, 1)]
    view.threshold = 0.35
    assert [(d.start_s, d.end_s, d.max_score) for d in view.detections()] == [(10, 50, 0.9)]
    assert view.detections(0.95) == []


def test_segments_merge_equal_neighbours_and_overlaps_end_at_the_next_start() -> None:
    view = _view()
    assert [(s.start_s, s.end_s, s.text) for s in view.segments()] == [
        (0, 10, "no"), (10, 30, "yes"), (30, 40, "no"), (40, 50, "yes")]
    hop5 = ScanView()
    hop5.add(enumerate([_r(0, "rain", None), _r(5, "rain", None), _r(10, "a dog barks", None)]))
    segments = [(s.start_s, s.end_s, s.text) for s in hop5.segments()]
    assert segments == [(0, 10, "rain"), (10, 20, "a dog barks")]
    times, scores = view.score_curve()
    assert times.tolist() == [5, 15, 25, 35, 45] and scores.tolist() == [0.1, 0.7, 0.9, 0.4, 0.55]


def test_the_table_sorts_and_filters_by_text_and_score() -> None:
    view = _view()
    broken = WindowResult(Window(F, 50, 60), error="cannot read this window: truncated")
    view.add([(5, broken)])
    assert [r.index for r in view.table()] == [0, 1, 2, 3, 4, 5]
    assert [r.index for r in view.table("YES")] == [1, 2, 4]
    assert [r.index for r in view.table(min_score=0.5)] == [1, 2, 4]
    assert [r.index for r in view.table(sort="score", descending=True)] == [2, 1, 4, 3, 0, 5]
    assert [r.index for r in view.table(sort="score")] == [0, 3, 4, 1, 2, 5]
    assert [r.index for r in view.table("truncated")] == [5]
    assert view.table()[4].cells() == ("40.00 s", "50.00 s", "yes", "0.55")
    late = WindowResult(Window(F, 3725.5, 3735.5), text="a car")
    view.add([(6, late)])
    assert view.table()[-1].cells() == ("1:02:05.5", "1:02:15.5", "a car", "")
    with pytest.raises(ValueError, match="sort must be one of"):
        view.table(sort="loudness")


@pytest.mark.parametrize(("text", "seconds"), [
    ("75", 75.0), ("75.5", 75.5), (" 12 s ", 12.0), (".5", 0.5), ("1:15", 75.0), ("1:15.5", 75.5),
    ("0:01:15.5", 75.5), ("2:00:00", 7200.0), ("90:00", 5400.0), ("0:00", 0.0),
])
def test_typed_times_are_read(text: str, seconds: float) -> None:
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "message"), [
    ("", "type a time"), ("abc", "is not a time"), ("1:75", "seconds after a colon must be below 60"),
    ("1:60:00", "minutes of h:mm:ss must be below 60"), ("-5", "is not a time"), ("1::2", "is not a time"),
    ("1:2:3:4", "is not a time"),
])
def test_bad_times_get_one_line_reasons(text: str, message: str) -> None:
    with pytest.raises(TimeEntryError, match=message) as info:
        parse_time(text)
    assert "\n" not in str(info.value)


def test_times_are_checked_against_the_file_and_read_back_from_the_one_formatter() -> None:
    with pytest.raises(TimeEntryError, match=r"2:00:00.0 is past the end of the file \(1:00:00.0\)"):
        parse_time("2:00:00", duration_s=3600.0)
    for seconds in (3.25, 75.5, 3725.5, 7199.9):
        assert parse_time(format_seconds(seconds)) == pytest.approx(seconds)


def test_axis_ticks_past_a_minute_read_as_a_clock_in_the_window_and_the_report() -> None:
    """One tick formatter: the report's time axis of a 3-minute scan reads 0:00, 0:30, 1:00 … like the
    window's plots (not "30.00 s" beside "1:00.0"); tenths only for sub-second steps; short files keep s."""
    from mellow_desktop.core.measurements import clock_label
    from mellow_desktop.core.report_graphics import _time_axis

    assert [clock_label(t, 30.0) for t in (0.0, 30.0, 90.0, 4142.0)] == ["0:00", "0:30", "1:30", "1:09:02"]
    assert clock_label(30.5, 0.5) == "0:30.5"
    svg = _time_axis(185.0, 10.0)
    assert ">0:00<" in svg and ">0:30<" in svg and ">3:00<" in svg and " s<" not in svg
    assert ">8.00 s<" in _time_axis(9.0, 10.0)
