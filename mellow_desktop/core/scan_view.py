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
    file's name; ``clock``: when the window starts, "2026-05-03 05:30:10", or "" when unknown;
    ``question``: the name of the question answered)."""

    index: int
    start_s: float
    end_s: float
    answer: str
    score: float | None
    file: str = ""
    clock: str = ""
    question: str = ""

    def cells(self, files: bool = False, question: bool = False) -> tuple[str, ...]:
        """Start, end (h:mm:ss for times over a minute), answer, score ("" when not scored); with ``files``,
        the file and the clock time first; with ``question``, the question's name before the start."""
        score = "" if self.score is None else f"{self.score:.2f}"
        head = (self.file, self.clock) if files else ()
        asked = (self.question,) if question else ()
        return (*head, *asked, format_seconds(self.start_s), format_seconds(self.end_s), self.answer, score)


SORT_KEYS = ("start", "end", "answer", "score")
#: Sort keys of a folder scan's table (its two first columns: file, clock time).
FILE_SORT_KEYS = ("file", "clock", *SORT_KEYS)
_SORTS = {"file": lambda r: (r.file.casefold(), r.index),
          "clock": lambda r: (r.clock == "", r.clock, r.index),
          "question": lambda r: (r.question.casefold(), r.index),
          "start": lambda r: (r.start_s, r.index), "end": lambda r: (r.end_s, r.index),
          "answer": lambda r: (r.answer.casefold(), r.index),
          "score": lambda r: (r.score is None, r.score if r.score is not None else 0.0, r.index)}


@dataclass
class ScanView:
    """The results of one scan so far, in plan order (per window, its questions in the set's order), and
    what the window draws of them.  ``threshold`` is the scan's; a question of a set with its own threshold
    keeps it in ``thresholds`` (by name), which the question's threshold line sets."""

    threshold: float = DEFAULT_THRESHOLD
    record: ScanRecord | None = None  # the stored scan (its files); None until it is stored
    shown_file: int = 0  # the file whose windows the timeline shows
    thresholds: dict[str, float] = field(default_factory=dict)
    _results: dict[tuple[int, str], WindowResult] = field(default_factory=dict)

    @classmethod
    def of(cls, loaded: LoadedScan, threshold: float | None = None) -> ScanView:
        """The view of a scan re-opened from the history (threshold: the scan's unless given)."""
        view = cls(threshold=loaded.record.threshold if threshold is None else threshold)
        view.set_record(loaded.record)
        view.add(zip(loaded.indices, loaded.results, strict=True))
        return view

    def set_record(self, record: ScanRecord) -> None:
        """The stored scan these results belong to (its files and questions, each question's threshold)."""
        self.record = record
        if record.questions is not None:
            for q in record.questions:
                self.thresholds.setdefault(q.name, record.threshold_of(q.name))

    def add(self, batch: Iterable[tuple[int, WindowResult]]) -> None:
        """Add (plan index, result) pairs as they arrive (a repeated (index, question) replaces the old)."""
        first = self.record.question_set.names[0] if self.record is not None else ""
        for index, result in batch:  # a result without a question's name answers the first question
            self._results[(int(index), result.question or first)] = result

    # ------------------------------------------------------------------------------------------- questions
    @property
    def names(self) -> tuple[str, ...]:
        """The names of the scan's questions, in the set's order (those answered so far before it is
        stored)."""
        if self.record is not None:
            return self.record.question_set.names
        return tuple(dict.fromkeys(q for _, q in sorted(self._results)))

    @property
    def has_questions(self) -> bool:
        """Whether the scan asks several questions (the table then names each row's)."""
        return len(self.names) > 1

    def threshold_of(self, question: str) -> float:
        """The threshold of ``question`` (its own in a set, else :attr:`threshold`)."""
        return self.thresholds.get(question, self.threshold)

    def set_threshold(self, question: str, value: float) -> None:
        """Move ``question``'s threshold (a one-question scan: the scan's)."""
        if question in self.thresholds:
            self.thresholds[question] = value
        else:
            self.threshold = value

    def scored(self, question: str) -> bool:
        """Whether ``question`` is answered with a yes/no score (the record knows; else its answers)."""
        if self.record is not None and self.record.scorings:
            return self.record.scoring_of(question) == "yes-no"
        return any(r.score is not None for (_, q), r in self._results.items() if q == question)

    def _order(self, key: tuple[int, str]) -> tuple[int, int]:
        names = self.names
        return key[0], names.index(key[1]) if key[1] in names else len(names)

    @property
    def results(self) -> list[WindowResult]:
        return [self._results[k] for k in sorted(self._results, key=self._order)]

    def __len__(self) -> int:
        """Answers so far (one per window and question)."""
        return len(self._results)

    def result(self, index: int) -> WindowResult | None:
        """The result of the window at plan ``index`` (its first question's; None when not answered)."""
        found = [k for k in self._results if k[0] == int(index)]
        return self._results[min(found, key=self._order)] if found else None

    def index_of(self, file: str, start_s: float) -> int | None:
        """The plan index of the answered window of ``file`` that starts at ``start_s`` (None when none)."""
        return next((i for (i, _), r in self._results.items()
                     if str(r.window.file) == file and abs(r.window.start_s - start_s) < 1e-6), None)

    @property
    def has_files(self) -> bool:
        """Whether the scan spans several files (a folder): the table then names them."""
        return self.record is not None and self.record.is_folder

    def file_of(self, index: int) -> int:
        """The index of the file of the window at plan index ``index``."""
        return self.record.locate(index)[0] if self.record is not None and self.record.files else 0

    def of_question(self, question: str | None) -> list[WindowResult]:
        """Every result of ``question`` (None: of every question), in plan order."""
        return [self._results[k] for k in sorted(self._results, key=self._order)
                if question is None or k[1] == question]

    def shown(self, question: str | None = None) -> list[WindowResult]:
        """The results of ``question`` (None: every question) of the file the timeline shows, in plan
        order."""
        keys = sorted(self._results, key=self._order)
        return [self._results[k] for k in keys if (question is None or k[1] == question)
                and (not self.has_files or self.file_of(k[0]) == self.shown_file)]

    # ------------------------------------------------------------------------------------------- timeline
    def segments(self, question: str | None = None) -> list[CaptionSegment]:
        """Caption segments of ``question`` (None: the first): each answered window until the next one
        starts, equal neighbours merged."""
        question = self._one(question)
        answered = [r for r in self.shown(question) if r.error is None]
        out: list[CaptionSegment] = []
        for k, r in enumerate(answered):
            nxt = answered[k + 1].window.start_s if k + 1 < len(answered) else None
            end = r.window.end_s if nxt is None or nxt <= r.window.start_s else min(r.window.end_s, nxt)
            if out and out[-1].text == r.text and out[-1].end_s >= r.window.start_s - 1e-6:
                out[-1] = CaptionSegment(out[-1].start_s, max(out[-1].end_s, end), r.text)
            else:
                out.append(CaptionSegment(r.window.start_s, end, r.text))
        return out

    def _one(self, question: str | None) -> str | None:
        names = self.names
        return question if question is not None else (names[0] if names else None)

    def score_curve(self, question: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(times, scores), float64 (n,): each scored window's centre and P(yes) for ``question`` (None:
        the first), in time order."""
        scored = [r for r in self.shown(self._one(question)) if r.score is not None and r.error is None]
        times = np.array([(r.window.start_s + r.window.end_s) / 2 for r in scored], dtype=np.float64)
        return times, np.array([r.score for r in scored], dtype=np.float64)

    def detections(self, threshold: float | None = None, question: str | None = None) -> list[Detection]:
        """Merged detections of every file (each file's windows merge on their own) of ``question`` (None:
        of each question, at its own threshold) at ``threshold`` (default: the question's, which its
        threshold line sets)."""
        if question is not None:
            return merge_detections(self.of_question(question),
                                    self.threshold_of(question) if threshold is None else threshold)
        if threshold is not None:
            return merge_detections(self.results, threshold)
        return merge_detections(self.results, self.threshold, self.thresholds)

    # ------------------------------------------------------------------------------------------- table
    def columns(self) -> tuple[str, ...]:
        """The table's columns, as sort keys: (file, clock,) (question,) start, end, answer, score."""
        head = ("file", "clock") if self.has_files else ()
        return (*head, *(("question",) if self.has_questions else ()), *SORT_KEYS)

    def table(self, text: str = "", min_score: float | None = None, sort: str = "start",
              descending: bool = False, question: str | None = None) -> list[TableRow]:
        """Table rows of ``question`` (None: every question) whose answer contains ``text``
        (case-insensitive) and, with ``min_score``, whose score reaches it; sorted by ``sort`` (one of
        :data:`FILE_SORT_KEYS` or "question"; unscored rows last for "score")."""
        if sort not in _SORTS:
            raise ValueError(f"sort must be one of {tuple(_SORTS)}, got {sort!r}")
        needle = text.strip().casefold()
        rows = [self._row(k[0], self._results[k]) for k in sorted(self._results, key=self._order)
                if question is None or k[1] == question]
        rows = [r for r in rows if needle in r.answer.casefold()
                and (min_score is None or (r.score is not None and r.score >= min_score))]
        rows.sort(key=_SORTS[sort], reverse=descending)
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
        return TableRow(index, r.window.start_s, r.window.end_s, r.error or r.text, r.score, file, clock,
                        r.question)
