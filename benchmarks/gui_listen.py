"""Listen mode's largest GUI stall: the window listens to a file played in real time (the v0 architecture with
the recipe weights by default, answering on the model's thread; the live waveform, spectrogram, lanes and
detections drawn as they come) while a 5 ms heartbeat measures the event loop (target <= 50 ms).

Run: ``python benchmarks/gui_listen.py [--model v0|tiny] [--seconds 60] [--preset NAME] [--speed 1]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import (  # noqa: E402
    BENCH_OUT,
    Heartbeat,
    bench_window,
    long_wav,
    offscreen_unless_display,
    recipe_engine,
    wait,
    yes_no_options,
)

PROMPT = "is there a tone in the audio? answer yes or no"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("v0", "tiny"), default="v0")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the file listened to")
    parser.add_argument("--preset", default="", help="a packaged question set instead of one prompt")
    parser.add_argument("--speed", type=float, default=1.0, help="times real time (1: real time)")
    args = parser.parse_args()
    offscreen_unless_display()
    wav = long_wav(BENCH_OUT / f"listen-{args.seconds:g}s-48k-stereo.wav", args.seconds)
    app, window, tmp = bench_window("mellow-bench-listen-")
    engine = recipe_engine(args.model)
    label = f"{args.model} (recipe weights)"
    window.model.load_custom(lambda _progress: engine, model_id=label)
    wait(app, window.model.is_ready, 300)
    flow = window.listening
    flow.folder = tmp / "listening"
    flow.options = {"max_len": yes_no_options().max_len}
    flow.open_panel()
    flow.panel.use_file(wav, args.speed)
    flow.panel.prompt.setText(PROMPT)
    if args.preset:
        flow.panel.questions.setCurrentIndex(flow.panel.questions.findData(args.preset))
    flow.panel.threshold.setValue(0.0)  # every window a detection: the list, clips and notices all work
    ended: list[str] = []
    flow.listen_ended.connect(ended.append)
    wait(app, lambda: False, 1.0)
    beat = Heartbeat()
    beat.start()
    t = time.perf_counter()
    flow.start()
    wait(app, lambda: bool(ended), args.seconds / args.speed + 600)
    elapsed, stall = time.perf_counter() - t, beat.stop()
    view = flow.view
    status_text = flow.panel.state_label.text()
    print(f"model: {label}; {args.seconds:g} s of 48 kHz stereo at {args.speed:g}x real time, "
          f"{len(view.names) if view else 0} question(s)")
    print(f"{status_text} (in {elapsed:.1f} s); {flow.panel.margin_label.text()}")
    print(f"largest event-loop stall while listening: {stall:.0f} ms (5 ms heartbeat; target <= 50 ms)")
    print(f"load average {os.getloadavg()[0]:.2f} (shared cores: figures vary)")
    window.close()


if __name__ == "__main__":
    main()
