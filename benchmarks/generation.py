"""Generation speed of the full-size v0 model on the CPU (recipe weights, batch 1).

Prints, in one run:
  * audio preprocessing and encoder time for the two 10 s reference clips (cold and warm),
  * decoder prefill time, time to first token, decode tokens/s and ms/token over 128 forced tokens,
  * the same per-token cost for the naive loop of the published code (no cache: the whole embedding sequence
    is run at every step), measured on a sample of steps and averaged over the 128 lengths,
  * their ratio,
  * time to first token of a follow-up question on the same clips,
  * model load time from a .ckpt (torch.load, weights_only) and from .safetensors,
  * peak resident memory (ru_maxrss) after generation and at the end.

Run:  python benchmarks/generation.py [--tokens 128] [--naive-steps 8] [--threads 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import (  # noqa: E402
    DETAIL_PROMPT,
    REFERENCE_CLIPS,
    decoder_prefix,
    naive_ms_per_token,
    peak_rss_mib,
)
from mellow.audio import load_window  # noqa: E402
from mellow.generation import Engine, GenerationOptions  # noqa: E402
from mellow.model.config import load_config  # noqa: E402
from mellow.model.model import MellowModel  # noqa: E402
from mellow.model.tokenizer import PromptTokenizer, find_offline_gguf  # noqa: E402
from mellow.recipe import apply_recipe  # noqa: E402

FOLLOW_UP = "is there a cat in the audio? answer yes or no"


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def step_times_ms(engine: Engine, a, b, n_tokens: int) -> list[float]:
    """Wall time of each cached decoding step (greedy, forced length), 2 passes over n_tokens positions."""
    lm = engine.lm
    _, ta, _ = engine.encode_clip(a)
    _, tb, _ = engine.encode_clip(b)
    out = []
    with torch.inference_mode():
        prefix = decoder_prefix(engine, ta, tb, DETAIL_PROMPT)
        for _ in range(2):
            cache = lm.new_cache(1, prefix.shape[1] + n_tokens)
            tok = lm(prefix, cache, 0).argmax(-1)
            for pos in range(prefix.shape[1], prefix.shape[1] + n_tokens - 1):
                t = time.perf_counter()
                tok = lm.step(tok, cache, pos).argmax(-1)
                out.append(1e3 * (time.perf_counter() - t))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--naive-steps", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2, help="decode runs (the best is reported too)")
    ap.add_argument("--skip-load", action="store_true", help="skip the checkpoint load timing")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, CPU, float32, batch 1")

    cfg = load_config("v0")
    tok, t_tok = timed(PromptTokenizer.load, find_offline_gguf())  # first: its transient memory is small
    model, t_build = timed(MellowModel, cfg)
    _, t_recipe = timed(apply_recipe, model)
    model.eval()
    engine, t_engine = timed(Engine, model, tok, "cpu")
    print(f"model build {t_build:.2f} s, recipe weights {t_recipe:.2f} s, tokenizer (GGUF) {t_tok:.2f} s, "
          f"engine setup {t_engine:.2f} s")

    a, b = REFERENCE_CLIPS / "a.wav", REFERENCE_CLIPS / "b.wav"
    # ---- audio front end and encoder, measured separately (cold = first call in the process)
    for label in ("cold", "warm"):
        (wa, ta), (wb, tb) = timed(load_window, a), timed(load_window, b)
        with torch.inference_mode():
            _, ea = timed(model.encode_audio, wa[None])
            _, eb = timed(model.encode_audio, wb[None])
        print(f"audio {label}: preprocessing a {ta * 1e3:.0f} ms + b {tb * 1e3:.0f} ms, "
              f"encoder a {ea * 1e3:.0f} ms + b {eb * 1e3:.0f} ms, total {(ta + tb + ea + eb) * 1e3:.0f} ms")

    # ---- cached generation: first question (cold caches), then follow-ups on the same clips
    opts = GenerationOptions(max_len=args.tokens, stop_token=None)
    engine.clear_caches()
    first_run = engine.stream(a, b, DETAIL_PROMPT, opts)
    first = "".join(first_run)
    s1 = first_run.result.stats
    assert s1.n_tokens == args.tokens and not s1.audio_cache_hit
    print(f"first question: encoder {s1.encoder_s:.3f} s, prefill (audio 260 + prompt 129) "
          f"{s1.prefill_s:.3f} s, first token {s1.first_token_s:.3f} s")
    rates = [s1.decode_tokens_per_s]
    follow = []
    for _ in range(args.repeats):
        run = engine.stream(a, b, FOLLOW_UP, opts)
        list(run)
        s = run.result.stats
        assert s.audio_cache_hit and s.encoder_cache_hit
        follow.append(s.first_token_s)
        rates.append(s.decode_tokens_per_s)
    again = engine.stream(a, b, DETAIL_PROMPT, opts)
    assert "".join(again) == first, "a follow-up must not change the answer"
    rates.append(again.result.stats.decode_tokens_per_s)
    med = statistics.median(rates)
    print(f"decode over {args.tokens} tokens: median {med:.1f} tokens/s = {1e3 / med:.1f} ms/token "
          f"(best {max(rates):.1f} tokens/s = {1e3 / max(rates):.1f} ms/token; runs: "
          + ", ".join(f"{r:.1f}" for r in rates) + ")")
    fu = statistics.median(follow)
    print(f"follow-up question on the same clips: first token {fu:.3f} s "
          f"= {100 * fu / s1.first_token_s:.0f} % of the first question's {s1.first_token_s:.3f} s")
    print(f"peak RSS after generation through the engine: {peak_rss_mib():.0f} MiB")
    steps = step_times_ms(engine, a, b, args.tokens)
    q = statistics.quantiles(steps, n=10)
    print(f"per-step decode times over {len(steps)} steps (KV cache, batch 1): "
          f"median {statistics.median(steps):.1f} ms, 10th percentile {q[0]:.1f} ms, 90th {q[-1]:.1f} ms "
          "(the 2 cores are shared: the median and low percentiles are the least disturbed figures)")

    # ---- naive full-recompute loop (the published algorithm) on the same model
    naive_mean, naive_ms, samples = naive_ms_per_token(engine, a, b, args.tokens, args.naive_steps)
    print(f"naive loop (no cache), {len(samples)} sampled steps at lengths "
          + ", ".join(f"{n}:{s * 1e3:.0f}ms" for n, s in samples)
          + f" -> {naive_ms:.0f} ms/token over lengths {samples[0][0]}..{samples[-1][0]} (median cost per "
          f"position x mean length; plain mean {naive_mean:.0f} ms) "
          f"(estimate for {args.tokens} tokens: {naive_ms * args.tokens / 1e3:.1f} s; last-position logits "
          "only, so slightly cheaper than the published loop, which computes logits for every position)")
    step_med = statistics.median(steps)
    print(f"speed-up of cached decoding over the naive loop: {naive_ms / step_med:.1f}x (median cached step "
          f"{step_med:.1f} ms), {naive_ms / (1e3 / med):.1f}x (median whole-answer rate), "
          f"{naive_ms / (1e3 / max(rates)):.1f}x (best whole-answer rate)")

    # ---- checkpoint load times (the .ckpt before its safetensors sibling exists, which loads would prefer)
    if not args.skip_load:
        from mellow.model.checkpoint import convert_to_safetensors, load_checkpoint_into

        with tempfile.TemporaryDirectory() as tmp:
            ckpt = Path(tmp) / "v0.ckpt"
            state = model.state_dict()
            torch.save(state, ckpt)
            del state, engine, model
            gc.collect()

            def load(path: Path) -> None:
                fresh, tb = timed(MellowModel, cfg)
                _, tl = timed(load_checkpoint_into, fresh, path)
                print(f"load {path.name}: {tl:.2f} s (+ {tb:.2f} s to build the empty model), "
                      f"file {path.stat().st_size / 2**20:.0f} MiB")

            load(ckpt)
            gc.collect()
            st, tc = timed(convert_to_safetensors, ckpt)
            print(f"conversion to safetensors: {tc:.2f} s")
            load(st)
    print(f"peak RSS at the end: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
