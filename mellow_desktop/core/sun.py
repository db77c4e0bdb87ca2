"""Sunrise and sunset for an activity chart (computed by ``astral``): where on each of the chart's rows the
sun rises and sets, for a deployment whose place is known (GUANO ``Loc Position``, or typed by the user).

Times are the sun's upper limb crossing the horizon with standard refraction (astral's definition).  A day
when the sun never rises or never sets (polar day or night) has no mark.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from astral import Observer
from astral.sun import sunrise, sunset

from mellow.recordings import Location, Recording
from mellow_desktop.core.activity import GridRow


@dataclass(frozen=True)
class SunMark:
    """``kind`` "sunrise" or "sunset" at ``when`` (in the chart's zone), ``hours`` after the row's start."""

    kind: str
    when: datetime
    hours: float


def deployment_location(recordings: Iterable[Recording]) -> Location | None:
    """The place of the first recording whose metadata gives one (GUANO ``Loc Position``), or None."""
    return next((r.location for r in recordings if r.location is not None), None)


def _event(kind: str, observer: Observer, day: date, zone: tzinfo) -> datetime | None:
    try:
        return (sunrise if kind == "sunrise" else sunset)(observer, day, tzinfo=zone)
    except ValueError:  # the sun stays above or below the horizon all day
        return None


def sun_marks(row: GridRow, location: Location, zone: tzinfo) -> list[SunMark]:
    """The sunrises and sunsets that fall within ``row`` (a day, or a noon-to-noon night), in time order;
    ``hours`` counts wall-clock hours from the row's first hour (0 to 24)."""
    first_day, first_hour = row.keys[0]
    start = datetime.combine(first_day, time(first_hour))
    observer = Observer(location.latitude, location.longitude)
    marks = []
    for day in sorted({first_day, row.keys[-1][0]}):
        for kind in ("sunrise", "sunset"):
            when = _event(kind, observer, day, zone)
            if when is None:
                continue
            local = when.astimezone(zone)
            if local.date() != day:
                continue  # astral's event for this date fell on a neighbouring date in this zone
            hours = (local.replace(tzinfo=None) - start).total_seconds() / 3600.0
            if 0.0 <= hours <= 24.0:
                marks.append(SunMark(kind, local, hours))
    return sorted(marks, key=lambda m: m.hours)
