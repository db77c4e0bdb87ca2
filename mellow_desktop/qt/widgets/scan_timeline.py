"""The scan's timeline track over the whole file: one lane per question of the scan (one lane for a scan of
one question), each with its caption segments as labelled blocks, its yes/no score as a curve with a
draggable threshold line and its merged detections as shaded spans; and the analysis window across the lanes.

It paints a :class:`~mellow_desktop.core.scan_view.ScanView` (the core computes segments, curves and
detections); a click moves the analysis window there (:attr:`ScanTimeline.seek`), dragging a lane's threshold
line sets that question's threshold (:meth:`ScanView.set_threshold`) and emits
:attr:`ScanTimeline.threshold_changed`.  A lane of a question set is labelled with its question's name.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from mellow.timefmt import format_seconds
from mellow_desktop.core.clip_analysis import WINDOW_SECONDS
from mellow_desktop.core.scan_view import ScanView
from mellow_desktop.qt.widgets.file_scale import WholeFileScale

LABEL_H = 22  # the caption strip's height (px) of a one-question scan; the score area fills the rest
LANE_H = 56  # the least height of each lane of a question set
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
        self._dragging: str | None = None  # the question whose threshold line is being dragged
        self.setToolTip("Click: move the analysis window there · drag the dashed line: threshold")

    # ------------------------------------------------------------------------------------------- content
    def set_view(self, view: ScanView | None, duration_s: float, scored: bool) -> None:
        self.view, self.duration_s, self.scored = view, max(0.0, duration_s), scored
        self.setMinimumHeight(max(96, LANE_H * len(self.lanes())))
        self.update()

    def set_window_start(self, start_s: float | None) -> None:
        self.window_start = start_s
        self.update()

    # ------------------------------------------------------------------------------------------- geometry
    def lanes(self) -> tuple[str, ...]:
        """The questions drawn, top to bottom (one lane each)."""
        return self.view.names if self.view is not None and self.view.names else ("",)

    def lane_rect(self, question: str) -> QRectF:
        """The lane of ``question`` (the whole track for a scan of one question)."""
        lanes = self.lanes()
        k = lanes.index(question) if question in lanes else 0
        height = self.height() / len(lanes)
        return QRectF(0, k * height, self.width(), height)

    def _strip_h(self, lane: QRectF) -> float:
        return LABEL_H if len(self.lanes()) == 1 else min(LABEL_H, lane.height() / 3)

    def _score_rect(self, question: str = "") -> QRectF:
        lane = self.lane_rect(question or self.lanes()[0])
        strip = self._strip_h(lane)
        return QRectF(0, lane.top() + strip + 2, self.width(), max(10, lane.height() - strip - 4))

    def _scored(self, question: str) -> bool:
        if len(self.lanes()) == 1:
            return self.scored
        return self.view is not None and self.view.scored(question)

    def threshold_y(self, question: str = "") -> float:
        question = question or self.lanes()[0]
        r = self._score_rect(question)
        return r.bottom() - (self.view.threshold_of(question) if self.view else 0.5) * r.height()

    # ------------------------------------------------------------------------------------------- painting
    def paintEvent(self, _ev: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        if self.view is not None and self.duration_s > 0:
            for k, question in enumerate(self.lanes()):
                if k:
                    p.setPen(QPen(self.palette().mid().color(), 1))
                    top = self.lane_rect(question).top()
                    p.drawLine(QPointF(0, top), QPointF(self.width(), top))
                self._paint_lane(p, question)
        self._paint_window(p)
        p.end()

    def _paint_lane(self, p: QPainter, question: str) -> None:
        scored = self._scored(question)
        if scored:
            self._paint_detections(p, question)
        self._paint_segments(p, question)
        if scored:
            self._paint_curve(p, question)
        if len(self.lanes()) > 1:  # the lane's name, over its score area's top left
            r = self._score_rect(question)
            font = p.font()
            font.setBold(True)
            p.setFont(font)
            self._label(p, QPointF(r.left() + 4, r.top() + 2 + p.fontMetrics().ascent()), question)
            font.setBold(False)
            p.setFont(font)

    def _label(self, p: QPainter, at: QPointF, text: str) -> None:
        """``text`` from baseline point ``at`` on a pale backing, legible over the curve and the shading."""
        fm = p.fontMetrics()
        back = QColor(self.palette().base().color())
        back.setAlpha(200)
        width = fm.horizontalAdvance(text) + 4
        p.fillRect(QRectF(at.x() - 2, at.y() - fm.ascent(), width, fm.height()), back)
        p.setPen(self.palette().text().color())
        p.drawText(at, text)

    def _paint_detections(self, p: QPainter, question: str) -> None:
        shade = QColor(220, 60, 60, 70)
        lane = self.lane_rect(question)
        for d in self.view.detections(question=question or None):
            x0, x1 = self.x_of(d.start_s), self.x_of(d.end_s)
            p.fillRect(QRectF(x0, lane.top(), max(2.0, x1 - x0), lane.height()), shade)

    def _paint_segments(self, p: QPainter, question: str) -> None:
        colors: dict[str, QColor] = {}
        lane = self.lane_rect(question)
        strip = self._strip_h(lane)
        for seg in self.view.segments(question or None):
            color = colors.setdefault(seg.text, QColor(_SEGMENT_COLORS[len(colors) % len(_SEGMENT_COLORS)]))
            x0, x1 = self.x_of(seg.start_s), self.x_of(seg.end_s)
            rect = QRectF(x0, lane.top() + 1, max(1.0, x1 - x0 - 1), strip - 2)
            p.fillRect(rect, color)
            if rect.width() > 24 and strip >= 12:
                p.setPen(QColor("white"))
                elide = Qt.TextElideMode.ElideRight
                text = p.fontMetrics().elidedText(seg.text, elide, int(rect.width()) - 4)
                p.drawText(rect.adjusted(2, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, text)

    def _paint_curve(self, p: QPainter, question: str) -> None:
        r = self._score_rect(question)
        times, scores = self.view.score_curve(question or None)
        p.setPen(QPen(self.palette().mid().color(), 1))
        p.drawRect(r.adjusted(0, 0, -1, -1))
        y = self.threshold_y(question)
        p.setPen(QPen(QColor("#d9534f"), 1.5, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(0, y), QPointF(self.width(), y))
        label = f"threshold {self.view.threshold_of(question or self.lanes()[0]):.2f}"
        if len(self.lanes()) == 1:
            p.setPen(self.palette().text().color())
            p.drawText(QPointF(4, y - 3), label)
        else:  # at the lane's right end, on a backing (the lane's name is at its left)
            self._label(p, QPointF(r.right() - 6 - p.fontMetrics().horizontalAdvance(label), y - 3), label)
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
    def _lane_at(self, y: float) -> str:
        lanes = self.lanes()
        k = int(y // max(1.0, self.height() / len(lanes)))
        return lanes[min(max(k, 0), len(lanes) - 1)]

    def _near_threshold(self, y: float) -> str | None:
        """The question whose threshold line is at ``y`` (None: none)."""
        question = self._lane_at(y)
        near = self.view is not None and self._scored(question)
        return question if near and abs(y - self.threshold_y(question)) <= GRAB_PX else None

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if ev.button() != Qt.MouseButton.LeftButton or self.duration_s <= 0:
            return
        grabbed = self._near_threshold(ev.position().y())
        if grabbed is not None:
            self._dragging = grabbed
        else:
            t = self.time_at(ev.position().x())
            self.seek.emit(max(0.0, t - WINDOW_SECONDS / 2))
        ev.accept()

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        y = ev.position().y()
        if self._dragging is not None and self.view is not None:
            r = self._score_rect(self._dragging)
            self.set_threshold((r.bottom() - y) / r.height(), self._dragging)
        else:
            t = self.time_at(ev.position().x())
            near = self._near_threshold(y) is not None
            self.setCursor(Qt.CursorShape.SizeVerCursor if near else Qt.CursorShape.ArrowCursor)
            lane = self._lane_at(y)
            named = f"{lane} · " if len(self.lanes()) > 1 else ""
            self.setToolTip(f"{named}{format_seconds(t)} · click: move the analysis window here")

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self._dragging = None
        ev.accept()

    def set_threshold(self, value: float, question: str = "") -> None:
        """Move the threshold line of ``question`` ("": the first lane's) to ``value`` (0..1) and recompute
        its detections."""
        if self.view is None:
            return
        question = question or self.lanes()[0]
        value = round(min(max(value, 0.0), 1.0), 3)
        self.view.set_threshold(question, value)
        self.threshold_changed.emit(value)
        self.update()
