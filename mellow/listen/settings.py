"""What a listening session is asked to do, as one frozen record checked once (for ``mellow listen`` and the
window alike), and the disk limit it keeps to."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mellow.errors import MellowError
from mellow.scan.plan import MIN_HOP_S
from mellow.scan.questions import Question, QuestionError, QuestionSet

WINDOW_S = 10.0
"""Seconds the model hears at a time."""


class ListenSetupError(MellowError):
    """A setting of a listening session that cannot work; the message names it in plain words."""


# --------------------------------------------------------------------------------------------- disk limit
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(%|[kmgt]i?b?|b)?\s*$", re.IGNORECASE)


def _factor(unit: str) -> int:
    """Bytes per unit: none means gigabytes; k/m/g/t decimal, ki/mi/gi/ti binary; b bytes."""
    if unit == "b":
        return 1
    if not unit:
        return 1000**3
    return (1024 if "i" in unit else 1000) ** ("kmgt".index(unit[0]) + 1)


@dataclass(frozen=True)
class DiskLimit:
    """At most ``bytes`` for the kept audio, or at most ``share`` (0..1) of the disk that holds it."""

    bytes: int | None = None
    share: float | None = None

    @classmethod
    def parse(cls, text: str) -> DiskLimit:
        """``"2"``/``"2GB"`` (gigabytes), ``"500MB"``, ``"0.5G"``, ``"10%"``; ListenSetupError otherwise."""
        m = _SIZE.match(text)
        if not m:
            raise ListenSetupError(f"not a disk limit: {text!r} (write e.g. 2GB, 500MB or 10%)")
        value, unit = float(m.group(1)), (m.group(2) or "").lower()
        if unit == "%":
            if not 0 < value <= 100:
                raise ListenSetupError(f"a disk limit in percent must be above 0 and at most 100: {text}")
            return cls(share=value / 100.0)
        if value <= 0:
            raise ListenSetupError(f"a disk limit must be more than 0: {text}")
        return cls(bytes=int(value * _factor(unit)))

    def budget(self, folder: Path) -> int:
        """The limit in bytes for audio kept under ``folder``."""
        if self.bytes is not None:
            return self.bytes
        probe = folder if folder.exists() else folder.parent
        return int(shutil.disk_usage(probe).total * (self.share or 0.0))

    def text(self) -> str:
        if self.bytes is not None:
            for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
                if self.bytes >= size:
                    return f"{self.bytes / size:.3g} {unit}"
            return f"{self.bytes} bytes"
        return f"{100 * (self.share or 0):g}% of the disk"


# --------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class ListenSettings:
    """A listening session's settings.

    ``questions``: asked of every window in one pass (a :class:`~mellow.scan.questions.QuestionSet`, or
    prompts and questions to make one; yes/no questions give a score and can detect).  Windows of
    :data:`WINDOW_S` start every ``hop_s``.  A window is a hit when its P(yes) reaches its question's
    threshold (else ``threshold``); a detection when ``hits`` of the last ``within``
    windows (this one included) are hits.  Each detection keeps ``pre_s`` before and ``post_s`` after its
    window.  ``privacy_prompt``: windows whose P(yes) for it reaches ``privacy_threshold`` keep no audio.
    ``max_disk``: the limit for kept audio, oldest first removed, never the newest ``keep_last`` clips of a
    question.  ``max_lag_s``: windows ending further than this behind the live input are skipped (counted).
    ``silence_after_s``: a silent input for this long is reported.  ``duration_s``: stop after this many
    seconds of input.  ``on_detect``: a shell command run per detection with its row as JSON on stdin.
    """

    questions: QuestionSet
    threshold: float = 0.5
    hop_s: float = WINDOW_S
    hits: int = 1
    within: int = 1
    pre_s: float = 5.0
    post_s: float = 5.0
    keep_stream: bool = False
    privacy_prompt: str | None = None
    privacy_threshold: float = 0.5
    max_disk: DiskLimit | None = None
    keep_last: int = 5
    max_lag_s: float = 30.0
    silence_after_s: float = 120.0
    duration_s: float | None = None
    on_detect: str | None = None
    max_len: int = 300

    def __post_init__(self) -> None:
        object.__setattr__(self, "questions", _question_set(self.questions))
        problems = self._problems()
        if problems:
            raise ListenSetupError(problems[0])

    def _problems(self) -> list[str]:
        checks = [
            (not MIN_HOP_S <= self.hop_s <= 3600, f"the hop must be {MIN_HOP_S:g} to 3600 seconds"),
            (not 0.0 <= self.threshold <= 1.0, "the threshold must be between 0 and 1"),
            (not 0.0 <= self.privacy_threshold <= 1.0, "the privacy threshold must be between 0 and 1"),
            (self.within < 1 or not 1 <= self.hits <= self.within,
             f"hits must be between 1 and the number of windows they fall within ({self.within})"),
            (not 0 <= self.pre_s <= 600 or not 0 <= self.post_s <= 600,
             "pre- and post-roll must be 0 to 600 seconds"),
            (self.keep_last < 0, "the number of clips always kept must be 0 or more"),
            (self.max_lag_s < 0, "the largest lag must be 0 seconds or more"),
            (self.silence_after_s <= 0, "the silence alert needs more than 0 seconds"),
            (self.duration_s is not None and self.duration_s <= 0,
             "the duration must be more than 0 seconds"),
            (self.max_len < 1, "the longest answer must be at least 1 token"),
            (self.privacy_prompt is not None and not self.privacy_prompt.strip(),
             "the privacy question is empty"),
        ]
        return [text for bad, text in checks if bad]

    @property
    def prompts(self) -> tuple[str, ...]:
        return tuple(q.prompt for q in self.questions)

    def threshold_of(self, question: Question) -> float:
        """The P(yes) at which a window of ``question`` is a hit: its own threshold, else ``threshold``."""
        return self.threshold if question.threshold is None else question.threshold

    @property
    def ring_s(self) -> float:
        """Seconds the ring buffer holds: the lag allowed, a window, both rolls and a margin."""
        return self.max_lag_s + 2 * WINDOW_S + self.pre_s + self.post_s + self.hop_s + 30.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["questions"] = [{"name": q.name, "prompt": q.prompt, "threshold": q.threshold}
                             for q in self.questions]
        data["max_disk"] = None if self.max_disk is None else self.max_disk.text()
        return data


def _question_set(given: object) -> QuestionSet:
    """The set of ``given``: a QuestionSet as is, a prompt, a Question, or a sequence of them."""
    if isinstance(given, QuestionSet):
        return given
    items = [given] if isinstance(given, (str, Question)) else list(given)  # type: ignore[call-overload]
    if not items or any(isinstance(q, str) and not q.strip() for q in items):
        raise ListenSetupError("a question to ask is needed (a prompt, not empty)")
    try:
        return QuestionSet.of([q.strip() if isinstance(q, str) else q for q in items])
    except QuestionError as exc:
        raise ListenSetupError(str(exc)) from None


def default_folder() -> Path:
    """Where listening sessions go unless told otherwise: ``<data dir>/listening``."""
    from mellow.model_files import data_dir

    return data_dir() / "listening"


def check_folder(folder: Path) -> Path:
    """Create ``folder`` if needed and make sure it can be written; ListenSetupError says why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ListenSetupError(f"cannot create {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ListenSetupError(f"cannot write to {folder}: permission denied")
    if shutil.disk_usage(folder).free < 1_000_000:
        raise ListenSetupError(f"the disk holding {folder} is full; free some space or choose another --out")
    return folder
