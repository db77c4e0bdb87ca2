"""From answered live windows to rows, detections and clip claims (the answering thread's half of the
listener): the hits rule per question, the privacy verdict, the clock times, and the counts a status shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch

from mellow.audio import fit_window, resample, to_mono
from mellow.audio_io.wav_writer import WavWriteError
from mellow.generation import Engine
from mellow.listen.answering import WindowAnswerer
from mellow.listen.events import ListenEvent
from mellow.listen.keeping import AudioGate, ClipBook
from mellow.listen.ring import Ring
from mellow.listen.rows import PRIVACY, QUESTION, WITHHELD_SPEECH, ListenRow
from mellow.listen.session import Session, question_id
from mellow.listen.settings import WINDOW_S, ListenSettings
from mellow.listen.sources import now
from mellow.listen.windows import HitRule
from mellow.model.config import AudioConfig
from mellow.recordings.zones import iso
from mellow.scan.types import Window, WindowResult
from mellow.scan.writers.records import ScanRow
from mellow.timefmt import format_seconds

#: Where a window's row says it is: ring frame -> (file, start in it (s), the file's content hash).
Place = Callable[[int], tuple[Path, float, str]]
Note = Callable[..., None]


def window_reader(ring: Ring, audio: AudioConfig, frames_of: Callable[[Window], int]) -> Callable[..., Any]:
    """The runner's ``read_window`` for live windows: the window's frames from the ring, mixed to mono and
    resampled to the model's rate -> (clip_samples,) float32."""
    length = round(WINDOW_S * ring.rate)

    def read(window: Window) -> torch.Tensor:
        start = frames_of(window)
        wave = resample(to_mono(ring.read(start, start + length)), ring.rate, audio.sample_rate)
        return fit_window(wave, 0, audio.clip_samples).contiguous()

    return read


@dataclass
class Keeping:
    """What the judge hands its decisions to."""

    session: Session
    gate: AudioGate
    clips: ClipBook
    note: Note
    post: Callable[[ListenEvent], None]
    alert: Callable[[dict[str, Any]], None] | None


class Judge:
    """Answers due windows and turns the answers into rows (see the module docstring)."""

    def __init__(self, engine: Engine, ring: Ring, settings: ListenSettings, place: Place,
                 keeping: Keeping) -> None:
        self.ring, self.settings, self.place, self.k = ring, settings, place, keeping
        self.window = round(WINDOW_S * ring.rate)
        self.frames: dict[Window, int] = {}
        self.answerer = WindowAnswerer(engine, settings.questions, settings.privacy_prompt,
                                       window_reader(ring, engine.config.audio, self.frames.__getitem__),
                                       settings.max_len)
        self.rules = [HitRule(settings.threshold_of(q), settings.hits, settings.within)
                      for q in settings.questions]
        self.qids = [question_id(p) for p in settings.prompts]
        self.answered = self.skipped = self.lost = self.unreadable = self.detections = 0
        self.answered_until = 0
        self.load = 0.0
        self.latency_s: float | None = None
        self._segment = 0

    # ------------------------------------------------------------------------------------------- windows
    def answer(self, starts: list[int]) -> None:
        """Ask every question of the windows starting at these frames, write their rows (fsynced)."""
        windows = []
        for start in starts:
            file, start_s, file_hash = self.place(start)
            w = Window(file, start_s, start_s + WINDOW_S, file_hash)
            self.frames[w] = start
            windows.append(w)
        t0 = time.perf_counter()
        try:
            results = self.answerer.answer(windows)
        finally:
            for w in windows:
                self.frames.pop(w, None)
        self.load = (time.perf_counter() - t0) / len(starts) / self.settings.hop_s
        for start, w, per_question in zip(starts, windows, results, strict=True):
            self._judge(start, w, per_question)
        self.k.session.rows.sync()

    def not_answered(self, starts: list[int], why: str) -> None:
        """Windows skipped (answering fell behind) or lost (the input stopped before they were whole)."""
        if not starts:
            return
        for rule in self.rules:
            for _ in starts:
                if why == "skipped":
                    rule.miss()
                else:
                    rule.reset()
        first, last = starts[0] / self.ring.rate, starts[-1] / self.ring.rate + WINDOW_S
        span = f"{format_seconds(first)} to {format_seconds(last)} of the input"
        if why == "skipped":
            self.skipped += len(starts)
            text = (f"skipped {len(starts)} window{'s' * (len(starts) > 1)} ({span}): answering takes "
                    f"{self.load:.1f}× real time, more than the input gives it")
        else:
            self.lost += len(starts)
            text = f"{len(starts)} window{'s' * (len(starts) > 1)} not whole ({span}): the input stopped"
        self.k.note(why, text, {"windows": len(starts), "from_s": round(first, 3)})

    # ------------------------------------------------------------------------------------------- rows
    def _judge(self, start: int, window: Window, results: list[WindowResult]) -> None:
        stop = start + self.window
        error = next((r.error for r in results if r.error), None)
        if error is not None:
            self.unreadable += 1
            self.k.note("unreadable", f"a window at {format_seconds(start / self.ring.rate)} could not be "
                        f"answered: {error}")
            for rule in self.rules:
                rule.miss()
            return
        segment = self.ring.segment_of(start)
        if segment is not None and segment.start != self._segment:
            self._segment = segment.start
            for rule in self.rules:
                rule.reset()
        privacy = results[-1] if self.answerer.privacy else None
        speech = privacy is not None and privacy.score is not None \
            and privacy.score >= self.settings.privacy_threshold
        self.k.gate.add(start, stop, speech)
        arrived = self.ring.arrival(stop)
        self.latency_s = None if arrived is None else time.monotonic() - arrived
        clock = self.ring.clock_of(start) or now()
        common: dict[str, Any] = dict(
            session=self.k.session.name, stream_s=round(start / self.ring.rate, 6), clock_start=iso(clock),
            clock_end=iso(clock + timedelta(seconds=WINDOW_S)), answered_at=iso(now()),
            latency_s=None if self.latency_s is None else round(self.latency_s, 4),
            privacy_score=None if privacy is None else privacy.score)
        for q, result in enumerate(results):
            self._row(q, start, window, result, speech, common)
        self.answered += 1
        self.answered_until = stop

    def _row(self, q: int, start: int, window: Window, result: WindowResult, speech: bool,
             common: dict[str, Any]) -> None:
        a = self.answerer
        scan = ScanRow.from_result(result, a.prompt_of(q), a.model_id, a.key_of(window, q))
        is_privacy = a.privacy and q == len(a.questions) - 1
        if is_privacy:
            row = ListenRow(scan, question_index=q, role=PRIVACY, threshold=self.settings.privacy_threshold,
                            hit=speech, **common)
        else:
            rule = self.rules[q]
            detection = rule.push(result.score)
            row = ListenRow(scan, question_index=q, role=QUESTION, threshold=rule.threshold,
                            hit=rule.is_hit(result.score), detection=detection, **common)
            if detection:
                row = self._keep_clip(q, start, row, speech)
        record = row.to_dict()
        self.k.session.rows.append(record)
        self.k.post(ListenEvent("row", row.text, row.answered_at, row))
        if row.detection:
            self.detections += 1
            self.k.post(ListenEvent("detection", f"{row.prompt}: P(yes) {row.score:.2f} at {row.clock_start}",
                                    row.answered_at, row))
            self._alert_when_kept(q, start, record)

    def _keep_clip(self, q: int, start: int, row: ListenRow, speech: bool) -> ListenRow:
        if speech:
            return row.with_clip(None, None, WITHHELD_SPEECH)
        try:
            path, offset = self.k.clips.claim(q, self.qids[q], start, start + self.window)
        except WavWriteError as exc:
            self.k.note("disk", f"no clip kept: {exc}")
            return row.with_clip(None, None, "disk full")
        return row.with_clip(f"{path.parent.name}/{path.name}", round(offset, 6), None)

    def _alert_when_kept(self, q: int, start: int, record: dict[str, Any]) -> None:
        if self.k.alert is None:
            return
        if record["clip"] is None:
            self.k.alert(record)
        else:
            post_roll = round(self.settings.post_s * self.ring.rate)
            self.k.clips.when_written(q, start + self.window + post_roll, record)
