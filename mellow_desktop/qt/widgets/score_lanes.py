"""Score lanes of Listen mode: one lane per question, its recent P(yes) over the input's time (the newest at
the right; the span grows with what was heard, up to five minutes) with its threshold drawn dashed; hits are
dots in the accent colour; the label gives the question's name and its latest P(yes)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from mellow_desktop.core.listen_view import LANE_SPAN_S, Lane
from mellow_desktop.qt.theme import PlotColors, plot_colors

LABEL_W = 110
LANE_MIN_H = 22
MIN_SPAN_S = 60.0


class ScoreLanes(QWidget):
    """Draws :class:`~mellow_desktop.core.listen_view.Lane` s over the last :data:`LANE_SPAN_S` seconds."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(LANE_MIN_H + 16)
        self.setToolTip("P(yes) of each question over the last minutes (dashed: its threshold; dots: hits)")
        self._lanes: list[Lane] = []
        self._now_s = 0.0

    def set_lanes(self, lanes: list[Lane], now_s: float) -> None:
        """Show ``lanes``; ``now_s`` is the live edge (seconds of input heard)."""
        self._lanes, self._now_s = lanes, now_s
        self.setMinimumHeight(max(1, len(lanes)) * LANE_MIN_H + 16)
        self.update()

    def lanes(self) -> list[Lane]:
        return list(self._lanes)

    def span_s(self) -> float:
        """Seconds across a lane: the input heard so far (at least a minute), at most :data:`LANE_SPAN_S`."""
        return min(LANE_SPAN_S, max(MIN_SPAN_S, self._now_s))

    def x_of(self, t: float, plot: QRectF) -> float:
        span = self.span_s()
        return plot.left() + (t - (self._now_s - span)) / span * plot.width()

    def paintEvent(self, _ev: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        c = plot_colors(self.palette())
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), c.background)
        n = max(1, len(self._lanes))
        axis_h = 16.0
        lane_h = (self.height() - axis_h) / n
        plot_w = self.width() - LABEL_W - 6.0
        for i, lane in enumerate(self._lanes):
            self._paint_lane(p, lane, QRectF(LABEL_W, i * lane_h + 2, plot_w, lane_h - 4), c)
        p.setPen(c.muted)
        bottom = QRectF(LABEL_W, self.height() - axis_h, plot_w, axis_h)
        span = self.span_s()
        ago = f"−{span / 60:.0f} min" if span >= 120 else f"−{span:.0f} s"
        p.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, ago)
        p.drawText(bottom, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "now")
        if not self._lanes:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Scores appear here while listening")
        p.end()

    def _paint_lane(self, p: QPainter, lane: Lane, r: QRectF, c: PlotColors) -> None:
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(c.muted, 1))
        p.drawRect(r)
        last = f"  {lane.scores[-1]:.2f}" if lane.scores else ""
        label = QRectF(4, r.top(), LABEL_W - 8, r.height())
        p.setPen(c.foreground)
        name = p.fontMetrics().elidedText(lane.name, Qt.TextElideMode.ElideRight,
                                          int(label.width() - p.fontMetrics().horizontalAdvance(last)))
        p.drawText(label, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name + last)

        def y_of(score: float) -> float:
            return r.bottom() - max(0.0, min(1.0, score)) * r.height()

        p.setPen(QPen(c.playhead, 1, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(r.left(), y_of(lane.threshold)), QPointF(r.right(), y_of(lane.threshold)))
        shown = [(self.x_of(t, r), s) for t, s in zip(lane.times, lane.scores, strict=True)]
        shown = [(x, s) for x, s in shown if x >= r.left()]
        if not shown:
            return
        p.setPen(QPen(c.wave, 1.5))
        p.drawPolyline(QPolygonF([QPointF(x, y_of(s)) for x, s in shown]))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(c.playhead)
        for x, s in shown:
            if s >= lane.threshold:
                p.drawEllipse(QPointF(x, y_of(s)), 2.5, 2.5)
        p.setBrush(Qt.BrushStyle.NoBrush)
