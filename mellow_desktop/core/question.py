"""Questions and answers as plain data (no Qt): what was asked, about which clips and windows, the outcome."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mellow.generation import GenerationOptions
from mellow_desktop.core.presets import needs_two_clips

_ids = itertools.count(1)


@dataclass(frozen=True)
class ClipRef:
    """One clip as sent to the model: file, window start (s), content hash, a label for the chat entry and
    file's length in seconds (None when unknown)."""

    path: Path
    start_s: float
    content_hash: str | None
    window_text: str
    duration_s: float | None = None

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Question:
    """A prompt about two clips (the same clip twice when ``single_clip``)."""

    prompt: str
    clip_a: ClipRef
    clip_b: ClipRef
    single_clip: bool
    options: GenerationOptions  # how to decode (the engine's own options)
    device: str = "auto"  # the device setting the question was asked with (recorded in the history)
    id: int = field(default_factory=lambda: next(_ids))
    created: float = field(default_factory=time.time)
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)


@dataclass
class Answer:
    """The outcome of a question. ``status``: "finished", "cancelled" or "failed"."""

    question: Question
    text: str
    status: str
    n_tokens: int | None = None
    tokens_per_s: float | None = None
    error: str | None = None
    model_id: str = ""
    pieces: int = 0
    hash_a: str | None = None
    hash_b: str | None = None
    device_note: str = ""  # set when the engine changed device during the answer (e.g. CUDA out of memory)


class QuestionProblem(ValueError):
    """The question cannot be asked as it is; ``str(exc)`` tells the user what to do."""


def build_question(
    prompt: str, a: ClipRef | None, b: ClipRef | None, options: GenerationOptions, device: str = "auto",
    about: str | None = None,
) -> Question:
    """Make a question from the loaded clips; a single clip is sent in both slots.

    ``about`` ("A" or "B") aims a question that does not compare (:func:`needs_two_clips` is false) at one
    of two loaded clips: that clip is sent in both slots. Raises QuestionProblem when there is no prompt, no
    clip, or a comparison question with only one clip.
    """
    prompt = prompt.strip()
    if not prompt:
        raise QuestionProblem("Type a question first (or pick one from Presets).")
    if a is None and b is None:
        raise QuestionProblem("Load a clip first: Open…, drop a file on Clip A, or Record.")
    if (a is None or b is None) and needs_two_clips(prompt):
        raise QuestionProblem(
            "This question compares two clips: load a second clip into "
            f"Clip {'A' if a is None else 'B'} first."
        )
    if about in ("A", "B") and a is not None and b is not None and not needs_two_clips(prompt):
        a = b = a if about == "A" else b
    single = a is None or b is None or a is b
    first = a if a is not None else b
    second = b if b is not None else a
    assert first is not None and second is not None
    return Question(
        prompt=prompt, clip_a=first, clip_b=second, single_clip=single, options=options, device=device
    )
