"""When each recorder of a deployment was recording: one lane per recorder, a bar per stretch of recording,
gaps left empty, midnight lines and dates under them.  Painted in one pass (a month of hourly files is a few
thousand rectangles at most); hovering names the stretch, a click emits the time under the mouse.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QToolTip, QWidget

from mellow.timefmt import format_seconds
from mellow_desktop.core.deployment_view import EffortLane

LANE_H, LANE_GAP, AXIS_H, LABEL_W = 16, 4, 18, 110


class EffortTimeline(QWidget):
    """The lanes of :func:`~mellow_desktop.core.deployment_view.effort_lanes`, times shown in ``zone``."""

    time_clicked = Signal(float)  # Unix seconds under the mouse

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lanes: list[EffortLane] = []
        self.zone: tzinfo | None = None
        self.t0 = self.t1 = 0.0
        self.setMouseTracking(True)
        self.setMinimumHeight(AXIS_H + LANE_H + 8)

    def set_lanes(self, lanes: list[EffortLane], zone: tzinfo) -> None:
        """Show ``lanes`` (empty: nothing) with dates in ``zone``."""
        self.lanes, self.zone = lanes, zone
        spans = [t for lane in lanes for iv in lane.intervals for t in iv]
        self.t0, self.t1 = (min(spans), max(spans)) if spans else (0.0, 0.0)
        self.setMinimumHeight(AXIS_H + max(1, len(lanes)) * (LANE_H + LANE_GAP) + 4)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(600, self.minimumHeight())

    # ------------------------------------------------------------------------------------------- geometry
    def _x(self, t: float) -> float:
        width = max(1, self.width() - LABEL_W - 8)
        return LABEL_W + (t - self.t0) / max(self.t1 - self.t0, 1.0) * width

    def _t(self, x: float) -> float:
        width = max(1, self.width() - LABEL_W - 8)
        return self.t0 + (x - LABEL_W) / width * max(self.t1 - self.t0, 1.0)

    def _lane_at(self, y: float) -> int:
        return int((y - 2) // (LANE_H + LANE_GAP))

    # ------------------------------------------------------------------------------------------- painting
    def paintEvent(self, _ev: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        if not self.lanes or self.t1 <= self.t0:
            p.setPen(text)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no recording effort to show")
            return
        bar = pal.color(QPalette.ColorRole.Highlight)
        for i, lane in enumerate(self.lanes):
            y = 2 + i * (LANE_H + LANE_GAP)
            p.setPen(text)
            label = p.fontMetrics().elidedText(lane.recorder, Qt.TextElideMode.ElideMiddle, LABEL_W - 8)
            p.drawText(QRectF(2, y, LABEL_W - 6, LANE_H), Qt.AlignmentFlag.AlignVCenter, label)
            p.fillRect(QRectF(LABEL_W, y, self.width() - LABEL_W - 8, LANE_H),
                       pal.color(QPalette.ColorRole.Base))
            for a, b in lane.intervals:
                x0, x1 = self._x(a), self._x(b)
                p.fillRect(QRectF(x0, y, max(1.0, x1 - x0), LANE_H), bar)
        self._paint_days(p, text, 2 + len(self.lanes) * (LANE_H + LANE_GAP))

    def _paint_days(self, p: QPainter, text: QColor, axis_y: float) -> None:
        """Midnight lines across the lanes, and dates under the first lane-free pixel of each day."""
        start = datetime.fromtimestamp(self.t0, self.zone).replace(hour=0, minute=0, second=0, microsecond=0)
        days = max(1, int((self.t1 - self.t0) // 86400) + 2)
        every = max(1, round(days * 70 / max(1, self.width() - LABEL_W)))  # a label every ~70 px at least
        grid = QColor(text)
        grid.setAlpha(70)
        p.setPen(text)  # the first day's date at the left edge (its midnight lies before the first stretch)
        p.drawText(QPointF(LABEL_W + 2, axis_y + AXIS_H - 5), start.strftime("%d %b"))
        for n in range(1, days):
            day = (start + timedelta(days=n)).replace(tzinfo=self.zone)
            x = self._x(day.timestamp())
            if x < LABEL_W + 60 or x > self.width():
                continue
            p.setPen(grid)
            p.drawLine(QPointF(x, 0), QPointF(x, axis_y))
            if n % every == 0:
                p.setPen(text)
                p.drawText(QPointF(x + 2, axis_y + AXIS_H - 5), day.strftime("%d %b"))

    # ------------------------------------------------------------------------------------------- mouse
    def mouseMoveEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        pos = ev.position()
        lane = self._lane_at(pos.y())
        if self.t1 <= self.t0 or not 0 <= lane < len(self.lanes) or pos.x() < LABEL_W:
            QToolTip.hideText()
            return
        t = self._t(pos.x())
        moment = datetime.fromtimestamp(t, self.zone).strftime("%Y-%m-%d %H:%M")
        inside = next(((a, b) for a, b in self.lanes[lane].intervals if a <= t <= b), None)
        what = (f"recording from {datetime.fromtimestamp(inside[0], self.zone):%d %b %H:%M} for "
                f"{format_seconds(inside[1] - inside[0])}") if inside else "not recording"
        QToolTip.showText(ev.globalPosition().toPoint(), f"{self.lanes[lane].recorder}, {moment}: {what}",
                          self)

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if ev.button() == Qt.MouseButton.LeftButton and self.t1 > self.t0 and ev.position().x() >= LABEL_W:
            self.time_clicked.emit(self._t(ev.position().x()))
