"""Scores from the first generated token's distribution: P(yes) for yes/no prompts, option probabilities for
multiple-choice prompts.

Both read the softmax at temperature 1 of the logits that choose the first answer token (the same logits the
greedy answer starts from), in float32.

**Yes/no** (:class:`YesNoScore`): a token counts as "yes" when its text, with at most one leading space
removed, is ``yes`` in any letter case, and as "no" likewise for ``no``; a token that merely starts with the
word ("yesterday", "nothing", " Yes," does not exist as one token) does not count.  For the SmolLM2
tokenizer of Mellow v0 these are, found by scanning the whole vocabulary:

* yes: 9230 " Yes", 9805 " yes", 10407 "yes", 10539 "Yes" (there is no single "YES" token);
* no: 787 " no", 2838 " No", 4607 "no", 5230 "No", 10921 " NO", 13465 "NO".

``score = mass(yes) / (mass(yes) + mass(no))``.

**Multiple choice** (:class:`ChoiceScore`): options are written ``a) text b) text ...`` in the prompt
(letters in order from "a", at least two).  Option *k* is represented by

* its letter: the tokens whose text, with at most one leading space removed, is the letter in either case
  ("a", "A", " a", " A"), and
* the first token of its text, encoded with and without a leading space (" dog" and "dog").

A token claimed by more than one option (e.g. " a" as option a's letter and as the first token of the option
text "a cat") is ambiguous and counts for none.  ``choices[k] = mass(option k) / sum of all options' mass``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from mellow.errors import MellowError
from mellow.model.tokenizer import PromptTokenizer

YES_NO = "yes-no"
CHOICES = "choices"
KINDS = (YES_NO, CHOICES)
YES_NO_PHRASE = "answer yes or no"

_OPTION = re.compile(r"(?<![A-Za-z0-9])([A-Za-z])\)")
_TRAILING = re.compile(r"(?:[\s,;.]+|\s+(?:or|and))+$", re.IGNORECASE)


def parse_options(prompt: str) -> list[tuple[str, str]]:
    """The options ``a) … b) …`` of a prompt as [(letter, text)], letters "a", "b", ... in order; [] when
    there are fewer than two.  An option's text runs to the next option (trailing ",", ";", "." and a final
    "or"/"and" removed); the last one to the end of the prompt."""
    found = []
    expected = "a"
    for m in _OPTION.finditer(prompt):
        if m.group(1).lower() == expected:
            found.append(m)
            expected = chr(ord(expected) + 1)
    options = []
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(prompt)
        text = _TRAILING.sub("", prompt[m.end():end].strip())
        options.append((m.group(1).lower(), text))
    return options if len(options) >= 2 else []


def scoring_for(prompt: str, score: str | None = "auto") -> str | None:
    """The score kind of a scan: ``score`` itself, or for "auto" "yes-no" when the prompt contains "answer
    yes or no", "choices" when it lists options ``a) … b) …``, else None."""
    if score is None:
        return None
    kind = str(score).strip().lower()
    if kind == "auto":
        if YES_NO_PHRASE in " ".join(prompt.lower().split()):
            return YES_NO
        return CHOICES if parse_options(prompt) else None
    if kind not in KINDS:
        raise MellowError(f"unknown score {score!r} (use yes-no, choices or auto)")
    if kind == CHOICES and not parse_options(prompt):
        raise MellowError("a choices score needs options written a) … b) … in the prompt")
    return kind


def _word_ids(tok: PromptTokenizer, words: Iterable[str]) -> dict[str, list[int]]:
    """For each lower-case word, the ids whose text (one leading space removed) is it, in any case."""
    wanted = {w.lower(): [] for w in words}
    for i in range(tok.vocab_size):
        text = tok.decode([i])
        bare = text[1:] if text.startswith(" ") else text
        hit = wanted.get(bare.lower())
        if hit is not None:
            hit.append(i)
    return wanted


def _mass(probs: torch.Tensor, ids: list[int]) -> torch.Tensor:
    """Summed probability (B,) of ``ids`` in probs (B, vocab)."""
    if not ids:
        return probs.new_zeros(probs.shape[0])
    return probs[:, ids].sum(-1)


def _probs(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits.float(), dim=-1)


@dataclass(frozen=True)
class YesNoScore:
    """P(yes) from first-step logits; ``yes_ids``/``no_ids`` as in the module docstring."""

    yes_ids: list[int]
    no_ids: list[int]

    @classmethod
    def for_tokenizer(cls, tok: PromptTokenizer) -> YesNoScore:
        ids = _word_ids(tok, ("yes", "no"))
        return cls(ids["yes"], ids["no"])

    def __call__(self, logits: torch.Tensor) -> list[float]:
        """logits (B, vocab) -> P(yes) per row."""
        probs = _probs(logits)
        yes, no = _mass(probs, self.yes_ids), _mass(probs, self.no_ids)
        return (yes / (yes + no).clamp_min(torch.finfo(torch.float32).tiny)).tolist()


@dataclass(frozen=True)
class ChoiceScore:
    """Option probabilities from first-step logits; ``option_ids`` maps each letter to its token ids."""

    option_ids: dict[str, list[int]]

    @classmethod
    def for_prompt(cls, tok: PromptTokenizer, prompt: str) -> ChoiceScore:
        options = parse_options(prompt)
        letters = _word_ids(tok, (letter for letter, _ in options))
        claims: dict[str, set[int]] = {}
        for letter, text in options:
            ids = set(letters[letter])
            for variant in (" " + text, text):
                first = tok.encode(variant)[:1] if text else []
                ids.update(first)
            claims[letter] = ids
        shared = {i for a in claims for b in claims if a < b for i in claims[a] & claims[b]}
        return cls({letter: sorted(ids - shared) for letter, ids in claims.items()})

    def __call__(self, logits: torch.Tensor) -> list[dict[str, float]]:
        """logits (B, vocab) -> per row {letter: probability}, summing to 1 over the options."""
        probs = _probs(logits)
        masses = torch.stack([_mass(probs, ids) for ids in self.option_ids.values()], dim=1)  # (B, options)
        shares = masses / masses.sum(-1, keepdim=True).clamp_min(torch.finfo(torch.float32).tiny)
        return [dict(zip(self.option_ids, row, strict=True)) for row in shares.tolist()]


def scorer_for(kind: str | None, tok: PromptTokenizer, prompt: str) -> YesNoScore | ChoiceScore | None:
    """The scorer of a score kind (None: no score)."""
    if kind == YES_NO:
        return YesNoScore.for_tokenizer(tok)
    if kind == CHOICES:
        return ChoiceScore.for_prompt(tok, prompt)
    return None
