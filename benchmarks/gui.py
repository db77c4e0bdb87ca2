"""GUI responsiveness figures for Mellow Desktop (prints a small report; no asserts).

1. Time to open and draw a 1-hour 48 kHz stereo 16-bit WAV (target <= 1.5 s): from ``open_file`` until the
   waveform overview and the window's spectrogram are drawn, with the largest event-loop stall meanwhile.
2. Memory (RSS) after opening that file, and after its whole-file measurements have arrived.
3. The largest event-loop stall while the model generates an answer (target <= 50 ms), measured by a 5 ms
   QTimer heartbeat. Model: the installed v0 checkpoint when there is one, else the full-size v0 architecture
   with the deterministic recipe weights (same compute; ``--model tiny`` for the small test config).
4. A 2-hour 48 kHz stereo WAV (:mod:`benchmarks.gui_long`, which also runs alone): first draw (target
   <= 1.5 s), the overview spectrogram complete in the background (target <= 10 s) with the largest stall
   meanwhile (target <= 50 ms), and playback start latency on the PulseAudio null sink (skipped without one).
5. With ``--scan``: a 10-minute scan from the window against the engine's runner alone, and the largest stall
   while it runs (:mod:`benchmarks.gui_scan`, which also runs alone).

Run: ``python benchmarks/gui.py`` (offscreen unless a display is set). The WAV (660 MiB) is written once to
``bench_out/`` and reused (the 2-hour one, 1.3 GiB, too).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402


def make_hour_wav(path: Path, seconds: int = 3600, rate: int = 48000) -> Path:
    """A stereo 16-bit WAV, ``seconds`` long, of a slowly swelling tone plus noise (written once)."""
    if path.is_file() and sf.info(str(path)).frames == seconds * rate:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", rate, 2, "PCM_16") as f:
        for block in range(seconds // 10):
            t = (np.arange(10 * rate) + block * 10 * rate) / rate
            x = 0.3 * np.sin(2 * np.pi * 440 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * t / 60))
            x += 0.05 * rng.standard_normal(t.size)
            f.write(np.stack([x, 0.8 * x], axis=1).astype(np.float32))
    return path


class Heartbeat:
    """A 5 ms QTimer; records the largest gap between two ticks beyond the interval."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.interval = interval_ms
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.worst_ms = 0.0
        self._last = 0

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.worst_ms = max(self.worst_ms, (now - self._last) / 1e6 - self.interval)
        self._last = now

    def start(self) -> None:
        self.worst_ms = 0.0
        self.clock.start()
        self._last = self.clock.nsecsElapsed()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.worst_ms


class PaintWatch(QObject):
    """Notes when each of some widgets last painted (an event filter on their Paint events): "drawn" means
    painted by the event loop itself, not forced by a synchronous ``repaint()`` of the whole window."""

    def __init__(self, widgets: list[QWidget]) -> None:
        super().__init__()
        self.widgets = widgets
        self.painted: dict[int, float] = {}
        for w in widgets:
            w.installEventFilter(self)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802 (Qt override)
        if ev.type() == QEvent.Type.Paint:
            self.painted[id(obj)] = time.perf_counter()
        return False

    def all_painted_after(self, t: float) -> bool:
        """Whether every watched widget has painted since ``t`` (a ``time.perf_counter()``)."""
        return all(self.painted.get(id(w), 0.0) > t for w in self.widgets)

    def close(self) -> None:
        for w in self.widgets:
            w.removeEventFilter(self)


def open_and_draw(app: QApplication, panel: Any, path: Path, timeout_s: float) -> float | None:
    """Open ``path`` in ``panel``; seconds until the new clip is shown and the event loop itself has painted
    its waveform, spectrogram and overview strip (no forced ``repaint()``), or None on a timeout."""
    watch = PaintWatch([panel.waveform.viewport(), panel.spectrogram.viewport(), panel.navigator.strip])
    shown: list[float] = []
    record = lambda _slot: shown.append(time.perf_counter())  # noqa: E731
    panel.clip_changed.connect(record)
    t0 = time.perf_counter()
    panel.open_file(path)
    ok = wait(app, lambda: bool(shown) and not panel.is_loading() and watch.all_painted_after(shown[-1]),
              timeout_s)
    panel.clip_changed.disconnect(record)
    watch.close()
    return max(watch.painted.values()) - t0 if ok else None


def wait(app: QApplication, condition, timeout_s: float) -> bool:  # noqa: ANN001
    end = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > end:
            return False
        app.processEvents()
        time.sleep(0.001)
    return True


def rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def build_engine(which: str):  # noqa: ANN201
    """The engine used for the stall measurement (see the module docstring)."""
    import torch

    from mellow.generation import Engine
    from mellow.model.config import load_config
    from mellow.model.model import MellowModel
    from mellow.model.tokenizer import PromptTokenizer, find_offline_gguf
    from mellow.recipe import apply_recipe

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    if which == "v0":
        try:
            from mellow.model_files import find_model_files

            files = find_model_files()
            return Engine.load(
                config="v0", model=str(files.checkpoint), tokenizer=str(files.tokenizer), device="cpu"
            ), "v0 checkpoint"
        except Exception:  # noqa: BLE001 - not installed: same architecture with recipe weights
            pass
    model = MellowModel(load_config("v0" if which == "v0" else "tiny"))
    apply_recipe(model)
    return Engine(
        model.eval(), PromptTokenizer.load(find_offline_gguf()), device="cpu"
    ), f"{which} recipe weights"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wav", type=Path, default=ROOT / "bench_out" / "hour-48k-stereo.wav")
    parser.add_argument("--model", choices=("v0", "tiny"), default="v0")
    parser.add_argument("--tokens", type=int, default=48, help="answer length for the stall measurement")
    parser.add_argument("--scan", action="store_true", help="also time a 10-minute scan from the window")
    args = parser.parse_args()

    t = time.perf_counter()
    wav = make_hour_wav(args.wav)
    print(
        f"test file: {wav} ({wav.stat().st_size / 2**20:.0f} MiB, "
        f"prepared in {time.perf_counter() - t:.1f} s)"
    )

    tmp = Path(tempfile.mkdtemp(prefix="mellow-bench-"))
    os.environ["MELLOW_DATA_DIR"] = str(tmp / "data")
    app = QApplication.instance() or QApplication([])
    from mellow_desktop.qt.qt_compat import guard_refcount_bug

    guard_refcount_bug()
    from mellow_desktop.qt.main_window import MainWindow
    from mellow_desktop.qt.theme import apply_theme

    apply_theme(app, "light")
    window = MainWindow(settings=QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    from mellow_desktop.qt.heap import freeze_long_lived

    freeze_long_lived()  # as the app does once its window is built
    wait(app, lambda: False, 0.3)
    import mellow.audio  # noqa: F401 - imported by the app at start; keep its import out of the timing

    rss0 = rss_mib()
    panel = window.panel_a
    beat = Heartbeat()
    beat.start()
    t0 = time.perf_counter()
    drawn = open_and_draw(app, panel, wav, 30)
    ok, open_s = drawn is not None, drawn if drawn is not None else time.perf_counter() - t0
    open_stall = beat.stop()
    rss_open = rss_mib()
    wait(app, lambda: panel.state() is not None and panel.state().facts is not None, 120)
    facts_s = time.perf_counter() - t0
    rss_facts = rss_mib()
    print(
        f"open + draw 1 h 48 kHz stereo WAV: {open_s:.2f} s (target <= 1.5 s){'' if ok else ' TIMED OUT'}; "
        f"largest stall meanwhile {open_stall:.0f} ms"
    )
    print(f"whole-file measurements ready after {facts_s:.1f} s (in the background)")
    strip = panel.navigator.strip
    wait(app, lambda: strip.overview is not None and strip.overview.complete, 300)
    print(
        f"memory: {rss0:.0f} MiB before, {rss_open:.0f} MiB after opening, "
        f"{rss_facts:.0f} MiB after measuring"
    )

    from benchmarks.gui_long import WAV_NAME
    from benchmarks.gui_long import report as long_file_report

    long_file_report(app, window, make_hour_wav(args.wav.with_name(WAV_NAME), 7200), beat, wait)
    t = time.perf_counter()
    engine, label = build_engine(args.model)
    print(f"model for the stall test: {label} (built in {time.perf_counter() - t:.1f} s)")
    window.model.load_custom(lambda progress: engine, model_id=label)
    wait(app, window.model.is_ready, 120)
    from mellow_desktop.core.package_data import samples_dir

    samples = sorted(samples_dir().glob("*.flac"))
    window.panel_a.open_file(samples[0])
    window.panel_b.open_file(samples[1])
    wait(
        app,
        lambda: all(
            p.state() is not None and p.state().facts is not None for p in (window.panel_a, window.panel_b)
        ),
        60,
    )
    from dataclasses import replace

    window.generation = replace(window.generation, max_len=args.tokens)
    for attempt in ("first question (encodes both clips)", "second question (clips cached)"):
        beat.start()
        t = time.perf_counter()
        window.prompt.set_text("explain the difference between the two audios in detail.")
        window.prompt.send()
        wait(app, lambda: not window.host.busy(), 600)
        stall = beat.stop()
        if not window.chat.entries():
            print("the question was not asked:", window.chat.notices(), window.statusBar().currentMessage())
            break
        entry = window.chat.entries()[-1]
        speed = entry.answer.tokens_per_s if entry.answer else None
        print(
            f"{attempt}: {time.perf_counter() - t:.1f} s, {len(entry.pieces)} pieces, "
            f"{speed or 0:.1f} tokens/s; largest event-loop stall {stall:.0f} ms (target <= 50 ms)"
        )
    if args.scan:
        from benchmarks.gui_scan import report

        report(app, window, engine, make_hour_wav(args.wav.with_name("scan-10min-48k-stereo.wav"), 600), beat,
               wait)
    window.close()


if __name__ == "__main__":
    main()
