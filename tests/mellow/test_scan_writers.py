"""Scan outputs: every writer read back by its reader with hostile names and answers; the exact Raven header;
Audacity's three columns; resumable files cut at every byte."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mellow.scan.keys import row_key
from mellow.scan.resume import ResultLog, journal_path
from mellow.scan.types import Window
from mellow.scan.writers import FormatError, audacity, export_bytes, format_for, jsonl, raven, table
from mellow.scan.writers.jsonl import TableError
from mellow.scan.writers.records import ScanRow

HOSTILE_NAMES = ["/data/plain.wav", "/data/with space/dawn chorus.wav", "/data/tab\there.wav",
                 "/data/new\nline.wav", "/data/quote\"s and 'apostrophes'.wav", "/data/comma, semi;colon.wav",
                 "/data/Vogelstimmen – früh/鳥の声 🐦.flac", "/data/back\\slash\\t.wav", "/data/cr\rlf.wav",
                 "/data/not-utf8-\udcff\udcfe.wav"]
HOSTILE_TEXTS = ["yes", "a\tb", "first line\nsecond line", "say \"hi\", then 'bye'", "",
                 "\\n is not a newline", "crlf\r\nend", "ünïcödé — ✓", "trailing tab\t", "=1+1"]


def _rows(scored: bool = True, pair: bool = False) -> list[ScanRow]:
    rows = []
    for i, name in enumerate(HOSTILE_NAMES):
        for j in range(3):
            w = Window(Path(name), 10.0 * j, 10.0 * j + 10.0, f"{i:040x}",
                       Path(HOSTILE_NAMES[-1 - i]) if pair else None, 10.0 * j + 2.5 if pair else 0.0)
            text = HOSTILE_TEXTS[(i + j) % len(HOSTILE_TEXTS)]
            score = (0.3 + 0.35 * ((i + j) % 3)) if scored else None
            choices = {"a": 0.25, "b": 0.75} if scored and j == 1 else None
            rows.append(ScanRow.from_result(_result(w, text, score, choices), prompt="is there a\tbird?\n",
                                            model="v0 sha256:1a2b3c4d5e6f",
                                            key=row_key(w, "is there a\tbird?\n", "{}", "v0")))
    return rows


def _result(w: Window, text: str, score: float | None, choices: dict[str, float] | None):
    from mellow.scan.types import WindowResult

    return WindowResult(w, text=text, tokens=[42, 7, 0], score=score, choices=choices)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("pair", [False, True])
def test_table_formats_round_trip_hostile_rows(fmt: str, pair: bool, tmp_path: Path) -> None:
    rows = _rows(scored=True, pair=pair)
    path = tmp_path / f"out.{fmt}"
    path.write_bytes(export_bytes(fmt, rows, {r.file: 30.0 for r in rows}, scored=True, threshold=0.5))
    module = {"jsonl": jsonl, "csv": table}[fmt]
    assert module.read(path) == rows
    if fmt == "csv":  # the standard library's reader sees one record per window, every column in place
        with path.open(newline="", encoding="utf-8", errors="surrogateescape") as f:
            records = list(csv.DictReader(f))
        assert len(records) == len(rows)
        assert [r["file"] for r in records] == [r.file for r in rows]
        assert [r["text"] for r in records] == [r.text for r in rows]
        assert records[0]["score"] and records[0]["tokens"] == "42 7 0"
        assert (records[0]["slot2_file"] != "") == pair
    else:  # one JSON object per "\n"-terminated line
        lines = path.read_bytes().split(b"\n")
        assert lines[-1] == b"" and len(lines) == len(rows) + 1
        assert json.loads(lines[1])["choices"] == {"a": 0.25, "b": 0.75}


def test_unscored_table_rows_have_empty_scores(tmp_path: Path) -> None:
    rows = _rows(scored=False)
    data = export_bytes("csv", rows, {r.file: 30.0 for r in rows}, scored=False, threshold=0.5)
    back = table.parse(data)[0]
    assert back == rows and all(r.score is None and r.choices is None for r in back)
    records = list(csv.DictReader(io.StringIO(data.decode("utf-8", "surrogateescape"), newline="")))
    assert {r["score"] for r in records} == {""} and {r["choices"] for r in records} == {""}


def test_audacity_labels_are_three_columns_of_merged_detections(tmp_path: Path) -> None:
    rows = _rows(scored=True)
    path = tmp_path / "labels.txt"
    path.write_bytes(export_bytes("audacity", rows, {r.file: 30.0 for r in rows}, scored=True, threshold=0.5))
    raw_lines = path.read_bytes().split(b"\n")
    assert raw_lines[-1] == b""
    assert all(len(line.split(b"\t")) == 3 for line in raw_lines[:-1])
    labels = audacity.read(path)
    # Scores cycle 0.3, 0.65, 1.0 with (file + window): files start the cycle at different places, so a file
    # has one run of windows >= 0.5 (0.65, 1.0) or two (1.0 | 0.65).
    want = []
    for i, name in enumerate(HOSTILE_NAMES):
        hits = [j for j in range(3) if (i + j) % 3 != 0]
        runs = [hits] if hits[-1] - hits[0] == len(hits) - 1 else [[h] for h in hits]
        want += [(Path(name).name, 10.0 * run[0], 10.0 * run[-1] + 10.0) for run in runs]
    assert len(want) > len(HOSTILE_NAMES)
    assert [(x.text.split(": ")[0], x.start_s, x.end_s) for x in labels] == want
    assert all(x.text.endswith(")") for x in labels)
    float(raw_lines[0].split(b"\t")[0])  # Audacity reads plain decimal seconds


def test_audacity_unscored_holds_every_window_with_its_answer(tmp_path: Path) -> None:
    rows = [r for r in _rows(scored=False) if r.file == HOSTILE_NAMES[3]]
    data = export_bytes("audacity", rows, {HOSTILE_NAMES[3]: 30.0}, scored=False, threshold=0.5)
    labels = audacity.parse(data)
    assert [(x.start_s, x.end_s, x.text) for x in labels] == [(r.start_s, r.end_s, r.text) for r in rows]
    assert len(data.split(b"\n")) == len(rows) + 1


def test_raven_table_has_the_exact_header_and_counts_time_on_across_files(tmp_path: Path) -> None:
    rows = _rows(scored=False)
    durations = {name: 30.0 + i for i, name in enumerate(HOSTILE_NAMES)}
    path = tmp_path / "scan.selections.txt"
    path.write_bytes(export_bytes("raven", rows, durations, scored=False, threshold=0.5))
    first = path.read_bytes().split(b"\n")[0]
    assert first == (b"Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
                     b"\tBegin Path\tBegin File\tFile Offset (s)\tBegin Date\tBegin Clock Time\tAnnotation"
                     b"\tAnswer\tScore")
    lines = path.read_bytes().split(b"\n")[1:-1]
    assert len(lines) == len(rows) and all(len(line.split(b"\t")) == 15 for line in lines)
    assert lines[3].split(b"\t")[8] == b"dawn chorus.wav" and lines[3].split(b"\t")[10:12] == [b"", b""]
    assert lines[0].split(b"\t")[:3] == [b"1", b"Spectrogram 1", b"1"]
    assert lines[0].split(b"\t")[5:7] == [b"50", b"14000"]
    selections = raven.read(path)
    offset = {name: sum(list(durations.values())[:i]) for i, name in enumerate(durations)}
    assert [(s.path, s.file_offset_s, s.answer, s.score, s.annotation) for s in selections] == [
        (r.file, r.start_s, r.text, None, "bird") for r in rows]
    assert [s.begin_s for s in selections] == pytest.approx([offset[r.file] + r.start_s for r in rows])
    assert [s.end_s - s.begin_s for s in selections] == pytest.approx([10.0] * len(rows))


def test_raven_scored_holds_detections_with_their_best_score() -> None:
    rows = _rows(scored=True)
    durations = {name: 30.0 for name in HOSTILE_NAMES}
    selections = raven.parse(export_bytes("raven", rows, durations, scored=True, threshold=0.9))
    assert len(selections) == sum(1 for r in rows if r.score is not None and r.score >= 0.9)
    assert all(s.score == pytest.approx(1.0) for s in selections)
    files = [s.path for s in selections]
    assert files == sorted(files, key=HOSTILE_NAMES.index)


def test_format_from_suffix_or_option() -> None:
    assert [format_for(n) for n in ("a.jsonl", "A.CSV", "birds.txt", "birds.selections.txt")] == [
        "jsonl", "csv", "audacity", "raven"]
    assert format_for("results.dat", "csv") == "csv" and format_for("x.txt", "raven") == "raven"
    with pytest.raises(FormatError, match="cannot tell the format"):
        format_for("results.xlsx")
    with pytest.raises(FormatError, match="unknown format 'xlsx'"):
        format_for("results.csv", "xlsx")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_file_cut_at_any_byte_resumes_with_each_row_once(fmt: str, tmp_path: Path) -> None:
    """Cut the output at every byte of its last two rows (a kill mid-write): reopening keeps the complete
    rows, the file parses, and appending the rest gives every row exactly once."""
    rows = _rows(scored=True, pair=True)[:6]
    full = export_bytes(fmt, rows, {r.file: 30.0 for r in rows}, scored=True, threshold=0.5)
    module = {"jsonl": jsonl, "csv": table}[fmt]
    start_of_row5 = len(module.header()) + sum(len(module.encode_row(r)) for r in rows[:4])
    path = tmp_path / f"out.{fmt}"
    for cut in [0, 1, *range(start_of_row5, len(full) + 1)]:
        path.write_bytes(full[:cut])
        with ResultLog(path, fmt) as log:
            kept = list(log.rows)
            assert rows[: len(kept)] == kept, cut
            assert module.parse(path.read_bytes())[1], f"the reopened file is whole (cut at {cut})"
            for row in rows:
                if row.key not in log.keys:
                    log.append(row)
        assert module.read(path) == rows, cut


def test_an_unrelated_file_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("name,age\nann,3\n")
    with pytest.raises(TableError, match="not a scan table"):
        ResultLog(path, "csv")
    assert path.read_text() == "name,age\nann,3\n"
    other = tmp_path / "log.jsonl"
    other.write_text('{"some": "thing"}\n{"else": 1}\n')
    with pytest.raises(TableError, match="line 1"):
        ResultLog(other, "jsonl")
    assert journal_path(tmp_path / "b.selections.txt").name == "b.selections.txt.scan.jsonl"
