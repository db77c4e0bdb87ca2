"""The row of a listened window: a scan row (:class:`~mellow.scan.writers.records.ScanRow`, same fields first,
so the scan writers, readers and exports take it as it is) with the clock time and what the listener did.

One JSON line per answered window and question in the session's ``rows.jsonl``; see :class:`ListenRow`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import Any

from mellow.scan.writers.records import ScanRow

QUESTION = "question"
PRIVACY = "privacy"
WITHHELD_SPEECH = "speech"


@dataclass(frozen=True)
class ListenRow:
    """One answered window of one question.

    ``scan``: the scan row (``file``/``start_s``/``end_s``: the input file for ``--input``, the kept stream
    file, or the session folder for a device whose stream is not kept; prompt, answer, score, model, key).
    ``session``: the session folder's name.  ``question_index``: the question's place in the set (the privacy
    question comes last, ``role`` "privacy"; the scan row's ``question`` is its name).  ``stream_s``: seconds
    of input heard before the window started.
    ``clock_start``/``clock_end``: ISO 8601 with the UTC offset.  ``hit``: the score reached ``threshold``;
    ``detection``: the hits rule fired here.  ``clip``: the kept clip (relative to the session folder) and
    ``clip_offset_s`` the window's start in it; ``audio_withheld``: why no audio was kept ("speech").
    ``privacy_score``: the privacy question's P(yes) for this window.  ``answered_at``: when the row was
    written; ``latency_s``: seconds from the window's last sample arriving to its row.
    """

    scan: ScanRow
    session: str
    question_index: int
    role: str
    stream_s: float
    clock_start: str
    clock_end: str
    threshold: float | None = None
    hit: bool = False
    detection: bool = False
    clip: str | None = None
    clip_offset_s: float | None = None
    audio_withheld: str | None = None
    privacy_score: float | None = None
    answered_at: str = ""
    latency_s: float | None = None

    @property
    def prompt(self) -> str:
        return self.scan.prompt

    @property
    def score(self) -> float | None:
        return self.scan.score

    @property
    def text(self) -> str:
        return self.scan.text

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: the scan row's fields first, then this row's."""
        extra = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "scan"}
        return {**self.scan.to_dict(), **extra}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, rec: dict[str, Any]) -> ListenRow:
        """The row of a parsed JSON object; KeyError/TypeError/ValueError when it is not one."""
        names = {f.name for f in fields(cls)} - {"scan"}
        return cls(scan=ScanRow.from_dict(rec), **{k: rec[k] for k in names if k in rec})

    def with_clip(self, clip: str | None, offset_s: float | None, withheld: str | None) -> ListenRow:
        return replace(self, clip=clip, clip_offset_s=offset_s, audio_withheld=withheld)
