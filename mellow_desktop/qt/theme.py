"""Light and dark palettes that follow the system color scheme (Qt 6.5+ ``styleHints().colorScheme()``).

The app uses the Fusion style everywhere so that both palettes look the same on every platform. Plots read
their colors from :func:`plot_colors`, which derives them from the current palette.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")


def _dark_palette() -> QPalette:
    """A calm dark palette with enough contrast for small text."""
    p = QPalette()
    window, base, text = QColor(0x2B, 0x2D, 0x31), QColor(0x1F, 0x21, 0x24), QColor(0xE6, 0xE6, 0xE6)
    disabled = QColor(0x80, 0x80, 0x80)
    accent = QColor(0x4C, 0x9A, 0xE8)
    for role, color in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, QColor(0x33, 0x35, 0x3A)),
        (QPalette.ColorRole.ToolTipBase, QColor(0x3A, 0x3C, 0x42)),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.PlaceholderText, QColor(0x9A, 0x9A, 0x9A)),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, QColor(0x36, 0x38, 0x3D)),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.BrightText, QColor(0xFF, 0x6B, 0x6B)),
        (QPalette.ColorRole.Link, accent),
        (QPalette.ColorRole.Highlight, accent),
        (QPalette.ColorRole.HighlightedText, QColor(Qt.GlobalColor.white)),
        (QPalette.ColorRole.Mid, QColor(0x45, 0x47, 0x4D)),
        (QPalette.ColorRole.Dark, QColor(0x18, 0x19, 0x1B)),
        (QPalette.ColorRole.Light, QColor(0x4A, 0x4C, 0x52)),
    ):
        p.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def system_prefers_dark() -> bool:
    """True when the platform reports a dark color scheme (Qt 6.5+); False when unknown."""
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, theme: str = "system") -> bool:
    """Set the Fusion style and a light or dark palette; returns True when dark was chosen."""
    app.setStyle("Fusion")
    dark = theme == "dark" or (theme == "system" and system_prefers_dark())
    app.setPalette(_dark_palette() if dark else app.style().standardPalette())
    app.setProperty("mellowDark", dark)
    return dark


def follow_system_scheme(app: QApplication) -> None:
    """Re-apply the palette whenever the system switches between light and dark."""
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(lambda _scheme: apply_theme(app, "system"))


def is_dark(palette: QPalette) -> bool:
    """Whether a palette is a dark one (its window color is darker than mid-grey)."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


@dataclass(frozen=True)
class PlotColors:
    """Colors plots use for the current palette."""

    background: QColor
    foreground: QColor
    wave: QColor
    region: QColor
    playhead: QColor
    muted: QColor


def plot_colors(palette: QPalette) -> PlotColors:
    """Plot colors matched to ``palette`` (dark or light)."""
    if is_dark(palette):
        return PlotColors(
            background=QColor(0x1F, 0x21, 0x24),
            foreground=QColor(0xC8, 0xC8, 0xC8),
            wave=QColor(0x6C, 0xB6, 0xFF),
            region=QColor(0xFF, 0xC1, 0x4D, 38),
            playhead=QColor(0xFF, 0x6B, 0x6B),
            muted=QColor(0x9A, 0x9A, 0x9A),
        )
    return PlotColors(
        background=QColor(0xFF, 0xFF, 0xFF),
        foreground=QColor(0x40, 0x40, 0x40),
        wave=QColor(0x1F, 0x6F, 0xC5),
        region=QColor(0xF2, 0xA9, 0x00, 40),
        playhead=QColor(0xD0, 0x30, 0x30),
        muted=QColor(0x70, 0x70, 0x70),
    )
