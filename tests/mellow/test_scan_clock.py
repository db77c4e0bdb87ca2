"""Scans in clock time: the plan reads each file's start (Song Meter name, GUANO with time expansion,
AudioMoth comment, an override, nothing), rows carry ``recording_start``/``start_time``/``end_time``/
``time_source``, Raven tables ``Begin Date``/``Begin Clock Time``/``Begin File``; outputs written before these
columns are read, and ``mellow scan`` (in-process, tiny model) resumes them with nothing asked again."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from benchmarks.field_files import audiomoth_comment, write_guano_wav, write_wav
from mellow.cli.main import main
from mellow.recordings import parse_zone
from mellow.scan.clock import ClockOptions, clock_values, refresh_clock, with_clock
from mellow.scan.keys import row_key
from mellow.scan.plan import ScanSetupError, plan_scan
from mellow.scan.resume import ResultLog, journal_path
from mellow.scan.types import Window
from mellow.scan.writers import jsonl, raven, table
from mellow.scan.writers.raven import date_and_clock
from mellow.scan.writers.records import ScanRow

BERLIN = parse_zone("Europe/Berlin")
YES_NO = "is there a bird singing? answer yes or no"
CLOCK = ("recording_start", "start_time", "end_time", "time_source")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A Song Meter name (naive: read in --timezone), an AudioMoth comment (UTC+10), a file with no time;
    6 windows in all at hop 10."""
    folder = tmp_path / "site <b>A</b>"
    write_wav(folder / "SITE_20260501_053000.wav", 25.0, 16000)
    write_wav(folder / "moth.WAV", 12.0, 16000, comment=audiomoth_comment("05:00:00 01/05/2026", "(UTC+10)"))
    write_wav(folder / "notes" / "plain.wav", 5.0, 16000)
    return folder


def _clock(plan, name: str) -> list[tuple[str, ...]]:
    scan_file = next(f for f in plan.files if f.path.name == name)
    return [tuple(clock_values(scan_file.recording, w.start_s, w.end_s)[c] for c in CLOCK)
            for w in scan_file.windows]


def test_the_plan_knows_each_files_start_and_windows_get_clock_times(site: Path) -> None:
    bat = write_guano_wav(site / "bat.wav", {"Timestamp": datetime.fromisoformat("2026-05-01T22:00:00+02:00"),
                                             "TE": 10}, seconds=25.0, rate=16000)
    plan = plan_scan([site], clock=ClockOptions(BERLIN))
    assert _clock(plan, "SITE_20260501_053000.wav") == [
        ("2026-05-01T05:30:00+02:00", f"2026-05-01T05:30:{s:02d}+02:00",
         f"2026-05-01T05:30:{s + 10:02d}+02:00", "name:songmeter") for s in (0, 10, 15)]
    assert _clock(plan, "moth.WAV")[1] == ("2026-05-01T05:00:00+10:00", "2026-05-01T05:00:02+10:00",
                                           "2026-05-01T05:00:12+10:00", "audiomoth-comment")
    assert _clock(plan, "plain.wav") == [("", "", "", "none")]
    # 25 s of a file time-expanded ten times is 2.5 s of clock time: its window at 10 s is 1 s in
    assert _clock(plan, bat.name)[1] == ("2026-05-01T22:00:00+02:00", "2026-05-01T22:00:01+02:00",
                                         "2026-05-01T22:00:02+02:00", "guano")
    assert all(f.recording is None for f in plan_scan([site]).files), "no clock asked, none read"


def test_an_override_wins_and_one_for_a_file_not_scanned_is_refused(site: Path, tmp_path: Path) -> None:
    plain = site / "notes" / "plain.wav"
    plan = plan_scan([site], clock=ClockOptions(BERLIN, {plain: datetime(2026, 5, 1, 4, 0)}))
    assert _clock(plan, "plain.wav") == [("2026-05-01T04:00:00+02:00", "2026-05-01T04:00:00+02:00",
                                          "2026-05-01T04:00:05+02:00", "override")]
    elsewhere = write_wav(tmp_path / "elsewhere.wav", 1.0)
    with pytest.raises(ScanSetupError, match="override for a file that is not scanned: .*elsewhere.wav"):
        plan_scan([site], clock=ClockOptions(BERLIN, {elsewhere: datetime(2026, 5, 1, 4, 0)}))


def test_raven_date_and_clock_are_ravens_forms_in_the_recordings_own_offset() -> None:
    assert date_and_clock("2026-05-01T23:59:58.250+10:00") == ("2026/05/01", "23:59:58.250")
    assert date_and_clock("2026-12-31T00:00:05-03:30") == ("2026/12/31", "00:00:05.000")
    assert date_and_clock("") == ("", "")


def _row(i: int, **clock: str) -> ScanRow:
    w = Window(Path(f"/data/f{i}.wav"), 10.0 * i, 10.0 * i + 10.0, f"{i:040x}")
    return ScanRow(str(w.file), w.start_s, w.end_s, YES_NO, "yes", 0.25 * i, None, "tiny", [1, 2], None, None,
                   w.file_hash, row_key(w, YES_NO, "{}", "tiny"), **clock)


def _legacy_csv(rows: list[ScanRow]) -> bytes:
    """``rows`` as the CSV of a version before the clock and question columns."""
    data = table.header() + b"".join(table.encode_row(r) for r in rows)
    records = list(csv.reader(io.StringIO(data.decode(), newline="")))
    keep = [i for i, name in enumerate(records[0]) if name not in (*CLOCK, "question")]
    out = io.StringIO(newline="")
    csv.writer(out).writerows([[r[i] for i in keep] for r in records])
    return out.getvalue().encode()


def test_tables_written_before_the_clock_columns_are_read_and_appended_to_in_the_new_layout(
        tmp_path: Path) -> None:
    rows = [_row(i) for i in range(3)]
    old = _legacy_csv(rows)
    assert old.split(b"\r\n")[0] == (b"file,start_s,end_s,slot2_file,slot2_start_s,prompt,text,score,"
                                    b"choices,model,tokens,file_hash,key")
    parsed, whole = table.parse(old)
    assert parsed == rows and not whole, "read by name; not whole: rewrite before appending"
    path = tmp_path / "old.csv"
    path.write_bytes(old)
    extra = _row(3, recording_start="2026-05-01T05:00:00+02:00", start_time="2026-05-01T05:00:30+02:00",
                 end_time="2026-05-01T05:00:40+02:00", time_source="name:songmeter")
    with ResultLog(path, "csv") as log:
        assert log.keys == {r.key for r in rows}
        log.append(extra)
    assert path.read_bytes().startswith(table.header()) and table.read(path) == [*rows, extra]

    lines = [json.dumps({k: v for k, v in r.to_dict().items() if k not in CLOCK}) for r in rows]
    assert jsonl.parse(("\n".join(lines) + "\n").encode()) == (rows, True)

    old_raven = (b"Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\t"
                 b"Begin Path\tFile Offset (s)\tAnswer\tScore\n"
                 b"1\tSpectrogram 1\t1\t0.000000\t10.000000\t50\t14000\t/data/a.wav\t0.000000\tyes\t"
                 b"0.900000\n")
    (selection,) = raven.parse(old_raven)
    assert (selection.path, selection.score, selection.start_time) == ("/data/a.wav", 0.9, "")


def test_refresh_changes_only_rows_whose_times_differ(site: Path) -> None:
    plan = plan_scan([site], clock=ClockOptions(BERLIN))
    recs = plan.recordings
    plain = str(site / "notes" / "plain.wav")
    rows = [ScanRow(plain, 0.0, 5.0, YES_NO, "no", 0.1, key=_row(0).key)]
    assert refresh_clock(rows, recs) is None, "no start gained: the output is not rewritten"
    songmeter = str(site / "SITE_20260501_053000.wav")
    timed = [ScanRow(songmeter, 10.0, 20.0, YES_NO, "yes", 0.9, key=_row(1).key)]
    refreshed = refresh_clock(timed, recs)
    assert refreshed is not None and refreshed[0].start_time == "2026-05-01T05:30:10+02:00"
    assert refresh_clock(refreshed, recs) is None, "already right"
    utc = plan_scan([site], clock=ClockOptions()).recordings
    assert refresh_clock(refreshed, utc)[0].start_time == "2026-05-01T05:30:10+00:00"  # another --timezone
    assert with_clock(timed[0], None).time_source == ""


# ------------------------------------------------------------------------------------------ mellow scan
def _scan(paths: list[Path], out: Path, ckpt: Path, gguf: Path, *extra: str) -> int:
    return main(["scan", *map(str, paths), "--prompt", YES_NO, "--out", str(out), "--model", str(ckpt),
                 "--tokenizer", str(gguf), "--config", "tiny", "--device", "cpu", "--max-len", "2", *extra])


def test_mellow_scan_of_a_folder_in_clock_time_and_old_outputs_resumed_with_nothing_asked_again(
        site: Path, tiny_ckpt: Path, gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scan.csv"
    assert _scan([site], out, tiny_ckpt, gguf, "--timezone", "Europe/Berlin") == 0
    rows = table.read(out)
    by_file = {Path(r.file).name: r for r in rows}
    assert len(rows) == 6 and {r.time_source for r in rows} == {"name:songmeter", "audiomoth-comment", "none"}
    assert [(r.start_time, r.end_time) for r in rows if r.time_source == "name:songmeter"] == [
        ("2026-05-01T05:30:00+02:00", "2026-05-01T05:30:10+02:00"),
        ("2026-05-01T05:30:10+02:00", "2026-05-01T05:30:20+02:00"),
        ("2026-05-01T05:30:15+02:00", "2026-05-01T05:30:25+02:00")]
    assert by_file["moth.WAV"].recording_start == "2026-05-01T05:00:00+10:00"
    assert (by_file["plain.wav"].recording_start, by_file["plain.wav"].start_time) == ("", "")
    capsys.readouterr()

    out.write_bytes(_legacy_csv(rows))  # as an earlier version wrote it
    assert _scan([site], out, tiny_ckpt, gguf, "--timezone", "Europe/Berlin") == 0
    err = capsys.readouterr().err
    assert f"all 6 windows already in {out}" in err and "clock times of 5 rows" in err
    assert table.read(out) == rows, "the same answers, with their clock times; nothing asked again"

    raven_out = tmp_path / "birds.selections.txt"  # a Raven table from an old journal, nothing asked again
    journal_path(raven_out).write_text("".join(
        json.dumps({k: v for k, v in r.to_dict().items() if k not in CLOCK}) + "\n" for r in rows))
    assert _scan([site], raven_out, tiny_ckpt, gguf, "--timezone", "Europe/Berlin", "--threshold", "0") == 0
    assert "all 6 windows already in" in capsys.readouterr().err
    lines = [line.split("\t") for line in raven_out.read_text().splitlines()]
    columns = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert [(c["Begin File"], c["Begin Date"], c["Begin Clock Time"]) for c in columns] == [
        ("SITE_20260501_053000.wav", "2026/05/01", "05:30:00.000"),
        ("moth.WAV", "2026/05/01", "05:00:00.000"), ("plain.wav", "", "")]

    assert _scan([site], out, tiny_ckpt, gguf, "--timezone", "Europe/Berlin", "--start",
                 "notes/plain.wav=2026-05-01T04:00:00") == 0  # relative to the folder scanned
    assert "clock times of 1 rows" in capsys.readouterr().err
    assert table.read(out)[-1].start_time == "2026-05-01T04:00:00+02:00"


def test_clock_arguments_a_user_gets_wrong_are_one_line_errors(site: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out, ckpt, gguf = tmp_path / "scan.csv", tmp_path / "none.ckpt", tmp_path / "none.gguf"
    assert _scan([site], out, ckpt, gguf, "--timezone", "Mars/Olympus") == 2
    assert "error: --timezone: unknown time zone 'Mars/Olympus'" in capsys.readouterr().err
    assert _scan([site], out, ckpt, gguf, "--start", "nope.wav=x") == 2
    assert "error: --start: no such file: nope.wav" in capsys.readouterr().err
    other = write_wav(tmp_path / "other.wav", 1.0)
    assert _scan([site], out, ckpt, gguf, "--start", f"{other}=2026-05-01T04:00:00") == 2
    assert "start override for a file that is not scanned" in capsys.readouterr().err
    assert not out.exists(), "nothing written, no model loaded"
