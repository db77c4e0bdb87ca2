"""The conversation from the history, without Qt: stored entries as answers again, and the last conversation.

:func:`answer_of` rebuilds the :class:`~mellow_desktop.core.question.Answer` (question, clips and windows,
generation settings, outcome) of a :class:`~mellow_desktop.core.history_record.HistoryRecord`, so the window
can show it as a card; :func:`last_conversation` picks the entries of the most recent sitting (entries less
than :data:`GAP_S` apart), which the window shows again after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mellow_desktop.core.history_record import HistoryRecord
from mellow_desktop.core.question import Answer, ClipRef, Question
from mellow_desktop.core.session import window_text
from mellow_desktop.core.settings import USER_OPTION_FIELDS, AppSettings

GAP_S = 30 * 60.0
"""Entries further apart than this (seconds) belong to different conversations."""
LIMIT = 20
"""At most this many entries are restored."""


def _clip(path: str | None, start_s: float, content_hash: str | None, duration_s: float | None) -> ClipRef:
    return ClipRef(Path(path or "?"), start_s, content_hash, window_text(duration_s, start_s), duration_s)


def answer_of(record: HistoryRecord) -> Answer:
    """The answer a history entry recorded, with its question (ids are new; ``created`` is kept)."""
    values = {f"generation/{k}": v for k, v in record.settings.items() if k in USER_OPTION_FIELDS}
    options = AppSettings.from_mapping(values).generation
    a = _clip(record.clip_a, record.start_a, record.hash_a, record.duration_a)
    single = bool(record.settings.get("single_clip")) or record.clip_b in (None, "", record.clip_a)
    b = a if single else _clip(record.clip_b, record.start_b, record.hash_b, record.duration_b)
    question = Question(prompt=record.prompt, clip_a=a, clip_b=b, single_clip=single, options=options,
                        device=str(record.settings.get("device", "auto")), created=record.created)
    error = record.settings.get("error")
    return Answer(question=question, text=record.answer, status=record.status, n_tokens=record.n_tokens,
                  tokens_per_s=record.tokens_per_s, error=str(error) if error else None,
                  model_id=record.model_id or "", hash_a=record.hash_a, hash_b=record.hash_b)


def last_conversation(newest_first: Sequence[HistoryRecord], gap_s: float = GAP_S, limit: int = LIMIT
                      ) -> list[HistoryRecord]:
    """The most recent entries that follow each other by less than ``gap_s``, oldest first."""
    picked: list[HistoryRecord] = []
    for record in newest_first[:limit]:
        if picked and picked[-1].created - record.created > gap_s:
            break
        picked.append(record)
    return picked[::-1]
