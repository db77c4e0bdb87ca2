"""Detections: consecutive windows whose score reached a threshold, merged into one event.

"Consecutive" means adjacent in window order within one file, so with overlapping hops (hop 5: windows 0-10,
5-15, 10-20) three windows over the threshold make one event 0-20 s, and with gaps between windows (hop 15)
two neighbouring windows still merge (0-25 s), as bird-detection tools merge consecutive segments.  A window
below the threshold, without a score, or of another file ends the event.  The answers of each question of a
question set merge on their own (their detections carry the question's name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mellow.scan.types import Detection, WindowResult

#: Default detection threshold on P(yes).
DEFAULT_THRESHOLD = 0.5


def merge_detections(results: Iterable[WindowResult], threshold: float = DEFAULT_THRESHOLD,
                     thresholds: Mapping[str, float] | None = None) -> list[Detection]:
    """Merge runs of adjacent results (in the given order) with ``score >= threshold`` into detections.

    Each detection spans the first window's start to the last window's end and keeps the highest score and
    the answer of the window that had it.  Give the results in window order (file by file, by start).
    Results of several questions are merged question by question (in the order the questions first
    appear), each with its own threshold from ``thresholds`` (by question name) or else ``threshold``.
    """
    by_question: dict[str, list[WindowResult]] = {}
    for result in results:
        by_question.setdefault(result.question, []).append(result)
    events: list[Detection] = []
    for question, rows in by_question.items():
        events += _merge(rows, (thresholds or {}).get(question, threshold))
    return events


def _merge(results: list[WindowResult], threshold: float) -> list[Detection]:
    events: list[Detection] = []
    run: list[WindowResult] = []
    for result in results:
        hit = result.error is None and result.score is not None and result.score >= threshold
        if run and (not hit or result.window.file != run[-1].window.file):
            events.append(_event(run))
            run = []
        if hit:
            run.append(result)
    if run:
        events.append(_event(run))
    return events


def _event(run: list[WindowResult]) -> Detection:
    best = max(run, key=lambda r: r.score if r.score is not None else -1.0)
    return Detection(file=run[0].window.file, start_s=run[0].window.start_s,
                     end_s=max(r.window.end_s for r in run), max_score=float(best.score or 0.0),
                     n_windows=len(run), text=best.text, question=best.question)
