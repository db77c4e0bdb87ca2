"""How a scan record becomes the engine's plan: its files (one recording, or every recording of a folder,
optionally only those that start in a range of dates), each file's clock start (:mod:`mellow.recordings`),
and the windows of each (:func:`mellow.scan.plan.plan_scan`); and the file facts the record keeps.

A new scan lists its files; a stored one plans the files it listed then, so a resumed scan asks the same
windows even when recordings were added to the folder since.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from mellow.errors import MellowError, one_line
from mellow.model.config import AudioConfig
from mellow.recordings import Recording, audio_files_in, iso, parse_zone, read_recording
from mellow.scan.plan import ScanPlan, ScanRange, ScanSetupError, SlotTwo, plan_scan, slot_two
from mellow.scan.types import Window
from mellow_desktop.core.scan_record import ScannedFile, ScanRecord


def check_request(record: ScanRecord) -> None:
    """Raise ScanSetupError (one line) for a prompt, threshold or date range the scan cannot use."""
    if not record.prompt.strip():
        raise ScanSetupError("type a prompt to ask of every window")
    if not 0.0 <= float(record.threshold) <= 1.0:
        raise ScanSetupError(f"the threshold must be between 0 and 1, got {record.threshold:g}")
    first, last = _dates(record)
    if first is not None and last is not None and last < first:
        raise ScanSetupError(f"the range of dates ends ({last}) before it starts ({first})")


def _dates(record: ScanRecord) -> tuple[date | None, date | None]:
    try:
        first, last = (date.fromisoformat(d) if d else None for d in (record.date_from, record.date_to))
    except ValueError as exc:
        raise ScanSetupError(f"a date must read YYYY-MM-DD: {one_line(exc)}") from None
    return first, last


def _slot_two(record: ScanRecord, audio: AudioConfig) -> SlotTwo:
    if record.slot2_mode not in ("same", "against", "pair"):
        raise ScanSetupError(f"unknown slot-2 mode {record.slot2_mode!r} (use same, against or pair)")
    other = record.slot2_file if record.slot2_mode != "same" else None
    if record.slot2_mode != "same" and not other:
        raise ScanSetupError(f"slot 2 mode {record.slot2_mode!r} needs a second file")
    against = other if record.slot2_mode == "against" else None
    pair = other if record.slot2_mode == "pair" else None
    return slot_two(against, record.slot2_start_s, pair, record.slot2_start_s, audio)


def _recordings(record: ScanRecord, paths: list[Path]) -> dict[Path, Recording]:
    """Each file's recording facts (headers and metadata only) in the record's zone."""
    try:
        zone = parse_zone(record.zone or "UTC")
    except MellowError as exc:
        raise ScanSetupError(one_line(exc)) from None
    root = Path(record.file) if Path(record.file).is_dir() else None
    return {p: read_recording(p, zone=zone, root=root) for p in paths}


def _in_dates(rec: Recording, record: ScanRecord) -> bool:
    first, last = _dates(record)
    if first is None and last is None:
        return True
    if rec.start is None:
        return False  # no clock time: outside any range of dates
    day = rec.start.astimezone(parse_zone(record.zone or "UTC")).date()
    return (first is None or day >= first) and (last is None or day <= last)


def listed_paths(record: ScanRecord) -> tuple[list[Path], dict[Path, Recording]]:
    """The files of the scan and their recording facts: those stored with it, else the one file, else the
    folder's recordings (recursively, in path order) that start in the record's range of dates."""
    if record.files:
        paths = [Path(f.path) for f in record.files]
    elif Path(record.file).is_dir():
        paths, _problems = audio_files_in(record.file)
        if not paths:
            raise ScanSetupError(f"there are no audio files in {record.file}")
    else:
        paths = [Path(record.file).expanduser().absolute()]
    recordings = _recordings(record, paths)
    if not record.files and Path(record.file).is_dir():
        paths = [p for p in paths if _in_dates(recordings[p], record)]
        if not paths:
            raise ScanSetupError(f"no recording of {record.file} starts in the range of dates asked")
    return paths, {p: recordings[p] for p in paths}


def plan_for(record: ScanRecord, audio: AudioConfig | None = None) -> tuple[ScanPlan, dict[Path, Recording]]:
    """The engine's plan of the scan's files and their recording facts; ScanSetupError with the reason when
    nothing can be planned (one file that cannot be used, or a folder none of whose files can)."""
    audio = audio or AudioConfig()
    rng = ScanRange(from_s=record.from_s, to_s=record.to_s, hop_s=record.hop_s)
    paths, recordings = listed_paths(record)
    plan = plan_scan(paths, rng, _slot_two(record, audio), audio)
    if not plan.n_windows:
        reason = "; ".join(p.reason for p in plan.problems[:3]) or f"nothing to scan in {record.file}"
        raise ScanSetupError(reason if len(paths) == 1 else f"nothing to scan: {reason}")
    return plan, recordings


def scanned_files(plan: ScanPlan, recordings: dict[Path, Recording]) -> list[ScannedFile]:
    """One :class:`ScannedFile` per listed file, in listing order: planned ones with their windows, the
    others with the reason they could not be planned."""
    planned = {f.path: f for f in plan.files}
    problems = {p.file: p.reason for p in plan.problems}
    out = []
    for path, rec in recordings.items():
        start = iso(rec.start) if rec.start is not None else None
        source = rec.time_source if rec.start is not None else None
        if path in planned:
            f = planned[path]
            out.append(ScannedFile(str(path), f.file_hash, f.duration_s, start, source, len(f.windows)))
        else:
            out.append(ScannedFile(str(path), "", rec.duration_s, start, source, 0,
                                   problems.get(path, "not planned")))
    return out


def take_facts(record: ScanRecord, plan: ScanPlan, recordings: dict[Path, Recording]) -> list[int]:
    """Set the record's files, file facts and plan size from ``plan``; returns the indices of the files
    whose content or plan changed since the record last listed them (none for a new record).  A file that
    cannot be read now keeps what was stored of it (its missing windows are asked on a later Resume)."""
    fresh = scanned_files(plan, recordings)
    if record.files:
        old = record.files
        keep = [o if n.problem and not o.problem else n for o, n in zip(old, fresh, strict=True)]
        changed = [i for i, (o, n) in enumerate(zip(old, keep, strict=True))
                   if not n.problem and (o.file_hash, o.n_windows) != (n.file_hash, n.n_windows)]
        fresh = keep
    else:
        changed = []
    record.files = fresh
    record.n_windows = sum(f.n_windows for f in fresh)
    one = fresh[0] if len(fresh) == 1 else None
    record.file_hash = one.file_hash if one is not None else ""
    record.duration_s = one.duration_s if one is not None else plan.range_s
    first = next((w for f in plan.files for w in f.windows), None)
    record.slot2_hash = (first.slot2_hash or None) if first is not None else None
    return changed


def windows_in_order(record: ScanRecord, plan: ScanPlan) -> list[tuple[int, Window]]:
    """(plan index, window) of every window planned now, in the record's file order (a file that cannot be
    read now has none)."""
    planned = {str(f.path): f for f in plan.files}
    out, start = [], 0
    for f in record.files:
        got = planned.get(f.path)
        if got is not None and len(got.windows) == f.n_windows:
            out += [(start + i, w) for i, w in enumerate(got.windows)]
        start += f.n_windows
    return out


def unplanned(record: ScanRecord, plan: ScanPlan) -> list[ScannedFile]:
    """The record's files with windows that cannot be read now (moved away, broken since)."""
    planned = {str(f.path) for f in plan.files}
    return [replace(f) for f in record.files if f.n_windows and f.path not in planned]


def unplanned_note(record: ScanRecord) -> str | None:
    """"2 of 48 files could not be scanned: a.wav: <reason>; …" for a folder scan, or None."""
    bad = [f for f in record.files if f.problem]
    if not bad or not record.is_folder:
        return None
    listed = "; ".join(f"{f.name}: {f.problem}" for f in bad[:3]) + ("; …" if len(bad) > 3 else "")
    return f"{len(bad)} of {len(record.files)} files could not be scanned (the others are): {listed}"
