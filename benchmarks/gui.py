"""GUI responsiveness figures for Mellow Desktop (prints a small report; no asserts).

1. Time to open and draw a 1-hour 48 kHz stereo 16-bit WAV (target <= 1.5 s): from ``open_file`` until the
   waveform overview and the window's spectrogram are drawn, with the largest event-loop stall meanwhile.
2. Memory (RSS) after opening that file, and after its whole-file measurements have arrived.
3. The largest event-loop stall while the model generates an answer (target <= 50 ms), measured by a 5 ms
   QTimer heartbeat. Model: the installed v0 checkpoint when there is one, else the full-size v0 architecture
   with the deterministic recipe weights (same compute; ``--model tiny`` for the small test config).
4. The long-file figures of ``benchmarks/gui_long.py`` (a 2-hour WAV: first draw, the overview in the
   background, playback start; ``--no-long`` skips them).
5. With ``--scan``: the scan figures of ``benchmarks/gui_scan.py`` (a 10-minute scan from the window against
   the engine's runner alone) with the same ``--model``.

4 and 5 run first, each in a process of its own (this one holds no window or model meanwhile).

Run: ``python benchmarks/gui.py [--model v0|tiny] [--scan]`` (offscreen unless a display is set). The WAV
(659 MiB) is written once to ``bench_out/`` and reused (the 2-hour one of gui_long.py, 1.3 GiB, too).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import replace
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
    open_and_draw,
    rss_mib,
    wait,
)

HERE = Path(__file__).resolve().parent


def run_leaf(script: str, *args: str) -> None:
    """Run another benchmark script of this folder in its own process; its figures go to our stdout."""
    sys.stdout.flush()
    subprocess.run([sys.executable, str(HERE / script), *args], check=False)


def report_hour_file(app: Any, window: Any, wav: Path, beat: Heartbeat) -> None:
    """Print figures 1 and 2: opening and drawing ``wav`` in Clip A, the stall meanwhile, the memory."""
    import mellow.audio  # noqa: F401 - imported by the app at start; keep its import out of the timing

    rss0 = rss_mib()
    panel = window.panel_a
    beat.start()
    t0 = time.perf_counter()
    drawn = open_and_draw(app, panel, wav, 30)
    ok, open_s = drawn is not None, drawn if drawn is not None else time.perf_counter() - t0
    open_stall = beat.stop()
    rss_open = rss_mib()
    wait(app, lambda: panel.state() is not None and panel.state().facts is not None, 120)
    facts_s = time.perf_counter() - t0
    rss_facts = rss_mib()
    print(f"open + draw 1 h 48 kHz stereo WAV: {open_s:.2f} s (target <= 1.5 s){'' if ok else ' TIMED OUT'}; "
          f"largest stall meanwhile {open_stall:.0f} ms")
    print(f"whole-file measurements ready after {facts_s:.1f} s (in the background)")
    strip = panel.navigator.strip
    wait(app, lambda: strip.overview is not None and strip.overview.complete, 300)
    print(f"memory: {rss0:.0f} MiB before, {rss_open:.0f} MiB after opening, "
          f"{rss_facts:.0f} MiB after measuring")


def report_answer_stalls(app: Any, window: Any, model: str, tokens: int, beat: Heartbeat) -> None:
    """Print figure 3: the largest stall while the model streams two answers on the sample clips."""
    t = time.perf_counter()
    engine, label = installed_or_recipe_engine(model)
    print(f"model for the stall test: {label} (built in {time.perf_counter() - t:.1f} s)")
    window.model.load_custom(lambda progress: engine, model_id=label)
    wait(app, window.model.is_ready, 120)
    from mellow_desktop.core.package_data import samples_dir

    samples = sorted(samples_dir().glob("*.flac"))
    pairs = list(zip((window.panel_a, window.panel_b), samples, strict=False))
    for panel, sample in pairs:
        panel.open_file(sample)

    def loaded(panel: Any, sample: Path) -> bool:
        state = panel.state()
        return (not panel.is_loading() and state is not None and state.path == sample
                and state.facts is not None)

    wait(app, lambda: all(loaded(p, s) for p, s in pairs), 60)
    window.generation = replace(window.generation, max_len=tokens)
    for attempt in ("first question (encodes both clips)", "second question (clips cached)"):
        beat.start()
        t = time.perf_counter()
        window.prompt.set_text("explain the difference between the two audios in detail.")
        window.prompt.send()
        wait(app, lambda: not window.host.busy(), 600)
        stall = beat.stop()
        if not window.chat.entries():
            print("the question was not asked:", window.chat.notices(), window.statusBar().currentMessage())
            return
        entry = window.chat.entries()[-1]
        speed = entry.answer.tokens_per_s if entry.answer else None
        print(f"{attempt}: {time.perf_counter() - t:.1f} s, {len(entry.pieces)} pieces, "
              f"{speed or 0:.1f} tokens/s; largest event-loop stall {stall:.0f} ms (target <= 50 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wav", type=Path, default=BENCH_OUT / "hour-48k-stereo.wav")
    parser.add_argument("--model", choices=("v0", "tiny"), default="v0")
    parser.add_argument("--tokens", type=int, default=48, help="answer length for the stall measurement")
    parser.add_argument("--scan", action="store_true", help="also time a 10-minute scan from the window")
    parser.add_argument("--no-long", action="store_true", help="skip the 2-hour figures of gui_long.py")
    args = parser.parse_args()
    if not args.no_long:
        run_leaf("gui_long.py", "--wav", str(args.wav.with_name("two-hours-48k-stereo.wav")))
    if args.scan:
        scan_wav = args.wav.with_name("scan-10min-48k-stereo.wav")
        run_leaf("gui_scan.py", "--model", args.model, "--minutes", "10", "--wav", str(scan_wav))
    offscreen_unless_display()

    t = time.perf_counter()
    wav = long_wav(args.wav, 3600)
    print(f"test file: {wav} ({wav.stat().st_size / 2**20:.0f} MiB, "
          f"prepared in {time.perf_counter() - t:.1f} s)")
    app, window, _ = bench_window("mellow-bench-")
    from mellow_desktop.qt.heap import freeze_long_lived
    from mellow_desktop.qt.theme import apply_theme

    apply_theme(app, "light")
    freeze_long_lived()  # as the app does once its window is built
    wait(app, lambda: False, 0.3)
    beat = Heartbeat()
    report_hour_file(app, window, wav, beat)
    report_answer_stalls(app, window, args.model, args.tokens, beat)
    window.close()


if __name__ == "__main__":
    main()
