"""One file -> one :class:`~mellow.recordings.records.Recording`: its header (soundfile: rate, channels,
frames, no samples), its metadata chunks and its name, combined by the rules of
:mod:`mellow.recordings.records` (sources in order) and :mod:`mellow.recordings.zones` (naive times).

A naive time is read in the caller's zone, with one exception: a naive file name is read in the zone that the
same file's metadata gives, when it gives one (an AudioMoth set to UTC+10 names its files in UTC+10 and says
so in its comment).  Nothing here raises for a bad file: a header that cannot be read becomes the
recording's ``error``, and its metadata chunks, name and an override can still give its start.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import soundfile as sf

from mellow.errors import one_line
from mellow.recordings import records
from mellow.recordings.metadata import AUDIOMOTH_MAKE, AUDIOMOTH_MODEL, FileMetadata, file_metadata
from mellow.recordings.names import NameStamp, stamp_from_name
from mellow.recordings.records import Device, Recording, TimeCandidate
from mellow.recordings.riff import read_riff_metadata
from mellow.recordings.zones import DEFAULT_ZONE, iso, localize, with_fixed_offset
from mellow.timefmt import format_seconds


def _read_header(path: Path) -> tuple[Any, str | None]:
    """(soundfile's header facts, None) or (None, why the header cannot be read)."""
    try:
        if path.stat().st_size == 0:
            return None, "empty file (0 bytes)"
        return sf.info(str(path)), None
    except FileNotFoundError:
        return None, "file not found"
    except PermissionError:
        return None, "permission denied"
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        detail = getattr(exc, "error_string", None) or one_line(exc)  # libsndfile's reason, without the path
        return None, f"not a readable audio file ({one_line(detail)})"
    except OSError as exc:
        return None, f"cannot read the file ({exc.strerror or one_line(exc)})"


def _read_metadata(path: Path) -> tuple[FileMetadata, str | None]:
    """The file's metadata, and a note when its chunks could not be walked."""
    try:
        with open(path, "rb") as f:
            return file_metadata(read_riff_metadata(f)), None
    except (OSError, ValueError) as exc:
        return FileMetadata(), f"metadata not read ({one_line(exc)})"


def _candidates(meta: FileMetadata, stamp: NameStamp | None, zone: tzinfo,
                override: datetime | None) -> list[tuple[TimeCandidate, str | None]]:
    """Every start the file offers, in the order of the sources, each with its clock-change note."""
    found: list[tuple[TimeCandidate, str | None]] = []
    if override is not None:
        start, note = (with_fixed_offset(override), None) if override.tzinfo else localize(override, zone)
        found.append((TimeCandidate(start, records.OVERRIDE), note))
    metadata_zone: tzinfo | None = None
    for item in meta.starts:
        if item.start.tzinfo is None:
            start, note = localize(item.start, zone)
        else:
            start, note = with_fixed_offset(item.start), None
            metadata_zone = metadata_zone or start.tzinfo
        found.append((TimeCandidate(start, item.source), note))
    if stamp is not None:
        if stamp.start.tzinfo is None:
            start, note = localize(stamp.start, metadata_zone or zone)
        else:
            start, note = with_fixed_offset(stamp.start), None
        found.append((TimeCandidate(start, stamp.source), note))
    return found


def _disagreements(candidates: list[TimeCandidate]) -> list[str]:
    """A note for each source whose start differs from the winner's by more than a second."""
    notes = []
    winner = candidates[0]
    for other in candidates[1:]:
        diff = (other.start - winner.start).total_seconds()
        if abs(diff) > records.DISAGREEMENT_S:
            sign = "+" if diff > 0 else "-"
            notes.append(f"{other.source} says {iso(other.start)} ({sign}{format_seconds(abs(diff))})")
    return notes


def _mtime_guess(path: Path, duration_s: float | None, zone: tzinfo) -> TimeCandidate | None:
    """The modification time less the duration (a recorder closes the file when it stops), as a guess."""
    if duration_s is None:
        return None
    try:
        modified = with_fixed_offset(datetime.fromtimestamp(path.stat().st_mtime, tz=zone))
    except OSError:
        return None
    return TimeCandidate(modified - timedelta(seconds=duration_s), records.GUESS_MODIFIED)


def _device(meta: FileMetadata, stamp: NameStamp | None) -> Device:
    """The metadata's device; an AudioMoth serial in the name fills in what the metadata leaves out."""
    device = meta.device
    if stamp is not None and stamp.serial and not device.serial:
        device = Device(device.make or AUDIOMOTH_MAKE, device.model or AUDIOMOTH_MODEL, stamp.serial)
    return device


def recorder_id(device: Device, stamp: NameStamp | None, path: Path, root: Path | None) -> str:
    """``serial:…``, else ``prefix:…`` (the name's unit or site prefix), else ``folder:…`` (relative to
    ``root`` when under it, ``.`` for ``root`` itself)."""
    if device.serial:
        return f"serial:{device.serial}"
    if stamp is not None and stamp.prefix:
        return f"prefix:{stamp.prefix}"
    folder = path.parent
    if root is not None:
        try:
            folder = folder.relative_to(root)
        except ValueError:
            pass
    return f"folder:{folder.as_posix()}"


def read_recording(path: str | os.PathLike[str], *, zone: tzinfo = DEFAULT_ZONE, root: Path | None = None,
                   override: datetime | None = None, guess_from_mtime: bool = False) -> Recording:
    """What ``path`` is as a recording, from its header, metadata and name (never its samples).

    ``zone`` reads naive times; ``root`` is the listed folder (for the ``folder:`` recorder id);
    ``override`` is the user's start for this file (naive: read in ``zone``); ``guess_from_mtime`` allows
    the labelled guess when nothing else gives a start.
    """
    p = Path(path)
    header, error = _read_header(p)
    openable = header is not None or (error or "").startswith("not a readable")  # not missing or forbidden
    meta, meta_note = _read_metadata(p) if openable else (FileMetadata(), None)
    stamp = stamp_from_name(p)
    duration = rate = channels = None
    notes: list[str] = [meta_note] if meta_note else []
    if header is not None:
        expansion = meta.time_expansion
        rate, channels = round(header.samplerate * expansion), int(header.channels)
        duration = header.frames / (header.samplerate * expansion) if header.samplerate > 0 else 0.0
        if expansion != 1.0:
            notes.append(f"time-expanded x{expansion:g} (GUANO TE): rate and duration in real time")
    found = _candidates(meta, stamp, zone, override)
    if not found and guess_from_mtime and (guess := _mtime_guess(p, duration, zone)) is not None:
        found.append((guess, None))
    candidates = [c for c, _ in found]
    if found and found[0][1]:
        notes.append(found[0][1])
    if candidates:
        notes.extend(_disagreements(candidates))
    notes.extend(meta.notes)
    device = _device(meta, stamp)
    return Recording(path=p, start=candidates[0].start if candidates else None,
                     time_source=candidates[0].source if candidates else records.NO_TIME,
                     candidates=tuple(candidates), duration_s=duration, sample_rate=rate, channels=channels,
                     device=device, location=meta.location, recorder_id=recorder_id(device, stamp, p, root),
                     notes=tuple(notes), error=error, time_expansion=meta.time_expansion)
