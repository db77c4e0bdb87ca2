"""Keeping audio from the ring: clips around detections and, optionally, the whole stream, written
crash-safely by the :class:`~mellow.audio_io.wav_writer.WavWriter` at the input's own rate and channels.

The listener's thread decides (:meth:`ClipBook.claim`: which clip a detection goes to); the keeper's thread
writes (:meth:`ClipBook.work`, :meth:`StreamKeeper.work`) whatever :class:`AudioGate` lets through.  A clip is
cut from the ring, never from the stream files, so a stream file boundary never cuts it; it ends at a gap in
the input.  Consecutive detections of one question whose clips would touch share one clip.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mellow.audio_io.wav_writer import WavWriteError, WavWriter
from mellow.listen.ring import Ring, RingGap
from mellow.listen.session import unique_path, utc_stamp

Note = Callable[[str, str, dict[str, Any]], None]  # (kind, text, details)


class AudioGate:
    """Which heard audio may be kept.  Without a privacy question: all of it, at once.  With one: only frames
    that an answered window covers, none of whose covering windows was speech, and only once every window
    that could cover them has been decided (:meth:`settle`)."""

    def __init__(self, private: bool) -> None:
        self.private = private
        self._windows: list[tuple[int, int, bool]] = []
        self._settled = 0
        self._lock = threading.Lock()

    def add(self, start: int, stop: int, speech: bool) -> None:
        with self._lock:
            self._windows.append((start, stop, speech))

    def settle(self, position: int) -> None:
        """Every window starting before ``position`` has been answered, skipped or lost."""
        with self._lock:
            self._settled = max(self._settled, position)

    def decided(self) -> int:
        """Every window starting before this frame has been answered, skipped or lost."""
        with self._lock:
            return self._settled

    def settled(self, ring_end: int) -> int:
        """Frames before this may be written."""
        with self._lock:
            return self._settled if self.private else ring_end

    def keep(self, start: int, stop: int) -> np.ndarray | None:
        """A bool mask (stop - start,) of the frames to keep; None when all are kept."""
        if not self.private:
            return None
        covered = np.zeros(stop - start, dtype=bool)
        speech = np.zeros(stop - start, dtype=bool)
        with self._lock:
            for w0, w1, said in self._windows:
                a, b = max(w0, start) - start, min(w1, stop) - start
                if a < b:
                    (speech if said else covered)[a:b] = True
        return covered & ~speech

    def is_speech(self, start: int, stop: int) -> bool:
        with self._lock:
            return any(said and w0 == start and w1 == stop for w0, w1, said in self._windows)

    def forget_before(self, position: int) -> None:
        with self._lock:
            self._windows = [w for w in self._windows if w[1] > position]


def _masked(block: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    return block if mask is None else block * mask[:, None]


@dataclass
class KeptClip:
    """A clip being written: frames [start, end) of the ring, written up to ``written``."""

    path: Path
    question: int
    start: int
    end: int
    limit: int | None  # the next segment's start: a clip never runs past a gap in the input
    writer: WavWriter
    written: int = 0
    waiting: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (frame, row) for --on-detect

    def __post_init__(self) -> None:
        self.written = self.start


class ClipBook:
    """The clips of a session (see the module docstring).  ``on_ready(row)`` is called (keeper's thread) for
    each detection once its clip holds its post-roll, or has ended."""

    def __init__(self, folder: Path, ring: Ring, gate: AudioGate, pre_s: float, post_s: float,
                 on_ready: Callable[[dict[str, Any]], None], note: Note) -> None:
        self.folder, self.ring, self.gate = folder, ring, gate
        self.pre, self.post = round(pre_s * ring.rate), round(post_s * ring.rate)
        self.on_ready, self.note = on_ready, note
        self.open: dict[int, KeptClip] = {}
        self.finished = 0
        self._lock = threading.Lock()

    def claim(self, question: int, qid: str, win_start: int, win_end: int) -> tuple[Path, float]:
        """The clip that keeps this detection (opened or extended) and the window's offset in it (s).
        Raises WavWriteError when a new clip cannot be created (disk full)."""
        seg = self.ring.segment_of(win_start)
        seg_start = seg.start if seg is not None else 0
        start = max(win_start - self.pre, seg_start, self.ring.start)
        with self._lock:
            clip = self.open.get(question)
            if clip is not None and clip.end >= start and clip.limit is None:
                clip.end = max(clip.end, win_end + self.post)
            else:
                clock = self.ring.clock_of(start)
                path = unique_path(self.folder, f"{utc_stamp(clock) if clock else 'clip'}_{qid}", ".wav")
                writer = WavWriter(path, self.ring.rate, self.ring.channels, "PCM_16")
                clip = KeptClip(path, question, start, win_end + self.post, None, writer)
                self.open[question] = clip
            return clip.path, (win_start - clip.start) / self.ring.rate

    def when_written(self, question: int, frame: int, row: dict[str, Any]) -> None:
        """Call ``on_ready(row)`` once the question's open clip is written up to ``frame`` (or has ended)."""
        with self._lock:
            clip = self.open.get(question)
            if clip is None:
                self.on_ready(row)
            else:
                clip.waiting.append((frame, row))

    def work(self, final: bool = False) -> None:
        """Write what may be written; close clips that are whole and that no window still to be decided
        could extend (all of them when ``final``)."""
        writable, decided = self.gate.settled(self.ring.end), self.gate.decided()
        segments = [s.start for s in self.ring.segments]
        with self._lock:
            for question, clip in list(self.open.items()):
                clip.limit = next((s for s in segments if s > clip.start), None)
                last = min(clip.end, clip.limit) if clip.limit is not None else clip.end
                self._write(clip, min(last, writable))
                whole = clip.written >= last and (clip.limit is not None or decided > clip.end + self.pre)
                if whole or final:
                    self._close(clip)
                    del self.open[question]
                else:
                    self._release(clip, all_=False)

    def _write(self, clip: KeptClip, stop: int) -> None:
        if stop <= clip.written:
            return
        try:
            block = self.ring.read(clip.written, stop)
        except RingGap:
            start = self.ring.start
            self.note("clip-gap", f"{clip.path.name}: audio before {max(start, clip.written)} was no longer "
                      "in the buffer (the keeper fell behind); the clip continues from there", {})
            clip.written = max(start, clip.written)
            return
        try:
            clip.writer.write(_masked(block, self.gate.keep(clip.written, stop)))
            clip.written = stop
            clip.writer.flush()
        except WavWriteError as exc:
            self.note("disk", str(exc), {"clip": clip.path.name})
            clip.end = clip.written  # what was written stays; the clip ends here

    def _close(self, clip: KeptClip) -> None:
        try:
            clip.writer.close()
        except WavWriteError as exc:
            self.note("disk", str(exc), {"clip": clip.path.name})
        self.finished += 1
        self.note("clip", f"kept {clip.path.name} ({clip.writer.duration_s:.1f} s)",
                  {"clip": clip.path.name, "seconds": round(clip.writer.duration_s, 3)})
        self._release(clip, all_=True)

    def _release(self, clip: KeptClip, all_: bool) -> None:
        ready = [row for frame, row in clip.waiting if all_ or clip.written >= frame]
        clip.waiting = [(f, r) for f, r in clip.waiting if not (all_ or clip.written >= f)]
        for row in ready:
            self.on_ready(row)

    def open_paths(self) -> set[Path]:
        with self._lock:
            return {c.path for c in self.open.values()}


class StreamKeeper:
    """The whole input, as written by the gate, in files of ``file_s`` seconds (``stream/<UTC start>.wav``);
    file *i* holds ring frames [i·n, (i+1)·n)."""

    def __init__(self, folder: Path, ring: Ring, gate: AudioGate, note: Note, file_s: float = 3600.0) -> None:
        self.folder, self.ring, self.gate, self.note = folder, ring, gate, note
        self.file_frames = max(1, round(file_s * ring.rate))
        self.written = 0
        self.failed = False
        self._names: dict[int, Path] = {}
        self._writer: WavWriter | None = None
        self._index = -1

    def location(self, frame: int) -> tuple[Path, float]:
        """The stream file holding ``frame`` and the frame's time in it (s)."""
        index = frame // self.file_frames
        return self._path(index), (frame - index * self.file_frames) / self.ring.rate

    def _path(self, index: int) -> Path:
        if index not in self._names:
            clock = self.ring.clock_of(index * self.file_frames)
            self._names[index] = self.folder / f"{utc_stamp(clock) if clock else index}.wav"
        return self._names[index]

    def work(self, final: bool = False) -> None:
        stop = self.gate.settled(self.ring.end)
        while not self.failed and self.written < stop:
            index = self.written // self.file_frames
            upto = min(stop, (index + 1) * self.file_frames)
            try:
                block = self.ring.read(self.written, upto)
            except RingGap:
                self.written = max(self.written, self.ring.start)
                continue
            self._write(index, _masked(block, self.gate.keep(self.written, upto)))
            self.written = upto
        if final:
            self.close()

    def _write(self, index: int, block: np.ndarray) -> None:
        try:
            if index != self._index:
                self.close()
                self.folder.mkdir(exist_ok=True)
                self._writer = WavWriter(self._path(index), self.ring.rate, self.ring.channels, "PCM_16")
                self._index = index
            assert self._writer is not None
            self._writer.write(block)
            self._writer.flush()
        except (WavWriteError, OSError) as exc:
            self.failed = True
            self.note("disk", f"the stream is no longer kept: {exc}", {})

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except WavWriteError as exc:
                self.note("disk", str(exc), {})

    def open_paths(self) -> set[Path]:
        return {self._writer.path} if self._writer is not None else set()
