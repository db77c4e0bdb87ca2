"""Answering questions about two clips: the generation engine (SPEC.md section 5).

Default decoding is the published one: greedy (the reference applies top-p and then takes the argmax, which is
always the argmax).  Unlike the reference, the engine

* keeps a static KV cache, so a step costs one token instead of the whole sequence;
* streams decoded text while tokens are produced, stoppable between tokens through a ``threading.Event``;
* caches encoder outputs per (clip content, window start) and the decoder keys/values of the audio positions
  per clip pair, so a follow-up question about the same clips runs only the prompt and the answer;
* offers real temperature / top-p sampling as an explicit option (``GenerationOptions(sample=True)``).

Layout of the decoder input (v0): [clip 1 (129), SEP, clip 2 (129), SEP] = ``config.audio_positions`` (260),
which do not depend on the prompt, then the prompt (129, right-padded with "!"), then the generated tokens.
Streaming and batches share one token loop (:func:`mellow.generation.decoding.token_loop`).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from mellow.generation import devices
from mellow.generation.answer import AnswerStream
from mellow.generation.clips import LRU, ClipFiles, ClipLike
from mellow.generation.decoding import TextStream, cut_at_stop, skip_prefix, stop_text_of, token_loop
from mellow.generation.options import GenerationOptions, GenerationResult, GenerationStats
from mellow.model.config import ModelConfig, load_config
from mellow.model.llama import CausalLM, KVCache
from mellow.model.tokenizer import PromptTokenizer

log = logging.getLogger(__name__)

FaultHook = Callable[[str], None]
#: Positions per decoder call of a CPU prefill.  A product's rate grows with its rows: the v0 layer's products
#: ran at 184 GFLOPS with 260 rows and 203 with 1 040 (float32; bfloat16 379 and 421), and whole prefills of
#: 8 windows took 415 -> 357 ms per audio part and 208 -> 191 ms per prompt going from 1 and 3 rows per call
#: to these (bfloat16 254 -> 203 and 137 -> 117 ms); 2 080 gained nothing more.
CPU_PREFILL_POSITIONS = 1040
Item = tuple[ClipLike, ClipLike, str]


class Engine:
    """Runs a :class:`~mellow.model.MellowModel` with a :class:`~mellow.model.tokenizer.PromptTokenizer`.

    ``device`` is resolved with :func:`resolve_device`; the model is moved there, or kept on the CPU with a
    ``device_note`` when that fails (see :mod:`mellow.generation.devices` for the whole fallback policy).
    ``dtype`` applies to the decoder and the audio encoder (float32 default, as published; bfloat16/float16
    are options; the encoder's STFT and log-mel front end always run in float32, and encoder outputs are
    handed on as float32).
    ``fault_hook`` is called with a stage name ("encode", "prefill", "step") before each stage; tests use it
    to inject failures.
    """

    def __init__(self, model: Any, tokenizer: PromptTokenizer, device: str | int | torch.device = "cpu",
                 dtype: str | torch.dtype | None = None, encoder_cache_size: int = 32,
                 audio_cache_size: int = 4, fault_hook: FaultHook | None = None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config: ModelConfig = model.config
        self.fault_hook = fault_hook
        self.paths: dict[str, str] = {}
        self.dtype = devices.resolve_dtype(dtype)
        dev, self.device_note = devices.resolve_device(device)
        self._device = dev
        self.clips = ClipFiles(self.config.audio)
        self._encoded = LRU(encoder_cache_size)  # clip key -> (1, audio_tokens, hidden) float32
        self._audio_kv = LRU(audio_cache_size)  # (key a, key b) -> KVCache of the audio positions (batch 1)
        self._work: tuple[KVCache, tuple | None] | None = None  # reusable batch-1 cache and its clip pair
        self._work_lock = threading.Lock()
        try:
            self._place_model(dev)
        except Exception as exc:
            if not self._fall_back_to_cpu(exc, placing=True):
                raise

    @classmethod
    def load(cls, config: str | Path | ModelConfig = "v0", model: str | Path | None = None,
             tokenizer: str | Path | None = None, device: str | int | torch.device = "auto",
             dtype: str | torch.dtype | None = None, **kwargs: Any) -> Engine:
        """Build the model from ``config``, load the checkpoint ``model`` (file, folder or name such as "v0";
        found by :func:`mellow.model_files.find_model_files`) and the tokenizer, and return an engine on
        ``device``, or on the CPU with ``device_note`` saying why when the GPU cannot take the model."""
        from mellow.model.checkpoint import load_checkpoint_into
        from mellow.model.model import MellowModel
        from mellow.model_files import find_model_files

        cfg = config if isinstance(config, ModelConfig) else load_config(config)
        files = find_model_files(model if model is not None else "v0", tokenizer)
        # The tokenizer first: reading a GGUF needs some transient memory, better spent before the weights.
        tok = PromptTokenizer.load(files.tokenizer, prompt_len=cfg.prompt.prompt_len,
                                   pad_id=cfg.prompt.pad_token_id)
        net = MellowModel(cfg)
        load_checkpoint_into(net, files.checkpoint)
        engine = cls(net, tok, device=device, dtype=dtype, **kwargs)
        engine.paths = {"checkpoint": str(files.checkpoint), "tokenizer": str(files.tokenizer)}
        return engine

    @property
    def lm(self) -> CausalLM:
        return self.model.caption_decoder.lm

    @property
    def device(self) -> torch.device:
        return self._device

    def in_dtype(self, dtype: str | torch.dtype | None) -> Engine:
        """This engine when it already runs in ``dtype``, else a twin sharing the tokenizer and files with
        converted copies of the encoder and decoder (about half the model's memory more for bfloat16; the
        float32 weights stay untouched, so nothing is lost converting back)."""
        want = devices.resolve_dtype(dtype)
        if want == self.dtype:
            return self
        model = copy.copy(self.model)
        model._modules = dict(self.model._modules)  # a module list of its own: encoder and decoder replaced
        model.caption_decoder = copy.deepcopy(self.model.caption_decoder).to(want)
        model.audio_encoder = copy.deepcopy(self.model.audio_encoder).to(want)
        twin = Engine(model, self.tokenizer, device=self._device, dtype=want)
        twin.paths = dict(self.paths)
        return twin

    def model_info(self) -> dict[str, Any]:
        """Parameters, device, dtype, config name and file paths (for the UI / CLI)."""
        n = sum(p.numel() for p in self.model.parameters())
        return {"parameters": n, "device": str(self._device), "dtype": str(self.dtype).replace("torch.", ""),
                "config": self.config.name, "device_note": self.device_note, **self.paths}

    # ----------------------------------------------------------------------------------------- devices
    def _place_model(self, dev: torch.device) -> None:
        self.model.to(dev)
        if self.dtype != torch.float32:
            self.model.caption_decoder.to(self.dtype)
            self.model.audio_encoder.to(self.dtype)

    def _fall_back_to_cpu(self, exc: BaseException, placing: bool = False) -> bool:
        """The CPU fallback (policy: :func:`fallback_note`): move everything to the CPU and say so."""
        note = devices.fallback_note(exc, self._device, placing)
        if note is None:
            return False
        log.warning(note)
        self._device = torch.device("cpu")
        self.device_note = note
        self.clear_caches()
        self._place_model(self._device)
        devices.empty_cuda_cache()
        return True

    def _retrying(self, run: Callable[[], Any]) -> Any:
        """``run()``, rerun on the CPU after an out-of-memory error on a GPU; other OOMs as DeviceError."""
        while True:
            try:
                return run()
            except Exception as exc:
                if not self._fall_back_to_cpu(exc):
                    devices.oom_as_device_error(exc, self._device)
                    raise

    def _fault(self, stage: str) -> None:
        if self.fault_hook is not None:
            self.fault_hook(stage)

    def clear_caches(self) -> None:
        """Forget cached encoder outputs and audio keys/values."""
        self._encoded.clear()
        self._audio_kv.clear()
        self._work = None

    # ----------------------------------------------------------------------------------------- audio
    def clip_key(self, clip: ClipLike) -> tuple:
        """Cache key of a clip (:class:`~mellow.generation.clips.ClipFiles`)."""
        return self.clips.key(clip)

    def encode_clip(self, clip: ClipLike) -> tuple[tuple, torch.Tensor, bool]:
        """(key, audio tokens (1, audio_tokens, hidden) float32 on the model's device, cache hit)."""
        key, wave = self.clips.resolve(clip)
        hit = self._encoded.get(key)
        if hit is not None:
            return key, hit, True
        self._fault("encode")
        tokens = self.encode_waves((self.clips.window(clip) if wave is None else wave)[None])
        self._encoded.put(key, tokens)
        return key, tokens, False

    def _audio_kv_for(self, ka: tuple, kb: tuple, a: torch.Tensor, b: torch.Tensor) -> tuple[KVCache, bool]:
        """Keys/values of the audio positions for a clip pair (batch 1), from the cache or computed now."""
        pair = (ka, kb)
        hit = self._audio_kv.get(pair)
        if hit is not None:
            return hit, True
        self._fault("prefill")
        kv = self.lm.new_cache(1, self.config.audio_positions)
        self.prefill_audio(a, b, kv)
        self._audio_kv.put(pair, kv)
        return kv, False

    # ----------------------------------------------------------------------------------------- driver ops
    # The few operations every driver (streaming, batches, scans, question sets, listening) builds on.
    @property
    def chunk_rows(self) -> int | None:
        """Windows per encoder call: 1 on the CPU (two or four per call gained nothing there, and one bounds a
        batch's working memory), the whole batch (None) on a GPU."""
        return None if self._device.type == "cuda" else 1

    def prefill_rows(self, positions: int) -> int | None:
        """Rows per decoder call of a prefill whose rows have ``positions`` positions each: on the CPU as many
        as make about :data:`CPU_PREFILL_POSITIONS` (4 audio parts, 8 prompts), the whole batch (None) on a
        GPU."""
        return None if self._device.type == "cuda" else max(1, CPU_PREFILL_POSITIONS // positions)

    def encode_waves(self, waves: torch.Tensor) -> torch.Tensor:
        """10 s windows (n, clip_samples) float32 -> audio tokens (n, audio_tokens, hidden) float32 on the
        model's device, in calls of :attr:`chunk_rows` rows."""
        step = self.chunk_rows or waves.shape[0]
        with torch.inference_mode():
            waves = waves.to(self._param_device())
            parts = [self.model.encode_audio(waves[i:i + step]) for i in range(0, len(waves), step)]
            return torch.cat(parts).float()

    def new_cache(self, rows: int, answer_len: int) -> KVCache:
        """A zeroed KV cache of ``rows`` rows for the whole prefix and ``answer_len`` generated tokens."""
        return self.lm.new_cache(rows, self.config.prefix_len + answer_len)

    def new_audio_cache(self, rows: int) -> KVCache:
        """A zeroed KV cache of ``rows`` rows for the audio positions only (:meth:`prefill_audio` fills it
        once per window; :meth:`share_audio` copies it under every question asked of the window)."""
        return self.lm.new_cache(rows, self.config.audio_positions)

    def share_audio(self, audio: KVCache, rows: Sequence[int], cache: KVCache) -> None:
        """Copy the audio positions of row ``rows[i]`` of ``audio`` into row i of ``cache`` (exact copies:
        a question asked on a shared audio part is the question asked alone)."""
        n = audio.max_len
        i = 0
        while i < len(rows):  # runs of equal rows are one broadcast copy
            j = i
            while j < len(rows) and rows[j] == rows[i]:
                j += 1
            cache.k[:, i:j, :, :n] = audio.k[:, rows[i]:rows[i] + 1]
            cache.v[:, i:j, :, :n] = audio.v[:, rows[i]:rows[i] + 1]
            i = j

    def prefill_audio(self, a: torch.Tensor, b: torch.Tensor, cache: KVCache) -> None:
        """Write the keys/values of [a, SEP, b, SEP] (a, b: (n, audio_tokens, hidden)) into positions
        [0, audio_positions) of ``cache`` (n rows); they do not depend on the prompt."""
        with torch.inference_mode():
            part = self.model.audio_part(a, b, self._decoder_dtype())
            self._rows(part, cache, 0, self.prefill_rows(part.shape[1]), logits=False)

    def prefill_prompt(self, ids: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Run prompt ids (n, prompt_len) (or (1, prompt_len), shared by every row) after the audio part of
        ``cache`` (n rows); the logits (n, vocab) that choose the first answer token, in calls of
        :meth:`prefill_rows` rows."""
        rows = self.prefill_rows(ids.shape[1])
        with torch.inference_mode():
            prompt = self.lm.embed(ids.to(self._param_device())).expand(cache.batch, -1, -1)
            return self._rows(prompt, cache, self.config.audio_positions, rows)

    def step(self, tokens: torch.Tensor, cache: KVCache, pos: int) -> torch.Tensor:
        """One decoding step: token ids (n,) fed at position ``pos`` -> logits (n, vocab)."""
        with torch.inference_mode():
            return self.lm.step(tokens, cache, pos)

    def _rows(self, x: torch.Tensor, cache: KVCache, start: int, rows: int | None,
              logits: bool = True) -> torch.Tensor | None:
        """The decoder over ``x`` (n, T, hidden) from ``start``, ``rows`` rows per call (None: all; rows are
        independent, so this is the computation of one call); the last position's logits (n, vocab), or
        None with ``logits=False`` (keys/values only, :meth:`CausalLM.forward`)."""
        n = x.shape[0]
        if rows is None or rows >= n:
            return self.lm(x, cache, start, logits=logits)
        parts = [self.lm(x[i:i + rows], KVCache(cache.k[:, i:i + rows], cache.v[:, i:i + rows]), start,
                         logits=logits) for i in range(0, n, rows)]
        return torch.cat(parts) if logits else None

    def _param_device(self) -> torch.device:
        return self.lm.model.embed_tokens.weight.device

    def _decoder_dtype(self) -> torch.dtype:
        return self.lm.model.embed_tokens.weight.dtype

    # ----------------------------------------------------------------------------------------- streaming
    def stream(self, clip_a: ClipLike, clip_b: ClipLike, prompt: str,
               options: GenerationOptions | None = None,
               cancel: threading.Event | None = None) -> AnswerStream:
        """Answer ``prompt`` about the two clips: an iterator of text pieces, produced as tokens are.

        Stops at ``options.stop_token`` (its text is not yielded), after ``options.max_len`` tokens, or when
        ``cancel`` is set (checked between tokens).  The stream's ``.result`` (a :class:`GenerationResult`)
        holds the text, tokens and stats.  An out-of-memory error on a GPU moves the engine to the CPU
        (``device_note`` says so) and the answer continues from there.
        """
        opts = options or GenerationOptions()
        answer = AnswerStream()
        answer.bind(self._stream_retrying(clip_a, clip_b, prompt, opts, cancel, answer))
        return answer

    def _stream_retrying(self, clip_a: ClipLike, clip_b: ClipLike, prompt: str, opts: GenerationOptions,
                         cancel: threading.Event | None, answer: AnswerStream) -> Iterator[str]:
        emitted = ""
        while True:
            try:
                for piece in skip_prefix(self._stream_once(clip_a, clip_b, prompt, opts, cancel, answer),
                                         emitted):
                    emitted += piece
                    yield piece
                return
            except Exception as exc:
                if not self._fall_back_to_cpu(exc):
                    devices.oom_as_device_error(exc, self._device)
                    raise

    def _stream_once(self, clip_a: ClipLike, clip_b: ClipLike, prompt: str, opts: GenerationOptions,
                     cancel: threading.Event | None, answer: AnswerStream) -> Iterator[str]:
        stats = GenerationStats(device=str(self._device))
        answer.restart(stats)
        t0 = time.perf_counter()
        if cancel is not None and cancel.is_set():
            stats.stopped = "cancelled"
            return
        ka, a, hit_a = self.encode_clip(clip_a)
        kb, b, hit_b = self.encode_clip(clip_b)
        t1 = time.perf_counter()
        stats.encoder_s, stats.encoder_cache_hit = t1 - t0, hit_a and hit_b
        enc = self.tokenizer.encode_prompt(prompt)
        stats.prompt_tokens, stats.prompt_truncated = enc.n_tokens, enc.truncated
        n_audio = self.config.audio_positions
        work, work_pair = self._take_work(n_audio + len(enc.ids) + opts.max_len)
        holds: list[tuple] = []  # the pair whose audio K/V `work` holds, once they are in place
        try:
            logits = self._prefill_one(work, work_pair, (ka, kb), a, b, enc.ids, stats, holds)
            stats.prefill_s = time.perf_counter() - t1
            text = TextStream(self.tokenizer.decode, stop_text_of(self.tokenizer.decode, opts.stop_token))
            steps = token_loop(lambda tok, pos: self.step(tok, work, pos), logits, n_audio + len(enc.ids),
                               opts, stats, t0, cancel, self._fault)
            for tok in steps:
                token = int(tok[0])
                answer.tokens.append(token)
                if token == opts.stop_token:
                    stats.stopped = "stop_token"
                    break
                piece = text.push(token)
                if piece:
                    answer.text += piece
                    yield piece
                if text.stopped:
                    stats.stopped = "stop_token"
                    break
            tail = text.finish()
            if tail:
                answer.text += tail
                yield tail
        finally:
            self._return_work(work, holds)

    def _prefill_one(self, work: KVCache, work_pair: tuple | None, pair: tuple, a: torch.Tensor,
                     b: torch.Tensor, ids: list[int], stats: GenerationStats,
                     holds: list[tuple]) -> torch.Tensor:
        """Put the pair's audio K/V into ``work`` (unless it holds them already) and run the prompt.

        Returns the logits (1, vocab) of the prompt's last position.
        """
        if work_pair == pair:
            stats.audio_cache_hit = True  # the cache still holds this pair's audio part: just rewind
        else:
            kv, stats.audio_cache_hit = self._audio_kv_for(pair[0], pair[1], a, b)
            work.load_prefix(kv)
        holds.append(pair)  # positions < audio_positions are not written again by this request
        self._fault("prefill")
        return self.prefill_prompt(torch.tensor([ids], dtype=torch.long), work)

    def first_logits(self, clip_a: ClipLike, clip_b: ClipLike, prompt: str) -> torch.Tensor:
        """The logits (vocab,) float32 on the CPU that choose the first answer token of ``prompt`` about the
        two clips, through the single-question path and its caches (a yes/no score reads their softmax)."""

        def run() -> torch.Tensor:
            ka, a, _ = self.encode_clip(clip_a)
            kb, b, _ = self.encode_clip(clip_b)
            work = self.new_cache(1, 0)
            ids = self.tokenizer.encode_prompt(prompt).ids
            logits = self._prefill_one(work, None, (ka, kb), a, b, ids, GenerationStats(), [])
            return logits[0].float().cpu()

        return self._retrying(run)

    def _take_work(self, needed: int) -> tuple[KVCache, tuple | None]:
        """The reusable batch-1 cache (and the clip pair whose audio K/V it holds), or a new one."""
        with self._work_lock:
            held = self._work
            ok = held is not None and held[0].max_len >= needed and held[0].k.device == self._param_device() \
                and held[0].k.dtype == self._decoder_dtype()
            if ok:
                self._work = None  # an interleaved request meanwhile gets its own cache
                return held
        usual = self.config.prefix_len + 300
        return self.lm.new_cache(1, max(needed, usual)), None

    def _return_work(self, work: KVCache, holds: list[tuple]) -> None:
        with self._work_lock:
            if self._work is None or self._work[0].max_len <= work.max_len:
                self._work = (work, holds[0] if holds else None)

    # ----------------------------------------------------------------------------------------- batch
    def generate(self, items: Sequence[Item], options: GenerationOptions | None = None,
                 cancel: threading.Event | None = None) -> list[GenerationResult]:
        """Answer several (clip a, clip b, prompt) triples as one batch, the way the published loop does.

        Every row is fed until all rows have produced the stop token at least once (or ``max_len`` steps);
        each row's tokens end at its first stop token and its text is cut where the stop token's text
        appears.  Greedy tokens equal those of answering the rows one by one.  Each row's stats carry its own
        token count and stop reason and the batch's timings.
        """
        opts = options or GenerationOptions()
        if not items:
            return []
        return self._retrying(lambda: self._generate_once(list(items), opts, cancel))

    def _generate_once(self, items: list[Item], opts: GenerationOptions,
                       cancel: threading.Event | None) -> list[GenerationResult]:
        stats = GenerationStats(device=str(self._device))
        t0 = time.perf_counter()
        encoded, hits = [], []
        for a, b, _ in items:
            ka, ta, ha = self.encode_clip(a)
            kb, tb, hb = self.encode_clip(b)
            encoded.append((ka, kb, ta, tb))
            hits += [ha, hb]
        t1 = time.perf_counter()
        stats.encoder_s, stats.encoder_cache_hit = t1 - t0, all(hits)
        prompts = [self.tokenizer.encode_prompt(p) for _, _, p in items]
        stats.prompt_tokens = max(p.n_tokens for p in prompts)
        stats.prompt_truncated = any(p.truncated for p in prompts)
        cache = self.new_cache(len(items), opts.max_len)
        audio_hits = []
        for row, (ka, kb, ta, tb) in enumerate(encoded):
            kv, hit = self._audio_kv_for(ka, kb, ta, tb)
            audio_hits.append(hit)
            cache.load_prefix(kv, rows=row)
        self._fault("prefill")
        logits = self.prefill_prompt(torch.tensor([p.ids for p in prompts], dtype=torch.long), cache)
        stats.audio_cache_hit = all(audio_hits)
        stats.prefill_s = time.perf_counter() - t1
        steps = list(token_loop(lambda tok, pos: self.step(tok, cache, pos), logits, self.config.prefix_len,
                                opts, stats, t0, cancel, self._fault))
        rows = torch.stack(steps, 1).cpu().tolist() if steps else [[] for _ in items]
        return [self.result_of(row, opts, stats) for row in rows]

    def result_of(self, row: list[int], opts: GenerationOptions, stats: GenerationStats) -> GenerationResult:
        """A batch row's tokens (as fed) -> its result: tokens cut after the first stop token, text cut before
        the stop token's text, and a copy of ``stats`` with the row's own count and stop reason."""
        tokens = cut_at_stop(row, opts.stop_token)
        text = self.tokenizer.decode(tokens)
        stop_text = stop_text_of(self.tokenizer.decode, opts.stop_token)
        if stop_text and (cut := text.find(stop_text)) >= 0:
            text = text[:cut]
        own_stop = opts.stop_token is not None and tokens[-1:] == [opts.stop_token]
        stopped = "stop_token" if own_stop else stats.stopped
        return GenerationResult(text, tokens, replace(stats, n_tokens=len(tokens), stopped=stopped))

    def answer(self, clip_a: ClipLike, clip_b: ClipLike, prompt: str,
               options: GenerationOptions | None = None) -> str:
        """The whole streamed answer's text (its tokens and stats: ``stream(...).result``)."""
        return "".join(self.stream(clip_a, clip_b, prompt, options))
