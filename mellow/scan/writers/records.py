"""The per-window row every export is made from (its resume key: :mod:`mellow.scan.keys`).

A :class:`ScanRow` is one :class:`~mellow.scan.types.WindowResult` flattened with its question's name and
prompt and the model: the row of the ``.jsonl`` and ``.csv`` outputs (same fields, same names) and of the
sidecar journal of label/Raven outputs.  A scan of several questions has one row per (window, question).

Files written before question sets existed have no ``question`` field (:data:`ScanRow.OPTIONAL`): they are
one-question scans, and their rows read with the :func:`~mellow.scan.questions.short_name` of their prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mellow.scan.questions import short_name
from mellow.scan.types import Window, WindowResult


@dataclass
class ScanRow:
    """One answered window.

    ``file`` is absolute; ``slot2_file`` is the reference clip (``--against``) or the paired recording
    (``--pair``), None when slot 2 held the same window.  ``score``/``choices`` are None unless computed.
    ``question`` is the question's name, ``prompt`` its prompt.  ``key`` identifies the window and the
    question (see :func:`mellow.scan.keys.row_key`; it hashes the prompt, not the name).
    ``recording_start``, ``start_time``, ``end_time`` and ``time_source`` place the window in clock time
    (ISO 8601 with offset, "" when unknown; :mod:`mellow.scan.clock`); they are not part of the key.
    """

    file: str
    start_s: float
    end_s: float
    prompt: str
    text: str
    score: float | None = None
    choices: dict[str, float] | None = None
    model: str = ""
    tokens: list[int] = field(default_factory=list)
    slot2_file: str | None = None
    slot2_start_s: float | None = None
    file_hash: str = ""
    key: str = ""
    recording_start: str = ""
    start_time: str = ""
    end_time: str = ""
    time_source: str = ""
    question: str = ""

    #: Field order of every table format (``key`` stays last: a CSV row cut short is recognised by it).
    FIELDS = ("file", "start_s", "end_s", "recording_start", "start_time", "end_time", "time_source",
              "slot2_file", "slot2_start_s", "question", "prompt", "text", "score", "choices", "model",
              "tokens", "file_hash", "key")
    #: Fields that files written before them lack (read as "", a missing question as its prompt's short name).
    OPTIONAL = ("recording_start", "start_time", "end_time", "time_source", "question")

    def __post_init__(self) -> None:
        if not self.question:
            self.question = short_name(self.prompt)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_dict(cls, rec: dict[str, Any]) -> ScanRow:
        """The row of a parsed record; raises KeyError/TypeError/ValueError when it is not one."""
        score, s2_start = rec.get("score"), rec.get("slot2_start_s")
        choices = rec.get("choices")
        return cls(file=str(rec["file"]), start_s=float(rec["start_s"]), end_s=float(rec["end_s"]),
                   prompt=str(rec["prompt"]), text=str(rec["text"]),
                   score=None if score is None else float(score),
                   choices=None if choices is None else {str(k): float(v) for k, v in dict(choices).items()},
                   model=str(rec.get("model") or ""), tokens=[int(t) for t in rec.get("tokens") or []],
                   slot2_file=None if rec.get("slot2_file") is None else str(rec["slot2_file"]),
                   slot2_start_s=None if s2_start is None else float(s2_start),
                   file_hash=str(rec.get("file_hash") or ""), key=str(rec["key"]),
                   **{name: str(rec.get(name) or "") for name in cls.OPTIONAL})

    @classmethod
    def from_result(cls, result: WindowResult, prompt: str, model: str, key: str) -> ScanRow:
        w = result.window
        return cls(file=str(w.file), start_s=w.start_s, end_s=w.end_s, prompt=prompt, text=result.text,
                   score=result.score, choices=result.choices, model=model, tokens=list(result.tokens),
                   slot2_file=None if w.slot2_file is None else str(w.slot2_file),
                   slot2_start_s=None if w.slot2_file is None else w.slot2_start_s, file_hash=w.file_hash,
                   key=key, question=result.question)

    def to_result(self) -> WindowResult:
        window = Window(Path(self.file), self.start_s, self.end_s, self.file_hash,
                        None if self.slot2_file is None else Path(self.slot2_file), self.slot2_start_s or 0.0)
        return WindowResult(window, text=self.text, tokens=list(self.tokens), score=self.score,
                            choices=self.choices, question=self.question)
