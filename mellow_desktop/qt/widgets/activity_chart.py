"""The activity chart of a folder scan: a date × hour-of-day heat map of detections per recorded hour (or mean
P(yes)), cells without recording hatched as "no data", a night view (noon to noon), sunrise and sunset
lines when the place is known, a colour bar; hovering a cell names its counts and effort, a click emits its
key (the pane lists that cell's detections).  Colours and hover texts are the HTML report's
(:mod:`mellow_desktop.core.report_graphics`), so both charts read the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QLinearGradient, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from mellow_desktop.core.activity import ActivityGrid, CellKey, GridRow
from mellow_desktop.core.report_graphics import MEASURES, cell_title, heat_colour, scale_top
from mellow_desktop.core.sun import SunMark

LEFT, TOP, RIGHT, BOTTOM, BAR_W = 150, 22, 90, 8, 14
SUN_COLOURS = {"sunrise": "#f08c00", "sunset": "#7048e8"}


class ActivityChart(QWidget):
    """Paints an :class:`ActivityGrid` (see the module docstring)."""

    cell_clicked = Signal(object)  # CellKey

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid: ActivityGrid | None = None
        self.rows: list[GridRow] = []
        self.suns: list[list[SunMark]] = []
        self.night, self.measure = False, "rate"
        self.setMouseTracking(True)
        self.setMinimumHeight(120)

    def set_grid(self, grid: ActivityGrid | None, night: bool, measure: str,
                 suns: Sequence[Sequence[SunMark]] = ()) -> None:
        """Show ``grid`` as a day (or ``night``) chart of ``measure`` ("rate" or "mean")."""
        self.grid, self.night, self.measure = grid, night, measure
        self.rows = grid.rows(night) if grid is not None else []
        self.suns = [list(s) for s in suns]
        self.setMinimumHeight(TOP + BOTTOM + 20 + max(1, len(self.rows)) * 8)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(760, TOP + BOTTOM + 20 + max(4, len(self.rows)) * 18)

    # ------------------------------------------------------------------------------------------- geometry
    def _cell_size(self) -> tuple[float, float]:
        width = max(1.0, (self.width() - LEFT - RIGHT) / 24.0)
        height = max(1.0, (self.height() - TOP - BOTTOM - 20) / max(1, len(self.rows)))
        return width, min(height, 28.0)

    def key_at(self, pos: QPointF) -> CellKey | None:
        """The cell under ``pos``, or None."""
        w, h = self._cell_size()
        col, row = int((pos.x() - LEFT) // w), int((pos.y() - TOP) // h)
        if pos.x() < LEFT or pos.y() < TOP or not (0 <= col < 24 and 0 <= row < len(self.rows)):
            return None
        return self.rows[row].keys[col]

    # ------------------------------------------------------------------------------------------- painting
    def paintEvent(self, _ev: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        grid = self.grid
        if grid is None or not self.rows:
            p.setPen(text)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                       "no activity to chart yet: scan a folder whose recordings have clock times")
            return
        top = scale_top(grid, self.measure)
        w, h = self._cell_size()
        hatch = QBrush(QColor(150, 150, 150), Qt.BrushStyle.BDiagPattern)
        for r, row in enumerate(self.rows):
            y = TOP + r * h
            p.setPen(text)
            p.drawText(QRectF(0, y, LEFT - 6, h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       row.label)
            for c, key in enumerate(row.keys):
                cell = grid.cell(*key)
                value = cell.rate if self.measure == "rate" else cell.mean_score
                rect = QRectF(LEFT + c * w, y, w, h)
                if value is None:
                    p.fillRect(rect, QColor(225, 225, 225))
                    p.fillRect(rect, hatch)
                else:
                    p.fillRect(rect, QColor(heat_colour(value / top)))
        self._paint_suns(p, w, h)
        self._paint_hours(p, text, w, TOP + len(self.rows) * h)
        self._paint_bar(p, text, top, h)

    def _paint_suns(self, p: QPainter, w: float, h: float) -> None:
        for r, marks in enumerate(self.suns[:len(self.rows)]):
            for mark in marks:
                x = LEFT + mark.hours * w
                p.setPen(QPen(QColor(255, 255, 255), 4))
                p.drawLine(QPointF(x, TOP + r * h), QPointF(x, TOP + (r + 1) * h))
                p.setPen(QPen(QColor(SUN_COLOURS[mark.kind]), 2))
                p.drawLine(QPointF(x, TOP + r * h), QPointF(x, TOP + (r + 1) * h))

    def _paint_hours(self, p: QPainter, text: QColor, w: float, y: float) -> None:
        hours = list(range(12, 24)) + list(range(12)) if self.night else list(range(24))
        p.setPen(text)
        for c, hour in enumerate(hours):
            if hour % 3 == 0:
                p.drawText(QPointF(LEFT + c * w + 2, y + 14), f"{hour:02d}")
        p.drawText(QPointF(LEFT, TOP - 6), f"hour of day ({self.grid.zone if self.grid else ''})")

    def _paint_bar(self, p: QPainter, text: QColor, top: float, h: float) -> None:
        x = self.width() - RIGHT + 12
        height = max(60.0, len(self.rows) * h)
        gradient = QLinearGradient(0, TOP, 0, TOP + height)
        for i in range(11):
            gradient.setColorAt(i / 10, QColor(heat_colour(1 - i / 10)))
        p.fillRect(QRectF(x, TOP, BAR_W, height), gradient)
        p.setPen(text)
        p.drawText(QPointF(x + BAR_W + 4, TOP + 10), f"{top:.3g}")
        p.drawText(QPointF(x + BAR_W + 4, TOP + height), "0")
        p.save()
        p.translate(x - 3, TOP + height)
        p.rotate(-90)
        p.drawText(QPointF(0, 0), MEASURES[self.measure])
        p.restore()

    # ------------------------------------------------------------------------------------------- mouse
    def mouseMoveEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        key = self.key_at(ev.position())
        if key is None or self.grid is None:
            QToolTip.hideText()
            return
        QToolTip.showText(ev.globalPosition().toPoint(), cell_title(self.grid.cell(*key)), self)

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        key = self.key_at(ev.position())
        if ev.button() == Qt.MouseButton.LeftButton and key is not None:
            self.cell_clicked.emit(key)
