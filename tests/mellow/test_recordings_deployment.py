"""mellow.recordings over a folder (a deployment: recorders, clock order, effort, gaps and overlaps), that
listing never reads samples, and the ``mellow recordings`` command run for real (in-process)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from benchmarks.field_files import (
    AUDIOMOTH_SERIAL,
    audiomoth_comment,
    guano_chunk,
    write_guano_wav,
    write_sparse_wav,
    write_wav,
)
from mellow.cli.main import main
from mellow.recordings import RecordingsError, iso, list_deployment, parse_zone
from mellow.recordings.table import rows


def moth(folder: Path, hhmmss: str, seconds: float, when: str | None = None, suffix: str = "") -> Path:
    """An AudioMoth file of 2026-05-01 named and commented (UTC) with the same time unless ``when`` differs;
    ``suffix`` ``T`` marks a triggered file."""
    clock = when or f"{hhmmss[:2]}:{hhmmss[2:4]}:{hhmmss[4:]}"
    return write_wav(folder / f"20260501_{hhmmss}{suffix}.WAV", seconds,
                     comment=audiomoth_comment(f"{clock} 01/05/2026"), artist=f"AudioMoth {AUDIOMOTH_SERIAL}")


@pytest.fixture()
def card(tmp_path: Path) -> Path:
    """An SD card: an AudioMoth (contiguous, then a gap, then an overlap), a Song Meter in a subfolder,
    one file with no time and one with no readable header."""
    root = tmp_path / "card"
    moth(root, "053000", 1.0)
    moth(root, "053001", 1.0)          # right after the first: contiguous
    moth(root, "053010", 1.0)          # 8 s after the second ended: a gap
    moth(root, "053010", 3.0, suffix="T")  # triggered at the same second, longer: overlaps by 1 s
    write_wav(root / "site" / "SITE_20260501_060000.wav", 0.5)
    write_wav(root / "site" / "SITE_0+1_20260501$060001.wav", 0.5)
    write_wav(root / "notes" / "dawn chorus.wav", 0.5)
    (root / "notes" / "broken.wav").write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    (root / "readme.txt").write_text("not audio")
    (root / ".hidden.wav").write_bytes(b"")
    return root


def test_a_card_grouped_by_recorder_in_clock_order_with_gaps_and_overlaps(card: Path) -> None:
    dep = list_deployment(card)
    assert [s.recorder_id for s in dep.recorders] == [f"serial:{AUDIOMOTH_SERIAL}", "prefix:SITE",
                                                      "folder:notes"]
    moth_seq, site_seq, notes_seq = dep.recorders
    assert [r.path.name for r in moth_seq.recordings] == [
        "20260501_053000.WAV", "20260501_053001.WAV", "20260501_053010.WAV", "20260501_053010T.WAV"]
    assert [round(t.seconds, 3) for t in moth_seq.transitions] == [0.0, 8.0, -1.0]
    assert [(t.is_gap, t.is_overlap) for t in moth_seq.transitions] == [(False, False), (True, False),
                                                                        (False, False)]
    assert [(e.start.isoformat(), e.seconds) for e in moth_seq.effort] == [
        ("2026-05-01T05:30:00+00:00", 2.0), ("2026-05-01T05:30:10+00:00", 3.0)]
    assert moth_seq.recorded_s == 5.0 and dep.recorded_s == 6.0
    assert [r.time_source for r in site_seq.recordings] == ["name:songmeter", "name:sm3"]
    assert [r.path.name for r in notes_seq.recordings] == ["broken.wav", "dawn chorus.wav"]
    assert [r.path.name for r in dep.unreadable] == ["broken.wav"]
    assert {r.path.name for r in dep.untimed} == {"broken.wav", "dawn chorus.wav"}
    assert (iso(dep.first_start), iso(dep.last_end)) == ("2026-05-01T05:30:00+00:00",
                                                         "2026-05-01T06:00:01.500+00:00")
    assert len(dep.recordings) == 8  # readme.txt and the hidden file are not audio files of the card


def test_a_tighter_tolerance_turns_the_one_second_overlap_into_a_flag(card: Path) -> None:
    moth_seq = list_deployment(card, gap_tolerance_s=0.5).recorders[0]
    assert [(t.is_gap, t.is_overlap) for t in moth_seq.transitions] == [(False, False), (True, False),
                                                                        (False, True)]


def test_clock_order_across_a_clock_change(tmp_path: Path) -> None:
    """Berlin, 2026-10-25: 02:30 happens twice; the hour-long files named 01:30, 02:30 and 03:30 (read as
    CEST, CEST and CET) follow each other with a one-hour gap before the last."""
    for name in ("20261025_013000.WAV", "20261025_023000.WAV", "20261025_033000.WAV"):
        write_wav(tmp_path / name, 0.5)
    dep = list_deployment(tmp_path, zone=parse_zone("Europe/Berlin"))
    seq = dep.recorders[0]
    assert [iso(r.start) for r in seq.recordings] == [
        "2026-10-25T01:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T03:30:00+01:00"]
    assert [t.seconds for t in seq.transitions] == [3599.5, 7199.5]


def test_rows_show_both_times_when_metadata_and_name_disagree(tmp_path: Path) -> None:
    moth(tmp_path, "053000", 0.5, when="06:30:00")
    (row,) = rows(list_deployment(tmp_path))
    assert (row["start"], row["time_source"], row["name_start"]) == (
        "2026-05-01T06:30:00+00:00", "audiomoth-comment", "2026-05-01T05:30:00+00:00")
    assert row["notes"] == ["name:audiomoth says 2026-05-01T05:30:00+00:00 (-1:00:00.0)"]


def test_overrides_are_data_and_a_stray_one_is_an_error(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "dawn chorus.wav", 0.5)
    zone = parse_zone("+10:00")

    key = tmp_path / "elsewhere" / ".." / path.name  # the same file, named another way
    dep = list_deployment(tmp_path, zone=zone, overrides={str(key): datetime(2026, 5, 1, 5, 0)})
    rec = dep.recordings[0]
    assert (rec.time_source, iso(rec.start)) == ("override", "2026-05-01T05:00:00+10:00")
    with pytest.raises(RecordingsError, match="not in the listing: .*elsewhere.wav"):
        list_deployment(tmp_path, overrides={tmp_path / "elsewhere.wav": datetime(2026, 5, 1)})


def test_folder_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(RecordingsError, match="folder not found"):
        list_deployment(tmp_path / "missing")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(RecordingsError, match="not a folder"):
        list_deployment(tmp_path / "a.txt")
    with pytest.raises(RecordingsError, match=r"no audio files in .* \(looked for .*\.wav"):
        list_deployment(tmp_path)


def _bytes_read() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's /proc/self/io")
def test_listing_reads_headers_and_metadata_never_samples(tmp_path: Path) -> None:
    """Six files with 64 MB data chunks each (holes on disk), GUANO after the data on half of them: listing
    reads a few kilobytes per file, and still finds the GUANO time behind the data."""
    data_bytes = 64 << 20
    for i in range(6):
        guano = f"GUANO|Version: 1.0\nTimestamp: 2026-05-01T05:{i:02d}:00+02:00\n"
        trailer = guano_chunk(guano) if i % 2 else b""
        write_sparse_wav(tmp_path / f"SITE_20260501_0{i}0000.wav", data_bytes, trailer=trailer)
    before = _bytes_read()
    dep = list_deployment(tmp_path)
    read = _bytes_read() - before
    assert read < 6 * 64 * 1024, f"listing read {read} bytes"
    recs = sorted(dep.recordings, key=lambda r: r.path.name)
    assert [r.duration_s for r in recs] == [data_bytes / 2 / 8000] * 6
    assert [r.time_source for r in recs] == ["name:songmeter", "guano"] * 3
    assert iso(recs[1].start) == "2026-05-01T05:01:00+02:00"


# ------------------------------------------------------------------------------------------ the command
def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["recordings", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_table_csv_and_jsonl(card: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, str(card))
    assert status == 0 and err == ""
    device = f"Open Acoustic Devices AudioMoth {AUDIOMOTH_SERIAL}"
    assert f"recorder serial:{AUDIOMOTH_SERIAL} ({device}): 4 files, 5.00 s recorded" in out
    assert "gap of 8.00 s before" in out
    assert "unreadable: not a readable audio file" in out
    assert "8 files (1 unreadable, 2 without a start time), 3 recorders" in out
    assert "1 gap and 0 overlaps between consecutive files of a recorder (tolerance 1 s)" in out

    status, out, err = run_cli(capsys, str(card), "--format", "csv", "--timezone", "Europe/Berlin")
    table = list(csv.DictReader(io.StringIO(out)))
    assert status == 0 and len(table) == 8 and "8 files" in err  # the summary stays out of the CSV
    by_name = {row["file"]: row for row in table}
    gap = by_name["20260501_053010.WAV"]
    assert (gap["flag"], gap["gap_before_s"], gap["device_serial"]) == ("gap", "8.0", AUDIOMOTH_SERIAL)
    assert gap["start"] == "2026-05-01T05:30:10+00:00"  # the comment's zone, not --timezone
    assert by_name["site/SITE_20260501_060000.wav"]["start"] == "2026-05-01T06:00:00+02:00"
    assert by_name["notes/dawn chorus.wav"]["time_source"] == "none"

    out_file = tmp_path / "card.jsonl"
    status, out, err = run_cli(capsys, str(card), "--out", str(out_file), "--start",
                               "notes/dawn chorus.wav=2026-05-01T04:00:00-03:00")  # relative to the folder
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert status == 0 and "8 files" in out and len(records) == 8
    dawn = next(r for r in records if r["file"] == "notes/dawn chorus.wav")
    assert (dawn["time_source"], dawn["start"], dawn["end"]) == (
        "override", "2026-05-01T04:00:00-03:00", "2026-05-01T04:00:00.500-03:00")


@pytest.mark.parametrize(("args", "message"), [
    (["MISSING"], "folder not found"),
    (["EMPTY"], "no audio files in"),
    (["EMPTY", "--timezone", "Mars/Olympus"], "--timezone: unknown time zone 'Mars/Olympus'"),
    (["BROKEN"], "none of the 1 audio files could be read (first: broken.wav: not a readable audio file"),
    (["BROKEN", "--start", "nothing.wav=2026-05-01T05:00"], "--start: no such file: nothing.wav"),
    (["BROKEN", "--start", "broken.wav=dawn"], "--start broken.wav: not an ISO 8601 time: 'dawn'"),
])
def test_cli_user_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 args: list[str], message: str) -> None:
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "BROKEN").mkdir()
    (tmp_path / "BROKEN" / "broken.wav").write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    args = [str(tmp_path / args[0]), *args[1:]]
    status, out, err = run_cli(capsys, *args)
    assert status == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1
    if "none of the" in message:
        assert "broken.wav" in out  # the listing is still written: the reason is in the row


def test_guano_files_in_the_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    moment = datetime(2026, 5, 1, 21, 0, tzinfo=timezone(timedelta(hours=-7)))
    for i in range(2):
        write_guano_wav(tmp_path / f"bat{i}.wav", {"Timestamp": moment + timedelta(seconds=10 * i),
                                                   "Make": "Wildlife Acoustics", "Serial": "S4U01234",
                                                   "Loc Position": (45.5, -122.6)})
    status, out, _ = run_cli(capsys, str(tmp_path), "--format", "jsonl")
    first, second = (json.loads(line) for line in out.splitlines())
    assert status == 0 and (first["latitude"], first["longitude"]) == (45.5, -122.6)
    assert (second["recorder"], second["gap_before_s"], second["flag"]) == ("serial:S4U01234", 9.8, "gap")
