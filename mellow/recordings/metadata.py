"""What a WAV file's metadata says about its recording: GUANO (parsed by the ``guano`` package, the format's
reference implementation) and the AudioMoth comment and artist entries.

GUANO keys used: ``Timestamp`` (ISO 8601; without an offset it is local time, read by the caller in its
zone), ``Loc Position`` (latitude and longitude), ``Make``, ``Model``, ``Serial`` and ``TE`` (time
expansion: the header's rate is the real one divided by it).  The guano package is given the ``guan`` chunk
that :mod:`mellow.recordings.riff` found, so the file is walked once and never read past its headers (its
own ``GuanoFile(path)`` opens the file with the :mod:`wave` module, which refuses float and some other WAVs).

AudioMoth comments (the ``ICMT`` entry) start ``Recorded at HH:MM:SS DD/MM/YYYY`` followed, since firmware
1.0.1, by the zone in parentheses: ``(UTC)``, ``(UTC+10)``, ``(UTC-5)``, ``(UTC+5:30)``; then ``by AudioMoth
<serial>`` or (firmware 1.6 and later) ``during deployment <id>``, when the serial is only in the ``IART``
entry (``AudioMoth <serial>``).  The rest of the wording (gain, battery, temperature, filters) varies with
the firmware and is not needed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from guano import GuanoFile

from mellow.errors import one_line
from mellow.recordings import records
from mellow.recordings.records import Device, Location
from mellow.recordings.riff import RiffMetadata
from mellow.recordings.zones import fixed_zone, offset_zone

AUDIOMOTH_MAKE = "Open Acoustic Devices"
AUDIOMOTH_MODEL = "AudioMoth"

_COMMENT_TIME = re.compile(r"Recorded at (\d{2}):(\d{2}):(\d{2}) (\d{2})/(\d{2})/(\d{4})"
                           r"(?: \(UTC(?:([+-])(\d{1,2})(?::?(\d{2}))?)?\))?")
_AUDIOMOTH_SERIAL = re.compile(r"AudioMoth ([0-9A-Fa-f]{16})\b")


@dataclass(frozen=True)
class MetadataStart:
    """A start time found in metadata: ``start`` is naive when the metadata gives no zone."""

    start: datetime
    source: str


@dataclass(frozen=True)
class FileMetadata:
    """The metadata of one file: starts (GUANO before the AudioMoth comment), device, place, notes."""

    starts: tuple[MetadataStart, ...] = ()
    device: Device = Device()
    location: Location | None = None
    time_expansion: float = 1.0
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------------- GUANO
def _guano_timestamp(value: object) -> datetime | None:
    """The guano package's Timestamp (a datetime, or the raw text when its own parser gave up) -> a datetime
    whose zone, if any, is a plain fixed offset."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is None else value.replace(tzinfo=fixed_zone(value))


def _guano_location(value: object) -> Location | None:
    if isinstance(value, str):
        try:
            value = tuple(float(v) for v in value.replace(",", " ").split())
        except ValueError:
            return None
    if not isinstance(value, tuple) or len(value) != 2:
        return None
    lat, lon = float(value[0]), float(value[1])
    return Location(lat, lon) if -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 else None


def _guano_text(g: object, key: str) -> str | None:
    value = g.get(key)  # type: ignore[attr-defined]
    text = str(value).strip() if value is not None else ""
    return text or None


def read_guano(raw: bytes) -> FileMetadata:
    """The start, device, place and time expansion of a ``guan`` chunk's text."""
    try:
        g = GuanoFile.from_string(raw.decode("utf-8", errors="replace"))
    except (ValueError, TypeError) as exc:
        return FileMetadata(notes=(f"GUANO metadata not understood ({one_line(exc)})",))
    notes: list[str] = []
    starts: tuple[MetadataStart, ...] = ()
    if "Timestamp" in g:
        start = _guano_timestamp(g["Timestamp"])
        if start is None:
            notes.append(f"GUANO Timestamp not understood: {one_line(g['Timestamp'], 40)!r}")
        else:
            starts = (MetadataStart(start, records.GUANO),)
    location = _guano_location(g["Loc Position"]) if "Loc Position" in g else None
    if "Loc Position" in g and location is None:
        notes.append(f"GUANO Loc Position not understood: {one_line(g['Loc Position'], 40)!r}")
    te = g.get("TE", 1)
    expansion = float(te) if isinstance(te, int | float) and te >= 1 else 1.0
    device = Device(_guano_text(g, "Make"), _guano_text(g, "Model"), _guano_text(g, "Serial"))
    return FileMetadata(starts, device, location, expansion, tuple(notes))


# ----------------------------------------------------------------------------------------------- AudioMoth
def audiomoth_comment_start(comment: str) -> datetime | None:
    """The ``Recorded at ...`` time of an AudioMoth comment (aware when the comment names the zone)."""
    match = _COMMENT_TIME.search(comment)
    if match is None:
        return None
    hh, mm, ss, day, month, year, sign, zone_h, zone_m = match.groups()
    try:
        start = datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss))
    except ValueError:
        return None
    if match.group(0).endswith("(UTC)"):
        return start.replace(tzinfo=timezone.utc)
    if sign is None:
        return start  # firmware 1.0: no zone written
    try:
        return start.replace(tzinfo=offset_zone(sign, int(zone_h), int(zone_m or 0)))
    except records.RecordingsError:
        return None


def read_audiomoth(info: dict[str, str]) -> FileMetadata:
    """The start and device an AudioMoth wrote into the ``ICMT`` and ``IART`` entries (nothing for others)."""
    comment, artist = info.get("ICMT", ""), info.get("IART", "")
    start = audiomoth_comment_start(comment) if comment else None
    serial_match = _AUDIOMOTH_SERIAL.search(f"{comment} {artist}") if comment or artist else None
    is_audiomoth = serial_match is not None or "AudioMoth" in comment or artist.startswith("AudioMoth")
    if not is_audiomoth and start is None:
        return FileMetadata()
    notes = () if start is not None or not comment else ("AudioMoth comment has no readable time",)
    device = Device(AUDIOMOTH_MAKE, AUDIOMOTH_MODEL, serial_match.group(1).upper() if serial_match else None)
    starts = (MetadataStart(start, records.AUDIOMOTH_COMMENT),) if start is not None else ()
    return FileMetadata(starts, device if is_audiomoth else Device(), None, 1.0, notes)


# ---------------------------------------------------------------------------------------------- combined
def _merge_devices(first: Device, second: Device) -> Device:
    """``first``'s parts, each missing one filled from ``second``."""
    return Device(first.make or second.make, first.model or second.model, first.serial or second.serial)


def file_metadata(riff: RiffMetadata | None) -> FileMetadata:
    """Everything the metadata chunks of one file say; GUANO first, then the AudioMoth entries."""
    if riff is None:
        return FileMetadata()
    guano = read_guano(riff.guano) if riff.guano else FileMetadata()
    moth = read_audiomoth(riff.info)
    return FileMetadata(starts=guano.starts + moth.starts, device=_merge_devices(guano.device, moth.device),
                        location=guano.location, time_expansion=guano.time_expansion,
                        notes=guano.notes + moth.notes)
