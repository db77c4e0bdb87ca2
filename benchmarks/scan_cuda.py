"""Whole-recording scan speed of the full-size v0 model on a GPU (recipe weights): the prepared CUDA run.

Prints, for a generated 48 kHz stereo recording (default 60 minutes, 360 windows at hop 10 s), with the batch
the runner picks (``--batch`` to force one) and reading threads ahead of the GPU:
  * float32: a yes/no scan (one question, 2 forced tokens), the 8-question soundscape set (2 tokens each,
    and its cost over one question), and a caption scan (24 forced tokens);
  * bfloat16 end to end (encoder and decoder): the yes/no scan and the set, and their agreement with float32;
  * per-window stage costs of each, the GPU's peak memory, and the real-time factors beside the target
    (one question >= 1000x real time on one data-centre GPU).

Run as is on a machine with a GPU:  python benchmarks/scan_cuda.py
Its CPU path (to check the script):  python benchmarks/scan_cuda.py --device cpu --minutes 0.5
"""

from __future__ import annotations

import argparse
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
    long_wav,
    offline_tokenizer,
    recipe_model,
    scan_report,
    scan_windows,
    timed_scan,
    yes_no_options,
)
from mellow.generation import Engine  # noqa: E402
from mellow.scan.questions import preset  # noqa: E402

YES_NO_OPTS = yes_no_options()
CAPTION_OPTS = caption_options()
TARGET = 1000.0  # one question, real-time factor, one data-centre GPU


def device_text(device: torch.device) -> str:
    if device.type != "cuda":
        return f"{device} ({torch.get_num_threads()} threads)"
    props = torch.cuda.get_device_properties(device)
    return f"{props.name} ({props.total_memory / 2**30:.0f} GiB), CUDA {torch.version.cuda}"


def peak_gib(device: torch.device) -> str:
    if device.type != "cuda":
        return ""
    peak = torch.cuda.max_memory_allocated(device) / 2**30
    torch.cuda.reset_peak_memory_stats(device)
    return f"; GPU peak {peak:.1f} GiB"


def runs(engine: Engine, windows: list, batch: int | None, name: str) -> dict[str, object]:
    """The yes/no scan, the 8-question set and (float32) the caption scan of one precision."""
    device = engine.device
    # warm-up: kernels, allocator, reading threads
    timed_scan(engine, YES_NO_PROMPT, YES_NO_OPTS, windows[:64], batch)
    peak_gib(device)
    out: dict[str, object] = {}
    yes, wall, runner = timed_scan(engine, YES_NO_PROMPT, YES_NO_OPTS, windows, batch)
    out["yes/no"], out["yes"] = scan_report(f"{name} yes/no (2 tokens)", windows, wall, runner), yes
    print(f"  batch {runner.batch_size} rows, {runner.readers} reading threads{peak_gib(device)}")
    one = wall
    _, wall, runner = timed_scan(engine, preset("soundscape"), YES_NO_OPTS, windows, batch)
    scan_report(f"{name} 8-question soundscape set (2 tokens each)", windows, wall, runner)
    out["set"] = wall / one
    print(f"  the set costs {wall / one:.2f}x one question ({8 * SCAN_HOP * len(windows) / wall:.0f} "
          f"question-seconds of audio per second){peak_gib(device)}")
    if name == "float32":
        cap, wall, runner = timed_scan(engine, CAPTION_PROMPT, CAPTION_OPTS, windows, batch)
        out["caption"] = scan_report(f"{name} caption (24 tokens)", windows, wall, runner)
        print(f"  batch {runner.batch_size}{peak_gib(device)}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu (to check the script)")
    ap.add_argument("--minutes", type=float, default=60.0, help="recording length (default 60)")
    ap.add_argument("--batch", type=int, default=None, help="rows per batch (default: the runner's choice)")
    ap.add_argument("--no-bf16", action="store_true", help="skip the bfloat16 part")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device here: run it on a machine with a GPU, or with --device cpu to check it")
    engine = Engine(recipe_model("v0"), offline_tokenizer(), device=device)
    print(f"torch {torch.__version__}; {device_text(engine.device)}; v0 architecture, recipe weights")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.wav"
        long_wav(path, 60 * args.minutes)
        windows = scan_windows(path, 60 * args.minutes)
        print(f"recording: {args.minutes:g} min, 48 kHz stereo WAV, hop {SCAN_HOP:g} s -> {len(windows)} "
              f"windows (written in {time.perf_counter() - t0:.0f} s)")
        f32 = runs(engine, windows, args.batch, "float32")
        f16: dict[str, object] = {}
        if not args.no_bf16:
            engine16 = engine.in_dtype("bfloat16")
            f16 = runs(engine16, windows, args.batch, "bfloat16")
            same, delta = agreement(f32["yes"], f16["yes"])  # type: ignore[arg-type]
            print(f"bfloat16 vs float32 (yes/no): identical texts {100 * same:.0f} %, largest |delta score| "
                  f"{delta:.4f}")
    print("\nsummary:")
    print(f"  float32 one question (yes/no)   {f32['yes/no']:.0f}x real time (target >= {TARGET:.0f}x)")
    print(f"  float32 8 questions / one       {f32['set']:.2f}x")
    print(f"  float32 caption (24 tokens)     {f32['caption']:.0f}x real time")
    if f16:
        print(f"  bfloat16 one question (yes/no)  {f16['yes/no']:.0f}x real time (target >= {TARGET:.0f}x)")
        print(f"  bfloat16 8 questions / one      {f16['set']:.2f}x")


if __name__ == "__main__":
    main()
