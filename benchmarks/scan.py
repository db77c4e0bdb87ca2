"""Whole-recording scan speed of the full-size v0 model on the CPU (recipe weights), float32 and bfloat16.

Prints, in one run, for a generated 10-minute 48 kHz stereo recording scanned with hop 10 s (60 windows):
  * real-time factor (audio seconds per wall second) of a yes/no scan and of a caption scan with 24 forced
    tokens per window (``stop_token=None, max_len=24``), with the batch size the runner picks;
  * the per-window cost split (read + resample, encoder, prefill, decode) of each;
  * a batch-size sweep (1, 4, 8, 16) of the caption scan (on the first 16 windows);
  * the published algorithm per window (the window read, the encoder run for both slots, then the
    full-recompute loop of benchmarks/generation.py for the same 24 tokens) and the scan's speed-up over it;
  * peak RSS;
  * the bfloat16 real-time factors and their agreement with float32 (identical texts, largest |delta score|).

The recipe weights answer no question sensibly, so they never say "yes"/"no" and stop: the yes/no scan forces
2 tokens per window (what the published model produces: "Yes"/"No" and <|endoftext|>).  Its score is computed
from the first step as always.

Run:  python benchmarks/scan.py [--quick] [--threads 2] [--minutes 10] [--no-bf16]
When other processes share the cores, run it with OMP_WAIT_POLICY=PASSIVE: spinning OpenMP threads that lose
their core make each decoding step 10-25x slower (measured here: 2.9 s instead of 0.12 s per step).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import (  # noqa: E402
    YES_NO_PROMPT,
    long_wav,
    naive_ms_per_token,
    offline_tokenizer,
    peak_rss_mib,
    recipe_model,
    yes_no_options,
)
from mellow.audio import Clip, load_window  # noqa: E402
from mellow.generation import Engine, GenerationOptions  # noqa: E402
from mellow.scan.runner import ScanRunner  # noqa: E402
from mellow.scan.types import Window, WindowResult  # noqa: E402

CAPTION = "caption the audio."
YES_NO_OPTS = yes_no_options()
CAPTION_OPTS = GenerationOptions(max_len=24, stop_token=None)
HOP = 10.0


def plan(path: Path, seconds: float) -> list[Window]:
    starts = list(np.arange(0.0, seconds - 10.0 + 1e-9, HOP))
    return [Window(file=path, start_s=float(s), end_s=float(s) + 10.0) for s in starts]


def scan(engine: Engine, prompt: str, opts: GenerationOptions, windows: list[Window],
         batch: int | None = None) -> tuple[list[WindowResult], float, ScanRunner]:
    runner = ScanRunner(engine, prompt, opts, batch_size=batch)
    t0 = time.perf_counter()
    results = list(runner.run(windows))
    wall = time.perf_counter() - t0
    assert all(r.error is None for r in results), [r.error for r in results if r.error]
    return results, wall, runner


def report(label: str, windows: list[Window], wall: float, runner: ScanRunner) -> float:
    audio = HOP * len(windows)
    split = runner.timings.per_window_ms()
    print(f"{label}: {len(windows)} windows, batch {runner.batch_size}, {wall:.1f} s -> "
          f"{audio / wall:.1f}x real time ({1e3 * wall / len(windows):.0f} ms/window: read+resample "
          f"{split['read_s']:.0f}, encoder {split['encode_s']:.0f}, prefill {split['prefill_s']:.0f}, "
          f"decode {split['decode_s']:.0f} ms)")
    return audio / wall


def published_per_window(engine: Engine, window: Window, n_tokens: int, n_steps: int) -> dict[str, float]:
    """Seconds per window of the published algorithm: read, the encoder for each of the two slots, and
    ``n_tokens`` steps of the full-recompute loop (the naive loop of benchmarks/generation.py)."""
    clip = Clip(window.file, window.start_s)
    t0 = time.perf_counter()
    load_window(clip, engine.config.audio)
    t_read = time.perf_counter() - t0
    t_encoder = pub_encoder_s(engine, window)
    _, naive_ms, samples = naive_ms_per_token(engine, clip, clip, n_tokens, n_steps)
    return {"read": t_read, "encoder": 2 * t_encoder, "loop": naive_ms * n_tokens / 1e3,
            "lengths": f"{samples[0][0]}..{samples[-1][0]}"}


def prefill_flop(engine: Engine) -> float:
    """Floating-point operations of one prefill of prefix_len positions (matrix products and attention)."""
    d, n = engine.config.decoder, engine.config.prefix_len
    kv = d.num_key_value_heads * d.head_dim
    h = d.hidden_size
    per_token = 2 * (2 * h * h + 2 * h * kv + 3 * h * d.intermediate_size)
    attention = 2 * 2 * n * n * d.num_attention_heads * d.head_dim  # scores and values, full (unmasked) cost
    return d.num_hidden_layers * (n * per_token + attention)


def matmul_gflops(rows: int = 3112, dtype: torch.dtype = torch.float32) -> float:
    """This machine's rate for the prefill's typical product (rows x 576) @ (576 x 1536), best of 5."""
    a, w = torch.randn(rows, 576, dtype=dtype), torch.randn(1536, 576, dtype=dtype)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        torch.nn.functional.linear(a, w)
        best = min(best, time.perf_counter() - t)
    return 2 * rows * 576 * 1536 / best / 1e9


def pub_encoder_s(engine: Engine, window: Window) -> float:
    """Best-of-3 encoder time of one window (batch 1)."""
    wave = load_window(Clip(window.file, window.start_s), engine.config.audio)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(3):
            t = time.perf_counter()
            engine.model.encode_audio(wave[None])
            best = min(best, time.perf_counter() - t)
    return best


def agreement(a: list[WindowResult], b: list[WindowResult]) -> tuple[float, float | None]:
    same = sum(x.text == y.text for x, y in zip(a, b, strict=True)) / len(a)
    deltas = [abs(x.score - y.score) for x, y in zip(a, b, strict=True) if x.score is not None]
    return same, (max(deltas) if deltas else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 minutes of audio, a short sweep (to try it out)")
    ap.add_argument("--minutes", type=float, default=None, help="recording length (default 10; quick 2)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-bf16", action="store_true", help="skip the bfloat16 part")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    minutes = args.minutes or (2.0 if args.quick else 10.0)
    sweep_windows = 8 if args.quick else 16
    print(f"torch {torch.__version__}, {args.threads} threads, CPU; v0 architecture, recipe weights; "
          f"load average {os.getloadavg()[0]:.1f} (other processes on these cores distort every figure)")

    tok = offline_tokenizer()
    model = recipe_model("v0")
    engine = Engine(model, tok, device="cpu")
    gc.collect()
    rss_loaded = peak_rss_mib()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.wav"
        long_wav(path, 60 * minutes)
        windows = plan(path, 60 * minutes)
        size = path.stat().st_size / 2**20
        print(f"recording: {minutes:g} min, 48 kHz stereo 16-bit WAV ({size:.0f} MiB); "
              f"hop {HOP:g} s -> {len(windows)} windows; peak RSS with the model loaded {rss_loaded:.0f} MiB")
        scan(engine, CAPTION, CAPTION_OPTS, windows[:2], batch=2)  # warm-up (allocator, kernels, caches)

        yes32, wall, runner = scan(engine, YES_NO_PROMPT, YES_NO_OPTS, windows)
        rtf_yes = report("float32 yes/no scan (2 tokens)", windows, wall, runner)
        cap32, wall, runner = scan(engine, CAPTION, CAPTION_OPTS, windows)
        rtf_cap = report("float32 caption scan (24 tokens)", windows, wall, runner)
        print(f"peak RSS after the float32 scans: {peak_rss_mib():.0f} MiB "
              f"(+{peak_rss_mib() - rss_loaded:.0f} MiB over the loaded model)")

        sub = windows[:sweep_windows]
        for batch in (1, 4, 8, 16):
            if batch <= len(sub):
                _, wall, runner = scan(engine, CAPTION, CAPTION_OPTS, sub, batch=batch)
                report(f"  sweep, caption, batch {batch:2d}", sub, wall, runner)

        rate = matmul_gflops()
        flop = prefill_flop(engine)
        ceiling = HOP / (flop / (rate * 1e9) + pub_encoder_s(engine, windows[0]))
        print(f"ceiling: prefill {flop / 1e9:.0f} GFLOP at the measured {rate:.0f} GFLOPS = "
              f"{flop / (rate * 1e9):.2f} s + encoder -> {ceiling:.1f}x real time at hop {HOP:g} s")
        pub = published_per_window(engine, windows[len(windows) // 2], 24, 4 if args.quick else 6)
        per = pub["read"] + pub["encoder"] + pub["loop"]
        print(f"published algorithm per window: read {1e3 * pub['read']:.0f} ms + encoder x2 "
              f"{1e3 * pub['encoder']:.0f} ms + full-recompute loop for 24 tokens {pub['loop']:.1f} s "
              f"(lengths {pub['lengths']}) = {per:.1f} s -> {HOP / per:.2f}x real time; "
              f"the caption scan is {rtf_cap / (HOP / per):.1f}x faster")
        print(f"peak RSS: {peak_rss_mib():.0f} MiB")

        if not args.no_bf16:
            del engine
            gc.collect()
            engine16 = Engine(model, tok, device="cpu", dtype="bfloat16")
            scan(engine16, CAPTION, CAPTION_OPTS, windows[:2], batch=2)
            yes16, wall, runner = scan(engine16, YES_NO_PROMPT, YES_NO_OPTS, windows)
            report("bfloat16 yes/no scan (2 tokens)", windows, wall, runner)
            cap16, wall, runner = scan(engine16, CAPTION, CAPTION_OPTS, windows)
            report("bfloat16 caption scan (24 tokens)", windows, wall, runner)
            same_yes, delta = agreement(yes32, yes16)
            same_cap, _ = agreement(cap32, cap16)
            print(f"bfloat16 vs float32: identical texts {100 * same_yes:.0f} % (yes/no), "
                  f"{100 * same_cap:.0f} % (caption); largest |delta score| {delta:.4f}; "
                  f"median float32 score {statistics.median(r.score for r in yes32):.4f}")
    print(f"float32 summary: yes/no {rtf_yes:.1f}x, caption {rtf_cap:.1f}x real time; "
          f"peak RSS at the end {peak_rss_mib():.0f} MiB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
