"""A slim horizontal level meter in dBFS (green, amber above -12 dBFS, red above -3 dBFS)."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0


class LevelMeter(QWidget):
    """Shows a peak level between -60 and 0 dBFS."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = -math.inf
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Input level (dBFS)")

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(120, 10)

    def set_level_db(self, db: float) -> None:
        """Show ``db`` (dBFS; ``-inf`` for silence)."""
        self._db = db
        self.update()

    def level_db(self) -> float:
        return self._db

    def paintEvent(self, _ev: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(self.palette().color(QPalette.ColorRole.Mid))
        p.setBrush(self.palette().color(QPalette.ColorRole.Base))
        p.drawRoundedRect(r, 3, 3)
        frac = 0.0 if not math.isfinite(self._db) else min(1.0, max(0.0, 1.0 - self._db / FLOOR_DB))
        if frac > 0:
            color = QColor(0x3C, 0xB3, 0x71)
            if self._db > -3:
                color = QColor(0xE0, 0x4A, 0x3F)
            elif self._db > -12:
                color = QColor(0xE8, 0xB0, 0x2F)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawRoundedRect(QRectF(r.x() + 1, r.y() + 1, (r.width() - 2) * frac, r.height() - 2), 2, 2)
        p.end()
