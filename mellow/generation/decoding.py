"""The token loop shared by streaming, batches and scans, and the pieces around it.

:func:`token_loop` turns the logits after a prefill into tokens, one decoding step at a time, for a batch of
rows that share one :class:`~mellow.model.llama.KVCache`.  Rows are independent (no padding mask), so a row
that has produced its stop token is simply fed on (masked) until every row has; its later tokens are dropped
by :func:`cut_at_stop`.  This changes no token of any row.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import torch

from mellow.generation.options import GenerationOptions, GenerationStats

#: (tokens (B,), position) -> logits (B, vocab): one cached decoding step (``CausalLM.step`` on a cache).
StepFn = Callable[[torch.Tensor, int], torch.Tensor]


class TextStream:
    """Incremental detokenizer: feed token ids, get the newly completed text.

    Decodes all ids so far and returns the part not yet emitted, holding back trailing U+FFFD characters
    (an unfinished multi-byte character) until a later token completes them or the stream ends.
    """

    def __init__(self, decode: Callable[[list[int]], str], stop_text: str | None) -> None:
        self._decode = decode
        self._stop_text = stop_text or None
        self.ids: list[int] = []
        self.emitted = ""
        self.stopped = False  # the stop text appeared inside the decoded text

    def _text(self) -> str:
        text = self._decode(self.ids)
        if self._stop_text is not None:
            cut = text.find(self._stop_text)
            if cut >= 0:
                self.stopped = True
                return text[:cut]
        return text

    def push(self, token: int) -> str:
        self.ids.append(token)
        text = self._text()
        if self.stopped:
            return self._take(text)
        return self._take(text.rstrip("\ufffd"))

    def finish(self) -> str:
        return self._take(self._text())

    def _take(self, text: str) -> str:
        if len(text) <= len(self.emitted) or not text.startswith(self.emitted):
            return ""
        new = text[len(self.emitted):]
        self.emitted = text
        return new


def skip_prefix(pieces: Iterator[str], already: str) -> Iterator[str]:
    """Yield the text of ``pieces`` beyond ``already`` (used when a request is re-run after a fallback)."""
    seen = ""
    for piece in pieces:
        before = len(seen)
        seen += piece
        if len(seen) <= len(already):
            continue
        yield seen[max(before, len(already)):]


def cut_at_stop(row: list[int], stop_token: int | None) -> list[int]:
    """``row`` up to and including its first ``stop_token`` (all of it when there is none)."""
    if stop_token is None or stop_token not in row:
        return row
    return row[:row.index(stop_token) + 1]


def stop_text_of(decode: Callable[[list[int]], str], stop_token: int | None) -> str | None:
    """The text of the stop token (answers are cut where it appears), or None."""
    return decode([stop_token]) if stop_token is not None else None


def seeded_generator(opts: GenerationOptions, device: torch.device) -> torch.Generator | None:
    """A seeded generator for reproducible sampling (None: greedy, or sampling from the global RNG)."""
    if not opts.sample or opts.seed is None:
        return None
    gen = torch.Generator(device=device)
    gen.manual_seed(int(opts.seed))
    return gen


def choose(logits: torch.Tensor, opts: GenerationOptions, gen: torch.Generator | None) -> torch.Tensor:
    """Next tokens (B,) from logits (B, vocab): argmax, or a temperature/top-p sample."""
    if not opts.sample:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / opts.temperature, dim=-1)
    if opts.top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        before = sorted_p.cumsum(-1) - sorted_p  # mass strictly above each token
        sorted_p = sorted_p.masked_fill(before >= opts.top_p, 0.0)  # the top token always stays
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=gen).squeeze(-1)


def _record_step(stats: GenerationStats, step: int, t0: float, t_first: float) -> float:
    """Update the timing figures after token ``step`` (0-based) was chosen; returns the first token's time."""
    now = time.perf_counter()
    stats.n_tokens = step + 1
    if step == 0:
        stats.first_token_s = now - t0
        return now
    if now > t_first:
        stats.decode_tokens_per_s = step / (now - t_first)
    return t_first


def token_loop(step: StepFn, logits: torch.Tensor, pos: int, opts: GenerationOptions, stats: GenerationStats,
               t0: float, cancel: threading.Event | None = None,
               fault: Callable[[str], None] | None = None) -> Iterator[torch.Tensor]:
    """Yield the chosen tokens (B,) of every step, starting from the prefill's ``logits`` (B, vocab).

    ``pos`` is the position of the first generated token.  Stops after ``opts.max_len`` tokens, when every row
    has produced ``opts.stop_token``, or when ``cancel`` is set (checked before each token, so a cancelled
    request computes nothing more).  A consumer may also stop early by closing the generator.  ``stats``
    gets the token count, timings (``t0``: when the request began) and why it stopped; ``fault`` (a test
    hook) is called with "step" before each decoding step.
    """
    gen = seeded_generator(opts, logits.device)
    done = torch.zeros(logits.shape[0], dtype=torch.bool, device=logits.device)
    t_first = time.perf_counter()
    stats.stopped = "max_len"
    tok = None
    for i in range(opts.max_len):
        if cancel is not None and cancel.is_set():
            stats.stopped = "cancelled"
            return
        if tok is not None:
            if fault is not None:
                fault("step")
            with torch.inference_mode():
                logits = step(tok, pos + i - 1)
        with torch.inference_mode():
            tok = choose(logits, opts, gen)
        t_first = _record_step(stats, i, t0, t_first)
        yield tok
        if opts.stop_token is not None:
            done |= tok == opts.stop_token
            if bool(done.all()):
                stats.stopped = "stop_token"
                return
