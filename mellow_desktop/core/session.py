"""The session model without Qt: a loaded clip's state, what a question records about it, the history row.

A :class:`ClipState` is what a clip panel shows; :func:`clip_ref` turns it into the
:class:`~mellow_desktop.core.question.ClipRef` a question carries, and :func:`history_record` turns a finished
:class:`~mellow_desktop.core.question.Answer` into the row the history stores.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mellow.audio import TARGET_RATE, AudioInfo
from mellow.timefmt import format_seconds
from mellow_desktop.core.clip_analysis import WINDOW_SECONDS, Trace, WindowAnalysis
from mellow_desktop.core.clip_io import ClipFacts, OpenedClip
from mellow_desktop.core.history_store import HistoryRecord
from mellow_desktop.core.question import Answer, ClipRef
from mellow_desktop.core.settings import generation_dict


@dataclass(frozen=True)
class ClipState:
    """A loaded clip as a panel shows it; ``facts`` arrives a little after the clip is drawn."""

    path: Path
    info: AudioInfo
    overview: Trace
    window: WindowAnalysis
    facts: ClipFacts | None = None

    @classmethod
    def opened(cls, opened: OpenedClip) -> ClipState:
        return cls(path=opened.path, info=opened.info, overview=opened.overview, window=opened.window)

    @property
    def start_s(self) -> float:
        return self.window.start_s

    def window_text(self) -> str:
        """``0:12.0–0:22.0`` or ``whole 8.00 s, repeated to 10 s`` for short clips."""
        return window_text(self.info.duration, self.start_s)

    def heard_text(self) -> str:
        """``Model hears: 0:00.0–0:10.0 (stereo mixed to mono; resampled 44.1 → 32 kHz)``."""
        notes = []
        channels = self.info.channels
        if channels > 1:
            notes.append(f"{'stereo' if channels == 2 else f'{channels} channels'} mixed to mono")
        if self.info.sample_rate != TARGET_RATE:
            notes.append(f"resampled {self.info.sample_rate / 1000:g} → {TARGET_RATE // 1000} kHz")
        extra = f" ({'; '.join(notes)})" if notes else ""
        return f"Model hears: {self.window_text()}{extra}"


def window_text(duration_s: float | None, start_s: float) -> str:
    """What the model hears of a clip of ``duration_s`` (None: unknown) from ``start_s``, as
    ``0:12.0–0:22.0`` or ``whole 8.00 s, repeated to 10 s``."""
    if duration_s is not None and duration_s < WINDOW_SECONDS:
        return f"whole {format_seconds(duration_s)}, repeated to 10 s"
    return f"{format_seconds(start_s)}–{format_seconds(start_s + WINDOW_SECONDS)}"


def describe_file(info: AudioInfo) -> str:
    """``8.00 s · 22 050 Hz · mono · FLAC 16-bit`` style summary."""
    ch = {1: "mono", 2: "stereo"}.get(info.channels, f"{info.channels} channels")
    subtype = info.subtype.replace("PCM_", "").replace("_", " ")
    subtype = f"{subtype}-bit" if subtype.isdigit() else subtype.lower()
    text = f"{format_seconds(info.duration)} · {info.sample_rate:,} Hz · {ch} · {info.format} {subtype}"
    return text.replace(",", "\u2009")


def clip_ref(state: ClipState | None) -> ClipRef | None:
    """What a question records about a loaded clip."""
    if state is None:
        return None
    return ClipRef(
        path=state.path,
        start_s=state.start_s,
        content_hash=state.facts.content_hash if state.facts else None,
        window_text=state.window_text(),
        duration_s=state.info.duration,
    )


def history_record(answer: Answer) -> HistoryRecord:
    """The history row for a finished, stopped or failed answer."""
    q = answer.question
    settings = generation_dict(q.options) | {"device": q.device, "single_clip": q.single_clip}
    if answer.error:
        settings["error"] = answer.error
    return HistoryRecord(
        prompt=q.prompt,
        answer=answer.text,
        status=answer.status,
        clip_a=str(q.clip_a.path),
        clip_b=str(q.clip_b.path),
        hash_a=answer.hash_a,
        hash_b=answer.hash_b,
        start_a=q.clip_a.start_s,
        start_b=q.clip_b.start_s,
        duration_a=q.clip_a.duration_s,
        duration_b=q.clip_b.duration_s,
        model_id=answer.model_id,
        settings=settings,
        tokens_per_s=answer.tokens_per_s,
        n_tokens=answer.n_tokens,
        created=q.created,
    )


@dataclass(frozen=True)
class ReloadPlan:
    """What reopening a history entry does: ``(slot, path, window start)`` to open, names no longer on disk,
    and whether Clip B is cleared (a single-clip question)."""

    open: list[tuple[str, Path, float]]
    missing: list[str]
    single: bool


def reload_plan(record: HistoryRecord, extra_folders: Sequence[str | os.PathLike[str]] = ()) -> ReloadPlan:
    """Open the clips of a history entry again, at the same windows, when the files still exist.

    Each file is found by :meth:`HistoryRecord.locate_clip` (old relative paths are also tried in
    ``extra_folders``, e.g. the last-opened folders and the recordings folder).
    """
    single = bool(record.settings.get("single_clip")) or record.clip_a == record.clip_b
    wanted = [("A", record.clip_a, record.start_a)]
    if not single:
        wanted.append(("B", record.clip_b, record.start_b))
    to_open: list[tuple[str, Path, float]] = []
    missing: list[str] = []
    for slot, path, start in wanted:
        found = record.locate_clip(slot, extra_folders) if path else None
        if found is not None:
            to_open.append((slot, found, start))
        elif path:
            missing.append(Path(path).name)
    return ReloadPlan(to_open, missing, single)
