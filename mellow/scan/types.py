"""The data a whole-recording scan passes between its parts: windows in, per-(window, question) results out.

Planning (:mod:`mellow.scan.plan`) makes :class:`Window` rows; the batched runner (:mod:`mellow.scan.runner`)
turns them into :class:`WindowResult` rows; merging and the writers read those.  No Qt, no Ray.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Window:
    """One 10 s window to ask about.

    ``file``/``start_s`` go in slot 1, cut exactly as ``Clip(file, start_s)`` cuts it.  Slot 2 holds
    ``slot2_file``/``slot2_start_s`` when set (a fixed reference clip, or the paired recording's window),
    else the same window again.  ``end_s`` is where the window ends in the file (``start_s + 10`` or the
    file's end for files shorter than 10 s).  ``file_hash`` is the content hash of ``file``
    (:func:`mellow.audio.clip_content_hash`), used for resume keys; ``slot2_hash`` that of ``slot2_file``.
    """

    file: Path
    start_s: float
    end_s: float
    file_hash: str = ""
    slot2_file: Path | None = None
    slot2_start_s: float = 0.0
    slot2_hash: str = ""


@dataclass
class WindowResult:
    """What the model said about one window.

    ``text`` is the greedy answer (cut at the stop token), ``tokens`` its token ids (stop token included
    when produced).  ``score`` is P(yes) for yes/no scans (None otherwise); ``choices`` maps option letters
    ("a", "b", ...) to probabilities for multiple-choice scans (None otherwise).  ``error`` is a one-line
    reason when the window could not be read (then text is "" and nothing else is set).  ``question`` is the
    name of the question answered (:class:`~mellow.scan.questions.Question`; a scan of several questions
    gives one result per window and question).
    """

    window: Window
    text: str = ""
    tokens: list[int] = field(default_factory=list)
    score: float | None = None
    choices: dict[str, float] | None = None
    error: str | None = None
    question: str = ""


@dataclass(frozen=True)
class FileProblem:
    """A file of the scan that could not be planned or read, with its one-line reason."""

    file: Path
    reason: str


@dataclass(frozen=True)
class Detection:
    """Consecutive windows whose score reached the threshold, merged (start of the first, end of the last)."""

    file: Path
    start_s: float
    end_s: float
    max_score: float
    n_windows: int
    text: str = ""  # the answer of the highest-scoring window
    question: str = ""  # the name of the question whose answers these are
