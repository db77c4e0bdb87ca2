"""Photograph the real window (Xvfb, Qt's xcb plugin) with a 7-day deployment (two recorders: AudioMoth
names, Song Meter files with GUANO metadata and a place) scanned as a folder, its activity chart shown:
``python resources/make_deployment_screenshot.py [out.png]`` (default: resources/deployment_screenshot.png).

The model is the tiny test configuration with the recipe weights (its answers are not Mellow v0's); the
window, the deployment pane, the scan table and the chart are the app's own.  Needs Xvfb and ImageMagick.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from resources.screens import on_virtual_screen, photograph, tiny_engine, wait  # noqa: E402

RATE, SECONDS = 8000, 30.0
PROMPT = "is there a bird singing? answer yes or no"
HOURS = (4, 5, 6, 19, 20, 21)


def sound(seed: int, birds: bool) -> np.ndarray:
    """Quiet noise, with chirps when ``birds``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SECONDS * RATE)) / RATE
    x = 0.03 * rng.standard_normal(t.shape)
    if birds:
        chirp = 0.4 * np.sin(2 * np.pi * (2500 + 900 * np.sin(2 * np.pi * 4 * t)) * t)
        x += np.where(np.sin(2 * np.pi * 0.6 * t + seed) > 0.2, chirp, 0.0)
    return x.astype(np.float32)


def deployment(root: Path) -> Path:
    """7 days from 2026-05-01: AudioMoth AM01 at dawn and dusk; a Song Meter with GUANO at dawn only."""
    from guano import GuanoFile

    zone = timezone(timedelta(hours=2))
    for day in range(1, 8):
        for hour in HOURS:
            if day == 4 and hour == 5:
                continue  # a gap: the recorder was serviced
            birds = hour in (5, 6, 20) and (day + hour) % 3 != 0
            sf.write(root / "AM01" / f"202605{day:02d}_{hour:02d}0000.WAV", sound(day * 24 + hour, birds),
                     RATE, subtype="PCM_16")  # an AudioMoth set to local time (read in Europe/Berlin)
        for hour in (5, 6):
            path = root / "SM02" / f"SITE2_202605{day:02d}_{hour:02d}0000.wav"
            sf.write(path, sound(1000 + day * 24 + hour, day % 2 == 0), RATE, subtype="PCM_16")
            g = GuanoFile(str(path))
            g["Timestamp"] = datetime(2026, 5, day, hour, tzinfo=zone)
            g["Loc Position"] = (52.52, 13.40)
            g["Make"], g["Model"], g["Serial"] = "Wildlife Acoustics", "Song Meter Mini", "SMM04213"
            g.write(make_backup=False)
    return root


def main(out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="mellow-deploy-shot-"))
    for name in ("AM01", "SM02"):
        (work / "SD cards" / name).mkdir(parents=True)
    root = deployment(work / "SD cards")
    on_virtual_screen(work, lambda display: shoot(work, root, display, out))


def shoot(work: Path, root: Path, display: str, out: Path) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from mellow_desktop.core.history_store import HistoryStore
    from mellow_desktop.qt.main_window import MainWindow

    app = QApplication([])
    engine = tiny_engine()
    store = HistoryStore.open(work / "history.sqlite3")
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("deployment/zone", "Europe/Berlin")
    w = MainWindow(settings, store)
    w.resize(1600, 1000)
    w.show()
    w.model.load_custom(lambda _progress: engine, model_id="tiny test model (recipe weights)")
    wait(app, w.model.is_ready, 60, "the model")
    w.deployments.open_folder(root)
    wait(app, lambda: w.deployments.deployment is not None, 60, "the listing")
    ended: list[str] = []
    w.scans.scan_ended.connect(ended.append)

    def fill(dialog: object) -> bool:
        dialog.prompt.setEditText(PROMPT)  # type: ignore[attr-defined]
        dialog.max_len.setValue(2)  # type: ignore[attr-defined]
        return True

    t0 = time.monotonic()
    w.deployments.scan_folder(dialog_exec=fill)
    wait(app, lambda: bool(ended), 1800, "the scan")
    print(f"scan: {ended[0]}, {len(w.scans.view)} windows in {time.monotonic() - t0:.1f} s")
    scores = [r.score for r in w.scans.view.results if r.score is not None]
    w.scans.view.threshold = float(np.percentile(scores, 70))  # as a user drags the line
    w.scans.pane.refresh()
    w.scans.update_activity()
    w.scans.activity_dock.raise_()
    w.resizeDocks([w.scans.activity_dock], [560], __import__("PySide6.QtCore").QtCore.Qt.Orientation.Vertical)
    grid = w.scans.activity.chart.grid
    busiest = max(grid.cells, key=lambda k: grid.cells[k].detections)
    w.scans.activity.list_cell(busiest)
    first = w.scans.activity.detections.item(0)
    if first is not None:
        w.scans.activity.detections.setCurrentItem(first)
        w.scans.activity.detections.itemActivated.emit(first)  # its file opens in Clip A at that window
        wait(app, lambda: w.panel_a.state() is not None, 60, "the clip")
    photograph(app, display, work, out, 1.5)
    w.close()
    store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "deployment_screenshot.png")
