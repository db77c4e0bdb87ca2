"""Which live windows to ask, and when a window's answer is a detection.

:class:`WindowSchedule` cuts windows of :data:`~mellow.listen.settings.WINDOW_S` every hop within each segment
of the ring (a window never straddles a gap in the input) and hands out those whose audio has arrived; a
window that ends too far behind the live edge is skipped and counted, so the listener never falls behind
silently.  :class:`HitRule` is the "N hits within M windows" rule.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from mellow.listen.ring import Ring


@dataclass
class Due:
    """What :meth:`WindowSchedule.due` found: window starts to ask now, to skip (too late), and lost to a
    gap in the input (they could never be whole)."""

    ready: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)


class WindowSchedule:
    """Window starts (ring frames) every ``hop`` frames, each ``window`` frames long.

    ``max_lag`` frames: a window ending further behind the ring's end is skipped.  ``limit``: no window
    reaches past this frame (the session's duration).  :attr:`decided` is the start of the first window not
    yet handed out, skipped or lost: every frame before it has had all its windows decided.
    """

    def __init__(self, window: int, hop: int, max_lag: int, limit: int | None = None) -> None:
        self.window, self.hop, self.max_lag, self.limit = window, hop, max_lag, limit
        self.next_start = 0

    @property
    def decided(self) -> int:
        return self.next_start

    def due(self, ring: Ring, most: int) -> Due:
        """Windows whose audio is all in (at most ``most`` ready ones, the oldest first)."""
        out = Due()
        end = ring.end if self.limit is None else min(ring.end, self.limit)
        starts = [s.start for s in ring.segments]
        while len(out.ready) < most:
            boundary = next((s for s in starts if s > self.next_start), None)
            stop = self.next_start + self.window
            if boundary is not None and stop > boundary:  # the input stopped before this window was whole
                while self.next_start < boundary:
                    out.lost.append(self.next_start)
                    self.next_start += self.hop
                self.next_start = boundary  # windows start again with the new segment
                continue
            if stop > end:
                break
            (out.skipped if end - stop > self.max_lag else out.ready).append(self.next_start)
            self.next_start += self.hop
        return out

    def finish(self, ring: Ring) -> list[int]:
        """At the end of the input: the windows that can no longer be whole (counted as lost)."""
        lost = []
        end = ring.end if self.limit is None else min(ring.end, self.limit)
        while self.next_start < end:
            lost.append(self.next_start)
            self.next_start += self.hop
        return lost


@dataclass
class HitRule:
    """A detection when at least ``hits`` of the last ``within`` windows (the current one included) reached
    ``threshold`` and the current one did.  Skipped windows count as misses; a gap in the input starts
    over."""

    threshold: float
    hits: int = 1
    within: int = 1
    _recent: collections.deque[bool] = field(init=False)

    def __post_init__(self) -> None:
        self._recent = collections.deque(maxlen=self.within)

    def is_hit(self, score: float | None) -> bool:
        return score is not None and score >= self.threshold

    def push(self, score: float | None) -> bool:
        """Take the next window's score; True when it makes a detection."""
        hit = self.is_hit(score)
        self._recent.append(hit)
        return hit and sum(self._recent) >= self.hits

    def miss(self) -> None:
        self._recent.append(False)

    def reset(self) -> None:
        self._recent.clear()
