"""The one scan driver: whole batches of answered windows with one progress object and one rule for windows
that cannot be read.  ``mellow scan`` (output files), the window (the history database) and live listening
are sinks over it: they store :attr:`ScanBatch.answered` and report :attr:`ScanBatch.failed`.

The rule for an unreadable window: it is reported (each time, with the reason) and not stored as answered, so
the next run or Resume asks it again.  The runner may be the local :class:`~mellow.scan.runner.ScanRunner` or
the Ray runner: anything with ``batches(windows, cancel)`` yielding lists of
:class:`~mellow.scan.types.WindowResult` in window order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mellow.scan.types import FileProblem, Window, WindowResult
from mellow.timefmt import format_seconds

Indexed = tuple[int, WindowResult]


class BatchRunner(Protocol):
    """What the driver needs of a runner."""

    def batches(self, windows: Iterable[Window],
                cancel: threading.Event | None = None) -> Iterator[list[WindowResult]]: ...


@dataclass(frozen=True)
class ScanProgress:
    """Windows ``done`` of ``total`` (earlier runs' included); rates over this run's windows only."""

    done: int
    total: int
    elapsed_s: float
    windows_per_s: float
    realtime_factor: float  # seconds of recording per wall-clock second
    eta_s: float  # NaN until a rate is known
    failed: int = 0  # windows of this run that could not be read

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def rates(self) -> str:
        """``"3.20 windows/s · 32.0× real time · ETA 3:07.5"`` ("" until a rate is known)."""
        if self.windows_per_s <= 0:
            return ""
        return (f"{self.windows_per_s:.2f} windows/s · {self.realtime_factor:.1f}× real time · "
                f"ETA {format_seconds(self.eta_s)}")

    def text(self) -> str:
        """``"120 of 720 windows · 3.20 windows/s · 32.0× real time · ETA 3:07.5"`` (and the unreadable)."""
        parts = [f"{self.done} of {self.total} windows", self.rates()]
        if self.failed:
            parts.append(f"{self.failed} unreadable")
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class ScanBatch:
    """One batch: (plan index, result) of the windows answered and of those that could not be read (their
    ``error`` says why), and the progress after it."""

    answered: tuple[Indexed, ...]
    failed: tuple[Indexed, ...]
    progress: ScanProgress


@dataclass
class ScanDriver:
    """Drive ``runner`` over ``todo`` ((plan index, window) pairs, in plan order) of a scan of ``total``
    windows (default: ``len(todo)``), each covering ``audio_per_window_s`` seconds of recording on average
    (for the real-time factor).  Iterate :meth:`batches`; afterwards :attr:`answered`, :attr:`failed`,
    :attr:`problems` (one per file: its first reason), :attr:`cancelled` and :attr:`elapsed_s` tell how it
    went."""

    runner: BatchRunner
    todo: Sequence[tuple[int, Window]]
    total: int | None = None
    audio_per_window_s: float = 10.0
    answered: int = 0
    failed: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0

    def batches(self, cancel: threading.Event | None = None) -> Iterator[ScanBatch]:
        """Answer the windows batch by batch (``cancel`` is checked between batches; a batch is never cut)."""
        total = len(self.todo) if self.total is None else self.total
        already = total - len(self.todo)
        index = {w: i for i, w in self.todo}
        t0 = time.monotonic()
        processed = 0
        for results in self.runner.batches([w for _, w in self.todo], cancel):
            good = tuple((index[r.window], r) for r in results if r.error is None)
            bad = tuple((index[r.window], r) for r in results if r.error is not None)
            processed += len(results)
            self.answered += len(good)
            self.failed += len(bad)
            self._note_problems(bad)
            self.elapsed_s = time.monotonic() - t0
            yield ScanBatch(good, bad, self._progress(already + processed, total, processed))
        self.elapsed_s = time.monotonic() - t0
        self.cancelled = processed < len(self.todo)

    def _note_problems(self, bad: Sequence[Indexed]) -> None:
        seen = {p.file for p in self.problems}
        for _, r in bad:
            if r.window.file not in seen:
                seen.add(r.window.file)
                self.problems.append(FileProblem(Path(r.window.file), str(r.error)))

    def _progress(self, done: int, total: int, new: int) -> ScanProgress:
        elapsed = self.elapsed_s
        rate = new / elapsed if elapsed > 0 and new else 0.0
        eta = (total - done) / rate if rate else float("nan")
        return ScanProgress(done, total, elapsed, rate, rate * self.audio_per_window_s, eta, self.failed)

    @property
    def realtime_factor(self) -> float:
        """Seconds of recording answered per wall-clock second over the whole run."""
        return self.answered * self.audio_per_window_s / max(self.elapsed_s, 1e-9)
