"""The batched scan runner: one prompt over many 10 s windows, answered in batches with the KV cache.

For each batch of windows the runner

1. reads every window with :func:`mellow.audio.load_window` (``Clip(file, start_s)``, exactly as a single
   question cuts it; only the part of the file the window needs) or with the runner's ``read_window`` (live
   listening cuts its windows from a ring buffer), slot 2 likewise (the same window again, a fixed
   reference clip — encoded once and remembered — or the paired recording's window);
2. encodes the distinct windows (:meth:`Engine.encode_waves <mellow.generation.Engine.encode_waves>`);
3. prefills the audio part [a, SEP, b, SEP] and then the prompt for the whole batch (the engine's
   ``prefill_audio``/``prefill_prompt``: the single question's path, batched);
4. scores the first step's distribution (:mod:`mellow.scan.scores`) and decodes greedily with the shared
   token loop (:func:`mellow.generation.decoding.token_loop`): each row stops at its own stop token; rows
   that have stopped are dropped from the cache once a quarter of the batch has (that changes no token).

:meth:`ScanRunner.batches` yields each batch's results in window order (the unit the driver,
:mod:`mellow.scan.driver`, stores and reports); a window whose audio cannot be read gives a
:class:`WindowResult` with ``error`` and the others go on.  Greedy text, tokens and scores equal those of
asking each window alone through :class:`~mellow.generation.Engine` (tests/mellow/test_scan_runner.py).
:meth:`ScanRunner.key_of` is the window's resume key (:mod:`mellow.scan.keys`).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from mellow.audio import Clip, load_window
from mellow.errors import user_message
from mellow.generation import Engine, GenerationOptions, GenerationStats
from mellow.generation.decoding import token_loop
from mellow.generation.devices import dtype_name, is_oom, oom_as_device_error
from mellow.scan.batching import LiveRows, auto_batch_size
from mellow.scan.identity import model_id_for, state_dict_digest
from mellow.scan.keys import options_text, row_key
from mellow.scan.scores import scorer_for, scoring_for
from mellow.scan.types import Window, WindowResult

__all__ = ["ScanRunner", "ScanTimings", "auto_batch_size", "model_id_for", "scoring_for"]

_REFERENCE_CACHE = 4  # encoded slot-2 clips remembered (a fixed --against clip is encoded once)

#: Slot 1's audio of a window: (clip_samples,) float32 at the model's rate.
WindowReader = Callable[[Window], torch.Tensor]


@dataclass
class ScanTimings:
    """Where the time of a scan went (seconds, summed over windows; ``windows`` answered, errors excluded)."""

    windows: int = 0
    batches: int = 0
    read_s: float = 0.0  # reading + downmix + resampling
    encode_s: float = 0.0  # HTSAT + projection
    prefill_s: float = 0.0  # the decoder over [a, SEP, b, SEP, prompt], and the scores
    decode_s: float = 0.0  # the token loop

    def per_window_ms(self) -> dict[str, float]:
        n = max(1, self.windows)
        return {k: 1e3 * getattr(self, k) / n for k in ("read_s", "encode_s", "prefill_s", "decode_s")}


@dataclass
class _Read:
    """One window's audio: slot 1's wave, and slot 2's wave (None: the same window) and key."""

    wave_a: torch.Tensor
    wave_b: torch.Tensor | None
    key_b: tuple[str, float] | None


class ScanRunner:
    """Answer ``prompt`` for every window, in batches (see the module docstring).

    ``options``: decoding (default greedy, ``max_len`` 300, stop token 0).  ``score``: "yes-no", "choices",
    None, or "auto" (from the prompt, :func:`~mellow.scan.scores.scoring_for`); the resolved kind is
    :attr:`scoring`.  ``batch_size``: windows per batch; None adapts to memory (:func:`auto_batch_size`).
    :attr:`model_id` names the model ("v0 sha256:1a2b3c4d5e6f", with the dtype appended when it is not
    float32).  :attr:`timings` accumulates the cost of each stage.  ``read_window`` gives slot 1's audio of a
    window (default: :func:`~mellow.audio.load_window` of ``Clip(window.file, window.start_s)``); an
    exception it raises makes that window unreadable.
    """

    def __init__(self, engine: Engine, prompt: str, options: GenerationOptions | None = None,
                 score: str | None = "auto", batch_size: int | None = None,
                 read_window: WindowReader | None = None) -> None:
        self.engine = engine
        self._read_window = read_window or self._load_window
        self.prompt = prompt
        self.options = options or GenerationOptions()
        self.scoring: str | None = scoring_for(prompt, score)
        self._scorer = scorer_for(self.scoring, engine.tokenizer, prompt)
        self.batch_size = int(batch_size) if batch_size else auto_batch_size(engine, self.options.max_len)
        self.model_id: str = _model_id(engine)
        self.options_text = options_text(self.options, self.scoring, dtype_name(engine.dtype))
        self.timings = ScanTimings()
        self._prompt_ids = torch.tensor([engine.tokenizer.encode_prompt(prompt).ids], dtype=torch.long)
        self._references: dict[tuple[str, float], torch.Tensor] = {}

    def key_of(self, window: Window) -> str:
        """The resume key of this runner's question about ``window`` (:func:`mellow.scan.keys.row_key`)."""
        return row_key(window, self.prompt, self.options_text, self.model_id)

    # ----------------------------------------------------------------------------------------- driving
    def batches(self, windows: Iterable[Window],
                cancel: threading.Event | None = None) -> Iterator[list[WindowResult]]:
        """Yield the results of each batch of :attr:`batch_size` windows, in window order.  ``cancel`` is
        checked between batches (a batch is never cut short)."""
        pending = iter(windows)
        while cancel is None or not cancel.is_set():
            batch = list(itertools.islice(pending, self.batch_size))
            if not batch:
                return
            yield self._answer_batch(batch)

    def run(self, windows: Iterable[Window], cancel: threading.Event | None = None) -> Iterator[WindowResult]:
        """One :class:`WindowResult` per window, in order (:meth:`batches`, flattened)."""
        for results in self.batches(windows, cancel):
            yield from results

    def _answer_batch(self, batch: list[Window]) -> list[WindowResult]:
        """Results of one batch; out of memory on a GPU halves the batch size and runs the halves."""
        try:
            return self._run_batch(batch)
        except Exception as exc:
            if not is_oom(exc) or len(batch) == 1:
                oom_as_device_error(exc, self.engine.device)
                raise
            if self.engine.device.type == "cuda":
                torch.cuda.empty_cache()
            self.batch_size = max(1, len(batch) // 2)
            half = len(batch) // 2
            return self._answer_batch(batch[:half]) + self._answer_batch(batch[half:])

    def _run_batch(self, batch: list[Window]) -> list[WindowResult]:
        t0 = time.perf_counter()
        reads: list[_Read | str] = [self._read(w) for w in batch]
        self.timings.read_s += time.perf_counter() - t0
        good = [i for i, r in enumerate(reads) if isinstance(r, _Read)]
        results = [WindowResult(window=w, error=r if isinstance(r, str) else None)
                   for w, r in zip(batch, reads, strict=True)]
        if good:
            a, b = self._encode([reads[i] for i in good])  # type: ignore[misc]
            answers = self._decode(a, b)
            for i, (text, tokens, score) in zip(good, answers, strict=True):
                results[i].text, results[i].tokens = text, tokens
                if self.scoring == "yes-no":
                    results[i].score = score  # type: ignore[assignment]
                elif self.scoring == "choices":
                    results[i].choices = score  # type: ignore[assignment]
            self.timings.windows += len(good)
        self.timings.batches += 1
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

    def _decode(self, a: torch.Tensor, b: torch.Tensor) -> list[tuple[str, list[int], object]]:
        """(text, tokens, score/choices/None) per row, from audio tokens a, b (n, audio_tokens, hidden)."""
        engine, opts = self.engine, self.options
        t0 = time.perf_counter()
        n = a.shape[0]
        cache = engine.new_cache(n, opts.max_len)
        engine.prefill_audio(a, b, cache)
        logits = engine.prefill_prompt(self._prompt_ids, cache)
        scores = self._scorer(logits) if self._scorer is not None else [None] * n
        self._sync()
        t1 = time.perf_counter()
        self.timings.prefill_s += t1 - t0
        stats = GenerationStats(device=str(engine.device))
        live = LiveRows(engine.step, cache, n, opts.stop_token)
        steps = list(token_loop(live, logits, engine.config.prefix_len, opts, stats, t0))
        rows = torch.stack(steps, 1).cpu().tolist()
        self.timings.decode_s += time.perf_counter() - t1
        out = []
        for row, score in zip(rows, scores, strict=True):
            result = engine.result_of(row, opts, stats)
            out.append((result.text, result.tokens, score))
        return out

    def _sync(self) -> None:
        if self.engine.device.type == "cuda":
            torch.cuda.synchronize(self.engine.device)


def _model_id(engine: Engine) -> str:
    checkpoint = engine.paths.get("checkpoint")
    if checkpoint:
        return model_id_for(engine.config, Path(checkpoint), engine.dtype)
    suffix = "" if engine.dtype == torch.float32 else f" {str(engine.dtype).replace('torch.', '')}"
    return f"{engine.config.name} sha256:{state_dict_digest(engine.model)[:12]}{suffix}"
