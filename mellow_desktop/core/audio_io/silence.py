"""Telling the user that a recording heard nothing: its peak stayed below :data:`SILENT_PEAK_DBFS`. No Qt.

A muted or disconnected microphone, or a source that delivers digital zeros, records a file that looks fine
but holds silence; the notice names the input device so that the user knows which one to check.

* :func:`silent_input_notice` — from a peak level (dBFS), e.g. the whole-file measurement of a finished
  recording (``Measurements.peak_dbfs``, which the clip loader computes anyway);
* :func:`recording_silence_notice` — the same, measuring a file itself (streamed);
* :class:`SilenceWatch` — while recording, from the polled :class:`~.recorder.RecorderStatus` levels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mellow.audio_io.devices import AudioUnavailable, resolve_device
from mellow.audio_io.levels import SILENT_PEAK_DBFS, is_silent, to_dbfs
from mellow_desktop.core.measurements import format_db, measure_file

WATCH_AFTER_S = 2.0
""":class:`SilenceWatch` speaks only after this many seconds of recording (devices start with zeros)."""


def input_device_name(device: int | str | None) -> str:
    """The name of the input ``device`` (index, name or None = default), or a readable stand-in."""
    try:
        return resolve_device(device, "input").name
    except AudioUnavailable:
        return "the default input" if device is None else str(device)


def silent_input_notice(peak_dbfs: float, device_name: str) -> str | None:
    """A one-line notice when ``peak_dbfs`` is silent, naming the input device; None when sound came in."""
    if not is_silent(peak_dbfs):
        return None
    return (
        f"The input was silent: the recording from “{device_name}” peaks at {format_db(peak_dbfs)} "
        f"(below {SILENT_PEAK_DBFS:.0f} dBFS). Check that this input is connected, not muted and the one "
        f"chosen in Settings."
    )


def recording_silence_notice(path: str | os.PathLike[str], device_name: str) -> str | None:
    """:func:`silent_input_notice` for the file at ``path``, measured whole (raises ``AudioError``)."""
    return silent_input_notice(measure_file(path).peak_dbfs, device_name)


@dataclass
class SilenceWatch:
    """The loudest level seen in a running recording, from the recorder's polled statuses.

    Feed every ``RecorderStatus`` (``level`` linear 0..1, ``elapsed_s``) to :meth:`update`; poll faster than
    the recorder's 0.15 s level window so that no block goes unseen.
    """

    device_name: str
    peak: float = 0.0
    elapsed_s: float = 0.0

    def update(self, level: float, elapsed_s: float) -> str | None:
        """Take one polled level; returns the notice once :data:`WATCH_AFTER_S` of silence has passed."""
        self.peak = max(self.peak, float(level))
        self.elapsed_s = max(self.elapsed_s, float(elapsed_s))
        return self.notice()

    @property
    def peak_dbfs(self) -> float:
        """The loudest level so far in dBFS (``-inf`` while only zeros came in)."""
        return to_dbfs(self.peak)

    def notice(self) -> str | None:
        """The silent-input notice when the recording has run long enough and stayed silent, else None."""
        if self.elapsed_s < WATCH_AFTER_S:
            return None
        return silent_input_notice(self.peak_dbfs, self.device_name)
