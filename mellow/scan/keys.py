"""Resume keys: what identifies one answered window of one question, built by one function for every driver
(``mellow scan``, the window, Ray), so an output written by one is resumed by any other.

A key hashes the window (file path and content hash, start on the 32 kHz grid, slot 2) with the question: the
prompt, the canonical text of what changes an answer besides the model (:func:`options_text`: decoding
options, scoring, precision) and the model id.  A question's name is not part of its key, and a scan of one
question keys its rows exactly as scans did before question sets.  :func:`missing_asks` lists, per window,
the questions a scan still has to ask (resuming pair by pair).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import Any

from mellow.scan.questions import Question, QuestionError, QuestionSet
from mellow.scan.types import Window

#: Length of a resume key (hex characters).
KEY_CHARS = 20
#: Grid on which window starts are compared in keys (the engine's sample rate).
KEY_RATE = 32000


def options_text(options: Any, scoring: str | None, dtype: str) -> str:
    """Canonical text of what changes an answer besides the model: the decoding options (a
    :class:`~mellow.generation.GenerationOptions` or its dict), the resolved scoring ("yes-no", "choices" or
    None) and the decoder's precision by name ("float32", as :func:`~mellow.generation.devices.dtype_name`
    gives it)."""
    values = dataclasses.asdict(options) if dataclasses.is_dataclass(options) else dict(options)
    return json.dumps({"options": values, "scoring": scoring, "dtype": dtype}, sort_keys=True)


def row_key(window: Window, prompt: str, options: str, model: str) -> str:
    """Resume key of a question about ``window``: file path and content hash, window start (on the 32 kHz
    grid), slot 2 (path, hash, start), ``prompt``, ``options`` (:func:`options_text`) and ``model`` id."""
    parts = [str(window.file), window.file_hash, round(window.start_s * KEY_RATE),
             None if window.slot2_file is None else str(window.slot2_file), window.slot2_hash,
             round(window.slot2_start_s * KEY_RATE), prompt, options, model]
    text = json.dumps(parts, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:KEY_CHARS]


def is_key(text: object) -> bool:
    """Whether ``text`` looks like a complete resume key (a torn row's key is shorter)."""
    return isinstance(text, str) and len(text) == KEY_CHARS and all(c in "0123456789abcdef" for c in text)


def missing_asks(windows: Iterable[Window], names: Sequence[str], key_of: Callable[[Window, str], str],
                 done: Container[str]) -> dict[Window, tuple[str, ...]]:
    """For each window with a question whose key (``key_of(window, name)``) is not in ``done``, the names of
    those questions (in the order of ``names``); windows in the order given.  The driver's ``asks``."""
    out: dict[Window, tuple[str, ...]] = {}
    for w in windows:
        missing = tuple(n for n in names if key_of(w, n) not in done)
        if missing:
            out[w] = missing
    return out


class ScanKeys:
    """What keys the answers of a scan (the local and the Ray runner hold one): its ``questions``, the
    resolved scoring of each (``scorings`` by name), the decoding ``options``, the decoder's ``dtype`` name
    and the ``model`` id."""

    def __init__(self, questions: QuestionSet, options: Any, scorings: Mapping[str, str | None], dtype: str,
                 model: str) -> None:
        self.questions = questions
        self.model = model
        self.options_texts = {q.name: options_text(options, scorings[q.name], dtype) for q in questions}

    def question(self, question: str | Question | None = None) -> Question:
        """The question of this name (or of this question's name); None: the only question of the set."""
        if question is None:
            if len(self.questions) != 1:
                raise QuestionError(f"say which of the {len(self.questions)} questions (by name)")
            return self.questions[0]
        return self.questions.get(question.name if isinstance(question, Question) else question)

    def key_of(self, window: Window, question: str | Question | None = None) -> str:
        """The resume key of ``question`` (a name; None: the only question) about ``window``."""
        q = self.question(question)
        return row_key(window, q.prompt, self.options_texts[q.name], self.model)
