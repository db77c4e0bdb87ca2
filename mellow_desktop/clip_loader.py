"""Background jobs that read audio files for the clip panels, so the GUI thread never waits on a file.

Each job runs on the global QThreadPool and reports through a :class:`JobSignals` object that lives in the GUI
thread (so its signals arrive there, queued). Every job carries a ``ticket``: the panel only accepts results
whose ticket matches its latest request, so a slow, outdated job can never overwrite a newer clip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from mellow.audio import AudioInfo, audio_info, clip_content_hash
from mellow.errors import MellowError
from mellow.measurements import Measurements, measure_file
from mellow_desktop.core.clip_analysis import Trace, WindowAnalysis, analyse_window, trace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenedClip:
    """Everything needed to draw a newly opened file."""

    path: Path
    info: AudioInfo
    overview: Trace
    window: WindowAnalysis


class JobSignals(QObject):
    """Results of a job: ``done(ticket, result)`` or ``failed(ticket, message)``."""

    done = Signal(int, object)
    failed = Signal(int, str)


class _Job(QRunnable):
    """Runs ``work()`` on a pool thread and emits its result; user errors become one-line messages."""

    def __init__(self, ticket: int, signals: JobSignals, work: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._ticket, self._signals, self._work = ticket, signals, work

    def run(self) -> None:
        try:
            result = self._work()
        except MellowError as exc:
            self._signals.failed.emit(self._ticket, str(exc))
        except MemoryError:
            self._signals.failed.emit(self._ticket, "not enough memory to read this file")
        except Exception as exc:  # a decoder bug must not kill the app: report it like a bad file
            log.exception("reading audio failed")
            self._signals.failed.emit(self._ticket, f"could not read the file ({type(exc).__name__}: {exc})")
        else:
            self._signals.done.emit(self._ticket, result)


def open_clip(path: Path) -> OpenedClip:
    """Header, overview envelope and first 10 s window of ``path`` (MellowError when unreadable)."""
    info = audio_info(path)
    if info.frames <= 0 or info.sample_rate <= 0:
        raise MellowError(f"{path.name} contains no audio samples")
    overview = trace(info)
    window = analyse_window(info, 0.0)
    return OpenedClip(path=Path(path), info=info, overview=overview, window=window)


@dataclass(frozen=True)
class ClipFacts:
    """Slow facts computed after a clip is drawn: whole-file measurements and the content hash."""

    measurements: Measurements
    content_hash: str


def clip_facts(path: Path) -> ClipFacts:
    """Measure the whole file (streamed) and hash its bytes."""
    return ClipFacts(measurements=measure_file(path), content_hash=clip_content_hash(path))


class ClipJobs(QObject):
    """Starts the jobs one clip panel needs and routes their results to its callbacks."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.opened = JobSignals(self)
        self.facts = JobSignals(self)
        self.window = JobSignals(self)
        self.detail = JobSignals(self)
        self.segment = JobSignals(self)
        self._pool = QThreadPool.globalInstance()

    def _start(self, signals: JobSignals, ticket: int, work: Callable[[], Any]) -> None:
        self._pool.start(_Job(ticket, signals, work))

    def open(self, ticket: int, path: Path) -> None:
        self._start(self.opened, ticket, lambda: open_clip(path))

    def measure(self, ticket: int, path: Path) -> None:
        self._start(self.facts, ticket, lambda: clip_facts(path))

    def analyse_window(self, ticket: int, info: AudioInfo, start_s: float) -> None:
        self._start(self.window, ticket, lambda: analyse_window(info, start_s))

    def read_segment(self, ticket: int, path: Path, start_s: float, max_s: float) -> None:
        self._start(self.segment, ticket, lambda: read_segment(path, start_s, max_s))

    def detail_trace(self, ticket: int, info: AudioInfo, start: int, stop: int, n_bins: int) -> None:
        self._start(self.detail, ticket, lambda: trace(info, start, stop, n_bins))


@dataclass(frozen=True)
class PlaybackSegment:
    """Samples to play: (frames, channels) float32 starting ``start_s`` into the file."""

    data: Any
    sample_rate: int
    start_s: float


def read_segment(path: Path, start_s: float, max_s: float) -> PlaybackSegment:
    """Read at most ``max_s`` seconds of ``path`` from ``start_s`` (for playback)."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            rate = int(f.samplerate)
            first = min(int(start_s * rate), max(0, f.frames - 1))
            f.seek(first)
            data = f.read(int(max_s * rate), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise MellowError(f"cannot play {path.name}: {' '.join(str(exc).split())}") from None
    return PlaybackSegment(data=data, sample_rate=rate, start_s=first / rate)


def wait_for_jobs(msecs: int = 10000) -> bool:
    """Wait for every pooled job to finish (used when the window closes)."""
    return QThreadPool.globalInstance().waitForDone(msecs)
