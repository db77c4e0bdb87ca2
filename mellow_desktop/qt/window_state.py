"""Saving and restoring the main window's geometry, splitters, clip folders and view choices in QSettings.

The functions take the window's parts explicitly (no import of the window, no reach into it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QSplitter

from mellow_desktop.qt.widgets.spectrogram_view import COLORMAPS, MODES

SLOTS = ("A", "B")


@dataclass(frozen=True)
class ViewChoices:
    """What the user chose last time: the folder each clip slot opened from, spectrogram mode, colormap."""

    folders: dict[str, str]
    mode: str
    colormap: str


def first_size(window: QMainWindow) -> QSize:
    """1500×940 on first start, shrunk to the screen's free area on a smaller screen (a 1024×640 laptop)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return QSize(1500, 940)
    free = screen.availableGeometry()
    return QSize(min(1500, free.width()), min(940, free.height()))


def restore(window: QMainWindow, splitters: Sequence[QSplitter], s: QSettings) -> ViewChoices:
    """Restore geometry and splitters (sensible sizes on first start); return the saved view choices."""
    geometry = s.value("window/geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    else:
        window.resize(first_size(window))
    by_name = {sp.objectName(): sp for sp in splitters}
    for name, splitter in by_name.items():
        state = s.value(f"window/{name}")
        if isinstance(state, QByteArray) and not state.isEmpty():
            splitter.restoreState(state)
    if not isinstance(s.value("window/mainSplitter"), QByteArray):
        by_name["mainSplitter"].setSizes([520, 420])
        by_name["bottomSplitter"].setSizes([1000, 420])
    mode = str(s.value("view/spectrogram", "mel"))
    cmap = str(s.value("view/colormap", COLORMAPS[0]))
    return ViewChoices(
        folders={slot: str(s.value(f"folders/clip_{slot}", "") or "") for slot in SLOTS},
        mode=mode if mode in MODES else "mel",
        colormap=cmap if cmap in COLORMAPS else COLORMAPS[0],
    )


def save(window: QMainWindow, splitters: Sequence[QSplitter], folders: dict[str, str], s: QSettings) -> None:
    """Geometry, splitters and last folders (the view choices are saved when they change)."""
    s.setValue("window/geometry", window.saveGeometry())
    for splitter in splitters:
        s.setValue(f"window/{splitter.objectName()}", splitter.saveState())
    for slot, folder in folders.items():
        s.setValue(f"folders/clip_{slot}", folder)


def set_clip_title(window: QMainWindow, clips: Sequence[Path]) -> None:
    """Name the window after its clips, the platform's way: the app name is added once by Qt (from
    ``QGuiApplication.applicationDisplayName``), never written into the title here.

    The title is the clips' file names (``a.wav`` or ``a.wav vs b.wav``; none: empty, so only the app name
    shows) and the window's file path is Clip A's (platforms that show a document's path or icon use it).
    """
    window.setWindowFilePath(str(clips[0]) if clips else "")
    window.setWindowTitle(" vs ".join(p.name for p in clips))
