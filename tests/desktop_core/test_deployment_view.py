"""The deployment pane's data: rows in the listing's order with local times, gaps and unreadable files in
the notes, sorting by value, effort lanes per recorder, and the summary line."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from benchmarks.field_files import audiomoth_comment, write_wav
from mellow.recordings import list_deployment, parse_zone
from mellow_desktop.core.deployment_view import effort_lanes, recording_rows, sorted_rows, summary_text


def _deployment(root: Path):
    for day, hh in ((1, 5), (1, 6), (2, 5)):
        write_wav(root / "AM" / f"202605{day:02d}_{hh:02d}0000.WAV", seconds=2.0,
                  comment=audiomoth_comment(f"{hh:02d}:00:00 {day:02d}/05/2026", "(UTC+2)"))
    write_wav(root / "SM" / "SITE_20260501_053000.wav", seconds=1.0)  # a Song Meter name, read in the zone
    (root / "SM" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")  # a recorder of its own
    return list_deployment(root, zone=parse_zone("Europe/Berlin"))


def test_rows_effort_and_summary_of_a_small_deployment(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path)
    rows = recording_rows(deployment)
    by_name = {r.cells[0]: r for r in rows}
    assert set(by_name) == {"20260501_050000.WAV", "20260501_060000.WAV", "20260502_050000.WAV",
                            "SITE_20260501_053000.wav", "broken.wav"}
    am = by_name["20260501_060000.WAV"].cells
    assert am[1] == "2026-05-01 06:00:00" and am[2] == "2.00 s" and am[4] == "audiomoth-comment"
    assert am[3] == "24F319055FDF2B55" and "gap of" in am[5]
    assert by_name["SITE_20260501_053000.wav"].cells[1] == "2026-05-01 05:30:00"  # Berlin wall clock
    broken = by_name["broken.wav"].cells
    assert broken[1] == "" and broken[4] == "no time found" and broken[5]  # its reason is in the notes
    starts = [r.cells[1] for r in sorted_rows(rows, 1)]
    assert starts == ["2026-05-01 05:00:00", "2026-05-01 05:30:00", "2026-05-01 06:00:00",
                      "2026-05-02 05:00:00", ""]  # by value, the unknown last
    assert [r.cells[1] for r in sorted_rows(rows, 1, descending=True)][-1] == ""
    assert [r.cells[0] for r in sorted_rows(rows, 2)][:2] == ["SITE_20260501_053000.wav",
                                                               "20260501_050000.WAV"]  # 1 s before 2 s
    lanes = {lane.recorder: lane for lane in effort_lanes(deployment)}
    am_lane = lanes["24F319055FDF2B55"]
    assert am_lane.files == 3 and len(am_lane.intervals) == 3
    first = datetime(2026, 5, 1, 3, 0, tzinfo=timezone.utc).timestamp()  # 05:00 at UTC+2
    assert am_lane.intervals[0] == (first, first + 2.0)
    text = summary_text(deployment)
    assert text.startswith("5 files · 3 recorders · 0.0 h recorded · 2026-05-01 05:00 – 2026-05-02 05:00 "
                           "(Europe/Berlin)")
    assert "1 without a time" in text and "1 unreadable" in text and "2 gaps" in text
