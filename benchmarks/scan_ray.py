"""When does Ray pay off?  The same yes/no scan in-process and on a local Ray cluster with 1 and 2 actors.

Prints, in one run, on this machine (CPU, float32, the model of ``--model``: the full-size v0 with recipe
weights by default, saved like the published checkpoint; or the tiny config):
  * the start-up time of a local Ray cluster (``ray.init``) and its shutdown;
  * the in-process real-time factor (audio seconds per wall second) of benchmarks/scan.py's yes/no scan of a
    generated 48 kHz stereo recording, hop 10 s, batches of ``--batch``;
  * the same scan on Ray with 1 actor (all CPUs) and 2 actors (half each): the real-time factor overall, the
    time to the first batch (actor start + engine load + one batch) and the steady real-time factor after it,
    and whether the rows equal the in-process ones (bit for bit with the same threads per process);
  * the in-process scan once more, so that the Ray figures are compared with the mean of runs before and
    after them (the cores of this machine are shared and the load drifts);
  * what caps a cluster, measured here: reading + resampling one window on one core, the driver's writer
    (JSON-lines rows appended and fsynced per batch) and the driver's planning (it hashes every file).

Run:  python benchmarks/scan_ray.py [--minutes 10] [--model v0|tiny] [--batch 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import YES_NO_PROMPT, long_wav, save_recipe_checkpoint, yes_no_options  # noqa: E402
from mellow.audio import Clip, load_window  # noqa: E402
from mellow.generation import Engine  # noqa: E402
from mellow.model.tokenizer import find_offline_gguf  # noqa: E402
from mellow.scan.plan import plan_scan  # noqa: E402
from mellow.scan.resume import ResultLog  # noqa: E402
from mellow.scan.runner import ScanRunner  # noqa: E402
from mellow.scan.types import Window, WindowResult  # noqa: E402
from mellow.scan.writers.records import ScanRow  # noqa: E402

YES_NO_OPTS = yes_no_options()


class Clock:
    """Notes when each batch came back: (seconds since start, windows done)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.marks: list[tuple[float, int]] = []

    def mark(self, done: int) -> None:
        self.marks.append((time.perf_counter() - self.t0, done))


def timed_scan(runner, windows: list[Window]) -> tuple[list[WindowResult], float, Clock]:
    clock, results = Clock(), []
    for batch in runner.batches(windows):
        results += batch
        clock.mark(len(results))
    return results, time.perf_counter() - clock.t0, clock


def describe(label: str, windows: list[Window], wall: float, clock: Clock, audio_s: float) -> float:
    per_window = audio_s / len(windows)
    first_s, first_n = clock.marks[0]
    steady = ""
    if first_n < len(windows):
        rate = (len(windows) - first_n) * per_window / max(wall - first_s, 1e-9)
        steady = f", then {rate:.2f}x real time"
    print(f"{label}: {wall:.1f} s -> {audio_s / wall:.2f}x real time; first batch after {first_s:.1f} s"
          f"{steady}")
    return audio_s / wall


def same_rows(a: list[WindowResult], b: list[WindowResult]) -> str:
    if a == b:
        return "rows identical to the in-process scan"
    texts = all(x.text == y.text and x.tokens == y.tokens for x, y in zip(a, b, strict=True))
    delta = max((abs(x.score - y.score) for x, y in zip(a, b, strict=True) if x.score is not None), default=0)
    return f"texts/tokens {'identical' if texts else 'DIFFER'}, largest |delta score| {delta:.2g}"


def read_cost_ms(window: Window, repeats: int = 20) -> float:
    """One window read + downmix + resample (48 kHz stereo -> 32 kHz mono) on one thread, best of N."""
    torch.set_num_threads(1)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        load_window(Clip(window.file, window.start_s))
        best = min(best, time.perf_counter() - t)
    return 1e3 * best


def writer_windows_per_s(folder: Path, results: list[WindowResult], model_id: str, batch: int) -> float:
    """Rows the driver's JSON-lines writer appends per second, with one fsync per batch."""
    rows = [ScanRow.from_result(r, YES_NO_PROMPT, model_id, f"{i:020d}") for i, r in enumerate(results)]
    rows = (rows * (5000 // len(rows) + 1))[:5000]
    with ResultLog(folder / "writer.jsonl", "jsonl") as log:
        t = time.perf_counter()
        for i, row in enumerate(rows):
            log.append(row)
            if i % batch == batch - 1:
                log.sync()
        log.sync()
        return len(rows) / (time.perf_counter() - t)


def in_process(args: argparse.Namespace, ckpt: Path, gguf: Path, windows: list[Window], audio_s: float,
               cpus: int, label: str) -> tuple[list[WindowResult], float]:
    torch.set_num_threads(cpus)
    t = time.perf_counter()
    engine = Engine.load(args.model, ckpt, gguf, device="cpu")
    load_s = time.perf_counter() - t
    runner = ScanRunner(engine, YES_NO_PROMPT, YES_NO_OPTS, batch_size=args.batch)
    results, wall, clock = timed_scan(runner, windows)
    return results, describe(f"{label} ({cpus} threads, engine load {load_s:.1f} s)", windows, wall, clock,
                             audio_s)


def on_ray(args: argparse.Namespace, ckpt: Path, gguf: Path, windows: list[Window], audio_s: float,
           want: list[WindowResult]) -> dict[int, float]:
    """The scan on a new local cluster (what ``mellow scan --ray`` starts) with 1 and 2 actors."""
    import ray

    from mellow.scan.ray_pipeline import RayScanRunner, connect, model_spec

    t = time.perf_counter()
    connect(None)
    print(f"Ray cluster start-up {time.perf_counter() - t:.1f} s ({ray.__version__}, "
          f"{int(ray.cluster_resources().get('CPU', 0))} CPUs)")
    spec, rtfs = model_spec(args.model, ckpt, gguf, device="cpu"), {}
    for actors in (1, 2):
        runner = RayScanRunner(spec, YES_NO_PROMPT, YES_NO_OPTS, batch_size=args.batch, actors=actors)
        got, wall, clock = timed_scan(runner, windows)
        rtfs[actors] = describe(f"Ray, {actors} actor(s) x {runner.shape.num_cpus} threads", windows, wall,
                                clock, audio_s)
        print(f"  {same_rows(got, want)}")
    t = time.perf_counter()
    ray.shutdown()
    print(f"Ray shutdown {time.perf_counter() - t:.1f} s")
    return rtfs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="recording length (default 10)")
    ap.add_argument("--model", choices=("v0", "tiny"), default="v0", help="config with recipe weights")
    ap.add_argument("--batch", type=int, default=8, help="windows per batch (default 8, the CPU maximum)")
    args = ap.parse_args()
    cpus = os.cpu_count() or 1
    torch.set_num_threads(cpus)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        audio_path, ckpt = folder / "recording.wav", folder / f"{args.model}-recipe.ckpt"
        gguf = find_offline_gguf()
        long_wav(audio_path, args.minutes * 60)
        save_recipe_checkpoint(args.model, ckpt)
        t = time.perf_counter()
        plan = plan_scan([audio_path])  # the driver reads every byte once (content hash for resume keys)
        plan_s = time.perf_counter() - t
        windows, audio_s = plan.windows, plan.range_s
        print(f"{args.model} model (recipe weights), float32, CPU ({cpus} cores); {args.minutes:g} min "
              f"48 kHz stereo, {len(windows)} windows, hop 10 s, batch {args.batch}, yes/no scan "
              f"({YES_NO_OPTS.max_len} forced tokens)")

        want, first_rtf = in_process(args, ckpt, gguf, windows, audio_s, cpus, "in-process")
        ray_rtfs = on_ray(args, ckpt, gguf, windows, audio_s, want)
        _, last_rtf = in_process(args, ckpt, gguf, windows, audio_s, cpus, "in-process again")
        base = (first_rtf + last_rtf) / 2  # the load on the shared cores drifts: bracket the Ray runs
        for actors, rtf in ray_rtfs.items():
            print(f"Ray with {actors} actor(s): {rtf / base:.2f}x the mean in-process speed ({base:.2f}x)")

        read_ms = read_cost_ms(windows[len(windows) // 2])
        writes = writer_windows_per_s(folder, want, "v0 sha256:benchmark", args.batch)
        print(f"read + resample: {read_ms:.1f} ms per window on one core -> one core feeds "
              f"{10e3 / read_ms:.0f}x real time at hop 10 s")
        print(f"driver writer: {writes:.0f} rows/s (fsync every {args.batch}) -> "
              f"{10 * writes:.0f}x real time at hop 10 s")
        size_mb = audio_path.stat().st_size / 1e6
        print(f"driver planning (header + content hash): {plan_s:.2f} s for {size_mb:.0f} MB -> "
              f"{size_mb / plan_s:.0f} MB/s, {audio_s / plan_s:.0f}x real time for 48 kHz stereo 16-bit")
        print(f"load average (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"(the cores are shared)")


if __name__ == "__main__":
    main()
