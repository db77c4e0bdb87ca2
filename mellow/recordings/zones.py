"""Time zones for recording start times: parsing a zone a user names, reading a naive time in a zone, and
writing an absolute time as ISO 8601 with its offset.

A zone is a :class:`datetime.tzinfo`: an IANA name (``Europe/Berlin``, read with :mod:`zoneinfo`, so clock
changes are followed) or a fixed offset (``+05:30``, ``-0700``, ``+10``, ``UTC``, ``Z``).  A naive local time
that a clock change makes ambiguous (it occurs twice) is read as its first occurrence; one that the change
skips (it never occurs) is read with the offset in force before the change.  Both cases come back with a
note, so that a listing can say so.

Times read here carry a fixed offset (a :class:`datetime.timezone`), never the IANA zone itself: Python
subtracts and compares two datetimes that share a ``ZoneInfo`` by their wall clocks, which is wrong across a
clock change; with fixed offsets every difference and comparison is exact.  Convert with ``astimezone``
for display in a zone.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mellow.recordings.records import RecordingsError

#: What ``--timezone`` defaults to: UTC, the zone AudioMoth recorders keep unless configured otherwise.
DEFAULT_ZONE: tzinfo = timezone.utc

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def offset_zone(sign: str, hours: int, minutes: int = 0) -> timezone:
    """The fixed zone ``sign hours:minutes`` (``timezone.utc`` for zero); RecordingsError past ±24 h."""
    if minutes >= 60 or hours * 60 + minutes >= 24 * 60:
        raise RecordingsError(f"not a UTC offset: {sign}{hours:02d}:{minutes:02d}")
    delta = timedelta(hours=hours, minutes=minutes)
    if not delta:
        return timezone.utc
    return timezone(-delta if sign == "-" else delta)


def parse_zone(text: str) -> tzinfo:
    """``UTC``/``Z``, ``±HH:MM``/``±HHMM``/``±HH`` (optionally after ``UTC``) or an IANA name -> a zone."""
    name = text.strip()
    if name.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    match = _OFFSET.match(name)
    if match:
        return offset_zone(match.group(1), int(match.group(2)), int(match.group(3) or 0))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RecordingsError(f"unknown time zone {text!r}: give an IANA name such as Europe/Berlin "
                              "or an offset such as +05:30") from None


def zone_name(zone: tzinfo) -> str:
    """How a zone is named in messages: the IANA key, ``UTC`` or ``UTC+05:30``."""
    key = getattr(zone, "key", None)
    if key:
        return str(key)
    offset = zone.utcoffset(None)
    if offset is None or not offset:
        return "UTC"
    return "UTC" + _format_offset(offset)


def _format_offset(offset: timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def with_fixed_offset(moment: datetime) -> datetime:
    """The same instant and wall clock, the zone replaced by its fixed UTC offset (see the module doc)."""
    return moment.replace(tzinfo=fixed_zone(moment), fold=0)


def localize(naive: datetime, zone: tzinfo) -> tuple[datetime, str | None]:
    """Read the wall-clock time ``naive`` in ``zone``: (the time, with its fixed offset; a note or None).

    The note says when a clock change made the time ambiguous or skipped it (see the module docstring).
    """
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return with_fixed_offset(first), None
    wall = naive.isoformat(sep=" ", timespec="seconds")
    # A skipped time does not survive the round trip through UTC; an ambiguous one does.
    if first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) != naive:
        return with_fixed_offset(first), (f"{wall} does not exist in {zone_name(zone)} (clock change); "
                       f"read with offset {_format_offset(first.utcoffset() or timedelta())}")
    return with_fixed_offset(first), (f"{wall} occurs twice in {zone_name(zone)} (clock change); "
                   f"read as the first ({_format_offset(first.utcoffset() or timedelta())})")


def fixed_zone(moment: datetime) -> tzinfo:
    """The fixed offset of an aware time, as a plain :class:`datetime.timezone` (UTC when zero)."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("naive time has no offset")
    return timezone.utc if not offset else timezone(offset)


def parse_iso_time(text: str, zone: tzinfo) -> datetime:
    """An ISO 8601 time (``2026-05-01T05:30:00+10:00``, ``2026-05-01 05:30``, ``...Z``); a naive one is read
    in ``zone``.  Raises RecordingsError on anything else."""
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1:] in ("Z", "z") else raw)
    except ValueError:
        raise RecordingsError(f"not an ISO 8601 time: {text!r} (e.g. 2026-05-01T05:30:00+10:00)") from None
    if moment.tzinfo is None:
        return localize(moment, zone)[0]
    return with_fixed_offset(moment)


def iso(moment: datetime) -> str:
    """ISO 8601 with the offset: whole seconds, or milliseconds when the time has a fraction of a second."""
    if moment.tzinfo is None:
        raise ValueError("an absolute time must carry its offset")
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
