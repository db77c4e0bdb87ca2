"""Small transport icons drawn with QPainter in the palette's text color: they read in light and dark mode."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap, QPolygonF

SIZE = 16


def _icon(kind: str, color: QColor) -> QIcon:
    pm = QPixmap(SIZE * 2, SIZE * 2)  # drawn at 2x for crisp edges on high-DPI screens
    pm.setDevicePixelRatio(2.0)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    if kind == "play":
        p.drawPolygon(QPolygonF([QPointF(4, 2.5), QPointF(13.5, 8), QPointF(4, 13.5)]))
    elif kind == "pause":
        p.drawRoundedRect(QRectF(3.5, 3, 3.2, 10), 1, 1)
        p.drawRoundedRect(QRectF(9.3, 3, 3.2, 10), 1, 1)
    elif kind == "stop":
        p.drawRoundedRect(QRectF(3.5, 3.5, 9, 9), 1.5, 1.5)
    elif kind == "record":
        p.setBrush(QColor(0xD9, 0x3B, 0x3B))
        p.drawEllipse(QRectF(3, 3, 10, 10))
    elif kind == "send":
        p.drawPolygon(QPolygonF([QPointF(2, 2.5), QPointF(14.5, 8), QPointF(2, 13.5), QPointF(4, 8)]))
    p.end()
    return QIcon(pm)


def transport_icon(kind: str, palette: QPalette) -> QIcon:
    """ "play", "pause", "stop", "record" or "send" in the palette's button-text color."""
    icon = _icon(kind, palette.color(QPalette.ColorRole.ButtonText))
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    icon.addPixmap(_icon(kind, disabled).pixmap(SIZE, SIZE), QIcon.Mode.Disabled)
    return icon
