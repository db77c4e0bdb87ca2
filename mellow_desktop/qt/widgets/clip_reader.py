"""Reading one clip slot's file in the background: open, measure, analyse a window, a finer waveform.

The work comes from :mod:`mellow_desktop.core.clip_io` and :mod:`mellow_desktop.core.clip_analysis` and runs
on a :class:`~mellow_desktop.qt.jobs.JobRunner`. Every request carries the reader's current ticket, and only
results of the current ticket are emitted, so a slow, outdated job never overwrites a newer clip;
:meth:`ClipReader.invalidate` (a new clip, a swap, a clear) makes every running job outdated.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from mellow.audio import AudioInfo
from mellow_desktop.core.clip_analysis import analyse_window, trace
from mellow_desktop.core.clip_io import clip_facts, open_clip
from mellow_desktop.qt.jobs import JobRunner

READING, MEASURING = "reading the file", "measuring the file"


class ClipReader(QObject):
    """Background reads for one clip slot; results arrive as signals on the GUI thread."""

    opened = Signal(object)  # OpenedClip
    open_failed = Signal(object, str)  # the Path being opened (None for a window), one-line message
    measured = Signal(object)  # ClipFacts
    measure_failed = Signal(str)
    window_ready = Signal(object)  # WindowAnalysis
    detail_ready = Signal(object)  # Trace

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = JobRunner(self)
        self._ticket = 0
        self._window_ticket = 0
        self.loading: Path | None = None  # the file being opened, if any

    def invalidate(self) -> None:
        """Forget every running request (their results will not be emitted)."""
        self._ticket += 1
        self.loading = None

    def _run(self, work: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[int, str], None],
             doing: str = READING) -> None:
        ticket = self._ticket

        def on_done(result: Any) -> None:
            if ticket == self._ticket:
                done(result)

        self._jobs.submit(work, on_done, lambda message: failed(ticket, message), doing)

    def open(self, path: Path) -> None:
        """Read the header, overview and first window of ``path``."""
        self.invalidate()
        self.loading = path
        self._run(lambda: open_clip(path), self._opened, self._failed)

    def _opened(self, opened: Any) -> None:
        self.loading = None
        self.opened.emit(opened)
        self._run(lambda: clip_facts(opened.path), self.measured.emit, self._measure_failed, MEASURING)

    def _failed(self, ticket: int, message: str) -> None:
        if ticket in (self._ticket, self._window_ticket):
            path, self.loading = self.loading, None
            self.open_failed.emit(path, message)

    def _measure_failed(self, ticket: int, message: str) -> None:
        if ticket == self._ticket:
            self.measure_failed.emit(message)

    def analyse(self, info: AudioInfo, start_s: float) -> None:
        """The spectrograms of the window at ``start_s``."""
        self._window_ticket = self._ticket
        self._run(lambda: analyse_window(info, start_s), self.window_ready.emit, self._failed)

    def detail(self, info: AudioInfo, first: int, last: int, n_bins: int) -> None:
        """A finer waveform of frames ``[first, last)``."""
        self._run(lambda: trace(info, first, last, n_bins), self.detail_ready.emit, lambda _t, _m: None)
