"""The scan figures of ``benchmarks/gui.py``: a 10-minute 48 kHz stereo recording scanned from the window
(Clips ▸ Scan, on the model's thread, every batch stored in the history database and shown) against the
engine's runner alone in-process (what ``mellow scan`` runs), same engine, prompt, hop and batch size; and, in
a second window scan, the largest event-loop stall while it runs (a 5 ms heartbeat; target <= 50 ms).

Run: ``python benchmarks/gui_scan.py [--model tiny|v0] [--minutes 10] [--wav PATH]`` (``benchmarks/gui.py
--scan`` runs it with its ``--model``, v0 by default).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import (  # noqa: E402
    BENCH_OUT,
    Heartbeat,
    bench_window,
    installed_or_recipe_engine,
    long_wav,
    offscreen_unless_display,
    wait,
)

PROMPT = "is there a tone in the audio? answer yes or no"


def cli_windows_per_s(engine: Any, wav: Path, batch_size: int | None, limit: int | None = None
                      ) -> tuple[float, int]:
    """Windows/s of the engine's ScanRunner alone (the command line's path) over the first ``limit`` windows
    (all by default), and the window count."""
    from mellow.generation import GenerationOptions
    from mellow.scan.plan import ScanRange, plan_scan
    from mellow.scan.runner import ScanRunner

    windows = plan_scan([wav], ScanRange(hop_s=10.0)).files[0].windows
    runner = ScanRunner(engine, PROMPT, GenerationOptions(max_len=2), batch_size=batch_size)
    t = time.perf_counter()
    n = sum(1 for _ in runner.run(list(windows)[:limit]))
    return n / (time.perf_counter() - t), n


class _NoBeat:
    """No heartbeat: the rate is measured without the instrument's 200 Python wake-ups a second (they take
    the GIL from the model's thread); the stalls come from a second scan with one."""

    def start(self) -> None:
        pass

    def stop(self) -> float:
        return float("nan")


def window_scan(app: Any, window: Any, wav: Path, batch_size: int | None, beat: Heartbeat | _NoBeat
                ) -> tuple[float, float, float, int]:
    """Windows/s of a scan started from the window (planning included), the largest stall (ms) while it
    starts (the plan, the scan pane's first layout) and while it runs, and its windows."""
    from mellow_desktop.core.scan_record import ScanRecord

    ended: list[str] = []
    window.scans.scan_ended.connect(ended.append)
    window.panel_a.open_file(wav)
    wait(app, lambda: window.panel_a.state() is not None and not window.panel_a.is_loading(), 60)
    strip = window.panel_a.navigator.strip
    wait(app, lambda: window.panel_a.state().facts is not None and strip.overview is not None
         and strip.overview.complete, 300)  # background reads done: the scan competes with nothing
    wait(app, lambda: False, 1.0)
    beat.start()
    t = time.perf_counter()
    window.scans.start(ScanRecord(file=wav, prompt=PROMPT, hop_s=10.0, max_len=2), window.panel_a,
                       batch_size=batch_size)
    wait(app, lambda: window.scans.record is not None or bool(ended), 600)
    start_stall = beat.stop()
    beat.start()
    wait(app, lambda: bool(ended), 3600)
    elapsed, stall = time.perf_counter() - t, beat.stop()
    window.scans.scan_ended.disconnect(ended.append)
    return len(window.scans.view or ()) / elapsed, start_stall, stall, len(window.scans.view or ())


def report(app: Any, window: Any, engine: Any, wav: Path, beat: Heartbeat, batch_size: int | None = None
           ) -> None:
    """Print the scan figures: the window's rate (no heartbeat), the runner alone, then the window's stalls
    (a second window scan, with the heartbeat)."""
    cli_windows_per_s(engine, wav, batch_size, limit=10)  # warm-up: the first windows ever run are slower
    rate_w, _, _, n_w = window_scan(app, window, wav, batch_size, _NoBeat())
    rate_c, n_c = cli_windows_per_s(engine, wav, batch_size)
    print(f"10-minute scan from the window: {n_w} windows at {rate_w:.2f} windows/s; the engine's runner "
          f"alone: {n_c} windows at {rate_c:.2f} windows/s -> {100 * rate_w / rate_c:.0f} % "
          "(target >= 90 %)")
    rate_b, start_stall, stall, _ = window_scan(app, window, wav, batch_size, beat)
    print(f"again with a 5 ms heartbeat: largest event-loop stall while starting (the plan, the scan pane's "
          f"first layout) {start_stall:.0f} ms, while scanning {stall:.0f} ms (target <= 50 ms); "
          f"{rate_b:.2f} windows/s with the heartbeat taking the GIL")
    print(f"load average {os.getloadavg()[0]:.2f} (shared cores: figures vary)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("v0", "tiny"), default="tiny")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--wav", type=Path, default=None, help="the recording (written when missing)")
    args = parser.parse_args()
    offscreen_unless_display()
    wav = long_wav(args.wav or BENCH_OUT / f"scan-{args.minutes}min-48k-stereo.wav", 60 * args.minutes)
    app, window, _ = bench_window("mellow-bench-scan-")  # its history database in the temporary data folder
    engine, label = installed_or_recipe_engine(args.model)
    print(f"model: {label}")
    window.model.load_custom(lambda _progress: engine, model_id=label)
    wait(app, window.model.is_ready, 120)
    from mellow_desktop.qt.heap import freeze_long_lived

    freeze_long_lived()  # as the app does once its window is built and its model loaded
    report(app, window, engine, wav, Heartbeat())
    window.close()


if __name__ == "__main__":
    main()
