"""The main window's layout: the clips row (A, comparison, B) above the conversation and the history.

Pure layout: the widgets are made by the window and placed here; splitters are named so that their state
can be saved (QSettings "window/<name>").
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

HEARS_TEXT = (
    "The shaded part of each waveform is what Mellow hears: 10 s, mixed to mono and resampled to "
    "32 kHz. Drag it to choose. Shorter clips are repeated to fill 10 s (dashed lines in the "
    "spectrogram). Wheel: zoom · drag: pan · double-click: fit."
)


def title_label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setStyleSheet("font-weight: 600;")
    return label


def column(parent: QWidget, *items: QWidget | int, margins: tuple[int, int, int, int] = (0, 0, 0, 0),
           spacing: int = -1) -> QWidget:
    """A widget stacking ``items`` vertically; an int item is a stretch of that factor."""
    box = QWidget(parent)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(*margins)
    if spacing >= 0:
        lay.setSpacing(spacing)
    for item in items:
        if isinstance(item, int):
            lay.addStretch(item)
        else:
            lay.addWidget(item)
    return box


def comparison_column(parent: QWidget, table: QWidget, swap_button: QWidget) -> QWidget:
    """The middle of the clips row: the A-vs-B table, what the model hears, and Swap."""
    explain = QLabel(HEARS_TEXT, parent)
    explain.setWordWrap(True)
    explain.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    title = title_label("A vs B", parent)
    middle = column(parent, title, table, explain, 1, swap_button, margins=(6, 0, 6, 0))
    middle.setMinimumWidth(330)
    middle.setMaximumWidth(420)
    return middle


def conversation_column(parent: QWidget, chat: QWidget, prompt: QWidget) -> QWidget:
    box = column(parent, title_label("Conversation", parent), chat, prompt, spacing=6)
    box.layout().setStretchFactor(chat, 1)
    return box


def splitter(
    name: str, orientation: Qt.Orientation, parent: QWidget, *parts: tuple[QWidget, int]
) -> QSplitter:
    """A non-collapsible splitter named ``name`` holding ``(widget, stretch)`` parts."""
    s = QSplitter(orientation, parent)
    s.setObjectName(name)
    for i, (widget, stretch) in enumerate(parts):
        s.addWidget(widget)
        s.setStretchFactor(i, stretch)
    s.setChildrenCollapsible(False)
    return s


@dataclass(frozen=True)
class Splitters:
    """The window's three named splitters (their state is saved)."""

    main: QSplitter
    clips: QSplitter
    bottom: QSplitter

    def all(self) -> tuple[QSplitter, QSplitter, QSplitter]:
        return (self.main, self.clips, self.bottom)


def assemble(window: QMainWindow, clips: tuple[QWidget, QWidget, QWidget], chat: QWidget, prompt: QWidget,
             history: QWidget) -> Splitters:
    """Place the clips row (A, middle column, B) above the conversation and history; returns the splitters."""
    h, v = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
    a, middle, b = clips
    clips_row = splitter("clipsSplitter", h, window, (a, 1), (middle, 0), (b, 1))
    conversation = conversation_column(window, chat, prompt)
    bottom = splitter("bottomSplitter", h, window, (conversation, 3), (history, 1))
    main = splitter("mainSplitter", v, window, (clips_row, 5), (bottom, 4))
    central = QWidget(window)
    lay = QHBoxLayout(central)
    lay.setContentsMargins(6, 6, 6, 0)
    lay.addWidget(main)
    window.setCentralWidget(central)
    return Splitters(main, clips_row, bottom)
