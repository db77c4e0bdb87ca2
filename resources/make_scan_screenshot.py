"""Photograph the real window (Xvfb, Qt's xcb plugin) with a generated 2-hour recording and a finished yes/no
scan: ``python resources/make_scan_screenshot.py [out.png]`` (default ``resources/scan_screenshot.png``).

The model is the tiny test configuration with the recipe weights and the real tokenizer (no checkpoint is
needed), so the answers are the tiny model's, not Mellow v0's; the window, the overview, the scan pane and
its timeline are the app's own.  Needs Xvfb and ImageMagick (``import``, ``convert``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from resources.screens import on_virtual_screen, photograph, tiny_engine, wait  # noqa: E402

DURATION_S = 2 * 3600.0
RATE = 8000
PROMPT = "is there a bird singing? answer yes or no"


def long_recording(path: Path) -> Path:
    """Two hours of quiet noise with chirping stretches (minutes 18-31, 62-70, 95-104), written in blocks."""
    rng = np.random.default_rng(7)
    stretches = [(18 * 60, 31 * 60), (62 * 60, 70 * 60), (95 * 60, 104 * 60)]
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16") as f:
        for block in range(int(DURATION_S // 60)):
            t = block * 60 + np.arange(60 * RATE) / RATE
            x = 0.03 * rng.standard_normal(t.shape)
            on = np.zeros_like(t, dtype=bool)
            for a, b in stretches:
                on |= (t >= a) & (t < b)
            chirp = 0.4 * np.sin(2 * np.pi * (2000 + 800 * np.sin(2 * np.pi * 3 * t)) * t)
            x += np.where(on & (np.sin(2 * np.pi * 0.7 * t) > 0.3), chirp, 0.0)
            f.write(x.astype(np.float32))
    return path


def main(out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="mellow-shot-"))
    wav = long_recording(work / "dawn chorus, 2 hours.wav")
    on_virtual_screen(work, lambda display: shoot(work, wav, display, out))


def shoot(work: Path, wav: Path, display: str, out: Path) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from mellow_desktop.core.history_store import HistoryStore
    from mellow_desktop.core.scan_record import ScanRecord
    from mellow_desktop.qt.main_window import MainWindow

    app = QApplication([])
    engine = tiny_engine()
    store = HistoryStore.open(work / "history.sqlite3")
    w = MainWindow(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat), store)
    w.resize(1600, 1000)
    w.show()
    w.model.load_custom(lambda _progress: engine, model_id="tiny test model (recipe weights)")
    wait(app, w.model.is_ready, 60, "the model")
    w.panel_a.open_file(wav)
    strip = w.panel_a.navigator.strip
    wait(app, lambda: strip.overview is not None and strip.overview.complete, 120, "the overview")
    ended: list[str] = []
    w.scans.scan_ended.connect(ended.append)
    t0 = time.monotonic()
    w.scans.start(ScanRecord(file=wav, prompt=PROMPT, hop_s=30.0, max_len=2), w.panel_a, batch_size=8)
    wait(app, lambda: bool(ended), 900, "the scan")
    print(f"scan: {ended[0]}, {len(w.scans.view)} windows in {time.monotonic() - t0:.1f} s")
    scores = w.scans.view.score_curve()[1]
    w.scans.pane.timeline.set_threshold(float(np.percentile(scores, 85)))  # as a user drags the line
    best = max(w.scans.view.table(), key=lambda r: r.score or 0.0)
    w.scans.move_window(best.start_s)
    rows = w.scans.pane.model.rows
    w.scans.pane.table.selectRow(next(i for i, r in enumerate(rows) if r.index == best.index))
    wait(app, lambda: abs(w.panel_a.state().start_s - best.start_s) < 0.01, 30, "the window")
    photograph(app, display, work, out, 1.5)
    w.close()
    store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "scan_screenshot.png")
