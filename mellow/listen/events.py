"""What a listener tells whoever drives it (``mellow listen``, the window): events as they happen and a status
snapshot to poll.  Both are plain data, safe to hand to another thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mellow.listen.rows import ListenRow

#: Event kinds.  "row": every answered window and question; "detection": a row that fired the hits rule
#: (also sent as "row"); "clip": a clip was closed; "device-lost", "device-retry", "device-back": the input
#: went away, is still away (a new reason), came back; "skipped": windows skipped because answering fell
#: behind; "lost": windows the input never completed (a gap, the end); "unreadable": a window could not be
#: answered; "silence", "sound-back": the dead-microphone watchdog; "disk": a write failed (disk full);
#: "removed": kept audio removed by the disk limit; "limit": the limit is reached with only protected files
#: left; "alert": an --on-detect command failed; "repaired": what a crash left was repaired; "started",
#: "ended", "error".
KINDS = ("row", "detection", "clip", "device-lost", "device-retry", "device-back", "skipped", "lost",
         "unreadable", "silence", "sound-back", "disk", "removed", "limit", "alert", "repaired", "started",
         "ended", "error")


@dataclass(frozen=True)
class ListenEvent:
    """One thing that happened: ``kind`` (:data:`KINDS`), a one-line ``text``, the clock time ``at`` (ISO
    8601), the ``row`` for "row"/"detection", and ``details`` (counts, file names)."""

    kind: str
    text: str
    at: str
    row: ListenRow | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ListenStatus:
    """A snapshot for a display timer (cheap: no disk, no model).

    ``state``: "idle", "listening", "device-lost", "stopping", "finished" or "failed".  ``heard_s``: seconds
    of input so far; ``level``: the peak (linear, 0..1) of the last 0.15 s; ``answered``/``skipped``/``lost``:
    windows; ``lag_s``: how far the last answered window's end is behind the live input; ``load``: the share
    of real time answering takes (compute time per window / hop; above 1 the listener cannot keep up);
    ``latency_s``: from a window's last sample to its row, last window; ``silent_s``: how long the input has
    been silent; ``message``: the latest notice; ``error``: why it failed.
    """

    state: str
    source: str = ""
    session: str = ""
    heard_s: float = 0.0
    level: float = 0.0
    answered: int = 0
    skipped: int = 0
    lost: int = 0
    detections: int = 0
    clips: int = 0
    lag_s: float = 0.0
    load: float = 0.0
    latency_s: float | None = None
    silent_s: float = 0.0
    message: str = ""
    error: str | None = None
