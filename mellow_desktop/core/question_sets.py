"""The question sets the Scan dialog offers: the engine's packaged presets
(:func:`mellow.scan.questions.preset`) and the user's saved sets, YAML files in ``<data dir>/question_sets``
(:func:`.paths.question_sets_dir`) written by :meth:`QuestionSet.save
<mellow.scan.questions.QuestionSet.save>` and read back by :func:`~mellow.scan.questions.load_questions`.
No Qt here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mellow.errors import one_line
from mellow.scan.questions import QuestionError, QuestionSet, load_questions, preset, preset_names
from mellow_desktop.core.paths import question_sets_dir

_UNSAFE = re.compile(r"[^\w .()-]+")


@dataclass(frozen=True)
class SetChoice:
    """One set the dialog lists: its ``label``, a packaged preset's name or a saved set's ``path``."""

    label: str
    preset: str | None = None
    path: Path | None = None

    def load(self) -> QuestionSet:
        """The set (QuestionError, one line, when a saved file cannot be used)."""
        if self.preset is not None:
            return preset(self.preset)
        assert self.path is not None
        return load_questions(self.path)


def set_choices(folder: Path | None = None) -> list[SetChoice]:
    """The packaged presets, then the saved sets of ``folder`` (default: the data dir's), by name."""
    folder = question_sets_dir(create=False) if folder is None else folder
    saved = sorted(folder.glob("*.yaml"), key=lambda p: p.stem.casefold()) if folder.is_dir() else []
    return ([SetChoice(f"{name} (preset)", preset=name) for name in preset_names()]
            + [SetChoice(p.stem, path=p) for p in saved])


def file_name_of(name: str) -> str:
    """The file a set called ``name`` is saved as ("Dawn birds" -> "Dawn birds.yaml"); QuestionError when
    nothing of the name can be a file name."""
    stem = _UNSAFE.sub("_", name).strip(" ._")
    if not stem:
        raise QuestionError(f"give the set a name that can be a file name (not {one_line(name, 40)!r})")
    return f"{stem[:80]}.yaml"


def save_set(questions: QuestionSet, name: str, folder: Path | None = None) -> Path:
    """Save ``questions`` as the set ``name`` (replacing a saved set of that name); returns its file.
    QuestionError (one line) when the name or the disk does not allow it."""
    folder = question_sets_dir() if folder is None else folder
    target = folder / file_name_of(name)
    try:
        QuestionSet(questions.questions, name.strip()).save(target)
    except OSError as exc:
        raise QuestionError(f"cannot save the question set to {target}: {one_line(exc)}") from None
    return target
