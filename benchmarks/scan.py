"""Whole-recording scan speed of the full-size v0 model on the CPU (recipe weights), float32 and bfloat16.

Prints, in one run, for a generated 10-minute 48 kHz stereo recording scanned with hop 10 s (60 windows):
  * the machine's ceilings, measured now: the matrix-product rate of a prefill-sized product (float32 and
    bfloat16) and the time to stream the decoder's weights once through matrix-vector products (the floor
    of one decoding step), beside the single-row and batched decoding steps;
  * real-time factor (audio seconds per wall second) and per-window stage costs (read + resample, encoder,
    audio prefill, prompt prefill, decode) of a yes/no scan (2 forced tokens), of the 8-question soundscape
    set (the same 2 tokens each) with its cost relative to one question, and of a caption scan with 24 forced
    tokens per window (``stop_token=None, max_len=24``), each with the batch the runner picks and the
    ceiling its stages would reach at the measured rates;
  * a batch-size sweep of the caption scan, and the published algorithm per window (the window read, the
    encoder for both slots, then the full-recompute loop of benchmarks/generation.py for the same 24 tokens)
    with the caption scan's speed-up over it;
  * bfloat16 end to end (encoder and decoder): the same scans, and their agreement with float32;
  * peak RSS, and a closing note with every figure beside its target.

The recipe weights answer no question sensibly, so they never say "yes"/"no" and stop: yes/no scans force
2 tokens per window (what the published model produces: "Yes"/"No" and <|endoftext|>).  Scores are computed
from the first step as always.

Run:  OMP_WAIT_POLICY=PASSIVE python benchmarks/scan.py [--quick] [--threads 2] [--minutes 10] [--no-bf16]
On shared cores spinning OpenMP threads that lose their core make each decoding step 10-25x slower; the load
average is printed beside the figures (other processes on these cores distort every one of them).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import (  # noqa: E402
    CAPTION_PROMPT,
    SCAN_HOP,
    YES_NO_PROMPT,
    agreement,
    caption_options,
    load_text,
    long_wav,
    naive_ms_per_token,
    offline_tokenizer,
    peak_rss_mib,
    recipe_model,
    scan_report,
    scan_windows,
    timed_scan,
    yes_no_options,
)
from mellow.audio import Clip, load_window  # noqa: E402
from mellow.generation import Engine  # noqa: E402
from mellow.model.llama import project  # noqa: E402
from mellow.scan.questions import preset  # noqa: E402
from mellow.scan.types import Window  # noqa: E402

YES_NO_OPTS = yes_no_options()
CAPTION_OPTS = caption_options()
TARGETS = {"set": 2.5, "caption": 10.0, "published": 15.0, "bf16 yes/no": 35.0}


# --------------------------------------------------------------------------------------------- ceilings
def matmul_gflops(dtype: torch.dtype = torch.float32, rows: int = 389) -> float:
    """This machine's rate for a prefill's typical product (rows x 576) @ (576 x 1536), best of 5."""
    a, w = torch.randn(rows, 576, dtype=dtype), torch.randn(1536, 576, dtype=dtype)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        torch.nn.functional.linear(a, w)
        best = min(best, time.perf_counter() - t)
    return 2 * rows * 576 * 1536 / best / 1e9


def decoder_flop(engine: Engine, positions: int, context: int) -> float:
    """Floating-point operations of ``positions`` decoder positions attending to ``context`` positions."""
    d = engine.config.decoder
    kv, h = d.num_key_value_heads * d.head_dim, d.hidden_size
    per_token = 2 * (2 * h * h + 2 * h * kv + 3 * h * d.intermediate_size)
    attention = 2 * 2 * positions * context * d.num_attention_heads * d.head_dim
    return d.num_hidden_layers * (positions * per_token + attention)


def stream_ms(engine: Engine) -> float:
    """The decoder's weights streamed once through the single-row step's own matrix-vector products
    (``llama.project`` of one row over every layer's weights and the head), best of 5: the floor of one
    decoding step, all its other work left out."""
    blocks, head = engine.lm._weights(full_check=True)  # the step's weight views
    weights = [w for b in blocks for w in (b.q, b.k, b.v, b.o, b.gate, b.up, b.down)] + [head]
    rows = {w.shape[-1]: torch.randn(1, w.shape[-1], dtype=w.dtype) for w in weights}
    best = float("inf")
    with torch.inference_mode():
        for _ in range(5):
            t = time.perf_counter()
            for w in weights:
                project(rows[w.shape[-1]], w)
            best = min(best, time.perf_counter() - t)
    return 1e3 * best


def step_ms(engine: Engine, rows: int, position: int = 400) -> float:
    """One batched decoding step of ``rows`` rows at ``position``, best of 5."""
    cache = engine.new_cache(rows, 24)
    ids = torch.zeros(rows, dtype=torch.long)
    best = float("inf")
    for _ in range(6):
        t = time.perf_counter()
        engine.step(ids, cache, position)
        best = min(best, time.perf_counter() - t)
    return 1e3 * best


def encoder_s(engine: Engine, window: Window) -> float:
    """Best-of-3 encoder time of one window (batch 1)."""
    wave = load_window(Clip(window.file, window.start_s), engine.config.audio)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        engine.encode_waves(wave[None])
        best = min(best, time.perf_counter() - t)
    return best


def published_per_window(engine: Engine, window: Window, n_tokens: int, n_steps: int) -> dict[str, float]:
    """Seconds per window of the published algorithm: read, the encoder for each of the two slots, and
    ``n_tokens`` steps of the full-recompute loop (benchmarks/generation.py's naive loop)."""
    clip = Clip(window.file, window.start_s)
    t0 = time.perf_counter()
    load_window(clip, engine.config.audio)
    t_read = time.perf_counter() - t0
    _, naive_ms, _ = naive_ms_per_token(engine, clip, clip, n_tokens, n_steps)
    return {"read": t_read, "encoder": 2 * encoder_s(engine, window), "loop": naive_ms * n_tokens / 1e3}


class Machine:
    """The ceilings of one precision, measured now: matmul rate, encoder, weight streaming, steps."""

    def __init__(self, engine: Engine, window: Window, batch: int) -> None:
        self.rate = matmul_gflops(engine.dtype)
        self.encoder = encoder_s(engine, window)
        self.stream = stream_ms(engine) if engine.device.type == "cpu" else float("nan")
        self.step1, self.step_b, self.batch = step_ms(engine, 1), step_ms(engine, batch), batch
        cfg = engine.config
        self.audio = decoder_flop(engine, cfg.audio_positions, cfg.audio_positions) / (self.rate * 1e9)
        self.prompt = decoder_flop(engine, cfg.prompt.prompt_len, cfg.prefix_len) / (self.rate * 1e9)

    def text(self, name: str) -> str:
        return (f"{name} ceilings: matmul {self.rate:.0f} GFLOPS -> audio prefill {1e3 * self.audio:.0f} ms, "
                f"prompt prefill {1e3 * self.prompt:.0f} ms; encoder {1e3 * self.encoder:.0f} ms; weights "
                f"streamed once {self.stream:.1f} ms; decoding step: 1 row {self.step1:.1f} ms, {self.batch} "
                f"rows {self.step_b:.1f} ms ({self.step_b / self.batch:.1f} ms/row); {load_text()}")

    def yes_no(self) -> float:
        """Real-time factor of a one-question scan whose every stage ran at these rates."""
        return SCAN_HOP / (self.encoder + self.audio + self.prompt)

    def set_ratio(self, n: int) -> float:
        """Cost of ``n`` questions over one, the prefills at these rates (decoding left out)."""
        return (self.encoder + self.audio + n * self.prompt) / (self.encoder + self.audio + self.prompt)


# --------------------------------------------------------------------------------------------- runs
def float32_runs(engine: Engine, windows: list[Window], args: argparse.Namespace) -> dict[str, object]:
    # warm-up (allocator, kernels, caches)
    timed_scan(engine, CAPTION_PROMPT, CAPTION_OPTS, windows[:2], batch=2)
    fig: dict[str, object] = {}
    yes, wall, runner = timed_scan(engine, YES_NO_PROMPT, YES_NO_OPTS, windows)
    fig["yes/no"], fig["yes"] = scan_report("float32 yes/no scan (2 tokens)", windows, wall, runner), yes
    one_wall = wall
    _, wall, runner = timed_scan(engine, preset("soundscape"), YES_NO_OPTS, windows)
    scan_report("float32 8-question soundscape set (2 tokens each)", windows, wall, runner)
    fig["set"] = wall / one_wall
    cap, wall, runner = timed_scan(engine, CAPTION_PROMPT, CAPTION_OPTS, windows)
    fig["caption"], fig["cap"] = scan_report("float32 caption scan (24 tokens)", windows, wall, runner), cap
    fig["cap_batch"] = runner.batch_size
    grown = peak_rss_mib() - args.rss0
    print(f"peak RSS after the float32 scans: {peak_rss_mib():.0f} MiB (+{grown:.0f} MiB over the "
          "loaded model)")
    sub = windows[:8 if args.quick else 16]
    for batch in (1, 4, 8) if args.quick else (1, 4, 8, 16):
        _, wall, runner = timed_scan(engine, CAPTION_PROMPT, CAPTION_OPTS, sub, batch=batch)
        scan_report(f"  sweep, caption, batch {batch:2d}", sub, wall, runner)
    return fig


def bf16_runs(model, tok, windows: list[Window], f32: dict[str, object]) -> tuple[dict[str, float], Machine]:
    engine = Engine(model, tok, device="cpu").in_dtype("bfloat16")
    timed_scan(engine, CAPTION_PROMPT, CAPTION_OPTS, windows[:2], batch=2)
    yes, wall, runner = timed_scan(engine, YES_NO_PROMPT, YES_NO_OPTS, windows)
    fig = {"bf16 yes/no": scan_report("bfloat16 yes/no scan (2 tokens)", windows, wall, runner)}
    cap, wall, runner = timed_scan(engine, CAPTION_PROMPT, CAPTION_OPTS, windows)
    fig["bf16 caption"] = scan_report("bfloat16 caption scan (24 tokens)", windows, wall, runner)
    same_yes, delta = agreement(f32["yes"], yes)  # type: ignore[arg-type]
    same_cap, _ = agreement(f32["cap"], cap)  # type: ignore[arg-type]
    print(f"bfloat16 vs float32: identical texts {100 * same_yes:.0f} % (yes/no), {100 * same_cap:.0f} % "
          f"(caption); largest |delta score| {delta:.4f}")
    machine = Machine(engine, windows[0], int(f32["cap_batch"]))  # type: ignore[call-overload]
    print(machine.text("bfloat16"))
    return fig, machine


def closing(fig: dict[str, float], m32: Machine, m16: Machine | None, load0: str) -> None:
    print(f"\nsummary ({load0} at the start, {load_text()} at the end; other processes on these cores "
          "distort every figure):")
    lines = [("8-question set / one question", f"{fig['set']:.2f}x", f"<= {TARGETS['set']}x",
              f"prefill-bound floor {m32.set_ratio(8):.2f}x"),
             ("float32 yes/no", f"{fig['yes/no']:.1f}x real time", "", f"ceiling {m32.yes_no():.1f}x"),
             ("float32 caption (24 tokens)", f"{fig['caption']:.1f}x real time", f">= {TARGETS['caption']}x",
              f"decode step {m32.step_b / m32.batch:.1f} ms/row at batch {m32.batch} vs {m32.step1:.1f} ms "
              f"for one row (weights streamed in {m32.stream:.1f} ms)"),
             ("caption vs the published loop", f"{fig['published']:.1f}x", f">= {TARGETS['published']}x", "")]
    if m16 is not None:
        lines.append(("bfloat16 yes/no", f"{fig['bf16 yes/no']:.1f}x real time",
                      f">= {TARGETS['bf16 yes/no']}x", f"ceiling {m16.yes_no():.1f}x"))
        lines.append(("bfloat16 caption", f"{fig['bf16 caption']:.1f}x real time", "", ""))
    for name, got, target, note in lines:
        print(f"  {name:32s} {got:18s} {('target ' + target) if target else '':16s} {note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 minutes of audio, a short sweep (to try it out)")
    ap.add_argument("--minutes", type=float, default=None, help="recording length (default 10; quick 2)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-bf16", action="store_true", help="skip the bfloat16 part")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    minutes = args.minutes or (2.0 if args.quick else 10.0)
    load0 = load_text()
    print(f"torch {torch.__version__}, {args.threads} threads, CPU, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}; v0 architecture, recipe weights; {load0}")
    tok = offline_tokenizer()
    model = recipe_model("v0")
    engine = Engine(model, tok, device="cpu")
    gc.collect()
    args.rss0 = peak_rss_mib()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.wav"
        long_wav(path, 60 * minutes)
        windows = scan_windows(path, 60 * minutes)
        size = path.stat().st_size / 2**20
        print(f"recording: {minutes:g} min, 48 kHz stereo 16-bit WAV ({size:.0f} MiB); hop {SCAN_HOP:g} s -> "
              f"{len(windows)} windows; peak RSS with the model loaded {args.rss0:.0f} MiB")
        fig = float32_runs(engine, windows, args)
        m32 = Machine(engine, windows[0], int(fig["cap_batch"]))  # type: ignore[call-overload]
        print(m32.text("float32"))
        pub = published_per_window(engine, windows[len(windows) // 2], 24, 4 if args.quick else 6)
        per = pub["read"] + pub["encoder"] + pub["loop"]
        fig["published"] = float(fig["caption"]) / (SCAN_HOP / per)  # type: ignore[arg-type]
        print(f"published algorithm per window: read {1e3 * pub['read']:.0f} ms + encoder x2 "
              f"{1e3 * pub['encoder']:.0f} ms + full-recompute loop for 24 tokens {pub['loop']:.1f} s = "
              f"{per:.1f} s -> {SCAN_HOP / per:.2f}x real time; the caption scan is {fig['published']:.1f}x "
              "faster")
        m16 = None
        if not args.no_bf16:
            more, m16 = bf16_runs(model, tok, windows, fig)
            fig.update(more)
        print(f"peak RSS: {peak_rss_mib():.0f} MiB")
    closing(fig, m32, m16, load0)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
