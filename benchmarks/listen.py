"""Live listening figures: for 1 and 8 questions, the share of real time answering takes per window (compute
time per window / hop; above 1 the listener cannot keep up and skips windows, counted) and the latency from a
window's last sample arriving to its row being written (median and worst), with the time per stage.

The input is the packaged birdsong over quiet noise played in real time (``FileSource`` at speed 1, the same
ring, windows and threads as a microphone); the model is the v0 architecture in float32 with recipe weights
(``mellow.recipe``; the published weights cost the same).  Recipe weights never emit the stop token, so
answers are capped at ``--max-len`` tokens (2 by default: a published yes/no answer is "Yes"/"No" and the stop
token).  The questions are one question set: each window is encoded and its audio part prefilled once, and
every question is answered on that shared prefix.

Run alone (2 cores shared): ``python benchmarks/listen.py [--model v0|tiny] [--windows 4] [--questions 1 8]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import ROOT, recipe_engine  # noqa: E402

QUESTIONS = [
    "is there a bird singing? answer yes or no",
    "is a dog barking? answer yes or no",
    "is someone speaking? answer yes or no",
    "is there music? answer yes or no",
    "is a car passing? answer yes or no",
    "is it raining? answer yes or no",
    "is there machinery running? answer yes or no",
    "is there an alarm? answer yes or no",
]


def _input(folder: Path, seconds: float) -> Path:
    import numpy as np
    import soundfile as sf

    from mellow.audio import resample

    data, rate = sf.read(ROOT / "mellow_desktop/core/data/samples/birdsong.flac", dtype="float32")
    bird = resample(data, rate).numpy()
    wave = 0.01 * np.random.default_rng(0).standard_normal(round(seconds * 32000)).astype(np.float32)
    for at in range(0, len(wave) - len(bird), 13 * 32000):
        wave[at:at + len(bird)] += bird
    path = folder / "input.wav"
    sf.write(path, wave, 32000, subtype="PCM_16")
    return path


def listen_once(engine, audio: Path, questions: int, windows: int, max_len: int, folder: Path) -> dict:
    """Listen to ``audio`` in real time for ``windows`` windows; the figures of that session."""
    from mellow.listen import FileSource, Listener, ListenSettings, read_rows

    settings = ListenSettings(questions=tuple(QUESTIONS[:questions]), max_len=max_len, threshold=1.0,
                              duration_s=10.0 * windows)
    listener = Listener(engine, FileSource(audio, speed=1.0), settings, folder)
    t0 = time.monotonic()
    session = listener.start()
    listener.wait()
    wall = time.monotonic() - t0
    status = listener.status()
    rows = [r for r in read_rows(session.dir) if r.question_index == 0]
    stages = {"read_s": 0.0, "encode_s": 0.0, "audio_s": 0.0, "prompt_s": 0.0, "decode_s": 0.0}
    for runner in listener.judge.answerer.runners:
        for k in stages:
            stages[k] += getattr(runner.timings, k)
    answered = max(1, status.answered)
    compute = sum(stages.values()) / answered
    latencies = [r.latency_s for r in rows if r.latency_s is not None]
    return {"answered": status.answered, "skipped": status.skipped, "wall_s": wall,
            "share": compute / settings.hop_s, "compute_s": compute,
            "stages_ms": {k: 1e3 * v / answered for k, v in stages.items()},
            "latency_median_s": statistics.median(latencies) if latencies else float("nan"),
            "latency_max_s": max(latencies) if latencies else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="v0", choices=("v0", "tiny"))
    parser.add_argument("--windows", type=int, default=4, help="windows of 10 s per run (default 4)")
    parser.add_argument("--questions", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--max-len", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    engine = recipe_engine(args.model)
    print(f"model {args.model} float32 recipe weights, CPU, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f}; max_len {args.max_len}; hop 10 s; input in real time")
    with tempfile.TemporaryDirectory() as tmp:
        audio = _input(Path(tmp), 10.0 * args.windows + 5)
        for n in args.questions:
            r = listen_once(engine, audio, n, args.windows, args.max_len, Path(tmp) / f"q{n}")
            stages = ", ".join(f"{k[:-2]} {v:.0f} ms" for k, v in r["stages_ms"].items())
            print(f"{n} question{'s' * (n > 1)}: {r['share']:.2f} of real time per window "
                  f"({r['compute_s']:.2f} s per 10 s window: {stages}); latency window end -> row "
                  f"median {r['latency_median_s']:.2f} s, worst {r['latency_max_s']:.2f} s; "
                  f"{r['answered']} answered, {r['skipped']} skipped; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
