"""A scan as plain data (no Qt, no SQLite): what was asked, of which recording or folder of recordings, with
which model, and how it went.  The one record of a scan: the Scan dialog fills in the parameters,
:class:`.ScanSession` plans and stores it (filling in the files' facts and the model), the history lists and
re-opens it.

Its windows are :class:`~mellow.scan.types.WindowResult` rows (the engine's own type), in plan order: the
files in order, each file's windows in order (a window's *plan index* is its file's first index plus its
place in the file).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from mellow.generation import GenerationOptions
from mellow.scan.keys import options_text, row_key
from mellow.scan.questions import Question, QuestionError, QuestionSet
from mellow.scan.types import Window, WindowResult
from mellow_desktop.core.history_record import StoredEntry


@dataclass
class ScannedFile:
    """One file of a scan: absolute ``path``, content hash, length on the engine's grid, its clock start
    (``recording_start``, ISO 8601 with offset, and ``time_source``; None when unknown, see
    :mod:`mellow.recordings`), ``n_windows`` planned, or the ``problem`` that kept it out of the plan."""

    path: str
    file_hash: str = ""
    duration_s: float | None = None
    recording_start: str | None = None
    time_source: str | None = None
    n_windows: int = 0
    problem: str | None = None

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class ScanRecord(StoredEntry):
    """One scan of one file, or of every recording of a folder (``file`` is then the folder).

    What was asked (the Scan dialog's fields): ``prompt``, or a question set ``questions`` (then ``prompt``
    is its label, :func:`set_label`; :attr:`question_set` is the set either way: one prompt is a set of one,
    keyed as scans were before sets); ``hop_s``, ``from_s``/``to_s`` (None: to the file's
    end); ``threshold`` on P(yes); slot 2: ``slot2_mode`` "same" (the window again), "against"
    (``slot2_file`` at ``slot2_start_s``) or "pair" (``slot2_file`` at the same time plus ``slot2_start_s``,
    the offset); ``max_len`` tokens per answer; ``score`` "auto" (from the prompt), "yes-no", "choices" or
    None; ``dtype`` the decoder's precision ("float32", as published; "bfloat16", "float16").
    ``zone``: the zone naive recording times are read in (None: UTC, AudioMoth's default); a folder scan
    takes only the recordings that start from ``date_from`` to ``date_to`` (ISO dates, inclusive; None: no
    bound).
    Filled in when the scan is stored: ``files`` (:class:`ScannedFile`, one per file, planned or not), the
    absolute ``file`` (for one file also its content hash ``file_hash``), ``duration_s`` (the file's length,
    or the seconds of recording a folder scan covers), ``slot2_hash``, ``n_windows`` planned, the resolved
    ``scoring`` ("yes-no", "choices" or None; the first question's) and ``scorings`` (each question's, by
    name), the model (``model_id`` "v0 sha256:1a2b3c4d5e6f", ``model_checksum``).
    How it went: ``status`` "running" until it ends ("finished", "cancelled", "failed"), ``message`` (why
    it failed, or which windows could not be read), ``created``/``finished`` Unix times.
    """

    prompt: str
    file: str
    hop_s: float = 10.0
    from_s: float = 0.0
    to_s: float | None = None
    threshold: float = 0.5
    slot2_mode: str = "same"
    slot2_file: str | None = None
    slot2_start_s: float = 0.0
    max_len: int = 300
    score: str | None = "auto"
    dtype: str = "float32"
    zone: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    questions: QuestionSet | None = None
    files: list[ScannedFile] = field(default_factory=list)
    file_hash: str = ""
    n_windows: int = 0
    duration_s: float | None = None
    slot2_hash: str | None = None
    scoring: str | None = None
    scorings: dict[str, str | None] = field(default_factory=dict)
    model_id: str = ""
    model_checksum: str = ""
    status: str = "running"
    message: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    id: int | None = None

    kind = "scan"
    """Tells scans from :class:`~mellow_desktop.core.history_record.HistoryRecord` s (kind "question")."""

    @property
    def file_name(self) -> str:
        return Path(self.file).name

    @property
    def question_set(self) -> QuestionSet:
        """The questions asked of every window: :attr:`questions`, or the set of one of ``prompt``."""
        return self.questions if self.questions is not None else QuestionSet.of(self.prompt)

    @property
    def n_questions(self) -> int:
        return 1 if self.questions is None else len(self.questions)

    @property
    def n_answers(self) -> int:
        """Answers the scan plans: one per window and question."""
        return self.n_windows * self.n_questions

    @property
    def unit(self) -> str:
        """What its progress counts: "windows" (one question) or "answers" (a set)."""
        return "windows" if self.n_questions == 1 else "answers"

    def threshold_of(self, name: str) -> float:
        """The detection threshold of question ``name`` (its own, else the scan's)."""
        own = self.question_set.get(name).threshold if self.questions is not None else None
        return self.threshold if own is None else own

    def scoring_of(self, name: str) -> str | None:
        """The resolved scoring of question ``name`` (the scan's for a question stored before sets)."""
        return self.scorings.get(name, self.scoring)

    @property
    def is_folder(self) -> bool:
        """A scan of a folder of recordings (rather than of one file)."""
        return any(f.path != self.file for f in self.files)

    def first_windows(self) -> list[int]:
        """The plan index of each file's first window (files in order)."""
        starts, n = [], 0
        for f in self.files:
            starts.append(n)
            n += f.n_windows
        return starts

    def locate(self, plan_index: int) -> tuple[int, int]:
        """(file index, window index in that file) of a window's plan index."""
        n = plan_index
        for i, f in enumerate(self.files):
            if n < f.n_windows:
                return i, n
            n -= f.n_windows
        raise IndexError(f"window {plan_index} is not in the plan of scan {self.id} "
                         f"({self.n_windows} windows)")

    def generation_options(self) -> GenerationOptions:
        """The decoding options the scan answers with (greedy, as published, ``max_len`` tokens)."""
        return GenerationOptions(max_len=int(self.max_len))

    def key_of(self, window: Window, name: str | None = None) -> str:
        """The resume key of question ``name`` (None: the first) about ``window``: the key ``mellow scan``
        gives the same window, prompt, options, precision and model (:mod:`mellow.scan.keys`)."""
        q = self.question_set[0] if name is None else self.question_set.get(name)
        text = options_text(self.generation_options(), self.scoring_of(q.name), self.dtype)
        return row_key(window, q.prompt, text, self.model_id)

    def window_of(self, file_idx: int, start_s: float, end_s: float, slot2_start_s: float | None) -> Window:
        """The engine's :class:`Window` of file ``file_idx`` at ``start_s`` (slot 2 as the scan set it)."""
        scanned = self.files[file_idx]
        s2 = Path(self.slot2_file) if self.slot2_file and self.slot2_mode != "same" else None
        return Window(Path(scanned.path), start_s, end_s, scanned.file_hash, s2,
                      float(slot2_start_s or 0.0) if s2 is not None else 0.0, self.slot2_hash or "")


def set_label(questions: QuestionSet) -> str:
    """What a scan of ``questions`` is called in lists and titles: the one prompt, or "birds, rain, wind"
    headed by the set's name ("soundscape: birds, rain, wind")."""
    if len(questions) == 1:
        return questions[0].prompt
    names = ", ".join(questions.names)
    return f"{questions.name}: {names}" if questions.name else names


def stored_question(name: str, prompt: str, threshold: float | None) -> Question:
    """A question as stored: scans before sets stored the prompt as its name (too long for a name at times:
    then the name is made from the prompt)."""
    try:
        return Question(name, prompt, threshold)
    except QuestionError:
        return Question.from_prompt(prompt, threshold)


def checksum_of(model_id: str) -> str:
    """The ``sha256:...`` part of a model id ("v0 sha256:1a2b3c4d5e6f bfloat16" -> "sha256:1a2b3c4d5e6f")."""
    return next((part for part in model_id.split() if part.startswith("sha256:")), "")


@dataclass(frozen=True)
class LoadedScan:
    """A scan re-opened from the history: its record and every stored window result, in plan order
    (``indices[i]`` is ``results[i]``'s place in the plan)."""

    record: ScanRecord
    results: tuple[WindowResult, ...]
    indices: tuple[int, ...]
