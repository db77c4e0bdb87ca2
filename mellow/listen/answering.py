"""Asking the listener's questions of live windows, through the scan driver and runner (one path with
``mellow scan`` and the window's scans: the same batches, scores, resume keys and rule for unreadable
windows).

The questions are one :class:`~mellow.scan.questions.QuestionSet`: each window is encoded and its audio part
prefilled once, and every question is answered on that shared prefix (:mod:`mellow.scan.runner`).  The
privacy question joins the set when it asks for yes or no (its P(yes) is what withholds audio); a privacy
question that does not, or that repeats a question's prompt, is asked by a runner of its own, scored yes/no.
"""

from __future__ import annotations

from collections.abc import Sequence

from mellow.generation import Engine, GenerationOptions
from mellow.scan.driver import ScanDriver
from mellow.scan.questions import Question, QuestionError, QuestionSet
from mellow.scan.runner import ScanRunner, WindowReader
from mellow.scan.scores import YES_NO, scoring_for
from mellow.scan.types import Window, WindowResult

PRIVACY_NAME = "privacy"


class WindowAnswerer:
    """Every question about each window: ``questions`` (scored "auto": yes/no questions get P(yes)) and the
    optional ``privacy_prompt`` (always scored yes/no), last.  ``read_window`` gives a window's audio.

    :attr:`questions` is the whole set in answer order (the privacy question last, named "privacy");
    :meth:`prompt_of` and :meth:`key_of` give a question's prompt and resume key by its place in it."""

    def __init__(self, engine: Engine, questions: QuestionSet | Sequence[str], privacy_prompt: str | None,
                 read_window: WindowReader, max_len: int = 300, batch_size: int | None = None) -> None:
        options = GenerationOptions(max_len=max_len)
        asked = QuestionSet.of(questions)
        self.privacy = False
        self._own: ScanRunner | None = None  # the privacy question's runner when it cannot join the set
        if privacy_prompt:
            self.privacy = True
            joined = _joined(asked, privacy_prompt)
            if joined is None:
                self._own = ScanRunner(engine, Question(PRIVACY_NAME, privacy_prompt), options, score=YES_NO,
                                       batch_size=batch_size, read_window=read_window)
            else:
                asked = joined
        self.runner = ScanRunner(engine, asked, options, score="auto", batch_size=batch_size,
                                 read_window=read_window)
        self.questions = asked if self._own is None else asked.joined(self._own.questions)

    @property
    def batch_size(self) -> int:
        return min(r.batch_size for r in self.runners)

    @property
    def model_id(self) -> str:
        return self.runner.model_id

    @property
    def runners(self) -> list[ScanRunner]:
        """The set's runner, and the privacy question's own when it has one."""
        return [self.runner] + ([self._own] if self._own is not None else [])

    def prompt_of(self, q: int) -> str:
        return self.questions[q].prompt

    def key_of(self, window: Window, q: int) -> str:
        """The resume key of question ``q`` (its place in :attr:`questions`) about ``window``."""
        name = self.questions[q].name
        own = self._own is not None and q == len(self.questions) - 1
        return (self._own if own else self.runner).key_of(window, name)  # type: ignore[union-attr]

    def answer(self, windows: Sequence[Window]) -> list[list[WindowResult]]:
        """For each window, one result per question (:attr:`questions` order); an unreadable window's results
        carry its ``error``."""
        place = {name: q for q, name in enumerate(self.questions.names)}
        table: list[list[WindowResult | None]] = [[None] * len(self.questions) for _ in windows]
        for runner in self.runners:
            for batch in ScanDriver(runner, list(enumerate(windows))).batches():
                for i, result in batch.answered + batch.failed:
                    table[i][place[result.question]] = result
        return [[r if r is not None else WindowResult(w, error="not answered") for r in row]
                for w, row in zip(windows, table, strict=True)]


def _joined(asked: QuestionSet, privacy_prompt: str) -> QuestionSet | None:
    """``asked`` and the privacy question, when it asks for yes or no and fits in the set; else None."""
    if scoring_for(privacy_prompt, "auto") != YES_NO:
        return None
    try:
        return asked.joined(QuestionSet((Question(PRIVACY_NAME, privacy_prompt),)))
    except QuestionError:
        return None
