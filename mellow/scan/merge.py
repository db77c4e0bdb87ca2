"""Detections: consecutive windows whose score reached a threshold, merged into one event.

"Consecutive" means adjacent in window order within one file, so with overlapping hops (hop 5: windows 0-10,
5-15, 10-20) three windows over the threshold make one event 0-20 s, and with gaps between windows (hop 15)
two neighbouring windows still merge (0-25 s), as bird-detection tools merge consecutive segments.  A window
below the threshold, without a score, or of another file ends the event.
"""

from __future__ import annotations

from collections.abc import Iterable

from mellow.scan.types import Detection, WindowResult

#: Default detection threshold on P(yes).
DEFAULT_THRESHOLD = 0.5


def merge_detections(results: Iterable[WindowResult],
                     threshold: float = DEFAULT_THRESHOLD) -> list[Detection]:
    """Merge runs of adjacent results (in the given order) with ``score >= threshold`` into detections.

    Each detection spans the first window's start to the last window's end and keeps the highest score and
    the answer of the window that had it.  Give the results in window order (file by file, by start).
    """
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
                     n_windows=len(run), text=best.text)
