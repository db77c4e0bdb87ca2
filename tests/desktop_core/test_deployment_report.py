"""A 7-day deployment of real recorder files (AudioMoth comments and names, Song Meter GUANO with a place,
Song Meter names read in --timezone, a file with no time), scanned with ``mellow scan FOLDER --timezone``
in-process (tiny model): the rows' clock times, the activity grid's counts and effort, the night view, the
summary CSV, and the deployment report in headless Chromium (chart, legend, sun lines, hostile names as
text), with a screenshot."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import statistics
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from benchmarks.field_files import AUDIOMOTH_SERIAL, audiomoth_comment, write_guano_wav, write_wav
from mellow.cli.main import main
from mellow.recordings import Deployment, list_deployment, parse_zone
from mellow.scan.writers import table
from mellow.scan.writers.records import ScanRow
from mellow_desktop.core.activity import activity_grid, recorder_effort, windows_from_rows
from mellow_desktop.core.deployment_report import build_report, deployment_report_html
from mellow_desktop.core.deployment_tables import summary_csv
from tests.helpers.browser import browse

BERLIN = parse_zone("Europe/Berlin")
PLUS2 = timezone(timedelta(hours=2))
FIRST = date(2026, 5, 1)
IMG_PAYLOAD = "<img src=x onerror=\"document.title='PWNED-img'\">"
PROMPT = "is there a bird singing? answer yes or no <script>document.title='PWNED-script'</script>"
SCREENSHOT_DIR = Path(os.environ.get("MELLOW_REPORT_SHOT_DIR", "/tmp/mellow-scan-report"))


def _write_deployment(folder: Path) -> None:
    """Dawn (AudioMoth, 05:00 UTC+2 in its comment) and dusk (Song Meter Mini with GUANO and a place, 21:00
    +02:00) every day for 7 days, noon on the first 5 days (Song Meter names, no zone: read in Berlin, the
    unit's name holding markup); 10 s each, a different tone each; and a file with no start time."""
    for d in range(7):
        day = FIRST + timedelta(days=d)
        write_wav(folder / "moth" / f"{AUDIOMOTH_SERIAL}_{day:%Y%m%d}_050000.WAV", 10.0, 16000,
                  comment=audiomoth_comment(f"05:00:00 {day:%d/%m/%Y}", "(UTC+2)"), frequency=300 + 70 * d)
        write_guano_wav(folder / "sm" / f"SMM01234_{day:%Y%m%d}_210000.wav", {
            "Timestamp": datetime(day.year, day.month, day.day, 21, 0, tzinfo=PLUS2),
            "Loc Position": (52.52, 13.405), "Make": "Wildlife Acoustics", "Model": "Song Meter Mini",
            "Serial": "SMM01234"}, seconds=10.0, rate=16000, frequency=900 + 110 * d)
        if d < 5:
            write_wav(folder / "noon" / f"{IMG_PAYLOAD}_{day:%Y%m%d}_120000.wav", 10.0, 16000,
                      frequency=2000 + 150 * d)
    write_wav(folder / "notes" / "dawn chorus.wav", 5.0, 16000)


@pytest.fixture(scope="module")
def scanned(tiny_ckpt: Path, gguf: Path,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Deployment, list[ScanRow], float]:
    """The deployment listed in Berlin time, its ``mellow scan`` rows, and a threshold about half reach."""
    folder = tmp_path_factory.mktemp("deployment") / "SD01"
    _write_deployment(folder)
    out = folder.parent / "sd01.csv"
    status = main(["scan", str(folder), "--prompt", PROMPT, "--out", str(out), "--timezone", "Europe/Berlin",
                   "--model", str(tiny_ckpt), "--tokenizer", str(gguf), "--config", "tiny", "--device", "cpu",
                   "--max-len", "2"])
    assert status == 0
    rows = table.read(out)
    threshold = statistics.median(r.score for r in rows)
    return list_deployment(folder, zone=BERLIN), rows, threshold


def test_the_rows_carry_each_files_clock_time_and_its_source(scanned) -> None:
    _, rows, _ = scanned
    assert len(rows) == 20
    by_source: dict[str, list[str]] = {}
    for r in rows:
        by_source.setdefault(r.time_source, []).append(r.start_time)
    assert by_source["audiomoth-comment"] == [f"2026-05-0{d}T05:00:00+02:00" for d in range(1, 8)]
    assert by_source["guano"] == [f"2026-05-0{d}T21:00:00+02:00" for d in range(1, 8)]
    assert by_source["name:songmeter"] == [f"2026-05-0{d}T12:00:00+02:00" for d in range(1, 6)]
    assert by_source["none"] == [""]
    assert {r.end_time[11:19] for r in rows if r.start_time} == {"05:00:10", "12:00:10", "21:00:10"}


def test_the_grid_counts_windows_and_detections_over_the_time_recorded(scanned) -> None:
    deployment, rows, threshold = scanned
    grid = activity_grid(windows_from_rows(rows, threshold), recorder_effort(deployment), threshold=threshold,
                         preferred=deployment.zone)
    assert grid.zone is BERLIN and grid.zone_note is None
    assert grid.days() == [FIRST + timedelta(days=d) for d in range(7)]
    detected = {(r.start_time[:10], int(r.start_time[11:13])): r.score >= threshold
                for r in rows if r.start_time}
    for (day, hour), hit in detected.items():
        cell = grid.cell(date.fromisoformat(day), hour)
        assert (cell.recorded_s, cell.windows, cell.detections) == (pytest.approx(10.0), 1, int(hit))
        assert cell.rate == pytest.approx(360.0 * hit)  # one detection in 10 s recorded: 360 per hour
    assert sum(detected.values()) >= 1 and not all(detected.values()), "the threshold splits the windows"
    for day, hour in [(FIRST, 3), (FIRST + timedelta(days=6), 12), (FIRST + timedelta(days=2), 22)]:
        assert grid.cell(day, hour).rate is None, "nothing recorded: no data, not zero"
    totals = grid.day_totals()
    assert [t.windows for t in totals] == [3] * 5 + [2] * 2
    assert [t.recorded_s for t in totals] == pytest.approx([30.0] * 5 + [20.0] * 2)
    assert grid.total().windows == 19, "the file without a start time is not in the chart"

    nights = grid.rows(night=True)
    assert nights[0].label == "2026-04-30 → 05-01" and nights[-1].label == "2026-05-07 → 05-08"
    assert len(nights) == 8 and grid.cell(*nights[0].keys[17]).windows == 1  # 05:00 on 1 May

    summary = list(csv.DictReader(io.StringIO(summary_csv(grid))))
    assert len(summary) == 7 * 24
    dawn = summary[5]
    assert (dawn["date"], dawn["hour"], dawn["minutes_recorded"], dawn["windows"]) == ("2026-05-01", "5",
                                                                                       "0.167", "1")
    assert dawn["detections_per_recorded_hour"] == ("360.000" if detected[("2026-05-01", 5)] else "0.000")
    assert summary[6]["detections_per_recorded_hour"] == "" and summary[6]["minutes_recorded"] == "0.000"


@pytest.mark.subprocess
def test_the_deployment_report_in_headless_chromium(scanned, tmp_path: Path) -> None:
    deployment, rows, threshold = scanned
    report = build_report(deployment, rows, PROMPT, threshold, model_id="tiny sha256:test")
    page = deployment_report_html(report)
    assert "<script" not in page and "<img" not in page
    path = tmp_path / "deployment.html"
    path.write_text(page, encoding="utf-8")
    dom = browse(path, tmp_path / "profile", "--dump-dom")
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title is not None and title.group(1) == "Mellow deployment scan: SD01", "no script set it"
    assert not re.search(r"<(script|img)[\s>]", dom), "no element came from the payloads"
    assert "prefix:&lt;img src=x onerror=\"document.title='PWNED-img'\"&gt;" in dom, "the unit's name as text"
    assert "&lt;script&gt;document.title='PWNED-script'&lt;/script&gt;" in dom, "the prompt as text"
    assert "<svg" in dom and dom.count("data-hour=") == 7 * 24, "one cell per hour of each of the 7 days"
    assert dom.count('class="cell"') == 19 and dom.count('class="cell nodata"') == 7 * 24 - 19
    assert "no data (nothing recorded or scanned)" in dom and ">detections per recorded hour<" in dom
    assert dom.count('class="sunrise"') == 7 + 1 and dom.count('class="sunset"') == 7 + 1, "rows + legend"
    assert "52.52000, 13.40500" in dom and "1 answered window(s) have no clock time" in dom
    assert dom.count("<table class=\"effort\">") == 1 and "Effort (4 recorders)" in dom
    assert dom.count("<tr class=\"hit\">") == sum(r.score >= threshold for r in rows if r.start_time)

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "deployment-report.png"
    browse(path, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1100,2400",
           "--hide-scrollbars")
    assert shot.stat().st_size > 20000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shutil.copyfile(path, SCREENSHOT_DIR / "deployment-report.html")
    night = tmp_path / "night.html"
    night.write_text(deployment_report_html(build_report(deployment, rows, PROMPT, threshold, night=True)),
                     encoding="utf-8")
    browse(night, tmp_path / "profile-night", f"--screenshot={SCREENSHOT_DIR / 'deployment-night.png'}",
           "--window-size=1100,1000", "--hide-scrollbars")
    print(f"\ndeployment report screenshots: {shot}, {SCREENSHOT_DIR / 'deployment-night.png'}")
