"""The ring buffer of a live input: the last few minutes of audio at the input's own rate, addressed by
absolute frame positions counted from the start of the session.

One writer (the input's callback or file pump) appends blocks; readers (the listener cutting windows, the
keeper writing clips and the stream, the level meter) copy ranges out.  A short lock guards every access, so
the writer never waits for a reader's work.  Positions only grow: a gap in the input (a device that went
away and came back) is a new :class:`Segment`, which starts at the position reached and carries the clock
time at which its audio began; windows never straddle two segments.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from mellow.errors import MellowError


class RingGap(MellowError, LookupError):
    """A range that is no longer (or not yet) in the ring."""


@dataclass(frozen=True)
class Segment:
    """Uninterrupted input from frame ``start`` on, whose first frame was heard at ``clock``."""

    start: int
    clock: datetime


class Ring:
    """``capacity_s`` seconds of (frames, channels) float32 audio at ``rate``."""

    def __init__(self, rate: int, channels: int, capacity_s: float) -> None:
        self.rate = int(rate)
        self.channels = int(channels)
        self.capacity = max(1, round(capacity_s * self.rate))
        self._data = np.zeros((self.capacity, self.channels), dtype=np.float32)
        self._end = 0
        self._segments: list[Segment] = []
        self._arrivals: collections.deque[tuple[int, float]] = collections.deque(maxlen=4096)
        self._lock = threading.Lock()
        self._grown = threading.Condition(self._lock)

    # ------------------------------------------------------------------------------------------- writing
    def write(self, block: np.ndarray) -> None:
        """Append a block (frames, channels) or (frames,) of float samples (the oldest frames drop out)."""
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        n = x.shape[0]
        if n > self.capacity:
            x, n = x[-self.capacity:], self.capacity
        with self._lock:
            at = (self._end + (block.shape[0] - n)) % self.capacity
            first = min(n, self.capacity - at)
            self._data[at:at + first] = x[:first]
            self._data[:n - first] = x[first:]
            self._end += block.shape[0]
            self._arrivals.append((self._end, time.monotonic()))
            self._grown.notify_all()

    def mark_segment(self, clock: datetime) -> Segment:
        """Start a new segment at the current end: the next frame written was heard at ``clock``."""
        with self._lock:
            segment = Segment(self._end, clock)
            if self._segments and self._segments[-1].start == self._end:
                self._segments[-1] = segment
            else:
                self._segments.append(segment)
            return segment

    # ------------------------------------------------------------------------------------------- reading
    @property
    def end(self) -> int:
        """Frames written since the session started (the live edge)."""
        with self._lock:
            return self._end

    @property
    def start(self) -> int:
        """The oldest frame still held."""
        with self._lock:
            return max(0, self._end - self.capacity)

    @property
    def segments(self) -> list[Segment]:
        with self._lock:
            return list(self._segments)

    def read(self, start: int, stop: int) -> np.ndarray:
        """A copy of frames [start, stop) as (stop - start, channels); :class:`RingGap` when not all held."""
        with self._lock:
            if start < max(0, self._end - self.capacity) or stop > self._end or start > stop:
                raise RingGap(f"frames {start}-{stop} are not in the ring (it holds "
                              f"{max(0, self._end - self.capacity)}-{self._end})")
            idx = np.arange(start, stop) % self.capacity
            return self._data[idx]

    def peak(self, seconds: float) -> float:
        """The largest absolute sample of the last ``seconds`` (0.0 before any audio)."""
        with self._lock:
            n = min(self._end, self.capacity, max(1, round(seconds * self.rate)))
            if not n:
                return 0.0
            idx = np.arange(self._end - n, self._end) % self.capacity
            return float(np.max(np.abs(self._data[idx])))

    def wait_for(self, position: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until frame ``position`` has been written; True when it has."""
        with self._grown:
            return self._grown.wait_for(lambda: self._end >= position, timeout)

    def arrival(self, position: int) -> float | None:
        """``time.monotonic()`` at which frame ``position - 1`` arrived (None when no longer known)."""
        with self._lock:
            for end, at in self._arrivals:
                if end >= position:
                    return at
        return None

    def segment_of(self, position: int) -> Segment | None:
        """The segment that holds frame ``position`` (None before the first)."""
        with self._lock:
            found = None
            for seg in self._segments:
                if seg.start > position:
                    break
                found = seg
            return found

    def clock_of(self, position: int) -> datetime | None:
        """The clock time at which frame ``position`` was heard (None before the first segment)."""
        seg = self.segment_of(position)
        if seg is None:
            return None
        return seg.clock + timedelta(seconds=(position - seg.start) / self.rate)
