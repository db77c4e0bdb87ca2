"""Answering questions about two clips: the generation engine (SPEC.md section 5).

Default decoding is the published one: greedy (the reference applies top-p and then takes the argmax, which is
always the argmax).  Unlike the reference, the engine

* keeps a static KV cache, so a step costs one token instead of the whole sequence;
* streams decoded text while tokens are produced, stoppable between tokens through a ``threading.Event``;
* caches encoder outputs per (clip content, window start) and the decoder keys/values of the 260 audio
  positions per clip pair, so a follow-up question about the same clips runs only the prompt and the answer;
* offers real temperature / top-p sampling as an explicit option (``GenerationOptions(sample=True)``).

Layout of the decoder input (v0): [clip 1 (129), SEP, clip 2 (129), SEP] = 260 "audio" positions, which do not
depend on the prompt, then the prompt (129, right-padded with "!"), then the generated tokens.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mellow.audio import Clip, audio_info, clip_content_hash, load_window, resampled_length
from mellow.config import ModelConfig, load_config
from mellow.errors import DeviceError, MellowError
from mellow.llama import CausalLM, KVCache
from mellow.tokenizer import PromptTokenizer

log = logging.getLogger(__name__)

ClipLike = Clip | str | Path | torch.Tensor | np.ndarray
FaultHook = Callable[[str], None]


# --------------------------------------------------------------------------------------------- options/stats
@dataclass(frozen=True)
class GenerationOptions:
    """How to decode.

    ``sample=False`` (default) is the published behaviour: greedy; ``temperature`` and ``top_p`` then change
    nothing, exactly as in the reference.  ``sample=True`` draws from the temperature-scaled, top-p-filtered
    distribution with a ``torch.Generator`` seeded by ``seed`` (None: not reproducible); this is NOT what the
    published model does.  ``stop_token=None`` produces exactly ``max_len`` tokens.
    """

    max_len: int = 300
    sample: bool = False
    temperature: float = 1.0
    top_p: float = 0.8
    seed: int | None = None
    stop_token: int | None = 0

    def __post_init__(self) -> None:
        if int(self.max_len) < 1:
            raise MellowError(f"max_len must be at least 1, got {self.max_len}")
        if self.sample and not self.temperature > 0:
            raise MellowError(f"temperature must be positive, got {self.temperature}")
        if self.sample and not 0 < self.top_p <= 1:
            raise MellowError(f"top_p must be in (0, 1], got {self.top_p}")


@dataclass
class GenerationStats:
    """Timings and cache use of the last request (seconds; rates per second)."""

    n_tokens: int = 0  # tokens produced (the stop token included when one was produced)
    prompt_tokens: int = 0  # prompt length before truncation
    prompt_truncated: bool = False
    encoder_s: float = 0.0  # audio loading + HTSAT + projection (0 when both clips were cached)
    prefill_s: float = 0.0  # decoder over the audio part (when not cached) and the prompt
    first_token_s: float = 0.0  # from the request to the first token
    decode_tokens_per_s: float = 0.0  # tokens after the first one
    audio_cache_hit: bool = False  # decoder K/V of the audio part reused
    encoder_cache_hit: bool = False  # both clips' encoder outputs reused
    stopped: str = ""  # "stop_token", "max_len" or "cancelled"
    device: str = "cpu"

    @property
    def cached_audio(self) -> bool:
        """Alias of ``audio_cache_hit`` (name used in the team's API notes)."""
        return self.audio_cache_hit


# --------------------------------------------------------------------------------------------- devices
def resolve_device(spec: str | int | torch.device | None = "auto") -> tuple[torch.device, str | None]:
    """Map ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``N`` or a torch.device to a usable device.

    Returns ``(device, note)``: ``note`` is a one-line message when the request could not be honoured
    (CUDA asked for but unavailable, so the CPU is used), else None.  Unknown names raise DeviceError.
    """
    if spec is None:
        spec = "auto"
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = f"cuda:{spec}"
    text = str(spec).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda"), None
        return torch.device("cpu"), None
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise DeviceError(f"unknown device {spec!r} (use auto, cpu, cuda or cuda:N)") from None
    if dev.type == "cpu":
        return torch.device("cpu"), None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            note = f"CUDA is not available here; using the CPU instead of {text}"
            log.warning(note)
            return torch.device("cpu"), note
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"no such GPU: {text} (this machine has {torch.cuda.device_count()})")
        return dev, None
    if dev.type == "mps":
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return dev, None
        note = "MPS is not available here; using the CPU"
        log.warning(note)
        return torch.device("cpu"), note
    raise DeviceError(f"unsupported device {spec!r} (use auto, cpu, cuda or cuda:N)")


def _resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16, "half": torch.float16}
    try:
        return names[str(dtype).lower()]
    except KeyError:
        raise MellowError(f"unknown dtype {dtype!r} (use float32, bfloat16 or float16)") from None


def _is_oom(exc: BaseException) -> bool:
    oom_type = getattr(torch.cuda, "OutOfMemoryError", ())
    if oom_type and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


# --------------------------------------------------------------------------------------------- helpers
class _LRU:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def items(self) -> list[tuple[Any, Any]]:
        with self._lock:
            return list(self._data.items())

    def __len__(self) -> int:
        return len(self._data)


class _TextStream:
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


def _skip_prefix(pieces: Iterator[str], already: str) -> Iterator[str]:
    """Yield the text of ``pieces`` beyond ``already`` (used when a request is re-run after a fallback)."""
    seen = ""
    for piece in pieces:
        before = len(seen)
        seen += piece
        if len(seen) <= len(already):
            continue
        yield seen[max(before, len(already)):]


def _generator(opts: GenerationOptions, device: torch.device) -> torch.Generator | None:
    """A seeded generator for reproducible sampling (None: greedy, or sampling from the global RNG)."""
    if not opts.sample or opts.seed is None:
        return None
    gen = torch.Generator(device=device)
    gen.manual_seed(int(opts.seed))
    return gen


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


def _choose(logits: torch.Tensor, opts: GenerationOptions, gen: torch.Generator | None) -> torch.Tensor:
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


# --------------------------------------------------------------------------------------------- engine
class Engine:
    """Runs a :class:`~mellow.model.MellowModel` with a :class:`~mellow.tokenizer.PromptTokenizer`.

    ``device`` is resolved with :func:`resolve_device`; the model is moved there.  ``dtype`` applies to the
    decoder (float32 default, as published; bfloat16/float16 are options).  ``fault_hook`` is called with a
    stage name ("encode", "prefill", "step") before each stage; tests use it to inject failures.
    """

    def __init__(self, model: Any, tokenizer: PromptTokenizer, device: str | int | torch.device = "cpu",
                 dtype: str | torch.dtype | None = None, encoder_cache_size: int = 32,
                 audio_cache_size: int = 4, fault_hook: FaultHook | None = None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config: ModelConfig = model.config
        self.fault_hook = fault_hook
        self.paths: dict[str, str] = {}
        dev, note = resolve_device(device)
        self.device_note: str | None = note
        self.dtype = _resolve_dtype(dtype)
        self._device = dev
        self._place_model(dev)
        self._encoded = _LRU(encoder_cache_size)  # clip key -> (1, audio_tokens, hidden) float32
        self._audio_kv = _LRU(audio_cache_size)  # (key a, key b) -> KVCache of the audio positions (batch 1)
        self._work: tuple[KVCache, tuple | None] | None = None  # reusable batch-1 cache and its clip pair
        self._work_lock = threading.Lock()
        self.last_stats = GenerationStats(device=str(dev))
        self.last_tokens: list = []  # token ids of the last request (a list per row for generate)

    # ----------------------------------------------------------------------------------------- loading
    @classmethod
    def load(cls, config: str | Path | ModelConfig = "v0", model: str | Path | None = None,
             tokenizer: str | Path | None = None, device: str | int | torch.device = "auto",
             dtype: str | torch.dtype | None = None, **kwargs: Any) -> Engine:
        """Build the model from ``config``, load the checkpoint ``model`` (file, folder or name such as "v0";
        found by :func:`mellow.checkpoint.find_model_files`) and the tokenizer, and return an engine."""
        from mellow.checkpoint import find_model_files, load_checkpoint_into
        from mellow.model import MellowModel

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

    def model_info(self) -> dict[str, Any]:
        """Parameters, device, dtype, config name and file paths (for the UI / CLI)."""
        n = sum(p.numel() for p in self.model.parameters())
        return {"parameters": n, "device": str(self._device), "dtype": str(self.dtype).replace("torch.", ""),
                "config": self.config.name, "device_note": self.device_note, **self.paths}

    def _place_model(self, dev: torch.device) -> None:
        self.model.to(dev)
        if self.dtype != torch.float32:
            self.model.caption_decoder.to(self.dtype)

    def _fall_back_to_cpu(self, exc: BaseException) -> bool:
        """After an out-of-memory error off the CPU: move everything to the CPU and say so. True if done."""
        if not _is_oom(exc) or self._device.type == "cpu":
            return False
        note = f"{self._device.type.upper()} ran out of memory; continuing on the CPU (slower)"
        log.warning(note)
        self._device = torch.device("cpu")
        self.device_note = note
        self._encoded.clear()
        self._audio_kv.clear()
        self._work = None
        self._place_model(self._device)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return True

    def _raise_oom(self, exc: BaseException) -> None:
        """Turn an out-of-memory error that cannot be retried into a one-line DeviceError."""
        if _is_oom(exc):
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise DeviceError(f"out of memory on {self._device}: {first}") from None

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
        """Cache key of a clip: (content hash, effective window start in samples) or a hash of a waveform."""
        if isinstance(clip, torch.Tensor | np.ndarray):
            raw = clip.detach().cpu().numpy() if isinstance(clip, torch.Tensor) else clip
            arr = np.ascontiguousarray(raw, dtype=np.float32)
            return ("wave", hashlib.blake2b(arr.tobytes(), digest_size=20).hexdigest())
        if not isinstance(clip, Clip):
            clip = Clip(clip)
        audio = self.config.audio
        info = audio_info(clip.path)
        n_out = resampled_length(info.frames, info.sample_rate, audio.sample_rate)
        start = 0
        if n_out > audio.clip_samples:
            start = min(max(0, round(clip.start * audio.sample_rate)), n_out - audio.clip_samples)
        return (clip_content_hash(clip.path), start)

    def _wave(self, clip: ClipLike) -> torch.Tensor:
        if isinstance(clip, torch.Tensor | np.ndarray):
            wave = torch.as_tensor(clip, dtype=torch.float32).reshape(-1)
            if wave.shape[0] != self.config.audio.clip_samples:
                raise MellowError(f"a waveform clip must have {self.config.audio.clip_samples} samples, "
                                  f"got {wave.shape[0]}")
            return wave
        return load_window(clip, self.config.audio)

    def encode_clip(self, clip: ClipLike) -> tuple[tuple, torch.Tensor, bool]:
        """(key, audio tokens (1, audio_tokens, hidden) float32 on the model's device, cache hit)."""
        key = self.clip_key(clip)
        hit = self._encoded.get(key)
        if hit is not None:
            return key, hit, True
        self._fault("encode")
        wave = self._wave(clip).to(self._param_device())
        with torch.inference_mode():
            tokens = self.model.encode_audio(wave[None])
        self._encoded.put(key, tokens)
        return key, tokens, False

    def _param_device(self) -> torch.device:
        return self.lm.model.embed_tokens.weight.device

    def _audio_part(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """[a, SEP, b, SEP] in the decoder dtype: (1, 2 * audio_tokens + 2, hidden)."""
        lm = self.lm
        sep = lm.embed(torch.full((1, 1), self.config.prompt.sep_token_id, dtype=torch.long,
                                  device=self._param_device()))
        dt = sep.dtype
        return torch.cat([a.to(dt), sep, b.to(dt), sep], dim=1)

    def _audio_kv_for(self, ka: tuple, kb: tuple, a: torch.Tensor, b: torch.Tensor) -> tuple[KVCache, bool]:
        """Keys/values of the audio positions for a clip pair (batch 1), from the cache or computed now."""
        pair = (ka, kb)
        hit = self._audio_kv.get(pair)
        if hit is not None:
            return hit, True
        self._fault("prefill")
        part = self._audio_part(a, b)
        kv = self.lm.new_cache(1, part.shape[1])
        with torch.inference_mode():
            self.lm(part, kv, 0)
        self._audio_kv.put(pair, kv)
        return kv, False

    # ----------------------------------------------------------------------------------------- streaming
    def stream(self, clip_a: ClipLike, clip_b: ClipLike, prompt: str,
               options: GenerationOptions | None = None,
               cancel: threading.Event | None = None) -> Iterator[str]:
        """Answer ``prompt`` about the two clips, yielding text pieces as tokens are produced.

        Stops at ``options.stop_token`` (its text is not yielded), after ``options.max_len`` tokens, or when
        ``cancel`` is set (checked between tokens).  ``last_stats`` describes the run.  An out-of-memory error
        on a GPU moves the engine to the CPU (``device_note`` says so) and the answer continues from there.
        """
        opts = options or GenerationOptions()
        emitted = ""
        while True:
            try:
                pieces = self._stream_once(clip_a, clip_b, prompt, opts, cancel)
                for piece in _skip_prefix(pieces, emitted):
                    emitted += piece
                    yield piece
                return
            except Exception as exc:
                if not self._fall_back_to_cpu(exc):
                    self._raise_oom(exc)
                    raise

    def _stream_once(self, clip_a: ClipLike, clip_b: ClipLike, prompt: str, opts: GenerationOptions,
                     cancel: threading.Event | None) -> Iterator[str]:
        stats = GenerationStats(device=str(self._device))
        self.last_stats = stats
        t0 = time.perf_counter()
        if cancel is not None and cancel.is_set():
            stats.stopped = "cancelled"
            return
        ka, a, hit_a = self.encode_clip(clip_a)
        kb, b, hit_b = self.encode_clip(clip_b)
        t1 = time.perf_counter()
        stats.encoder_s = t1 - t0
        stats.encoder_cache_hit = hit_a and hit_b
        enc = self.tokenizer.encode_prompt(prompt)
        stats.prompt_tokens, stats.prompt_truncated = enc.n_tokens, enc.truncated
        start = 2 * self.config.audio_tokens + 2 + len(enc.ids)
        work, work_pair = self._take_work(start + opts.max_len)
        holds: list[tuple] = []  # the pair whose audio K/V `work` holds, once they are in place
        try:
            yield from self._decode_loop(work, work_pair, (ka, kb), a, b, enc.ids, opts, cancel, stats,
                                         t0, t1, holds)
        finally:
            with self._work_lock:
                if self._work is None or self._work[0].max_len <= work.max_len:
                    self._work = (work, holds[0] if holds else None)

    def _take_work(self, needed: int) -> tuple[KVCache, tuple | None]:
        """The reusable batch-1 cache (and the clip pair whose audio K/V it holds), or a new one."""
        with self._work_lock:
            held = self._work
            ok = held is not None and held[0].max_len >= needed and held[0].k.device == self._param_device() \
                and held[0].k.dtype == self.lm.model.embed_tokens.weight.dtype
            if ok:
                self._work = None  # an interleaved request meanwhile gets its own cache
                return held
        usual = 2 * self.config.audio_tokens + 2 + self.config.prompt.prompt_len + 300
        return self.lm.new_cache(1, max(needed, usual)), None

    def _decode_loop(self, work: KVCache, work_pair: tuple | None, pair: tuple, a: torch.Tensor,
                     b: torch.Tensor, ids: list[int], opts: GenerationOptions, cancel: threading.Event | None,
                     stats: GenerationStats, t0: float, t1: float, holds: list[tuple]) -> Iterator[str]:
        lm = self.lm
        dev = self._param_device()
        n_audio = 2 * self.config.audio_tokens + 2
        with torch.inference_mode():
            if work_pair == pair:
                stats.audio_cache_hit = True  # the cache still holds this pair's audio part: just rewind
            else:
                kv, stats.audio_cache_hit = self._audio_kv_for(pair[0], pair[1], a, b)
                work.load_prefix(kv)
            holds.append(pair)  # positions < n_audio are not written again by this request
            self._fault("prefill")
            prompt = lm.embed(torch.tensor([ids], dtype=torch.long, device=dev))
            logits = lm(prompt, work, n_audio)
        t2 = time.perf_counter()
        stats.prefill_s = t2 - t1
        gen = _generator(opts, dev)
        stop_text = self.tokenizer.decode([opts.stop_token]) if opts.stop_token is not None else None
        text = _TextStream(self.tokenizer.decode, stop_text)
        produced: list[int] = []
        self.last_tokens = produced
        pos = n_audio + len(ids)
        t_first = t2
        stats.stopped = "max_len"
        if cancel is not None and cancel.is_set():
            stats.stopped = "cancelled"
            return
        for step in range(opts.max_len):
            with torch.inference_mode():
                tok = _choose(logits, opts, gen)
            token = int(tok[0])
            produced.append(token)
            t_first = _record_step(stats, step, t0, t_first)
            if opts.stop_token is not None and token == opts.stop_token:
                stats.stopped = "stop_token"
                break
            piece = text.push(token)
            if piece:
                yield piece
            if text.stopped:
                stats.stopped = "stop_token"
                break
            if step + 1 == opts.max_len:
                break
            if cancel is not None and cancel.is_set():
                stats.stopped = "cancelled"
                break
            self._fault("step")
            with torch.inference_mode():
                logits = lm.step(tok, work, pos)
            pos += 1
        tail = text.finish()
        if tail:
            yield tail

    # ----------------------------------------------------------------------------------------- batch
    def generate(self, items: Sequence[tuple[ClipLike, ClipLike, str]],
                 options: GenerationOptions | None = None,
                 cancel: threading.Event | None = None) -> list[str]:
        """Answer several (clip a, clip b, prompt) triples as one batch, the way the published loop does.

        Every row is fed until all rows have produced the stop token at least once (or ``max_len`` steps);
        each row's text is cut at the first occurrence of the stop token's text.  Greedy tokens equal those of
        answering the rows one by one.
        """
        opts = options or GenerationOptions()
        if not items:
            return []
        while True:
            try:
                return self._generate_once(list(items), opts, cancel)
            except Exception as exc:
                if not self._fall_back_to_cpu(exc):
                    self._raise_oom(exc)
                    raise

    def _generate_once(self, items: list[tuple[ClipLike, ClipLike, str]], opts: GenerationOptions,
                       cancel: threading.Event | None) -> list[str]:
        stats = GenerationStats(device=str(self._device))
        self.last_stats = stats
        lm = self.lm
        dev = self._param_device()
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
        n_audio = 2 * self.config.audio_tokens + 2
        start = n_audio + self.config.prompt.prompt_len
        bsz = len(items)
        cache = lm.new_cache(bsz, start + opts.max_len)
        audio_hits = []
        with torch.inference_mode():
            for row, (ka, kb, ta, tb) in enumerate(encoded):
                kv, hit = self._audio_kv_for(ka, kb, ta, tb)
                audio_hits.append(hit)
                cache.load_prefix(kv, rows=row)
            self._fault("prefill")
            ids = torch.tensor([p.ids for p in prompts], dtype=torch.long, device=dev)
            logits = lm(lm.embed(ids), cache, n_audio)
        stats.audio_cache_hit = all(audio_hits)
        t2 = time.perf_counter()
        stats.prefill_s = t2 - t1
        gen = _generator(opts, dev)
        tokens: list[torch.Tensor] = []
        done = torch.zeros(bsz, dtype=torch.bool, device=dev)
        pos = start
        t_first = t2
        stats.stopped = "max_len"
        for step in range(opts.max_len):
            if step > 0:
                if cancel is not None and cancel.is_set():
                    stats.stopped = "cancelled"
                    break
                self._fault("step")
                with torch.inference_mode():
                    logits = lm.step(tokens[-1], cache, pos)
                pos += 1
            with torch.inference_mode():
                tok = _choose(logits, opts, gen)
            tokens.append(tok)
            t_first = _record_step(stats, step, t0, t_first)
            if opts.stop_token is not None:
                done |= tok == opts.stop_token
                if bool(done.all()):
                    stats.stopped = "stop_token"
                    break
        if not tokens:
            return [""] * bsz
        rows = torch.stack(tokens, 1).cpu().tolist()
        self.last_tokens = rows
        stop_text = self.tokenizer.decode([opts.stop_token]) if opts.stop_token is not None else None
        out = []
        for row in rows:
            text = self.tokenizer.decode(row)
            if stop_text:
                cut = text.find(stop_text)
                text = text if cut < 0 else text[:cut]
            out.append(text)
        return out

    def answer(self, clip_a: ClipLike, clip_b: ClipLike, prompt: str,
               options: GenerationOptions | None = None) -> str:
        """The whole streamed answer as one string."""
        return "".join(self.stream(clip_a, clip_b, prompt, options))


__all__ = ["Engine", "GenerationOptions", "GenerationStats", "resolve_device"]
