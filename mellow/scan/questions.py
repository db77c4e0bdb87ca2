"""Question sets: several questions asked of every window of a scan in one pass.

A :class:`Question` is a ``name`` (how outputs label its answers), a ``prompt`` and an optional detection
``threshold`` (None: the scan's).  A :class:`QuestionSet` is an ordered tuple of questions with distinct
names and distinct prompts.  Results carry their question by name (:attr:`WindowResult.question
<mellow.scan.types.WindowResult.question>`); resume keys carry it by prompt, so renaming a question changes
no key.

Sets come from prompts (:meth:`QuestionSet.of`; a name defaults to :func:`short_name` of the prompt), from a
small CSV or YAML file (:func:`load_questions`; columns/keys ``name``, ``prompt``, ``threshold``), or from the
packaged presets (:func:`preset`, :func:`preset_names`; YAML files in ``mellow/scan/presets``, found with
importlib.resources).  :meth:`QuestionSet.save` writes the YAML that :func:`load_questions` reads back.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mellow.errors import one_line
from mellow.files import write_atomic
from mellow.scan.plan import ScanSetupError

#: Longest question name.
NAME_CHARS = 64
#: Suffixes of question files, by format.
FILE_FORMATS = {".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}
COLUMNS = ("name", "prompt", "threshold")

_YES_NO = re.compile(r"\banswer\s+(?:with\s+)?yes\s+or\s+no\b[.!]?", re.IGNORECASE)
_LEADS = re.compile(
    r"^(?:(?:is|are)\s+there|(?:can|do)\s+you\s+hear|does\s+(?:the|this)\s+(?:audio|recording|clip)\s+"
    r"(?:contain|have|include)|(?:is|are))\s+(?:(?:a|an|any|some|the)\s+)?", re.IGNORECASE)
_TAILS = re.compile(r"\s+(?:(?:in|on)\s+(?:the|this)\s+(?:audio|recording|clip)|audible)$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class QuestionError(ScanSetupError, ValueError):
    """A question, question file or preset that cannot be used (one line: where and why); a scan setting
    the scan cannot start with."""


def short_name(prompt: str) -> str:
    """A short name for ``prompt``: its first clause (up to "?", ",", ";" or a sentence's end) without "answer
    yes or no", a leading "is there a" and a trailing "in the audio", at most four words ("is there a bird
    singing in the audio? answer yes or no" -> "bird singing"; "caption the audio." -> "caption the audio");
    "question" when nothing is left."""
    text = " ".join(_YES_NO.sub(" ", prompt).split())
    clause = next((part for part in re.split(r"[?,;]|\.\s", text) if part.strip(" .,;:!")), "")
    clause = clause.strip(" .,;:!").lower()
    clause = _TAILS.sub("", _LEADS.sub("", clause)).strip(" .,;:!")
    words = clause.split()[:4]
    name = " ".join(words)[:NAME_CHARS].strip()
    return name or "question"


@dataclass(frozen=True)
class Question:
    """One question of a scan: ``name`` (labels its answers, unique in a set), ``prompt`` and the detection
    ``threshold`` on its score (None: the scan's threshold)."""

    name: str
    prompt: str
    threshold: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise QuestionError("type a prompt to ask of every window")
        name = self.name.strip() if isinstance(self.name, str) else ""
        if not name:
            raise QuestionError(f"the question {one_line(self.prompt, 60)!r} needs a name")
        if len(name) > NAME_CHARS or _CONTROL.search(name):
            raise QuestionError(f"question name {one_line(name, 40)!r} is too long or holds a tab or line "
                                f"break (at most {NAME_CHARS} characters on one line)")
        object.__setattr__(self, "name", name)
        if self.threshold is not None:
            object.__setattr__(self, "threshold", _threshold(self.threshold, name))

    @classmethod
    def from_prompt(cls, prompt: str, threshold: float | None = None) -> Question:
        """The question of ``prompt``, named :func:`short_name` of it."""
        return cls(short_name(prompt), prompt, threshold)


def _threshold(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise QuestionError(f"question {name!r}: threshold {one_line(value, 20)!r} is not a number") from None
    if isinstance(value, bool) or not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise QuestionError(f"question {name!r}: threshold must be between 0 and 1, got "
                            f"{one_line(value, 20)}")
    return number


@dataclass(frozen=True)
class QuestionSet:
    """Questions asked of every window, in order (answers come back in this order per window).

    ``name`` names the set (a preset's name, or "" for one made of prompts).  Raises :class:`QuestionError`
    when it is empty, or two questions share a name or a prompt.
    """

    questions: tuple[Question, ...]
    name: str = ""

    def __post_init__(self) -> None:
        qs = tuple(self.questions)
        object.__setattr__(self, "questions", qs)
        if not qs:
            raise QuestionError("a question set needs at least one question")
        for attr, what in (("name", "name"), ("prompt", "prompt")):
            seen: set[str] = set()
            for q in qs:
                value = getattr(q, attr)
                if value in seen:
                    raise QuestionError(f"two questions have the {what} {one_line(value, 60)!r}; each "
                                        f"question of a set needs its own {what}")
                seen.add(value)

    @classmethod
    def of(cls, questions: str | Question | QuestionSet | Iterable[str | Question],
           name: str = "") -> QuestionSet:
        """A set from one prompt, one question, a set (returned as is) or several prompts/questions; prompts
        are named :func:`short_name` of themselves, and names that come out equal get " (2)", " (3)"..."""
        if isinstance(questions, QuestionSet):
            return questions
        items = [questions] if isinstance(questions, (str, Question)) else list(questions)
        return _named([(q.name, q.prompt, q.threshold) if isinstance(q, Question) else ("", str(q), None)
                       for q in items], name)

    def __iter__(self) -> Iterator[Question]:
        return iter(self.questions)

    def __len__(self) -> int:
        return len(self.questions)

    def __getitem__(self, index: int) -> Question:
        return self.questions[index]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.questions)

    def get(self, name: str) -> Question:
        """The question named ``name``; QuestionError when there is none."""
        for q in self.questions:
            if q.name == name:
                return q
        raise QuestionError(f"no question named {name!r} (the set has {', '.join(self.names)})")

    def joined(self, other: QuestionSet) -> QuestionSet:
        """This set's questions, then ``other``'s (names and prompts must stay distinct)."""
        return QuestionSet(self.questions + other.questions, self.name or other.name)

    def to_yaml(self) -> str:
        """The set as the YAML :func:`load_questions` reads (``name``, then ``questions``)."""
        items = [{"name": q.name, "prompt": q.prompt, **({} if q.threshold is None else
                                                          {"threshold": q.threshold})} for q in self]
        doc: dict[str, Any] = {"name": self.name} if self.name else {}
        doc["questions"] = items
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_yaml` to ``path`` (whole, by rename)."""
        write_atomic(Path(path), self.to_yaml().encode("utf-8"))


# --------------------------------------------------------------------------------------------- files
def load_questions(path: str | Path) -> QuestionSet:
    """The questions of a ``.csv`` (a header with ``prompt`` and optionally ``name``, ``threshold``) or
    ``.yaml``/``.yml`` file (a list of prompts or of {name, prompt, threshold}, or a mapping with
    ``questions:`` and optionally ``name:``).  Raises QuestionError: one line naming the file and place."""
    p = Path(path)
    fmt = FILE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise QuestionError(f"{p}: a question file ends in .csv, .yaml or .yml")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise QuestionError(f"cannot read the question file: {one_line(exc)}") from None
    except UnicodeDecodeError:
        raise QuestionError(f"{p} is not UTF-8 text") from None
    try:
        return _parse_csv(text, p.stem) if fmt == "csv" else _parse_yaml(text, p.stem)
    except QuestionError as exc:
        raise QuestionError(f"{p}: {exc}") from None


def _parse_csv(text: str, default_name: str) -> QuestionSet:
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        records = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise QuestionError(f"not valid CSV ({one_line(exc)})") from None
    if not records:
        raise QuestionError("no questions (the file is empty)")
    header = [c.strip().lower() for c in records[0]]
    unknown = [c for c in header if c not in COLUMNS]
    if unknown or "prompt" not in header or len(set(header)) != len(header):
        raise QuestionError(f"the first row must name the columns: prompt, and optionally name and threshold "
                            f"(found {', '.join(header)})")
    items = []
    for number, cells in enumerate(records[1:], start=2):
        if len(cells) > len(header):
            raise QuestionError(f"row {number} has {len(cells)} cells but the header names {len(header)}")
        rec = dict(zip(header, (c.strip() for c in cells), strict=False))
        items.append(_item(rec, f"row {number}"))
    return _set(items, default_name)


def _parse_yaml(text: str, default_name: str) -> QuestionSet:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise QuestionError(f"not valid YAML{where} ({one_line(getattr(exc, 'problem', exc))})") from None
    name = default_name
    if isinstance(doc, dict):
        name = str(doc.get("name") or default_name)
        doc = doc.get("questions")
    if not isinstance(doc, list):
        raise QuestionError("expected a list of questions (or a mapping with 'questions:')")
    items = []
    for number, entry in enumerate(doc, start=1):
        where = f"question {number}"
        if isinstance(entry, str):
            entry = {"prompt": entry}
        if not isinstance(entry, dict) or set(map(str, entry)) - set(COLUMNS):
            raise QuestionError(f"{where}: expected a prompt or a mapping of name, prompt and threshold")
        items.append(_item({str(k): "" if v is None else v for k, v in entry.items()}, where))
    return _set(items, name)


def _item(rec: dict[str, Any], where: str) -> tuple[str, str, object]:
    prompt = str(rec.get("prompt", "")).strip()
    if not prompt:
        raise QuestionError(f"{where} has no prompt")
    threshold = rec.get("threshold", "")
    return str(rec.get("name", "")).strip(), prompt, None if threshold == "" else threshold


def _set(items: Sequence[tuple[str, str, object]], name: str) -> QuestionSet:
    if not items:
        raise QuestionError("no questions")
    return _named(items, name)


def _named(items: Sequence[tuple[str, str, object]], name: str) -> QuestionSet:
    """The set of (name or "", prompt, threshold) items: an empty name becomes :func:`short_name` of the
    prompt, numbered " (2)", " (3)"... when another question has it already."""
    taken = {label for label, _, _ in items if label}
    questions = []
    for label, prompt, threshold in items:
        if not label:
            base = label = short_name(prompt)
            n = 1
            while label in taken:
                n += 1
                label = f"{base} ({n})"
            taken.add(label)
        questions.append(Question(label, prompt, threshold))  # type: ignore[arg-type]
    return QuestionSet(tuple(questions), name)


# --------------------------------------------------------------------------------------------- presets
def _presets_dir() -> Any:
    return resources.files("mellow.scan") / "presets"


def preset_names() -> list[str]:
    """Names of the packaged question sets, sorted ("soundscape", ...)."""
    return sorted(f.name[:-5] for f in _presets_dir().iterdir() if f.name.endswith(".yaml"))


def preset(name: str) -> QuestionSet:
    """The packaged question set ``name``; QuestionError naming the presets when there is none."""
    key = str(name).strip().lower()
    if key not in preset_names():
        raise QuestionError(f"unknown question preset {name!r} (choose from {', '.join(preset_names())})")
    text = (_presets_dir() / f"{key}.yaml").read_text(encoding="utf-8")
    return _parse_yaml(text, key)
