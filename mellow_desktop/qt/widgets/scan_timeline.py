"""The scan's timeline track over the whole file: caption segments as labelled blocks, the yes/no score as a
curve with a draggable threshold line, merged detections as shaded spans and the analysis window.

It paints a :class:`~mellow_desktop.core.scan_view.ScanView` (the core computes segments, curve and
detections); a click moves the analysis window there (:attr:`ScanTimeline.seek`), dragging the threshold line
sets :attr:`ScanView.threshold` and emits :attr:`ScanTimeline.threshold_changed`.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from mellow.timefmt import format_seconds
from mellow_desktop.core.clip_analysis import WINDOW_SECONDS
from mellow_desktop.core.scan_view import ScanView
from mellow_desktop.qt.widgets.file_scale import WholeFileScale

LABEL_H = 22  # the caption lane's height (px); the score lane fills the rest
GRAB_PX = 5  # how close to the threshold line a press grabs it
_SEGMENT_COLORS = ("#5b8def", "#e8a33d", "#49b07a", "#c75dd1", "#d9534f", "#3fb4c4")


class ScanTimeline(QWidget, WholeFileScale):
    """Whole-file timeline of one scan (see the module docstring)."""

    seek = Signal(float)  # seconds: where the user clicked (the window's new start)
    threshold_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(96)
        self.setMouseTracking(True)
        self.view: ScanView | None = None
        self.duration_s = 0.0
        self.window_start: float | None = None
        self.scored = False
        self._dragging = False
        self.setToolTip("Click: move the analysis window there · drag the dashed line: threshold")

    # ------------------------------------------------------------------------------------------- content
    def set_view(self, view: ScanView | None, duration_s: float, scored: bool) -> None:
        self.view, self.duration_s, self.scored = view, max(0.0, duration_s), scored
        self.update()

    def set_window_start(self, start_s: float | None) -> None:
        self.window_start = start_s
        self.update()

    # ------------------------------------------------------------------------------------------- geometry
    def _score_rect(self) -> QRectF:
        return QRectF(0, LABEL_H + 2, self.width(), max(10, self.height() - LABEL_H - 4))

    def threshold_y(self) -> float:
        r = self._score_rect()
        return r.bottom() - (self.view.threshold if self.view else 0.5) * r.height()

    # ------------------------------------------------------------------------------------------- painting
    def paintEvent(self, _ev: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        if self.view is not None and self.duration_s > 0:
            self._paint_detections(p)
            self._paint_segments(p)
            if self.scored:
                self._paint_curve(p)
        self._paint_window(p)
        p.end()

    def _paint_detections(self, p: QPainter) -> None:
        shade = QColor(220, 60, 60, 70)
        for d in self.view.detections() if self.scored else []:
            x0, x1 = self.x_of(d.start_s), self.x_of(d.end_s)
            p.fillRect(QRectF(x0, 0, max(2.0, x1 - x0), self.height()), shade)

    def _paint_segments(self, p: QPainter) -> None:
        colors: dict[str, QColor] = {}
        for seg in self.view.segments():
            color = colors.setdefault(seg.text, QColor(_SEGMENT_COLORS[len(colors) % len(_SEGMENT_COLORS)]))
            x0, x1 = self.x_of(seg.start_s), self.x_of(seg.end_s)
            rect = QRectF(x0, 1, max(1.0, x1 - x0 - 1), LABEL_H - 2)
            p.fillRect(rect, color)
            if rect.width() > 24:
                p.setPen(QColor("white"))
                elide = Qt.TextElideMode.ElideRight
                text = p.fontMetrics().elidedText(seg.text, elide, int(rect.width()) - 4)
                p.drawText(rect.adjusted(2, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, text)

    def _paint_curve(self, p: QPainter) -> None:
        r = self._score_rect()
        times, scores = self.view.score_curve()
        p.setPen(QPen(self.palette().mid().color(), 1))
        p.drawRect(r.adjusted(0, 0, -1, -1))
        y = self.threshold_y()
        p.setPen(QPen(QColor("#d9534f"), 1.5, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(0, y), QPointF(self.width(), y))
        p.setPen(self.palette().text().color())
        p.drawText(QPointF(4, y - 3), f"threshold {self.view.threshold:.2f}")
        if len(times):  # over the threshold line, which it may follow closely
            pts = [QPointF(self.x_of(t), r.bottom() - s * r.height())
                   for t, s in zip(times, scores, strict=True)]
            p.setPen(QPen(QColor("#2b6cd4"), 2))
            p.drawPolyline(QPolygonF(pts))

    def _paint_window(self, p: QPainter) -> None:
        if self.window_start is None or self.duration_s <= 0:
            return
        x0 = self.x_of(self.window_start)
        width = max(6.0, self.x_of(self.window_start + WINDOW_SECONDS) - x0)
        p.setPen(QPen(QColor("#ff8c00"), 2))
        p.drawRect(QRectF(x0, 0, width, self.height() - 1))

    # ------------------------------------------------------------------------------------------- mouse
    def _near_threshold(self, y: float) -> bool:
        return self.scored and self.view is not None and abs(y - self.threshold_y()) <= GRAB_PX

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if ev.button() != Qt.MouseButton.LeftButton or self.duration_s <= 0:
            return
        if self._near_threshold(ev.position().y()):
            self._dragging = True
        else:
            t = self.time_at(ev.position().x())
            self.seek.emit(max(0.0, t - WINDOW_SECONDS / 2))
        ev.accept()

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        y = ev.position().y()
        if self._dragging and self.view is not None:
            r = self._score_rect()
            self.set_threshold((r.bottom() - y) / r.height())
        else:
            t = self.time_at(ev.position().x())
            shape = Qt.CursorShape.SizeVerCursor if self._near_threshold(y) else Qt.CursorShape.ArrowCursor
            self.setCursor(shape)
            self.setToolTip(f"{format_seconds(t)} · click: move the analysis window here")

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self._dragging = False
        ev.accept()

    def set_threshold(self, value: float) -> None:
        """Move the threshold line (0..1) and recompute the detections."""
        if self.view is None:
            return
        self.view.threshold = round(min(max(value, 0.0), 1.0), 3)
        self.threshold_changed.emit(self.view.threshold)
        self.update()
