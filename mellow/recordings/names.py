"""Start times written in file names by field recorders (the stem only: ``.WAV``/``.wav`` is ignored).

==========================  =====================================  ==================================
pattern                     example                                time
==========================  =====================================  ==================================
``name:audiomoth``          ``20260501_053000.WAV``,               naive (the recorder's clock zone)
                            ``24F319055FDF2B55_20260501_053000T``
``name:audiomoth-hex``      ``5F8A2B00.WAV`` (old firmware)        Unix time, so UTC
``name:sm3``                ``SITE_0+1_20260501$053000.wav``       naive
``name:songmeter``          ``SITE_20260501_053000.wav``           naive
``name:frontier-labs``      ``20260501T053000+1000_REC.wav``       with its offset
==========================  =====================================  ==================================

AudioMoth's optional ``T`` marks a file started by a trigger; its optional prefix is the device serial
(16 hex digits).  A Song Meter's prefix is the name the unit was given (often its serial); an SM3 name
carries its channels (``0+1``).  Hex names only count when they decode to 2015-2038 (AudioMoth's years), so
that an 8-digit date such as ``20260501`` is not read as 1987.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePath

from mellow.recordings import records
from mellow.recordings.zones import offset_zone

_AUDIOMOTH = re.compile(r"^(?:(?P<serial>[0-9A-Fa-f]{16})_)?(?P<date>\d{8})_(?P<time>\d{6})T?$")
_HEX = re.compile(r"^[0-9A-Fa-f]{8}$")
_SM3 = re.compile(r"^(?P<prefix>.+?)_\d\+\d_(?P<date>\d{8})\$(?P<time>\d{6})$")
_SONGMETER = re.compile(r"^(?P<prefix>.+?)(?:_\d\+\d(?:_\d+)?)?_(?P<date>\d{8})_(?P<time>\d{6})$")
_FRONTIER = re.compile(r"^(?:(?P<prefix>.+?)_)?(?P<date>\d{8})T(?P<time>\d{6})"
                       r"(?P<sign>[+-])(?P<hours>\d{2})(?P<minutes>\d{2})(?:_.*)?$")
#: Unix times that an old AudioMoth hex name may hold: 2015-01-01 to the end of 32-bit time.
_HEX_RANGE = (1420070400, 2**31 - 1)


@dataclass(frozen=True)
class NameStamp:
    """What a file name says: ``start`` (naive unless the pattern carries a zone), the pattern (one of the
    ``name:…`` sources), and the device serial or unit/site prefix it names, if any."""

    start: datetime
    source: str
    serial: str | None = None
    prefix: str | None = None


def _wall_clock(date: str, time: str) -> datetime | None:
    """``YYYYMMDD`` + ``HHMMSS`` -> a naive time; None when it is not a real date and time."""
    try:
        return datetime(int(date[:4]), int(date[4:6]), int(date[6:]), int(time[:2]), int(time[2:4]),
                        int(time[4:]))
    except ValueError:
        return None


def _hex_stamp(stem: str) -> NameStamp | None:
    seconds = int(stem, 16)
    if not _HEX_RANGE[0] <= seconds <= _HEX_RANGE[1]:
        return None
    return NameStamp(datetime.fromtimestamp(seconds, tz=timezone.utc), records.NAME_AUDIOMOTH_HEX)


def _frontier_stamp(match: re.Match[str]) -> NameStamp | None:
    wall = _wall_clock(match["date"], match["time"])
    if wall is None or int(match["hours"]) >= 24 or int(match["minutes"]) >= 60:
        return None
    zone = offset_zone(match["sign"], int(match["hours"]), int(match["minutes"]))
    return NameStamp(wall.replace(tzinfo=zone), records.NAME_FRONTIER_LABS, prefix=match["prefix"])


def stamp_from_name(path: str | PurePath) -> NameStamp | None:
    """The start time a recorder wrote into the file's name, or None when no pattern matches."""
    stem = PurePath(path).stem
    if _HEX.match(stem):
        return _hex_stamp(stem)
    match = _AUDIOMOTH.match(stem)
    if match:
        wall = _wall_clock(match["date"], match["time"])
        serial = match["serial"].upper() if match["serial"] else None
        return NameStamp(wall, records.NAME_AUDIOMOTH, serial=serial) if wall else None
    match = _FRONTIER.match(stem)
    if match:
        return _frontier_stamp(match)
    for pattern, source in ((_SM3, records.NAME_SM3), (_SONGMETER, records.NAME_SONGMETER)):
        match = pattern.match(stem)
        if match:
            wall = _wall_clock(match["date"], match["time"])
            return NameStamp(wall, source, prefix=match["prefix"]) if wall else None
    return None
