"""``mellow recordings FOLDER``: list a deployment (every audio file under a folder) with start times, by
recorder, gaps and overlaps flagged; a table for people, CSV or JSON Lines for machines.

Exit status 0 when at least one file's header could be read (unreadable files are rows with their reason);
2 when the folder is missing, holds no audio files, an argument is wrong, or no file could be read.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any, TextIO

from mellow.cli import common
from mellow.errors import MellowError
from mellow.files import write_atomic
from mellow.recordings import Deployment, iso, list_deployment
from mellow.recordings.deployment import GAP_TOLERANCE_S, RecorderSequence
from mellow.recordings.table import format_span, relative_name, row_notes, rows, write_csv, write_jsonl
from mellow.recordings.zones import zone_name
from mellow.timefmt import format_seconds

FORMATS = ("table", "csv", "jsonl")
_SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}


def add_parser(sub: Any) -> None:
    """Register ``mellow recordings``."""
    p = sub.add_parser("recordings", help="list a folder of field recordings: start times, gaps, recorders",
                       description="List every audio file under FOLDER with its start time and where that "
                                   "time came from (override, GUANO, AudioMoth comment, file name), by "
                                   "recorder, with gaps and overlaps flagged.  Reads headers and metadata, "
                                   "never samples.")
    p.add_argument("folder", metavar="FOLDER", help="the folder (searched recursively)")
    common.add_clock_args(p, "FOLDER")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="table (default), csv or jsonl (default from --out's suffix)")
    p.add_argument("--out", default=None, metavar="FILE", help="write the listing to FILE instead of stdout")
    p.add_argument("--guess-from-mtime", action="store_true",
                   help="for files with no start at all, guess one from the modification time (labelled)")
    p.add_argument("--gap-tolerance", type=common.seconds, default=GAP_TOLERANCE_S, metavar="S",
                   help=f"seconds between files still counted as contiguous (default {GAP_TOLERANCE_S:g})")


# --------------------------------------------------------------------------------------------- arguments
def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    return _SUFFIX_FORMATS.get(Path(args.out).suffix.lower(), "table") if args.out else "table"


# ------------------------------------------------------------------------------------------------ table
def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _device_label(seq: RecorderSequence) -> str:
    labels = sorted({r.device.label() for r in seq.recordings if r.device.label()})
    return f" ({', '.join(labels)})" if labels else ""


def _recorder_heading(seq: RecorderSequence) -> str:
    span = f", {iso(seq.effort[0].start)} to {iso(seq.effort[-1].end)}" if seq.effort else ""
    return (f"recorder {seq.recorder_id}{_device_label(seq)}: {_count(len(seq.recordings), 'file')}, "
            f"{format_span(seq.recorded_s)} recorded{span}, {_count(len(seq.gaps), 'gap')}, "
            f"{_count(len(seq.overlaps), 'overlap')}")


def _table_cells(deployment: Deployment, seq: RecorderSequence) -> list[list[str]]:
    cells = [["file", "start", "end", "duration", "time source", "device", "rate", "notes"]]
    for rec in seq.recordings:
        notes = ([f"unreadable: {rec.error}"] if rec.error else []) + row_notes(deployment, rec)
        device = " ".join(p for p in (rec.device.model or rec.device.make, rec.device.serial) if p)
        cells.append([relative_name(rec.path, deployment.root), iso(rec.start) if rec.start else "-",
                      iso(rec.end) if rec.end else "-",
                      format_seconds(rec.duration_s) if rec.duration_s is not None else "-", rec.time_source,
                      device or "-", f"{rec.sample_rate} Hz" if rec.sample_rate else "-", "; ".join(notes)])
    return cells


def write_table(deployment: Deployment, out: TextIO) -> None:
    """The people's listing: a heading and aligned rows per recorder."""
    for index, seq in enumerate(deployment.recorders):
        if index:
            print(file=out)
        print(_recorder_heading(seq), file=out)
        cells = _table_cells(deployment, seq)
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]) - 1)]
        for row in cells:
            line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
            print("  " + line.rstrip(), file=out)


def summary_lines(deployment: Deployment, gap_tolerance_s: float) -> list[str]:
    """Files, recorders, hours recorded, first and last time, gaps and overlaps."""
    recs = deployment.recordings
    unreadable, untimed = len(deployment.unreadable), len(deployment.untimed)
    lines = [f"{_count(len(recs), 'file')} ({unreadable} unreadable, {untimed} without a start time), "
             f"{_count(len(deployment.recorders), 'recorder')}, "
             f"{deployment.recorded_s / 3600:.2f} h recorded"]
    if deployment.first_start and deployment.last_end:
        lines.append(f"first start {iso(deployment.first_start)}, last end {iso(deployment.last_end)}")
    gaps = sum(t.is_gap for t in deployment.transitions)
    overlaps = sum(t.is_overlap for t in deployment.transitions)
    lines.append(f"{_count(gaps, 'gap')} and {_count(overlaps, 'overlap')} between consecutive files of a "
                 f"recorder (tolerance {gap_tolerance_s:g} s); times without a zone read in "
                 f"{zone_name(deployment.zone)}")
    return lines


# -------------------------------------------------------------------------------------------------- run
def _render(deployment: Deployment, fmt: str, gap_tolerance_s: float) -> str:
    buffer = io.StringIO()
    if fmt == "csv":
        write_csv(rows(deployment), buffer)
    elif fmt == "jsonl":
        write_jsonl(rows(deployment), buffer)
    else:
        write_table(deployment, buffer)
        print(file=buffer)
        for line in summary_lines(deployment, gap_tolerance_s):
            print(line, file=buffer)
    return buffer.getvalue()


def run(args: argparse.Namespace, out: TextIO) -> int:
    """List the folder; write the listing; report the files nothing could be read from."""
    zone = common.clock_zone(args.timezone)
    folder = Path(args.folder).expanduser()
    overrides = common.start_overrides(args.start, [folder], zone)
    deployment = list_deployment(folder, zone=zone, overrides=overrides,
                                 guess_from_mtime=args.guess_from_mtime, gap_tolerance_s=args.gap_tolerance)
    for problem in deployment.problems:
        print(f"warning: {problem}", file=sys.stderr)
    fmt = _format(args)
    text = _render(deployment, fmt, args.gap_tolerance)
    if args.out:
        write_atomic(Path(args.out), text.encode("utf-8"))
    else:
        out.write(text)
    if args.out or fmt != "table":  # the summary goes where it does not mix with the machine's rows
        summary_out = out if args.out else sys.stderr
        for line in summary_lines(deployment, args.gap_tolerance):
            print(line, file=summary_out)
    readable = [r for r in deployment.recordings if r.readable]
    if not readable:
        first = deployment.recordings[0]
        raise MellowError(f"none of the {len(deployment.recordings)} audio files could be read "
                          f"(first: {relative_name(first.path, deployment.root)}: {first.error})")
    return 0
