"""Exports of a real stored scan (tiny model): CSV, Audacity labels and Raven tables through the engine's
writers and readers, and the self-contained HTML report, loaded in headless Chromium: markup in a file name,
the prompt or an answer shows as text and runs nothing; a screenshot of it is taken."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mellow.generation import Engine
from mellow.recordings import read_recording
from mellow.scan.merge import merge_detections
from mellow.scan.writers import audacity, raven, table
from mellow_desktop.core.history_store import HistoryStore
from mellow_desktop.core.scan_controller import ScanController
from mellow_desktop.core.scan_export import export_scan, scan_rows
from mellow_desktop.core.scan_record import LoadedScan, ScanRecord
from mellow_desktop.core.scan_report import report_html
from tests.helpers.audio_files import write_recording as recording
from tests.helpers.browser import browse
from tests.helpers.scans import YES_NO

IMG_PAYLOAD = "<img src=x onerror=\"document.title='PWNED-img'\">"
SCRIPT_PAYLOAD = "<script>document.title='PWNED-script'</script>"
SCREENSHOT_DIR = Path(os.environ.get("MELLOW_REPORT_SHOT_DIR", "/tmp/mellow-scan-report"))


@pytest.fixture(scope="module")
def scanned(tiny_model, tokenizer, tmp_path_factory: pytest.TempPathFactory) -> LoadedScan:
    """A finished yes/no scan of a 3-minute stereo file whose name holds markup, one answer made markup."""
    folder = tmp_path_factory.mktemp("scan")
    audio = recording(folder / f"dawn {IMG_PAYLOAD} chorus.wav", 185.0, rate=48000, channels=2)
    db = folder / "history.sqlite3"
    engine = Engine(tiny_model, tokenizer, device="cpu")
    request = ScanRecord(file=audio, prompt=f"{YES_NO} <b>now</b>", hop_s=10.0, max_len=3, threshold=0.5)
    controller = ScanController.start(engine, request, db, batch_size=8)
    list(controller.run())
    controller.close()
    with HistoryStore.open(db) as store:
        loaded = store.scans.load(controller.scan_id)
    assert loaded is not None and loaded.record.status == "finished"
    results = list(loaded.results)
    results[3] = dataclasses.replace(results[3], text=SCRIPT_PAYLOAD + " a\tbird\nsings")
    return dataclasses.replace(loaded, results=tuple(results))


def test_table_exports_go_through_the_engines_writers_and_read_back(scanned: LoadedScan,
                                                                    tmp_path: Path) -> None:
    rows = table.read(export_scan(scanned, tmp_path / "scan.csv"))
    assert [(r.start_s, r.text, r.score) for r in rows] == [
        (r.window.start_s, r.text, r.score) for r in scanned.results]
    assert rows == scan_rows(scanned) and all(r.file == scanned.record.file for r in rows)
    threshold = sorted(r.score for r in scanned.results)[len(scanned.results) // 2]  # about half are hits
    events = merge_detections(list(scanned.results), threshold)
    assert events, "the chosen threshold gives detections"
    labels = audacity.read(export_scan(scanned, tmp_path / "scan.txt", threshold=threshold))
    assert [(x.start_s, x.end_s) for x in labels] == [(d.start_s, d.end_s) for d in events]
    selections = raven.read(export_scan(scanned, tmp_path / "scan.selections.txt", threshold=threshold))
    assert [(s.begin_s, s.end_s, s.path) for s in selections] == [
        (d.start_s, d.end_s, scanned.record.file) for d in events]
    assert (selections[0].low_hz, selections[0].high_hz) == (50.0, 14000.0)


def test_the_report_escapes_every_text_and_holds_all_parts(scanned: LoadedScan) -> None:
    page = report_html(scanned)
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;document.title=&#x27;PWNED-script&#x27;&lt;/script&gt;" in page
    name = "dawn &lt;img src=x onerror=&quot;document.title=&#x27;PWNED-img&#x27;&quot;&gt; chorus.wav"
    assert name in page
    assert page.count("data:image/png;base64,") == 1 and "http" not in page.replace("http-equiv", "")
    for part in ("Content hash", scanned.record.file_hash, scanned.record.model_id,
                 scanned.record.model_checksum, "Overview spectrogram", "P(yes)", "threshold 0.50",
                 ">time<", "3:00.0", "Hop", "10 s"):
        assert part in page, part
    assert page.count("<tr class=hit>") == sum(r.score >= 0.5 for r in scanned.results)


def test_with_the_files_start_the_exports_and_the_report_give_clock_times(scanned: LoadedScan,
                                                                          tmp_path: Path) -> None:
    start = datetime(2026, 5, 1, 5, 30, tzinfo=timezone(timedelta(hours=2)))
    recording = read_recording(scanned.record.file, override=start)
    rows = table.read(export_scan(scanned, tmp_path / "scan.csv", recording=recording))
    assert [r.start_time for r in rows[:2]] == ["2026-05-01T05:30:00+02:00", "2026-05-01T05:30:10+02:00"]
    assert {r.time_source for r in rows} == {"override"}
    (first, *_) = raven.read(export_scan(scanned, tmp_path / "s.selections.txt", threshold=0.0,
                                         recording=recording))
    assert first.start_time == "2026-05-01T05:30:00.000"
    page = report_html(scanned, recording=recording)
    assert "<th>Clock time</th>" in page and "2026-05-01 05:32:55+02:00" in page  # the last window, 2:55
    assert "<th>Recording start</th><td>2026-05-01T05:30:00+02:00 (from override)</td>" in page
    assert "<th>Clock time</th>" not in report_html(scanned), "no start known: offsets only"


@pytest.mark.subprocess
def test_the_report_in_headless_chromium_shows_markup_as_text_and_runs_nothing(scanned: LoadedScan,
                                                                               tmp_path: Path) -> None:
    control = tmp_path / "control.html"  # the same payloads unescaped: they do run, so the check can fail
    control.write_text(f"<html><head><title>clean</title></head><body>{IMG_PAYLOAD}{SCRIPT_PAYLOAD}</body>"
                       "</html>", encoding="utf-8")
    assert "<title>PWNED-" in browse(control, tmp_path / "profile-control", "--dump-dom")

    scores = sorted(r.score for r in scanned.results)
    threshold = scores[len(scores) // 2]  # the tiny model's scores are close together: show some detections
    report = export_scan(scanned, tmp_path / "report.html", threshold=threshold)
    assert merge_detections(list(scanned.results), threshold)
    dom = browse(report, tmp_path / "profile", "--dump-dom")
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title is not None and title.group(1).startswith("Mellow scan: dawn &lt;img"), "no script set it"
    assert not re.search(r"<(script|img)[\s>]", dom), "no element came from the payloads"
    assert "&lt;script&gt;document.title='PWNED-script'&lt;/script&gt;" in dom, "the answer shows as text"
    assert "&lt;img src=x onerror=\"document.title='PWNED-img'\"&gt;" in dom, "the file name shows as text"
    assert dom.count("<tr") == 1 + len(scanned.results) + 18, "results rows, their header, 18 fact rows"

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "scan-report.png"
    browse(report, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1100,2600",
            "--hide-scrollbars")
    assert shot.stat().st_size > 20000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shutil.copyfile(report, SCREENSHOT_DIR / "scan-report.html")
    print(f"\nscan report screenshot: {shot}")
