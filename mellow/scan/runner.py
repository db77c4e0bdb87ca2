"""The batched scan runner: a question set over many 10 s windows, answered in batches with the KV cache.

For each batch of windows the runner

1. reads every window with :func:`mellow.audio.load_window` (``Clip(file, start_s)``, exactly as a single
   question cuts it; only the part of the file the window needs) or with the runner's ``read_window`` (live
   listening cuts its windows from a ring buffer), slot 2 likewise (the same window again,
   a fixed reference clip — encoded once and remembered — or the paired recording's window);
2. encodes the distinct windows (:meth:`Engine.encode_waves <mellow.generation.Engine.encode_waves>`), once
   per window whatever the number of questions;
3. prefills the audio part [a, SEP, b, SEP] once per window (the engine's ``prefill_audio``): these 260
   positions do not depend on the prompt.  With one question per window they go straight into the decoding
   cache; with several, into an audio cache that :meth:`Engine.share_audio
   <mellow.generation.Engine.share_audio>` copies under each (window, question) row;
4. prefills each row's prompt on its copy (``prefill_prompt``, batched across questions and windows), scores
   the first step's distribution (:mod:`mellow.scan.scores`, each question by its own kind) and decodes
   greedily with the shared token loop (:func:`mellow.generation.decoding.token_loop`): each row stops at its
   own stop token; rows that have stopped are dropped from the cache once a quarter of the batch has (that
   changes no token).

A batch is whole windows holding at most :attr:`ScanRunner.batch_size` (window, question) rows
(:func:`~mellow.scan.batching.pack_windows`; a window with more questions is decoded in groups of that many
rows).  :meth:`ScanRunner.batches` yields each batch's results: one :class:`WindowResult` per (window,
question) asked, in window order and, per window, in the set's order, ``question`` set to the question's
name (the unit the driver, :mod:`mellow.scan.driver`, stores and reports); a window whose audio cannot be read
gives a result with ``error`` for each of its questions and the others go on.  Greedy text, tokens and scores
equal those of asking each window each question alone through :class:`~mellow.generation.Engine`
(tests/mellow/test_scan_runner.py, tests/mellow/test_question_sets.py).  :meth:`ScanRunner.key_of` is the
resume key of a (window, question) pair (:mod:`mellow.scan.keys`); ``asks`` of :meth:`ScanRunner.batches`
asks only some questions of some windows (resuming pair by pair).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch

from mellow.audio import Clip, load_window
from mellow.errors import user_message
from mellow.generation import Engine, GenerationOptions, GenerationStats
from mellow.generation.decoding import token_loop
from mellow.generation.devices import dtype_name, is_oom, oom_as_device_error
from mellow.model.llama import KVCache
from mellow.scan.batching import Ask, LiveRows, asks_of, auto_batch_size, pack_windows
from mellow.scan.identity import model_id_for, state_dict_digest
from mellow.scan.keys import ScanKeys
from mellow.scan.questions import Question, QuestionSet
from mellow.scan.scores import CHOICES, YES_NO, YesNoScore, scorer_for, scoring_for
from mellow.scan.types import Window, WindowResult

__all__ = ["ScanRunner", "ScanTimings", "auto_batch_size", "model_id_for", "scoring_for"]

_REFERENCE_CACHE = 4  # encoded slot-2 clips remembered (a fixed --against clip is encoded once)
Answer = tuple[str, list[int], object]  # text, tokens, score (P(yes), choices or None)

#: Slot 1's audio of a window: (clip_samples,) float32 at the model's rate.
WindowReader = Callable[[Window], torch.Tensor]


@dataclass
class ScanTimings:
    """Where the time of a scan went (seconds, summed over windows; ``windows`` answered, errors excluded,
    ``answers`` the (window, question) pairs among them)."""

    windows: int = 0
    answers: int = 0
    batches: int = 0
    read_s: float = 0.0  # reading + downmix + resampling
    encode_s: float = 0.0  # HTSAT + projection, once per window
    audio_s: float = 0.0  # the decoder over [a, SEP, b, SEP], once per window
    prompt_s: float = 0.0  # the decoder over each (window, question) prompt on the audio part; scores
    decode_s: float = 0.0  # the token loop

    @property
    def prefill_s(self) -> float:
        return self.audio_s + self.prompt_s

    def per_window_ms(self) -> dict[str, float]:
        """Milliseconds per answered window of each stage (``prefill_s``: audio and prompt together)."""
        n = max(1, self.windows)
        keys = ("read_s", "encode_s", "audio_s", "prompt_s", "prefill_s", "decode_s")
        return {k: 1e3 * getattr(self, k) / n for k in keys}


@dataclass
class _Read:
    """One window's audio: slot 1's wave, and slot 2's wave (None: the same window) and key."""

    wave_a: torch.Tensor
    wave_b: torch.Tensor | None
    key_b: tuple[str, float] | None


class ScanRunner:
    """Answer a question set for every window, in batches (see the module docstring).

    ``questions``: one prompt, a :class:`~mellow.scan.questions.Question`, a
    :class:`~mellow.scan.questions.QuestionSet`, or several prompts/questions (:meth:`QuestionSet.of`);
    :attr:`questions` is the set.  ``options``: decoding (default greedy, ``max_len`` 300, stop token 0),
    shared by the questions.  ``score``: "yes-no", "choices", None, or "auto" (from each prompt,
    :func:`~mellow.scan.scores.scoring_for`); the resolved kind of each question is :attr:`scorings` (by
    name), :attr:`scoring` and :attr:`prompt` are the first question's (all there is to a one-question scan).
    ``batch_size``: (window, question) rows per batch (with one question: windows per batch); None adapts to
    memory (:func:`auto_batch_size`).  ``readers``: threads that read (and resample) the next batch's
    windows while the model answers this one; None: none on the CPU (its cores are busy computing), up to
    8 on a GPU (reading one window at a time would bound a GPU scan).  :attr:`model_id` names the model
    ("v0 sha256:1a2b3c4d5e6f", with the dtype appended when it is not float32).  :attr:`timings` accumulates
    the cost of each stage (with readers, ``read_s`` is the time spent waiting for them).  ``read_window``
    gives slot 1's audio of a window (default: :func:`~mellow.audio.load_window` of ``Clip(window.file,
    window.start_s)``); an exception it raises makes that window unreadable.
    """

    def __init__(self, engine: Engine, questions: str | Question | QuestionSet | Iterable[str | Question],
                 options: GenerationOptions | None = None, score: str | None = "auto",
                 batch_size: int | None = None, readers: int | None = None,
                 read_window: WindowReader | None = None) -> None:
        self.engine = engine
        self._read_window = read_window or self._load_window
        self.readers = _readers(engine) if readers is None else int(readers)
        self.questions = QuestionSet.of(questions)
        self.options = options or GenerationOptions()
        self.scorings: dict[str, str | None] = {q.name: scoring_for(q.prompt, score) for q in self.questions}
        first = self.questions[0]
        self.prompt, self.scoring = first.prompt, self.scorings[first.name]
        self._scorers = self._make_scorers()
        self.batch_size = int(batch_size) if batch_size else auto_batch_size(engine, self.options.max_len)
        self.model_id: str = _model_id(engine)
        dtype = dtype_name(engine.dtype)
        self.keys = ScanKeys(self.questions, self.options, self.scorings, dtype, self.model_id)
        self.options_text = self.keys.options_texts[first.name]
        self.timings = ScanTimings()
        self._prompt_ids = {q.name: engine.tokenizer.encode_prompt(q.prompt).ids for q in self.questions}
        self._references: dict[tuple[str, float], torch.Tensor] = {}

    def _make_scorers(self) -> dict[str, object]:
        yes_no = None  # built once (it reads the whole vocabulary) and shared by the yes/no questions
        scorers: dict[str, object] = {}
        for q in self.questions:
            kind = self.scorings[q.name]
            if kind == YES_NO:
                yes_no = yes_no or YesNoScore.for_tokenizer(self.engine.tokenizer)
                scorers[q.name] = yes_no
            else:
                scorers[q.name] = scorer_for(kind, self.engine.tokenizer, q.prompt)
        return scorers

    def key_of(self, window: Window, question: str | Question | None = None) -> str:
        """The resume key of ``question`` (a name; None: the only question) about ``window``
        (:class:`mellow.scan.keys.ScanKeys`; a one-question scan's keys are those of scans before sets)."""
        return self.keys.key_of(window, question)

    def question(self, question: str | Question | None = None) -> Question:
        """The set's question of this name; None: the only question."""
        return self.keys.question(question)

    # ----------------------------------------------------------------------------------------- driving
    def batches(self, windows: Iterable[Window], cancel: threading.Event | None = None,
                asks: Mapping[Window, Sequence[str]] | None = None) -> Iterator[list[WindowResult]]:
        """Yield the results of each batch (whole windows, at most :attr:`batch_size` rows), in window order,
        one per (window, question) asked.  ``asks`` names the questions to ask of a window (the others of
        the set are skipped; a window not in it gets every question).  ``cancel`` is checked between batches
        (a batch is never cut short)."""
        packed = pack_windows(asks_of(windows, self.questions.names, asks), lambda: self.batch_size)
        if not self.readers:
            for batch in packed:
                if cancel is not None and cancel.is_set():
                    return
                yield self._answer_batch(batch, self._read_all(batch))
            return
        with ThreadPoolExecutor(self.readers, thread_name_prefix="mellow-scan-read") as pool:
            ahead = None  # the next batch and its reads, under way while this one is answered
            for batch in itertools.chain(packed, [None]):
                reading = None if batch is None else (batch, [pool.submit(self._read, w) for w, _ in batch])
                if ahead is not None:
                    if cancel is not None and cancel.is_set():
                        return
                    t0 = time.perf_counter()
                    reads = [f.result() for f in ahead[1]]
                    self.timings.read_s += time.perf_counter() - t0
                    yield self._answer_batch(ahead[0], reads)
                ahead = reading

    def run(self, windows: Iterable[Window], cancel: threading.Event | None = None,
            asks: Mapping[Window, Sequence[str]] | None = None) -> Iterator[WindowResult]:
        """One :class:`WindowResult` per (window, question) asked, in order (:meth:`batches`, flattened)."""
        for results in self.batches(windows, cancel, asks):
            yield from results

    def _read_all(self, batch: list[Ask]) -> list[_Read | str]:
        t0 = time.perf_counter()
        reads = [self._read(w) for w, _ in batch]
        self.timings.read_s += time.perf_counter() - t0
        return reads

    def _answer_batch(self, batch: list[Ask], reads: list[_Read | str]) -> list[WindowResult]:
        """Results of one batch; out of memory on a GPU halves the rows per batch and runs the halves."""
        try:
            return self._run_batch(batch, reads)
        except Exception as exc:
            rows = sum(len(names) for _, names in batch)
            if not is_oom(exc) or rows == 1:
                oom_as_device_error(exc, self.engine.device)
                raise
            if self.engine.device.type == "cuda":
                torch.cuda.empty_cache()
            self.batch_size = max(1, min(self.batch_size, rows) // 2)
            if len(batch) == 1:
                return self._answer_batch(batch, reads)  # one window: its questions in smaller groups
            half = len(batch) // 2
            first = self._answer_batch(batch[:half], reads[:half])
            return first + self._answer_batch(batch[half:], reads[half:])

    def _run_batch(self, batch: list[Ask], reads: list[_Read | str]) -> list[WindowResult]:
        good = [i for i, r in enumerate(reads) if isinstance(r, _Read)]
        pairs = [(row, name) for row, i in enumerate(good) for name in batch[i][1]]
        answers: dict[tuple[int, str], Answer] = {}
        if good:
            a, b = self._encode([reads[i] for i in good])  # type: ignore[misc]
            answers = dict(zip(pairs, self._answer(a, b, pairs), strict=True))
            self.timings.windows += len(good)
            self.timings.answers += len(pairs)
        self.timings.batches += 1
        row_of = {i: row for row, i in enumerate(good)}
        results = []
        for i, ((w, names), read) in enumerate(zip(batch, reads, strict=True)):
            for name in names:
                if isinstance(read, str):
                    results.append(WindowResult(window=w, error=read, question=name))
                    continue
                text, tokens, score = answers[(row_of[i], name)]
                kind = self.scorings[name]
                results.append(WindowResult(window=w, text=text, tokens=tokens, question=name,
                                            score=score if kind == YES_NO else None,  # type: ignore[arg-type]
                                            choices=score if kind == CHOICES else None))  # type: ignore[arg-type]
        return results

    # ----------------------------------------------------------------------------------------- stages
    def _read(self, w: Window) -> _Read | str:
        """The window's audio, or a one-line reason why it cannot be read."""
        audio = self.engine.config.audio
        try:
            wave_a = self._read_window(w)
            if w.slot2_file is None:
                return _Read(wave_a, None, None)
            key = (str(w.slot2_file), float(w.slot2_start_s))
            if key in self._references:
                return _Read(wave_a, None, key)
            return _Read(wave_a, load_window(Clip(w.slot2_file, w.slot2_start_s), audio), key)
        except Exception as exc:  # noqa: BLE001 - any unreadable window is reported, and the scan goes on
            return user_message(exc, "reading this window")

    def _load_window(self, w: Window) -> torch.Tensor:
        return load_window(Clip(w.file, w.start_s), self.engine.config.audio)

    def _encode(self, reads: list[_Read]) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio tokens of slots 1 and 2, each (n, audio_tokens, hidden), from one encoder forward."""
        t0 = time.perf_counter()
        waves = [r.wave_a for r in reads]
        extra: dict[tuple[str, float], int] = {}
        for r in reads:
            if r.wave_b is not None and r.key_b not in extra:
                extra[r.key_b] = len(waves)  # type: ignore[index]
                waves.append(r.wave_b)
        tokens = self.engine.encode_waves(torch.stack(waves))
        n = len(reads)
        a = tokens[:n]
        b = torch.cat([self._slot2(a[i:i + 1], r, tokens, extra) for i, r in enumerate(reads)])
        for key, row in extra.items():
            self._remember(key, tokens[row:row + 1])
        self._sync()
        self.timings.encode_s += time.perf_counter() - t0
        return a, b

    def _slot2(self, same: torch.Tensor, r: _Read, tokens: torch.Tensor,
               extra: dict[tuple[str, float], int]) -> torch.Tensor:
        """Slot 2's tokens (1, audio_tokens, hidden): the window itself, encoded now, or remembered."""
        if r.key_b is None:
            return same
        if r.key_b in extra:
            row = extra[r.key_b]
            return tokens[row:row + 1]
        return self._references[r.key_b]

    def _remember(self, key: tuple[str, float], tokens: torch.Tensor) -> None:
        if len(self._references) >= _REFERENCE_CACHE:
            self._references.pop(next(iter(self._references)))
        self._references[key] = tokens

    def _answer(self, a: torch.Tensor, b: torch.Tensor, pairs: list[tuple[int, str]]) -> list[Answer]:
        """(text, tokens, score/choices/None) per (row of a/b, question name) pair, from audio tokens a, b
        (n, audio_tokens, hidden): the audio part prefilled once per row, then the pairs in groups of at most
        :attr:`batch_size` rows."""
        engine, opts = self.engine, self.options
        t0 = time.perf_counter()
        n = a.shape[0]
        if len(pairs) == n and n <= self.batch_size:  # one question per window: no copy of the audio part
            cache = engine.new_cache(n, opts.max_len)
            engine.prefill_audio(a, b, cache)
            self._add_time("audio_s", t0)
            return self._decode(pairs, cache)
        audio = engine.new_audio_cache(n)
        engine.prefill_audio(a, b, audio)
        self._add_time("audio_s", t0)
        out: list[Answer] = []
        for i in range(0, len(pairs), self.batch_size):
            group = pairs[i:i + self.batch_size]
            cache = engine.new_cache(len(group), opts.max_len)
            engine.share_audio(audio, [row for row, _ in group], cache)
            out += self._decode(group, cache)
        return out

    def _decode(self, pairs: list[tuple[int, str]], cache: KVCache) -> list[Answer]:
        """The pairs' prompts prefilled on the audio part already in ``cache`` (one row per pair), scored,
        and decoded."""
        engine, opts = self.engine, self.options
        t0 = time.perf_counter()
        names = [name for _, name in pairs]
        ids = torch.tensor([self._prompt_ids[name] for name in names], dtype=torch.long)
        logits = engine.prefill_prompt(ids, cache)
        scores = self._score(logits, names)
        t1 = self._add_time("prompt_s", t0)
        stats = GenerationStats(device=str(engine.device))
        live = LiveRows(engine.step, cache, len(pairs), opts.stop_token)
        steps = list(token_loop(live, logits, engine.config.prefix_len, opts, stats, t0))
        rows = torch.stack(steps, 1).cpu().tolist()
        self._add_time("decode_s", t1)
        out = []
        for row, score in zip(rows, scores, strict=True):
            result = engine.result_of(row, opts, stats)
            out.append((result.text, result.tokens, score))
        return out

    def _score(self, logits: torch.Tensor, names: list[str]) -> list[object]:
        """Each row's score (P(yes), choices or None) by its question's scorer; logits (rows, vocab)."""
        scores: list[object] = [None] * len(names)
        for name in dict.fromkeys(names):
            scorer = self._scorers[name]
            if scorer is None:
                continue
            rows = [i for i, n in enumerate(names) if n == name]
            for i, value in zip(rows, scorer(logits[rows]), strict=True):  # type: ignore[operator]
                scores[i] = value
        return scores

    def _add_time(self, stage: str, since: float) -> float:
        """Add the time since ``since`` to ``timings.<stage>`` (after the device finished); returns now."""
        self._sync()
        now = time.perf_counter()
        setattr(self.timings, stage, getattr(self.timings, stage) + now - since)
        return now

    def _sync(self) -> None:
        if self.engine.device.type == "cuda":
            torch.cuda.synchronize(self.engine.device)


def _readers(engine: Engine) -> int:
    """Reading threads by default: none on the CPU, up to 8 (and at most the CPU count) on a GPU."""
    return 0 if engine.device.type == "cpu" else max(1, min(8, os.cpu_count() or 1))


def _model_id(engine: Engine) -> str:
    checkpoint = engine.paths.get("checkpoint")
    if checkpoint:
        return model_id_for(engine.config, Path(checkpoint), engine.dtype)
    suffix = "" if engine.dtype == torch.float32 else f" {str(engine.dtype).replace('torch.', '')}"
    return f"{engine.config.name} sha256:{state_dict_digest(engine.model)[:12]}{suffix}"
