"""The long-file figures of ``benchmarks/gui.py``: a 2-hour 48 kHz stereo 16-bit WAV in the window.

- first draw: from ``open_file`` until the event loop has painted the clip's waveform, its window's
  spectrogram and the overview strip (target <= 1.5 s);
- the overview strip's spectrogram complete in the background (target <= 10 s), with the largest event-loop
  stall (a 5 ms heartbeat; target <= 50 ms) until the first draw, and after it while the overview and the
  file's measurements are computed; then the same file reopened (from the overview cache);
- playback start latency on a PulseAudio null sink (``bash tests/start_audio_stack.sh`` starts one; `make
  bench` does): from Play until ``play()`` returned, until the device got its first samples, and until the
  playhead moved; skipped (and said so) without one.

Run: ``python benchmarks/gui_long.py [--wav PATH]`` (the WAV, 1.3 GiB, is written once to ``bench_out/``;
``benchmarks/gui.py`` runs this too).
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
    long_wav,
    null_sink_output,
    offscreen_unless_display,
    open_and_draw,
    wait,
)


def open_and_overview(app: Any, panel: Any, wav: Path, beat: Heartbeat) -> tuple[float, ...]:
    """(seconds to the first draw, seconds to the complete overview, the largest stall (ms) until the first
    draw, the largest stall (ms) after it while the background passes run: the overview and the file's
    measurements)."""
    strip = panel.navigator.strip
    beat.start()
    t0 = time.perf_counter()
    first_draw = open_and_draw(app, panel, wav, 60)
    if first_draw is None:
        first_draw = float("nan")  # printed as nan: it was not drawn within a minute
    open_stall = beat.stop()
    beat.start()
    wait(app, lambda: strip.overview is not None and strip.overview.complete, 300)
    complete = time.perf_counter() - t0
    wait(app, lambda: panel.state().facts is not None, 300)
    return first_draw, complete, open_stall, beat.stop()


def playback_start(app: Any, panel: Any, beat: Heartbeat) -> str:
    """The playback start figures on the null sink, as one line (or why they were skipped)."""
    device, why_not = null_sink_output()
    if device is None:
        return (f"playback start latency: skipped (no PulseAudio null sink: {why_not}; "
                "bash tests/start_audio_stack.sh starts one)")
    panel.output_device = device
    start = panel.state().start_s
    transport = panel.transport
    beat.start()
    t0 = time.perf_counter()
    panel.toggle_playback()
    returned = time.perf_counter() - t0
    wait(app, transport.is_delivering, 10)
    delivered = time.perf_counter() - t0
    strip = panel.navigator.strip
    moved_ok = wait(app, lambda: strip.playhead is not None and strip.playhead > start + 0.01, 10)
    moved = time.perf_counter() - t0
    stall = beat.stop()
    error = panel.error_text()
    panel.stop_audio()
    if error or not moved_ok:
        return f"playback start latency: failed ({error or 'the playhead did not move'})"
    return (f"playback start latency (window at {start:.0f} s of the 2 h file, null sink): play() returned "
            f"after {1000 * returned:.0f} ms, first samples delivered after {1000 * delivered:.0f} ms, "
            f"playhead moving after {1000 * moved:.0f} ms (target <= 200 ms); largest stall {stall:.0f} ms")


def report(app: Any, window: Any, wav: Path, beat: Heartbeat) -> None:
    """Print the 2-hour figures (``window``'s Clip A and Clip B are replaced)."""
    first, complete, open_stall, stall = open_and_overview(app, window.panel_a, wav, beat)
    print(f"2 h 48 kHz stereo WAV: first draw {first:.2f} s (target <= 1.5 s; largest stall until then "
          f"{open_stall:.0f} ms); overview spectrogram complete after {complete:.1f} s (target <= 10 s), "
          f"largest event-loop stall while the overview and the measurements run in the background "
          f"{stall:.0f} ms (target <= 50 ms)")
    first_b, complete_b, open_b, stall_b = open_and_overview(app, window.panel_b, wav, beat)
    print(f"the same file reopened (overview from the cache): first draw {first_b:.2f} s (largest stall "
          f"until then {open_b:.0f} ms), overview complete after {complete_b:.2f} s, largest stall while "
          f"it is measured {stall_b:.0f} ms")
    window.panel_a.set_window_start(3600.0)
    wait(app, lambda: window.panel_a.state().start_s == 3600.0, 30)
    print(playback_start(app, window.panel_a, beat))
    print(f"load average {os.getloadavg()[0]:.2f} (shared cores: figures vary)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wav", type=Path, default=BENCH_OUT / "two-hours-48k-stereo.wav",
                        help="the 2-hour WAV (written when missing)")
    args = parser.parse_args()
    offscreen_unless_display()
    t = time.perf_counter()
    wav = long_wav(args.wav, 7200)
    print(f"test file: {wav} ({wav.stat().st_size / 2**30:.2f} GiB, "
          f"prepared in {time.perf_counter() - t:.1f} s)")
    app, window, _ = bench_window("mellow-bench-long-")
    from mellow_desktop.qt.heap import freeze_long_lived

    freeze_long_lived()  # as the app does once its window is built
    wait(app, lambda: False, 0.3)
    import mellow.audio  # noqa: F401 - imported by the app at start; keep its import out of the timing

    report(app, window, wav, Heartbeat())
    window.close()


if __name__ == "__main__":
    main()
