"""mellow.recordings, one file at a time: start times from names, AudioMoth comments, GUANO (written by the
guano package itself) and overrides; zones; device, place and header facts; files with no time or no
readable header.  Every test writes real (short) files."""

from __future__ import annotations

import os
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks.field_files import (
    AUDIOMOTH_SERIAL,
    audiomoth_comment,
    guano_chunk,
    write_guano_wav,
    write_wav,
)
from mellow.recordings import RecordingsError, parse_iso_time, parse_zone, read_recording, stamp_from_name
from mellow.recordings.zones import iso

BERLIN = parse_zone("Europe/Berlin")


def start_of(rec) -> str | None:
    return iso(rec.start) if rec.start else None


# ------------------------------------------------------------------------------------------------- names
@pytest.mark.parametrize(("name", "source", "start", "serial", "prefix"), [
    ("20260501_053000.WAV", "name:audiomoth", "2026-05-01T05:30:00+00:00", None, None),
    ("24f319055fdf2b55_20260501_053000T.WAV", "name:audiomoth", "2026-05-01T05:30:00+00:00",
     AUDIOMOTH_SERIAL, None),
    ("5F8A2B00.WAV", "name:audiomoth-hex", "2020-10-16T23:21:36+00:00", None, None),
    ("SITE_20260501_053000.wav", "name:songmeter", "2026-05-01T05:30:00+00:00", None, "SITE"),
    ("MY_SITE-2_20260501_053000.wav", "name:songmeter", "2026-05-01T05:30:00+00:00", None, "MY_SITE-2"),
    ("SBT-6_0+1_0_20160621_080000.wav", "name:songmeter", "2016-06-21T08:00:00+00:00", None, "SBT-6"),
    ("SITE_0+1_20260501$053000.wav", "name:sm3", "2026-05-01T05:30:00+00:00", None, "SITE"),
    ("20260501T053000+1000_REC.wav", "name:frontier-labs", "2026-05-01T05:30:00+10:00", None, None),
    ("BAR7_20260501T053000-0330.wav", "name:frontier-labs", "2026-05-01T05:30:00-03:30", None, "BAR7"),
])
def test_recorder_file_names_give_start_source_and_unit(tmp_path: Path, name: str, source: str, start: str,
                                                        serial: str | None, prefix: str | None) -> None:
    rec = read_recording(write_wav(tmp_path / name), root=tmp_path)
    assert (rec.time_source, start_of(rec)) == (source, start)
    stamp = stamp_from_name(name)
    assert stamp is not None and (stamp.serial, stamp.prefix) == (serial, prefix)
    expected_recorder = f"serial:{serial}" if serial else f"prefix:{prefix}" if prefix else "folder:."
    assert rec.recorder_id == expected_recorder
    assert rec.duration_s == pytest.approx(0.2) and rec.sample_rate == 8000 and rec.channels == 1


@pytest.mark.parametrize("name", [
    "20260501.wav",            # 8 digits are hex too, but 0x20260501 is 1987: not an AudioMoth name
    "20261399_053000.WAV",     # no 99th of a 13th month
    "20260501_253000.WAV",     # no 25 o'clock
    "5F8A2B00_take2.wav", "dawn chorus.wav", "20260501T053000+2500.wav",
])
def test_names_that_are_no_recorder_pattern_give_no_time(tmp_path: Path, name: str) -> None:
    rec = read_recording(write_wav(tmp_path / name), root=tmp_path)
    assert (rec.start, rec.time_source, rec.candidates) == (None, "none", ())
    assert rec.recorder_id == "folder:." and rec.readable


# ------------------------------------------------------------------------------------------------- zones
@pytest.mark.parametrize(("text", "offset_minutes"), [
    ("UTC", 0), ("Z", 0), ("+05:30", 330), ("-0700", -420), ("+10", 600), ("UTC-3", -180),
])
def test_fixed_zones(text: str, offset_minutes: int) -> None:
    assert parse_zone(text).utcoffset(None) == timedelta(minutes=offset_minutes)


@pytest.mark.parametrize("text", ["Mars/Olympus", "+25:00", "+05:75", "", "../etc/passwd"])
def test_unknown_zones_are_one_line_errors(text: str) -> None:
    with pytest.raises(RecordingsError, match="time zone|UTC offset") as info:
        parse_zone(text)
    assert "\n" not in str(info.value)


def test_naive_names_in_a_zone_follow_its_clock_changes(tmp_path: Path) -> None:
    """Berlin's clocks go forward at 02:00 on 2026-03-29: files named 01:30 and 03:30 are one hour apart."""
    before = read_recording(write_wav(tmp_path / "20260329_013000.WAV"), zone=BERLIN)
    after = read_recording(write_wav(tmp_path / "20260329_033000.WAV"), zone=BERLIN)
    assert (start_of(before), start_of(after)) == ("2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00")
    assert (after.start - before.start) == timedelta(hours=1)
    assert isinstance(after.start.tzinfo, timezone)  # fixed offsets: differences are exact
    assert before.notes == () and after.notes == ()
    skipped = read_recording(write_wav(tmp_path / "20260329_023000.WAV"), zone=BERLIN)
    assert start_of(skipped) == "2026-03-29T02:30:00+01:00"
    assert any("does not exist in Europe/Berlin" in n for n in skipped.notes)
    twice = read_recording(write_wav(tmp_path / "20261025_023000.WAV"), zone=BERLIN)
    assert start_of(twice) == "2026-10-25T02:30:00+02:00"
    assert any("occurs twice in Europe/Berlin" in n for n in twice.notes)


def test_a_naive_name_read_in_a_fixed_offset(tmp_path: Path) -> None:
    rec = read_recording(write_wav(tmp_path / "SITE_20260501_053000.wav"), zone=parse_zone("+05:30"))
    assert start_of(rec) == "2026-05-01T05:30:00+05:30"


def test_a_zoned_name_ignores_the_default_zone(tmp_path: Path) -> None:
    for name in ("5F8A2B00.WAV", "20260501T053000+1000_REC.wav"):
        utc = read_recording(write_wav(tmp_path / name))
        assert read_recording(tmp_path / name, zone=BERLIN).start == utc.start


# ----------------------------------------------------------------------------------------------- AudioMoth
@pytest.mark.parametrize(("zone", "expected"), [
    ("(UTC)", "2021-11-12T19:30:00+00:00"), ("(UTC+10)", "2021-11-12T19:30:00+10:00"),
    ("(UTC-5)", "2021-11-12T19:30:00-05:00"), ("(UTC+5:30)", "2021-11-12T19:30:00+05:30"),
    ("(UTC+0530)", "2021-11-12T19:30:00+05:30"),
    ("", "2021-11-12T19:30:00+01:00"),  # firmware 1.0 wrote no zone: read in the given zone (Berlin, CET)
])
def test_audiomoth_comment_day_month_year_and_zone(tmp_path: Path, zone: str, expected: str) -> None:
    comment = audiomoth_comment("19:30:00 12/11/2021", zone)
    path = write_wav(tmp_path / "CARD1" / "rec.wav", comment=comment)
    rec = read_recording(path, zone=BERLIN, root=tmp_path)
    assert (rec.time_source, start_of(rec)) == ("audiomoth-comment", expected)
    assert rec.device.label() == f"Open Acoustic Devices AudioMoth {AUDIOMOTH_SERIAL}"
    assert rec.recorder_id == f"serial:{AUDIOMOTH_SERIAL}"


def test_audiomoth_deployment_wording_takes_the_serial_from_the_artist(tmp_path: Path) -> None:
    comment = ("Recorded at 05:30:00 01/05/2026 (UTC+10) during deployment 0123456789ABCDEF at medium gain "
               "while battery was 4.1V and temperature was 9.5C. Recording stopped due to file size limit.")
    artist = f"AudioMoth {AUDIOMOTH_SERIAL}"
    path = write_wav(tmp_path / "20260501_053000.WAV", comment=comment, artist=artist)
    rec = read_recording(path)
    assert (rec.time_source, start_of(rec)) == ("audiomoth-comment", "2026-05-01T05:30:00+10:00")
    assert rec.device.serial == AUDIOMOTH_SERIAL
    # The name was written by the same clock, so it is read in the comment's zone and agrees.
    assert start_of(rec) == iso(rec.name_start) and rec.notes == ()
    assert sf.info(str(path)).frames == 1600  # what libsndfile reads of the file agrees with us


def test_metadata_wins_over_a_disagreeing_name_and_both_are_kept(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "20260501_053000.WAV", comment=audiomoth_comment("06:30:00 01/05/2026"))
    rec = read_recording(path)
    assert (rec.time_source, start_of(rec)) == ("audiomoth-comment", "2026-05-01T06:30:00+00:00")
    assert iso(rec.name_start) == "2026-05-01T05:30:00+00:00"
    assert [c.source for c in rec.candidates] == ["audiomoth-comment", "name:audiomoth"]
    assert rec.notes == ("name:audiomoth says 2026-05-01T05:30:00+00:00 (-1:00:00.0)",)


def test_unpadded_odd_chunks_are_still_walked(tmp_path: Path) -> None:
    """A writer that leaves out the pad bytes after odd-sized chunks (the RIFF rules want them): the artist
    entry after an odd comment entry is found; so is the comment when the LIST chunk itself is odd and
    unpadded, which libsndfile refuses (the header is then unreadable, the metadata still counts)."""
    comment = ("Recorded at 05:30:00 01/05/2026 (UTC) during deployment 0123456789ABCDEF at medium gain "
               "while battery was 4.1V and temperature was 9.5C.")
    body = comment.encode() + b"\x00" * (1 + len(comment) % 2)  # NUL-terminated, odd-sized
    artist = f"AudioMoth {AUDIOMOTH_SERIAL}".encode() + b"\x00" * 2
    assert len(body) % 2 == 1 and len(artist) % 2 == 0
    info = (b"INFO" + b"ICMT" + struct.pack("<I", len(body)) + body
            + b"IART" + struct.pack("<I", len(artist)) + artist)
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    samples = np.zeros(800, "<i2").tobytes()
    assert len(info) % 2 == 1
    for name, pad in (("padded.wav", b"\x00"), ("unpadded.wav", b"")):
        chunks = (b"fmt " + struct.pack("<I", 16) + fmt + b"LIST" + struct.pack("<I", len(info)) + info + pad
                  + b"data" + struct.pack("<I", len(samples)) + samples)
        path = tmp_path / name
        path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
        rec = read_recording(path)
        assert (rec.time_source, start_of(rec)) == ("audiomoth-comment", "2026-05-01T05:30:00+00:00")
        assert rec.device.serial == AUDIOMOTH_SERIAL
        if pad:
            assert rec.readable and rec.duration_s == pytest.approx(0.1)
        else:
            assert rec.error.startswith("not a readable audio file") and rec.duration_s is None


# --------------------------------------------------------------------------------------------------- GUANO
def test_guano_written_by_the_guano_package(tmp_path: Path) -> None:
    moment = datetime(2026, 5, 1, 21, 15, 30, tzinfo=timezone(timedelta(hours=-7)))
    path = write_guano_wav(tmp_path / "SITE_20260501_211530.wav", {
        "Timestamp": moment, "Loc Position": (45.52, -122.68), "Make": "Wildlife Acoustics",
        "Model": "SM4BAT-FS", "Serial": "S4U01234"})
    rec = read_recording(path, zone=BERLIN)
    assert (rec.time_source, start_of(rec)) == ("guano", "2026-05-01T21:15:30-07:00")
    assert rec.start == moment
    assert (rec.location.latitude, rec.location.longitude) == (45.52, -122.68)
    assert (rec.device.make, rec.device.model, rec.device.serial) == ("Wildlife Acoustics", "SM4BAT-FS",
                                                                      "S4U01234")
    assert rec.recorder_id == "serial:S4U01234"
    # The naive name is read in GUANO's zone (-07:00): the same wall clock, so no disagreement.
    assert rec.name_start == moment and rec.notes == ()


def test_a_naive_guano_timestamp_is_local_time_read_in_the_zone(tmp_path: Path) -> None:
    path = write_guano_wav(tmp_path / "bat.wav", {"Timestamp": datetime(2026, 7, 1, 22, 0, 0)})
    assert start_of(read_recording(path, zone=BERLIN)) == "2026-07-01T22:00:00+02:00"
    assert start_of(read_recording(path)) == "2026-07-01T22:00:00+00:00"


def _append_chunk(path: Path, chunk: bytes) -> None:
    raw = bytearray(path.read_bytes()) + chunk
    raw[4:8] = struct.pack("<I", len(raw) - 8)
    path.write_bytes(bytes(raw))


def test_guano_in_a_float_wav_that_the_wave_module_refuses(tmp_path: Path) -> None:
    """The guano package serializes the metadata; the file is 32-bit float, which ``guano.GuanoFile(path)``
    cannot open (it reads the header with the wave module)."""
    from guano import GuanoFile

    path = tmp_path / "float.wav"
    sf.write(path, np.zeros(4000, "float32"), 16000, subtype="FLOAT")
    g = GuanoFile()
    g["Timestamp"] = datetime(2026, 5, 1, 5, 30, tzinfo=timezone.utc)
    g["TE"] = 10
    body = bytes(g.serialize())
    _append_chunk(path, b"guan" + struct.pack("<I", len(body)) + body)
    with pytest.raises(Exception):  # noqa: B017 - whatever the wave module raises: it is not our reader
        GuanoFile(str(path))
    rec = read_recording(path)
    assert (rec.time_source, start_of(rec)) == ("guano", "2026-05-01T05:30:00+00:00")
    # Time expansion 10: the header's 16 kHz and 0.25 s are 160 kHz and 0.025 s in real time.
    assert (rec.sample_rate, rec.duration_s) == (160000, pytest.approx(0.025))
    assert any("time-expanded x10" in n for n in rec.notes)


def test_guano_text_its_own_parser_leaves_raw(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "raw.wav")
    _append_chunk(path, guano_chunk("GUANO|Version: 1.0\nTimestamp: 2026-05-01T05:30:00.5Z\n"
                                    "Loc Position: 91 200\n"))
    rec = read_recording(path)
    assert (rec.time_source, start_of(rec)) == ("guano", "2026-05-01T05:30:00.500+00:00")
    assert rec.location is None and any("Loc Position not understood" in n for n in rec.notes)


def test_broken_guano_is_a_note_and_the_name_still_counts(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "20260501_053000.WAV")
    _append_chunk(path, guano_chunk("GUANO|Version: 1.0\nthis line has no colon\n"))
    rec = read_recording(path)
    assert (rec.time_source, start_of(rec)) == ("name:audiomoth", "2026-05-01T05:30:00+00:00")
    assert any(n.startswith("GUANO metadata not understood") for n in rec.notes)


# ------------------------------------------------------------------------------------- override, no time
def test_an_override_wins_and_a_naive_one_is_read_in_the_zone(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "20260501_053000.WAV", comment=audiomoth_comment("05:30:00 01/05/2026"))
    rec = read_recording(path, zone=BERLIN, override=parse_iso_time("2026-05-01 09:00", BERLIN))
    assert (rec.time_source, start_of(rec)) == ("override", "2026-05-01T09:00:00+02:00")
    assert [c.source for c in rec.candidates] == ["override", "audiomoth-comment", "name:audiomoth"]
    assert len(rec.notes) == 2 and all(n.endswith("(-1:30:00.0)") for n in rec.notes)
    with pytest.raises(RecordingsError, match="not an ISO 8601 time"):
        parse_iso_time("May 1st", BERLIN)


def test_no_time_at_all_unless_the_labelled_guess_is_asked_for(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "dawn chorus.wav", seconds=0.5)
    modified = datetime(2026, 5, 1, 6, 0, 0, tzinfo=timezone.utc)
    os.utime(path, (modified.timestamp(), modified.timestamp()))
    rec = read_recording(path)
    assert (rec.start, rec.end, rec.time_source) == (None, None, "none")
    guessed = read_recording(path, guess_from_mtime=True)
    assert guessed.time_source == "guess:modified-time"
    assert start_of(guessed) == "2026-05-01T05:59:59.500+00:00"


def test_an_unreadable_header_is_a_reason_and_the_name_still_gives_the_start(tmp_path: Path) -> None:
    path = tmp_path / "20260501_053000.WAV"
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    rec = read_recording(path)
    assert not rec.readable and rec.error.startswith("not a readable audio file (")
    assert str(path) not in rec.error
    assert (rec.time_source, start_of(rec), rec.duration_s, rec.end) == (
        "name:audiomoth", "2026-05-01T05:30:00+00:00", None, None)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert read_recording(empty).error == "empty file (0 bytes)"
