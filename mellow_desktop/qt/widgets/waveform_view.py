"""The waveform plot of one clip: envelope or samples, the draggable 10 s analysis window and a playhead.

Items are created once and fed new arrays. Long files are drawn as a min/max envelope (one vertical segment
per bin); when the user zooms in, :attr:`WaveformView.detail_wanted` asks (debounced) for a finer envelope of
the visible span, which the panel computes off the GUI thread and hands back with :meth:`set_detail`.
Mouse: wheel zooms the time axis, a drag on the window moves it, a drag elsewhere pans, double-click fits
the whole clip. Zoomed inside the window (it fills the view) a drag pans too; Shift+drag moves the window.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import HoverEvent, MouseDragEvent
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QWidget

from mellow_desktop.core.clip_analysis import WINDOW_SECONDS, Trace
from mellow_desktop.qt.theme import plot_colors
from mellow_desktop.qt.widgets.time_axis import TimeAxis

#: Ask for a finer envelope when fewer than this many overview bins are visible.
DETAIL_THRESHOLD_BINS = 1500
DETAIL_BINS = 2000
#: Narrower than this on screen, the analysis window is drawn (and dragged) as a marker this wide.
MIN_WINDOW_PX = 6


def _segments(tr: Trace) -> tuple[np.ndarray, np.ndarray]:
    """x/y arrays that draw ``tr`` with ``connect="pairs"`` (envelope) or as a plain line (raw samples)."""
    t = tr.times
    if tr.raw:
        return t, tr.lo.astype(np.float64)
    x = np.repeat(t, 2)
    y = np.empty(2 * tr.lo.shape[0])
    y[0::2], y[1::2] = tr.lo, tr.hi
    return x, y


class WindowRegion(pg.LinearRegionItem):
    """The 10 s analysis window. A left drag moves it, except when it fills the view (less than
    MIN_WINDOW_PX of the view lies outside it: zoomed inside the window, there is no empty space to grab):
    then a plain drag pans the view, and Shift+drag moves the window."""

    def fills_view(self) -> bool:
        """Whether less than MIN_WINDOW_PX of the visible time span lies outside the window."""
        vb = self.getViewBox()
        if vb is None:
            return False
        (x0, x1), (r0, r1) = vb.viewRange()[0], self.getRegion()
        outside = max(0.0, r0 - x0) + max(0.0, x1 - r1)
        return outside * vb.width() / max(x1 - x0, 1e-9) < MIN_WINDOW_PX

    def _drag_pans(self, ev: MouseDragEvent | HoverEvent) -> bool:
        return self.fills_view() and not ev.modifiers() & Qt.KeyboardModifier.ShiftModifier

    def mouseDragEvent(self, ev: MouseDragEvent) -> None:  # noqa: N802 (pyqtgraph override)
        if ev.isStart() and self._drag_pans(ev):
            ev.ignore()  # the drag goes on to the view box, which pans
            return
        super().mouseDragEvent(ev)

    def hoverEvent(self, ev: HoverEvent) -> None:  # noqa: N802 (pyqtgraph override)
        if self.fills_view():  # claim no drag ahead of the press: it decides between pan and move
            self.setMouseHover(False)
            return
        super().hoverEvent(ev)


class WaveformView(pg.PlotWidget):
    """Waveform of one clip with the analysis window (a fixed-width 10 s region) and a playhead."""

    window_moved = Signal(float)  # new window start in seconds, emitted when a drag ends
    detail_wanted = Signal(float, float)  # visible time span (seconds) that needs a finer envelope

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems={"bottom": TimeAxis("bottom")})
        self.setMinimumHeight(90)
        self.setMenuEnabled(False)
        self.hideButtons()
        plot = self.getPlotItem()
        plot.setMouseEnabled(x=True, y=False)
        plot.showGrid(x=True, y=False, alpha=0.15)
        plot.getAxis("left").setWidth(44)
        plot.getAxis("left").setTicks([[(-1.0, "-1"), (0.0, "0"), (1.0, "1")]])
        plot.setYRange(-1.05, 1.05, padding=0)
        self._duration = 0.0
        self._overview: Trace | None = None
        self._showing_detail = False
        self._placing = False
        self.curve = pg.PlotDataItem([], [], connect="pairs", antialias=False)
        self.curve.setClipToView(True)
        plot.addItem(self.curve)
        self.region = WindowRegion(values=(0.0, WINDOW_SECONDS), movable=True, swapMode="block")
        for line in self.region.lines:
            line.setMovable(False)  # fixed 10 s width: only the whole region moves
        self.region.setZValue(10)
        self.region.setToolTip("What the model hears: drag to move the 10 s window. Zoomed inside it, "
                               "a drag pans the view and Shift+drag moves the window.")
        self.region.sigRegionChangeFinished.connect(self._region_finished)
        plot.addItem(self.region)
        self.marker = pg.InfiniteLine(pos=0.0, angle=90, movable=True,
                                      pen=pg.mkPen((255, 140, 0), width=MIN_WINDOW_PX))
        self.marker.setZValue(11)
        self.marker.setToolTip("The 10 s analysis window (zoomed out): drag to move it")
        self.marker.sigPositionChangeFinished.connect(self._marker_finished)
        self.marker.setVisible(False)
        plot.addItem(self.marker)
        self.note = pg.TextItem("", anchor=(0, 0))
        self.note.setZValue(20)
        plot.addItem(self.note, ignoreBounds=True)
        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=False)
        self.playhead.setZValue(30)
        self.playhead.setVisible(False)
        plot.addItem(self.playhead)
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(150)
        self._detail_timer.timeout.connect(self._check_detail)
        plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._detail_timer.start())
        plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._update_marker())
        self.region.sigRegionChanged.connect(lambda *_: self._update_marker())
        plot.getViewBox().sigResized.connect(lambda *_: self._update_marker())
        self.apply_palette()
        self.clear_clip()

    # ------------------------------------------------------------------------------------------- content
    def clear_clip(self) -> None:
        """Show an empty plot."""
        self._overview = None
        self._duration = 0.0
        self.curve.setData([], [])
        self.region.setVisible(False)
        self.marker.setVisible(False)
        self.playhead.setVisible(False)
        self.note.setText("")
        self.getPlotItem().setXRange(0, WINDOW_SECONDS, padding=0)

    def set_overview(self, overview: Trace, duration: float) -> None:
        """Draw a whole clip and fit the view to it."""
        self._overview = overview
        self._duration = max(duration, 1e-6)
        self._showing_detail = False
        self._draw(overview)
        vb = self.getPlotItem().getViewBox()
        vb.setLimits(xMin=0.0, xMax=self._duration, minXRange=min(0.01, self._duration))
        self.fit()
        short = duration < WINDOW_SECONDS
        self.region.setVisible(True)
        self.region.setMovable(not short)
        self.region.setBounds((0.0, max(self._duration, WINDOW_SECONDS) if not short else self._duration))
        self.set_window(0.0)
        if short:
            times = WINDOW_SECONDS / self._duration
            self.note.setText(f"shorter than 10 s: repeated ×{times:.1f} to fill the window")
        else:
            self.note.setText("")
        self.note.setPos(0.0, 1.05)

    def refine_overview(self, overview: Trace) -> None:
        """Replace the whole-clip trace by a better one of the same clip (the view and window stay)."""
        self._overview = overview
        if not self._showing_detail:
            self._draw(overview)

    def set_detail(self, detail: Trace) -> None:
        """Replace the drawn trace with a finer one for the currently visible span; a late one, for a view
        that has moved on (zoomed out, panned away), is dropped instead of replacing the whole clip."""
        span = self._detail_span()
        if span is None or detail.t1 <= span[0] or detail.t0 >= span[1]:
            return
        self._showing_detail = True
        self._draw(detail)

    def _draw(self, tr: Trace) -> None:
        x, y = _segments(tr)
        self.curve.setData(x, y, connect="all" if tr.raw else "pairs")

    def set_window(self, start_s: float) -> None:
        """Place the analysis window at ``start_s`` (short clips: the whole clip); emits nothing."""
        self._placing = True
        try:
            if self._duration < WINDOW_SECONDS:
                self.region.setRegion((0.0, self._duration))
            else:
                self.region.setRegion((start_s, start_s + WINDOW_SECONDS))
        finally:
            self._placing = False
        self._update_marker()

    def window_start(self) -> float:
        """Start of the analysis window in seconds."""
        return float(self.region.getRegion()[0]) if self._duration >= WINDOW_SECONDS else 0.0

    def set_playhead(self, t: float | None) -> None:
        """Show the playhead at ``t`` seconds, or hide it with None."""
        self.playhead.setVisible(t is not None)
        if t is not None:
            self.playhead.setValue(t)

    def fit(self) -> None:
        """Show the whole clip."""
        self.getPlotItem().setXRange(0.0, max(self._duration, 1e-3), padding=0.0)

    def drawn_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The x/y arrays currently plotted (for tests)."""
        x, y = self.curve.getData()
        return (
            np.asarray(x) if x is not None else np.zeros(0),
            np.asarray(y) if y is not None else np.zeros(0),
        )

    # ------------------------------------------------------------------------------------------- events
    def marker_shown(self) -> bool:
        """Whether the window is drawn as the wide marker (it would be under MIN_WINDOW_PX wide)."""
        return self.marker.isVisible()

    def _update_marker(self) -> None:
        """Show the marker at the window's centre while the 10 s region is narrower than MIN_WINDOW_PX."""
        x0, x1 = self.getPlotItem().getViewBox().viewRange()[0]
        px_per_s = self.getPlotItem().getViewBox().width() / max(x1 - x0, 1e-9)
        thin = self.region.isVisible() and self._duration >= WINDOW_SECONDS and \
            WINDOW_SECONDS * px_per_s < MIN_WINDOW_PX
        self.marker.setVisible(thin)
        if thin and not self.marker.moving:
            self.marker.setValue(self.window_start() + WINDOW_SECONDS / 2)

    def _marker_finished(self) -> None:
        centre = float(self.marker.value())
        start = min(max(0.0, centre - WINDOW_SECONDS / 2), self._duration - WINDOW_SECONDS)
        self.window_moved.emit(start)

    def _region_finished(self) -> None:
        if self._duration >= WINDOW_SECONDS and not self._placing:
            self.window_moved.emit(self.window_start())

    def _detail_span(self) -> tuple[float, float] | None:
        """The visible span (seconds) when it shows too few whole-clip bins and wants a finer trace."""
        if self._overview is None or self._overview.raw:
            return None
        x0, x1 = self.getPlotItem().getViewBox().viewRange()[0]
        x0, x1 = max(0.0, x0), min(self._duration, x1)
        visible_bins = self._overview.lo.shape[0] * (x1 - x0) / self._duration
        return (x0, x1) if visible_bins < DETAIL_THRESHOLD_BINS and x1 > x0 else None

    def _check_detail(self) -> None:
        span = self._detail_span()
        if span is not None:
            self.detail_wanted.emit(*span)
        elif self._showing_detail:
            self._showing_detail = False
            self._draw(self._overview)

    def mouseDoubleClickEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self.fit()
        ev.accept()

    def changeEvent(self, ev: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(ev)
        if ev.type() == QEvent.Type.PaletteChange and "curve" in self.__dict__:
            self.apply_palette()

    def apply_palette(self) -> None:
        """Recolor the plot for the current (light or dark) palette."""
        c = plot_colors(self.palette())
        self.setBackground(c.background)
        self.curve.setPen(pg.mkPen(c.wave, width=1))
        self.region.setBrush(pg.mkBrush(c.region))
        hover = pg.QtGui.QColor(c.region)
        hover.setAlpha(min(255, c.region.alpha() + 40))
        self.region.setHoverBrush(pg.mkBrush(hover))
        for line in self.region.lines:
            line.setPen(pg.mkPen(c.region.darker(110), width=1))
        self.playhead.setPen(pg.mkPen(c.playhead, width=2))
        self.note.setColor(c.muted)
        for name in ("left", "bottom"):
            axis = self.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(c.foreground))
            axis.setTextPen(pg.mkPen(c.foreground))


__all__ = ["WaveformView"]
