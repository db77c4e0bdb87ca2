"""The main window's layout: the clips row (A, comparison, B) above the conversation and the history.

Pure layout: the widgets are made by the window and placed here; splitters are named so that their state
can be saved (QSettings "window/<name>").
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

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
