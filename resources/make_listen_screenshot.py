"""Photograph the real window (Xvfb, Qt's xcb plugin) in Listen mode: a 3-minute field recording with
bird-like chirps played three times faster than real time, asked the packaged "soundscape" question set, a
detection's kept clip opened in Clip A: ``python resources/make_listen_screenshot.py [out.png]`` (default:
resources/listen_screenshot.png).

The model is the tiny test configuration with the recipe weights (its answers are not Mellow v0's: its
P(yes) hardly moves, so the threshold is set just under the recording's higher scores); the window, the
Listen dock, its live views and lists are the app's own.  Needs Xvfb and ImageMagick.
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

RATE, SECONDS, SPEED = 16000, 180.0, 3.0
PRESET = "soundscape"


def recording(path: Path) -> Path:
    """Quiet noise with chirps that come and go (about 40 % of the time) and a low hum."""
    rng = np.random.default_rng(7)
    t = np.arange(int(SECONDS * RATE)) / RATE
    x = 0.03 * rng.standard_normal(t.shape) + 0.02 * np.sin(2 * np.pi * 120 * t)
    chirp = 0.4 * np.sin(2 * np.pi * 2500 * t - 900 / 4 * np.cos(2 * np.pi * 4 * t))  # 1.6-3.4 kHz, 4 Hz
    x += np.where(np.sin(2 * np.pi * t / 47) > 0.3, chirp, 0.0)
    sf.write(path, x.astype(np.float32), RATE, subtype="PCM_16")
    return path


def threshold_for(engine: object, path: Path) -> float:
    """A threshold that the higher third of the recording's P(yes) values reach (asked as a scan would)."""
    from mellow.generation import GenerationOptions
    from mellow.scan.questions import preset
    from mellow.scan.runner import ScanRunner
    from mellow.scan.types import Window

    runner = ScanRunner(engine, preset(PRESET), GenerationOptions(max_len=1), score="auto")  # type: ignore[arg-type]
    windows = [Window(path, s, s + 10.0) for s in np.arange(0.0, SECONDS - 9.0, 10.0)]
    scores = [r.score for r in runner.run(windows) if r.score is not None]
    return float(np.percentile(scores, 67))


def main(out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="mellow-listen-shot-"))
    wav = recording(work / "meadow, 3 minutes.wav")
    on_virtual_screen(work, lambda display: shoot(work, wav, display, out))


def shoot(work: Path, wav: Path, display: str, out: Path) -> None:
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    from mellow_desktop.core.history_store import HistoryStore
    from mellow_desktop.qt.main_window import MainWindow

    app = QApplication([])
    engine = tiny_engine()
    threshold = threshold_for(engine, wav)
    store = HistoryStore.open(work / "history.sqlite3")
    w = MainWindow(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat), store)
    w.resize(1600, 1000)
    w.show()
    w.model.load_custom(lambda _progress: engine, model_id="tiny test model (recipe weights)")
    wait(app, w.model.is_ready, 60, "the model")
    flow = w.listening
    flow.folder, flow.options = work / "listening", {"max_len": 1}
    flow.open_panel()
    w.resizeDocks([flow.dock], [560], Qt.Orientation.Vertical)
    panel = flow.panel
    panel.use_file(wav, SPEED)
    panel.questions.setCurrentIndex(panel.questions.findData(PRESET))
    panel.threshold.setDecimals(4)
    panel.threshold.setValue(threshold)
    t0 = time.monotonic()
    assert flow.start(), panel.notice.text()
    wait(app, lambda: flow.view is not None and len(flow.view.closed_clips) >= 3 and flow.view.heard_s > 120,
         SECONDS / SPEED + 120, "detections with kept clips")
    print(f"{flow.view.rows} rows, {len(flow.view.detections)} detections in {time.monotonic() - t0:.1f} s")
    for i, item in enumerate(panel.items):
        if flow.view.clip_ready(item):
            panel.detections.setCurrentItem(panel.detections.topLevelItem(i))
            panel.open_button.click()
            wait(app, lambda it=item: w.panel_a.state() is not None and w.panel_a.state().path == it.clip,
                 60, "the clip in Clip A")
            break
    photograph(app, display, work, out, 1.0)
    flow.stop()
    wait(app, lambda: not flow.running(), 60, "the end of listening")
    w.close()
    store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "listen_screenshot.png")
