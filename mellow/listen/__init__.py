"""Live listening: ask an input (a microphone, or a file played in real time) every few seconds, keep the
audio around what matters, lose nothing (no Qt).

- :mod:`~mellow.listen.sources` — :class:`DeviceSource` (PortAudio; a lost device is retried) and
  :class:`FileSource` (``--input FILE``, ``--speed N``);
- :mod:`~mellow.listen.ring` — the ring buffer at the input's rate, with absolute frame positions;
- :mod:`~mellow.listen.windows` — which windows are due (skipped ones counted) and the hits rule;
- :mod:`~mellow.listen.answering` — the questions asked through the scan driver and runner;
- :mod:`~mellow.listen.judging` — answers to rows, detections, clip claims;
- :mod:`~mellow.listen.keeping` — clips and the stream, written crash-safely; the privacy gate;
- :mod:`~mellow.listen.retention`, :mod:`~mellow.listen.alerts` — the disk limit, ``--on-detect``;
- :mod:`~mellow.listen.session`, :mod:`~mellow.listen.rows` — the session folder, its rows, repair;
- :mod:`~mellow.listen.listener` — :class:`Listener`, which runs them (``start``, ``status``, ``events``,
  ``stop``).
"""

from mellow.listen.events import ListenEvent, ListenStatus
from mellow.listen.listener import Listener
from mellow.listen.rows import ListenRow
from mellow.listen.session import read_events, read_rows, repair_sessions, session_dirs
from mellow.listen.settings import DiskLimit, ListenSettings, ListenSetupError, default_folder
from mellow.listen.sources import DeviceSource, FileSource, SourceError

__all__ = [
    "DeviceSource", "DiskLimit", "FileSource", "ListenEvent", "ListenRow", "ListenSettings",
    "ListenSetupError", "ListenStatus", "Listener", "SourceError", "default_folder", "read_events",
    "read_rows", "repair_sessions", "session_dirs",
]
