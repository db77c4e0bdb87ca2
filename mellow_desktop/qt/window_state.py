"""Saving and restoring the main window's geometry, splitters, clip folders and view choices in QSettings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings

from mellow_desktop.qt.widgets.spectrogram_view import COLORMAPS, MODES

if TYPE_CHECKING:  # typing only: the window imports this module
    from mellow_desktop.qt.main_window import MainWindow


def _splitters(w: MainWindow) -> tuple:
    return (w.main_splitter, w.clips_splitter, w.bottom_splitter)


def restore(w: MainWindow, s: QSettings) -> None:
    """Geometry and splitters (defaults on first start), last folders, spectrogram mode and colormap."""
    geometry = s.value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        w.restoreGeometry(geometry)
    else:
        w.resize(1500, 940)
    for splitter in _splitters(w):
        state = s.value(f"window/{splitter.objectName()}")
        if isinstance(state, QByteArray) and not state.isEmpty():
            splitter.restoreState(state)
    if not isinstance(s.value("window/mainSplitter"), QByteArray):
        w.main_splitter.setSizes([520, 420])
        w.bottom_splitter.setSizes([1000, 420])
    for slot in ("A", "B"):
        w.panel(slot).last_folder = str(s.value(f"folders/clip_{slot}", "") or "")
    mode = str(s.value("view/spectrogram", "mel"))
    w.set_spectrogram_mode(mode if mode in MODES else "mel")
    cmap = str(s.value("view/colormap", COLORMAPS[0]))
    w.set_colormap(cmap if cmap in COLORMAPS else COLORMAPS[0])


def save(w: MainWindow, s: QSettings) -> None:
    """Geometry, splitters and last folders (the view choices are saved when they change)."""
    s.setValue("window/geometry", w.saveGeometry())
    for splitter in _splitters(w):
        s.setValue(f"window/{splitter.objectName()}", splitter.saveState())
    for slot in ("A", "B"):
        s.setValue(f"folders/clip_{slot}", w.panel(slot).last_folder)
