"""The one scan driver: whole batches of answered windows with one progress object and one rule for windows
that cannot be read.  ``mellow scan`` (output files), the window (the history database) and live listening
are sinks over it: they store :attr:`ScanBatch.answered` and report :attr:`ScanBatch.failed`.

The unit of work is the answer: one (window, question) pair.  A scan of one question has one answer per
window (so its progress reads "120 of 720 windows"); a question set has one per window and question ("960 of
5760 answers").  ``asks`` names the questions still to ask of some windows (resuming pair by pair; see
:func:`mellow.scan.keys.missing_asks`).  Rates (windows/s, the real-time factor) count windows.

The rule for an unreadable window: it is reported (each time, with the reason) and not stored as answered, so
the next run or Resume asks it again.  The runner may be the local :class:`~mellow.scan.runner.ScanRunner` or
the Ray runner: anything with ``questions`` and ``batches(windows, cancel, asks)`` yielding lists of
:class:`~mellow.scan.types.WindowResult` (one per window and question asked) in window order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mellow.scan.questions import QuestionSet
from mellow.scan.types import FileProblem, Window, WindowResult
from mellow.timefmt import format_seconds

Indexed = tuple[int, WindowResult]


class BatchRunner(Protocol):
    """What the driver needs of a runner."""

    questions: QuestionSet

    def batches(self, windows: Iterable[Window], cancel: threading.Event | None = None,
                asks: Mapping[Window, Sequence[str]] | None = None) -> Iterator[list[WindowResult]]: ...


@dataclass(frozen=True)
class ScanProgress:
    """Answers ``done`` of ``total`` (earlier runs' included; with one question an answer is a window);
    rates over this run's windows only."""

    done: int
    total: int
    elapsed_s: float
    windows_per_s: float
    realtime_factor: float  # seconds of recording per wall-clock second
    eta_s: float  # NaN until a rate is known
    failed: int = 0  # windows of this run that could not be read
    questions: int = 1  # questions of the scan: the unit is "windows" for one, "answers" for more

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def rates(self) -> str:
        """``"3.20 windows/s · 32.0× real time · ETA 3:07.5"`` ("" until a rate is known)."""
        if self.windows_per_s <= 0:
            return ""
        return (f"{self.windows_per_s:.2f} windows/s · {self.realtime_factor:.1f}× real time · "
                f"ETA {format_seconds(self.eta_s)}")

    @property
    def unit(self) -> str:
        return "windows" if self.questions == 1 else "answers"

    def text(self) -> str:
        """``"120 of 720 windows · 3.20 windows/s · 32.0× real time · ETA 3:07.5"`` (and the unreadable);
        "answers" instead of the first "windows" for a question set."""
        parts = [f"{self.done} of {self.total} {self.unit}", self.rates()]
        if self.failed:
            parts.append(f"{self.failed} unreadable")
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class ScanBatch:
    """One batch: (plan index, result) of the answers (one per window and question) and of those whose window
    could not be read (their ``error`` says why), and the progress after it."""

    answered: tuple[Indexed, ...]
    failed: tuple[Indexed, ...]
    progress: ScanProgress


@dataclass
class ScanDriver:
    """Drive ``runner`` over ``todo`` ((plan index, window) pairs, in plan order) of a scan of ``total``
    answers (default: those of ``todo``), asking each window the questions ``asks`` names for it (default:
    every question of the runner), each window covering ``audio_per_window_s`` seconds of recording on
    average (for the real-time factor).  Iterate :meth:`batches`; afterwards :attr:`answered` (answers),
    :attr:`windows` (windows answered), :attr:`failed` (windows unreadable), :attr:`problems` (one per file:
    its first reason), :attr:`cancelled` and :attr:`elapsed_s` tell how it went."""

    runner: BatchRunner
    todo: Sequence[tuple[int, Window]]
    total: int | None = None
    audio_per_window_s: float = 10.0
    asks: Mapping[Window, Sequence[str]] | None = None
    answered: int = 0
    windows: int = 0
    failed: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0

    def _answers_of(self, window: Window) -> int:
        if self.asks is not None and window in self.asks:
            return len(self.asks[window])
        return len(self.runner.questions)

    def batches(self, cancel: threading.Event | None = None) -> Iterator[ScanBatch]:
        """Answer the windows batch by batch (``cancel`` is checked between batches; a batch is never cut)."""
        todo_answers = sum(self._answers_of(w) for _, w in self.todo)
        total = todo_answers if self.total is None else self.total
        already = total - todo_answers
        index = {w: i for i, w in self.todo}
        t0 = time.monotonic()
        answers = windows = 0
        for results in self.runner.batches([w for _, w in self.todo], cancel, self.asks):
            good = tuple((index[r.window], r) for r in results if r.error is None)
            bad = tuple((index[r.window], r) for r in results if r.error is not None)
            answers += len(results)
            windows += len({r.window for r in results})
            self.answered += len(good)
            self.windows += len({r.window for r in results if r.error is None})
            self.failed += len({r.window for r in results if r.error is not None})
            self._note_problems(bad)
            self.elapsed_s = time.monotonic() - t0
            yield ScanBatch(good, bad, self._progress(already + answers, total, answers, windows))
        self.elapsed_s = time.monotonic() - t0
        self.cancelled = answers < todo_answers

    def _note_problems(self, bad: Sequence[Indexed]) -> None:
        seen = {p.file for p in self.problems}
        for _, r in bad:
            if r.window.file not in seen:
                seen.add(r.window.file)
                self.problems.append(FileProblem(Path(r.window.file), str(r.error)))

    def _progress(self, done: int, total: int, answers: int, windows: int) -> ScanProgress:
        elapsed = self.elapsed_s
        rate = windows / elapsed if elapsed > 0 and windows else 0.0
        answer_rate = answers / elapsed if elapsed > 0 and answers else 0.0
        eta = (total - done) / answer_rate if answer_rate else float("nan")
        return ScanProgress(done, total, elapsed, rate, rate * self.audio_per_window_s, eta, self.failed,
                            len(self.runner.questions))

    @property
    def realtime_factor(self) -> float:
        """Seconds of recording answered per wall-clock second over the whole run."""
        return self.windows * self.audio_per_window_s / max(self.elapsed_s, 1e-9)
