"""What the window shows of a scan, as plain data: the timeline (caption segments, score curve, detections)
of one file at a time, and the results table (sort and filter) over every file, built from window results as
they stream in.  A folder scan's table names each window's file and, when the recording's start is known, its
clock time.

Detections come from the engine's :func:`mellow.scan.merge.merge_detections`, recomputed when the threshold
line moves (no re-run).  No Qt: the Qt side paints these and maps rows to its table model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from mellow.scan.merge import DEFAULT_THRESHOLD, merge_detections
from mellow.scan.types import Detection, WindowResult
from mellow.timefmt import format_seconds
from mellow_desktop.core.scan_record import LoadedScan, ScanRecord


@dataclass(frozen=True)
class CaptionSegment:
    """A stretch of the timeline labelled with one answer: neighbouring windows with the same text merge;
    with overlapping hops a window's segment ends where the next window starts."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class TableRow:
    """One row of the results table (``index``: the window's place in the scan's plan; ``file``: its
    file's name; ``clock``: when the window starts, "2026-05-03 05:30:10", or "" when unknown)."""

    index: int
    start_s: float
    end_s: float
    answer: str
    score: float | None
    file: str = ""
    clock: str = ""

    def cells(self, files: bool = False) -> tuple[str, ...]:
        """Start, end (h:mm:ss for times over a minute), answer, score ("" when not scored); with ``files``,
        the file and the clock time first."""
        score = "" if self.score is None else f"{self.score:.2f}"
        head = (self.file, self.clock) if files else ()
        return (*head, format_seconds(self.start_s), format_seconds(self.end_s), self.answer, score)


SORT_KEYS = ("start", "end", "answer", "score")
#: Sort keys of a folder scan's table (its two first columns: file, clock time).
FILE_SORT_KEYS = ("file", "clock", *SORT_KEYS)


@dataclass
class ScanView:
    """The results of one scan so far, in plan order, and what the window draws of them."""

    threshold: float = DEFAULT_THRESHOLD
    record: ScanRecord | None = None  # the stored scan (its files); None until it is stored
    shown_file: int = 0  # the file whose windows the timeline shows
    _results: dict[int, WindowResult] = field(default_factory=dict)

    @classmethod
    def of(cls, loaded: LoadedScan, threshold: float | None = None) -> ScanView:
        """The view of a scan re-opened from the history (threshold: the scan's unless given)."""
        view = cls(threshold=loaded.record.threshold if threshold is None else threshold,
                   record=loaded.record)
        view.add(zip(loaded.indices, loaded.results, strict=True))
        return view

    def add(self, batch: Iterable[tuple[int, WindowResult]]) -> None:
        """Add (plan index, result) pairs as they arrive (a repeated index replaces the old result)."""
        for index, result in batch:
            self._results[int(index)] = result

    @property
    def results(self) -> list[WindowResult]:
        return [self._results[i] for i in sorted(self._results)]

    def __len__(self) -> int:
        return len(self._results)

    def result(self, index: int) -> WindowResult | None:
        """The result of the window at plan ``index`` (None when not answered)."""
        return self._results.get(int(index))

    def index_of(self, file: str, start_s: float) -> int | None:
        """The plan index of the answered window of ``file`` that starts at ``start_s`` (None when none)."""
        return next((i for i, r in self._results.items()
                     if str(r.window.file) == file and abs(r.window.start_s - start_s) < 1e-6), None)

    @property
    def has_files(self) -> bool:
        """Whether the scan spans several files (a folder): the table then names them."""
        return self.record is not None and self.record.is_folder

    def file_of(self, index: int) -> int:
        """The index of the file of the window at plan index ``index``."""
        return self.record.locate(index)[0] if self.record is not None and self.record.files else 0

    def shown(self) -> list[WindowResult]:
        """The results of the file the timeline shows, in plan order."""
        if not self.has_files:
            return self.results
        return [self._results[i] for i in sorted(self._results) if self.file_of(i) == self.shown_file]

    # ------------------------------------------------------------------------------------------- timeline
    def segments(self) -> list[CaptionSegment]:
        """Caption segments: each answered window until the next one starts, equal neighbours merged."""
        answered = [r for r in self.shown() if r.error is None]
        out: list[CaptionSegment] = []
        for k, r in enumerate(answered):
            nxt = answered[k + 1].window.start_s if k + 1 < len(answered) else None
            end = r.window.end_s if nxt is None or nxt <= r.window.start_s else min(r.window.end_s, nxt)
            if out and out[-1].text == r.text and out[-1].end_s >= r.window.start_s - 1e-6:
                out[-1] = CaptionSegment(out[-1].start_s, max(out[-1].end_s, end), r.text)
            else:
                out.append(CaptionSegment(r.window.start_s, end, r.text))
        return out

    def score_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(times, scores), float64 (n,): each scored window's centre and P(yes), in time order."""
        scored = [r for r in self.shown() if r.score is not None and r.error is None]
        times = np.array([(r.window.start_s + r.window.end_s) / 2 for r in scored], dtype=np.float64)
        return times, np.array([r.score for r in scored], dtype=np.float64)

    def detections(self, threshold: float | None = None) -> list[Detection]:
        """Merged detections at ``threshold`` (default: :attr:`threshold`, which the threshold line sets), of
        every file (each file's windows merge on their own)."""
        return merge_detections(self.results, self.threshold if threshold is None else threshold)

    # ------------------------------------------------------------------------------------------- table
    def table(self, text: str = "", min_score: float | None = None, sort: str = "start",
              descending: bool = False) -> list[TableRow]:
        """Table rows whose answer contains ``text`` (case-insensitive) and, with ``min_score``, whose score
        reaches it; sorted by ``sort`` (one of :data:`SORT_KEYS`; unscored rows last for "score")."""
        if sort not in FILE_SORT_KEYS:
            raise ValueError(f"sort must be one of {FILE_SORT_KEYS}, got {sort!r}")
        needle = text.strip().casefold()
        rows = [self._row(i, r) for i, r in sorted(self._results.items())]
        rows = [r for r in rows if needle in r.answer.casefold()
                and (min_score is None or (r.score is not None and r.score >= min_score))]
        key = {"file": lambda r: (r.file.casefold(), r.index),
               "clock": lambda r: (r.clock == "", r.clock, r.index),
               "start": lambda r: (r.start_s, r.index), "end": lambda r: (r.end_s, r.index),
               "answer": lambda r: (r.answer.casefold(), r.index),
               "score": lambda r: (r.score is None, r.score if r.score is not None else 0.0, r.index)}[sort]
        rows.sort(key=key, reverse=descending)
        if sort == "score" and descending:  # unscored rows stay last
            rows.sort(key=lambda r: r.score is None)
        return rows

    def _row(self, index: int, r: WindowResult) -> TableRow:
        file, clock = r.window.file.name, ""
        if self.record is not None and self.record.files:
            scanned = self.record.files[self.file_of(index)]
            if scanned.recording_start:
                start = datetime.fromisoformat(scanned.recording_start) + timedelta(seconds=r.window.start_s)
                clock = start.strftime("%Y-%m-%d %H:%M:%S")
        return TableRow(index, r.window.start_s, r.window.end_s, r.error or r.text, r.score, file, clock)
