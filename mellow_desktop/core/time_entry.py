"""The start field: times typed as ``h:mm:ss(.s)``, ``m:ss(.s)`` or seconds ("75", "1:15", "0:01:15.5").

Shown back with :func:`mellow.timefmt.format_seconds` (the one formatter), which this parser reads too.
"""

from __future__ import annotations

import math
import re

from mellow.errors import MellowError
from mellow.timefmt import format_seconds

__all__ = ["TimeEntryError", "format_seconds", "parse_time"]

_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_SECONDS = re.compile(rf"^(?:{_NUMBER})(?:\s*s)?$")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")


class TimeEntryError(MellowError, ValueError):
    """A typed time that cannot be read or lies outside the file (one line, for the field's tooltip)."""


def parse_time(text: str, duration_s: float | None = None) -> float:
    """Seconds from a typed time; raises :class:`TimeEntryError` with a one-line reason.

    Accepted: seconds ("75", "75.5", "12 s"), ``m:ss(.s)`` ("1:15", "1:15.5") and ``h:mm:ss(.s)``
    ("0:01:15.5"); minutes and seconds after a colon must be below 60.  With ``duration_s`` the time must
    lie within the file.
    """
    raw = " ".join(str(text).split())
    if not raw:
        raise TimeEntryError("type a time: seconds (75), m:ss (1:15) or h:mm:ss (0:01:15.5)")
    if _SECONDS.match(raw):
        value = float(raw.removesuffix("s").strip())
    else:
        value = _clock(raw)
    if not math.isfinite(value):
        raise TimeEntryError(f"{raw!r} is not a time")
    if duration_s is not None and value > duration_s:
        raise TimeEntryError(f"{format_seconds(value)} is past the end of the file "
                             f"({format_seconds(duration_s)})")
    return value


def _clock(raw: str) -> float:
    m = _CLOCK.match(raw)
    if m is None:
        raise TimeEntryError(f"{raw!r} is not a time: use seconds (75), m:ss (1:15) or h:mm:ss (0:01:15.5)")
    hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), float(m.group(3))
    if seconds >= 60:
        raise TimeEntryError(f"{raw!r}: the seconds after a colon must be below 60")
    if m.group(1) is not None and minutes >= 60:
        raise TimeEntryError(f"{raw!r}: the minutes of h:mm:ss must be below 60")
    return hours * 3600.0 + minutes * 60.0 + seconds
