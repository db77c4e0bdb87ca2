"""What a recording is beyond its samples, as plain frozen records: where its start time came from, the
device, the place, and the error that kept its header from being read.

Start-time sources, in the order they are tried (the first one found wins; the others are kept as
``candidates`` so that a disagreement can be shown):

1. ``override``: a start the user gave for the file;
2. ``guano``: the ``Timestamp`` of the file's GUANO metadata;
3. ``audiomoth-comment``: the ``Recorded at ...`` comment AudioMoth writes into the WAV header;
4. a file-name pattern: ``name:audiomoth`` (``[SERIAL_]YYYYMMDD_HHMMSS[T]``), ``name:audiomoth-hex`` (old
   firmware: 8 hex digits of Unix time), ``name:songmeter`` (``PREFIX_YYYYMMDD_HHMMSS``), ``name:sm3``
   (``PREFIX_0+1_YYYYMMDD$HHMMSS``), ``name:frontier-labs`` (``YYYYMMDDTHHMMSS+HHMM``);
5. ``guess:modified-time`` only when the caller asks for it (the file's modification time less its duration,
   labelled as a guess); otherwise ``none``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from mellow.errors import MellowError

OVERRIDE = "override"
GUANO = "guano"
AUDIOMOTH_COMMENT = "audiomoth-comment"
NAME_AUDIOMOTH = "name:audiomoth"
NAME_AUDIOMOTH_HEX = "name:audiomoth-hex"
NAME_SONGMETER = "name:songmeter"
NAME_SM3 = "name:sm3"
NAME_FRONTIER_LABS = "name:frontier-labs"
GUESS_MODIFIED = "guess:modified-time"
NO_TIME = "none"

#: Every source, in the order they are tried (a file name matches at most one pattern).
TIME_SOURCES = (OVERRIDE, GUANO, AUDIOMOTH_COMMENT, NAME_AUDIOMOTH, NAME_AUDIOMOTH_HEX, NAME_SONGMETER,
                NAME_SM3, NAME_FRONTIER_LABS, GUESS_MODIFIED)
#: Two sources that differ by more than this (seconds) disagree (names and comments have whole seconds).
DISAGREEMENT_S = 1.0


class RecordingsError(MellowError):
    """A bad zone, time or override, or a folder that cannot be listed (one line a user can act on)."""


def is_name_source(source: str) -> bool:
    """True for the sources that read a file name."""
    return source.startswith("name:")


@dataclass(frozen=True)
class Device:
    """The recorder that made a file, as far as its metadata or name says (each part may be unknown)."""

    make: str | None = None
    model: str | None = None
    serial: str | None = None

    def label(self) -> str:
        """``Open Acoustic Devices AudioMoth 24F319055FDF2B55``; empty when nothing is known."""
        return " ".join(part for part in (self.make, self.model, self.serial) if part)


@dataclass(frozen=True)
class Location:
    """Where a file was recorded: WGS84 degrees (north and east positive)."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class TimeCandidate:
    """One start time a file offers: ``start`` has a fixed UTC offset (a :class:`datetime.timezone`, so that
    differences and comparisons are exact), ``source`` is one of :data:`TIME_SOURCES`."""

    start: datetime
    source: str


@dataclass(frozen=True)
class Recording:
    """One audio file of a deployment, from its header, metadata and name (never its samples).

    ``start`` is the first of ``candidates`` (None, with ``time_source == "none"``, when there is none), with
    a fixed UTC offset like every time here (``astimezone`` converts it for display in a zone);
    ``recorder_id`` groups files into one recorder's sequence: ``serial:…`` when the device serial is known,
    else ``prefix:…`` (a Song Meter or Frontier Labs name prefix), else ``folder:…`` (the folder, relative
    to the listed one).  ``error`` is why the header could not be read (then duration, rate and channels are
    None, and only the name and an override can give a start).  ``notes`` are the things a listing should
    show about the file itself (a disagreement between sources, a clock-change ambiguity, ...).
    ``time_expansion`` is GUANO's ``TE`` (1 for real-time files): a second of the file's samples is
    ``1 / time_expansion`` seconds of clock time.
    """

    path: Path
    start: datetime | None
    time_source: str
    candidates: tuple[TimeCandidate, ...]
    duration_s: float | None
    sample_rate: int | None
    channels: int | None
    device: Device
    location: Location | None
    recorder_id: str
    notes: tuple[str, ...] = ()
    error: str | None = None
    time_expansion: float = 1.0

    @property
    def end(self) -> datetime | None:
        """``start`` plus the duration; None when either is unknown."""
        if self.start is None or self.duration_s is None:
            return None
        return self.start + timedelta(seconds=self.duration_s)

    @property
    def name_start(self) -> datetime | None:
        """The start the file name gives (even when another source won), or None."""
        return next((c.start for c in self.candidates if is_name_source(c.source)), None)

    @property
    def readable(self) -> bool:
        """True when the header was read (duration, rate and channels are known)."""
        return self.error is None
