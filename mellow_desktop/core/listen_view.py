"""What the window's Listen mode shows, computed without Qt: score lanes (recent P(yes) per question), the
last detections, detections per question today, the real-time margin, and the live spectrogram of the input.

:class:`ListenView` takes the listener's rows (:class:`~mellow.listen.rows.ListenRow`) as they come and a
status snapshot (:class:`~mellow.listen.events.ListenStatus`); the Qt shell draws what it holds.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from mellow.audio import TARGET_RATE, resample, to_mono
from mellow.listen.events import ListenStatus
from mellow.listen.rows import QUESTION, ListenRow
from mellow.listen.session import read_rows, session_dirs
from mellow.listen.settings import WINDOW_S, ListenSettings
from mellow_desktop.core.clip_analysis import WindowAnalysis, mel_filters, power_spectrogram

LANE_SPAN_S = 300.0
"""Seconds of input a score lane shows (the newest at the right)."""
MAX_LANE_POINTS = 2000
MAX_DETECTIONS = 200


@dataclass(frozen=True)
class Lane:
    """One question's lane: its name, threshold and recent (seconds of input at a window's start, P(yes))."""

    name: str
    prompt: str
    threshold: float
    times: tuple[float, ...]
    scores: tuple[float, ...]


@dataclass(frozen=True)
class DetectionItem:
    """A detection as the list shows it: the clock time, the question, P(yes), the kept clip (absolute; None
    when no audio was kept, with ``withheld`` saying why) and where the window starts in it."""

    clock: str
    question: str
    score: float | None
    clip: Path | None
    clip_offset_s: float
    withheld: str | None = None

    @property
    def time_text(self) -> str:
        """``14:03:21`` (the clock time of the window's start)."""
        try:
            return datetime.fromisoformat(self.clock).strftime("%H:%M:%S")
        except ValueError:
            return self.clock


class ListenView:
    """The display state of one listening session (see the module docstring)."""

    def __init__(self, settings: ListenSettings, session_dir: Path | None = None,
                 today: dict[str, int] | None = None) -> None:
        self.settings = settings
        self.session_dir = session_dir
        self.names = settings.questions.names
        self._lanes = {q.name: collections.deque(maxlen=MAX_LANE_POINTS) for q in settings.questions}
        self.detections: collections.deque[DetectionItem] = collections.deque(maxlen=MAX_DETECTIONS)
        self.today = {name: int((today or {}).get(name, 0)) for name in self.names}
        self.rows = 0
        self.heard_s = 0.0
        self.closed_clips: set[str] = set()

    def clip_closed(self, name: str) -> None:
        """The keeper finished clip file ``name``: it can be played and opened."""
        self.closed_clips.add(name)

    def clip_ready(self, item: DetectionItem) -> bool:
        """Whether ``item``'s clip is kept and finished (not still being written)."""
        return item.clip is not None and item.clip.name in self.closed_clips

    def add(self, row: ListenRow) -> DetectionItem | None:
        """Take one row; returns the detection it is (None when it is not one)."""
        if row.role != QUESTION:
            return None
        name = row.scan.question
        self.rows += 1
        if row.score is not None and name in self._lanes:
            self._lanes[name].append((row.stream_s, float(row.score)))
        if not row.detection:
            return None
        clip = None
        if row.clip and self.session_dir is not None:
            clip = self.session_dir / row.clip
        item = DetectionItem(row.clock_start, name, row.score, clip, float(row.clip_offset_s or 0.0),
                             row.audio_withheld)
        self.detections.appendleft(item)
        if _is_today(row.clock_start):
            self.today[name] = self.today.get(name, 0) + 1
        return item

    def lanes(self) -> list[Lane]:
        """Every question's lane, in the set's order, with the points of the last :data:`LANE_SPAN_S`."""
        out = []
        for q in self.settings.questions:
            points = [p for p in self._lanes[q.name] if p[0] >= self.heard_s - LANE_SPAN_S - WINDOW_S]
            out.append(Lane(q.name, q.prompt, self.settings.threshold_of(q), tuple(p[0] for p in points),
                            tuple(p[1] for p in points)))
        return out

    def counts_text(self) -> str:
        """``Today: birds 3 · dog 0``."""
        return "Today: " + " · ".join(f"{name} {self.today.get(name, 0)}" for name in self.names)


def margin_text(status: ListenStatus, hop_s: float) -> str:
    """"answers take 3.1 s of every 10 s" (the real-time margin), the windows skipped, the lag."""
    if not status.answered:
        return "waiting for the first window…" if status.state == "listening" else ""
    used = status.load * hop_s
    text = f"answers take {used:.1f} s of every {hop_s:g} s"
    if status.load > 1.0:
        text += " — too slow to keep up: windows are skipped"
    if status.skipped:
        text += f" · {status.skipped} window{'s' if status.skipped != 1 else ''} skipped"
    if status.lag_s >= 1.0:
        text += f" · {status.lag_s:.0f} s behind"
    return text


def _is_today(clock: str) -> bool:
    try:
        return datetime.fromisoformat(clock).astimezone().date() == date.today()
    except ValueError:
        return False


def today_counts(folder: Path, names: tuple[str, ...], skip: Path | None = None) -> dict[str, int]:
    """Detections per question name in the sessions under ``folder`` (but ``skip``) whose rows are from
    today (local time)."""
    counts = dict.fromkeys(names, 0)
    stamp = datetime.now().astimezone()
    for session in session_dirs(folder):
        if session == skip or session.stat().st_mtime < stamp.timestamp() - 86400 * 2:  # not today
            continue
        for row in read_rows(session):
            if row.detection and row.role == QUESTION and row.scan.question in counts and _is_today(
                    row.clock_start):
                counts[row.scan.question] += 1
    return counts


def live_analysis(audio: np.ndarray, rate: int, end_s: float) -> WindowAnalysis:
    """The spectrograms of the last 10 s of live ``audio`` ((frames, channels) or (frames,) at ``rate``),
    which ends ``end_s`` seconds into the input: mono, 32 kHz, left-padded with silence when shorter."""
    mono = to_mono(np.asarray(audio, dtype=np.float32))
    wave = resample(mono, rate).numpy() if rate != TARGET_RATE else mono
    n = int(WINDOW_S * TARGET_RATE)
    wave = wave[-n:]
    if wave.shape[0] < n:
        wave = np.concatenate([np.zeros(n - wave.shape[0], np.float32), wave])
    power = power_spectrogram(wave)
    mel = 10.0 * np.log10(np.maximum(power @ mel_filters(), 1e-10))
    stft = 10.0 * np.log10(np.maximum(power, 1e-10))
    return WindowAnalysis(start_s=end_s - WINDOW_S,
                          mel_db=mel.astype(np.float32), stft_db=stft.astype(np.float32), repeats=1.0)
