"""Navigation of a long recording in a clip panel: the whole-file overview strip and the start field.

:class:`OverviewStrip` paints the core's :class:`~mellow_desktop.core.overview.Overview` (a mel spectrogram
overview with the level envelope over it), computed in the background by
:func:`~mellow_desktop.core.overview_cache.file_overview` (the coarse snapshot draws at once, exact columns
fill in; a file seen before comes from the cache), the analysis window (never narrower than
:data:`MIN_WINDOW_PX`, orange with handles) and the playhead.  A click centres the window on the clicked
time; dragging the window follows the mouse.  While the clip plays (:attr:`OverviewStrip.seek_on_click`), a
click instead moves playback to the clicked time and the window stays.  :class:`OverviewNavigator` adds the
start field (h:mm:ss(.s) or seconds, read by :func:`~mellow_desktop.core.time_entry.parse_time`) and the
playback position readout.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QTransform
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from mellow.timefmt import format_seconds
from mellow_desktop.core.clip_analysis import WINDOW_SECONDS
from mellow_desktop.core.overview import Overview
from mellow_desktop.core.overview_cache import file_overview
from mellow_desktop.core.time_entry import TimeEntryError, parse_time
from mellow_desktop.qt.jobs import JobRunner
from mellow_desktop.qt.widgets.file_scale import WholeFileScale

MIN_WINDOW_PX = 6
WINDOW_COLOR = QColor(0, 229, 255)  # cyan: distinct from the spectrogram's black-red-yellow colours
HANDLE_PX = 4


def mel_image(ov: Overview, colormap: str = "inferno") -> QImage:
    """The overview's mel bands as an RGB image (columns × n_mels, high bands at the top)."""
    db = ov.mel_db[::-1]
    lo, hi = (np.percentile(db, (5.0, 99.5)) if db.size else (0.0, 1.0))
    norm = np.clip((db - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0)
    lut = pg.colormap.get(colormap).getLookupTable(0.0, 1.0, 256, alpha=False).astype(np.uint8)
    rgb = np.ascontiguousarray(lut[(norm * 255).astype(np.uint8)])
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def envelope_path(ov: Overview) -> QPainterPath:
    """The level envelope as one path of vertical segments: x in columns, y the level in [-1, 1] (drawn
    with one call, scaled to the strip, instead of a Python loop of one line per pixel)."""
    x = np.repeat(np.arange(ov.columns, dtype=np.float64) + 0.5, 2)
    y = np.empty(2 * ov.columns)
    y[0::2], y[1::2] = np.clip(ov.env_min, -1, 1), np.clip(ov.env_max, -1, 1)
    return pg.arrayToQPath(x, y, connect="pairs")


class OverviewStrip(QWidget, WholeFileScale):
    """The whole file at a glance with the analysis window (see the module docstring)."""

    window_requested = Signal(float)  # the window's new start (seconds), after a click or a drag
    overview_ready = Signal(object)  # each snapshot drawn (Overview)
    seek_requested = Signal(float)  # a click while playing: play from there (seconds)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(44)
        self.setMaximumHeight(56)
        self.setMouseTracking(True)
        self.setToolTip("The whole recording: click to move the analysis window there, drag it to move it")
        self.overview: Overview | None = None
        self.duration_s = 0.0
        self.window_start = 0.0
        self.playhead: float | None = None
        self._image: QImage | None = None
        self._envelope_path: QPainterPath | None = None
        self._drag_offset: float | None = None
        self.seek_on_click = False  # set by the panel while its clip plays
        self._jobs = JobRunner(self)
        self._stop = threading.Event()
        self._path: Path | None = None

    # ------------------------------------------------------------------------------------------- content
    def show_file(self, path: Path | None, duration_s: float) -> None:
        """Compute (or fetch from the cache) the overview of ``path`` in the background; None clears."""
        self._stop.set()
        self.overview, self._image, self._envelope_path, self._path = None, None, None, path
        self.duration_s, self.window_start, self.playhead = max(0.0, duration_s), 0.0, None
        self.update()
        if path is None:
            return
        stop = self._stop = threading.Event()
        relay = self._jobs.relay(lambda *drawn, p=path: self._snapshot(p, *drawn))

        def work() -> None:  # the image and the path are made here too: the GUI thread only paints them
            for ov in file_overview(path):
                if stop.is_set():
                    return
                relay(ov, mel_image(ov), envelope_path(ov))

        self._jobs.submit(work, lambda _r: None, lambda _m: None, "drawing the overview", long=True)

    def _snapshot(self, path: Path, ov: Overview, image: QImage, envelope: QPainterPath) -> None:
        if path != self._path:
            return
        self.overview, self._image, self._envelope_path = ov, image, envelope
        self.update()
        self.overview_ready.emit(ov)

    def stop(self) -> None:
        """Stop computing (the window closes)."""
        self._stop.set()

    def set_window(self, start_s: float) -> None:
        self.window_start = start_s
        self.update()

    def set_playhead(self, t: float | None) -> None:
        self.playhead = t
        self.update()

    # ------------------------------------------------------------------------------------------- geometry
    def window_rect(self) -> QRectF:
        """The analysis window's rectangle (at least :data:`MIN_WINDOW_PX` wide, centred on its span)."""
        x0 = self.x_of(self.window_start)
        x1 = self.x_of(min(self.window_start + WINDOW_SECONDS, max(self.duration_s, WINDOW_SECONDS)))
        width = max(float(MIN_WINDOW_PX), x1 - x0)
        left = min(max(0.0, (x0 + x1) / 2 - width / 2), max(0.0, self.width() - width))
        return QRectF(left, 0, width, self.height() - 1)

    # ------------------------------------------------------------------------------------------- painting
    def paintEvent(self, _ev: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(20, 20, 24))
        if self._image is not None:
            p.drawImage(QRectF(self.rect()), self._image)
        self._paint_envelope(p)
        if self.duration_s > 0:
            self._paint_window(p)
        if self.playhead is not None and self.duration_s > 0:
            p.setPen(QPen(QColor(255, 80, 80), 2))
            x = self.x_of(self.playhead)
            p.drawLine(int(x), 0, int(x), self.height())
        p.end()

    def _paint_envelope(self, p: QPainter) -> None:
        path = self._envelope_path
        if path is None or self.overview is None:
            return
        h, w = self.height(), self.width()
        p.save()
        p.setTransform(QTransform(w / self.overview.columns, 0, 0, -h / 2, 0, h / 2))  # columns, level -> px
        pen = QPen(QColor(235, 235, 235, 80), 1)
        pen.setCosmetic(True)  # one pixel wide whatever the scale
        p.setPen(pen)
        p.drawPath(path)
        p.restore()

    def _paint_window(self, p: QPainter) -> None:
        r = self.window_rect()
        fill = QColor(WINDOW_COLOR)
        fill.setAlpha(90)
        p.fillRect(r, fill)
        p.setPen(QPen(QColor(0, 0, 0), 4))  # a dark rim keeps it visible over bright columns
        p.drawRect(r)
        p.setPen(QPen(WINDOW_COLOR, 2))
        p.drawRect(r)
        for x in (r.left(), r.right() - HANDLE_PX):  # handles on both edges
            p.fillRect(QRectF(x, r.height() / 2 - 8, HANDLE_PX, 16), WINDOW_COLOR)

    # ------------------------------------------------------------------------------------------- mouse
    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if ev.button() != Qt.MouseButton.LeftButton or self.duration_s <= 0:
            return
        x = ev.position().x()
        if self.seek_on_click:
            self.seek_requested.emit(self.time_at(x))
            ev.accept()
            return
        r = self.window_rect()
        if r.adjusted(-2, 0, 2, 0).contains(x, r.center().y()):
            self._drag_offset = self.time_at(x) - self.window_start  # grab the window where it was pressed
        else:
            self._drag_offset = WINDOW_SECONDS / 2  # a click centres the window there
            self._place(x)
        ev.accept()

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._drag_offset is not None:
            self._place(ev.position().x())
        elif self.duration_s > 0:
            where = format_seconds(self.time_at(ev.position().x()))
            action = "play from here" if self.seek_on_click else "move the window here"
            self.setToolTip(f"{where} · click: {action}")

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._drag_offset is not None:
            self._drag_offset = None
            self.window_requested.emit(self.window_start)
        ev.accept()

    def _place(self, x: float) -> None:
        start = self.time_at(x) - (self._drag_offset or 0.0)
        self.window_start = min(max(0.0, start), max(0.0, self.duration_s - WINDOW_SECONDS))
        self.update()


class OverviewNavigator(QWidget):
    """The overview strip and, under it, the start field of the analysis window."""

    window_requested = Signal(float)
    message = Signal(str)
    scan_requested = Signal()  # the "Scan whole file…" button

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strip = OverviewStrip(self)
        self.strip.window_requested.connect(self.window_requested)
        self.start_field = QLineEdit(self)
        self.start_field.setPlaceholderText("h:mm:ss or seconds")
        self.start_field.setMaximumWidth(120)
        # room for "1:09:00.0" even when a 1024 px window squeezes the row
        self.start_field.setMinimumWidth(self.start_field.fontMetrics().horizontalAdvance("0:00:00.0") + 16)
        self.start_field.setToolTip("Start of the analysis window: h:mm:ss(.s), m:ss or seconds; Enter "
                                    "moves it (PageUp/PageDown: one hop)")
        self.start_field.returnPressed.connect(self._typed)
        self.length_label = QLabel("", self)
        self.length_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # gives way
        self.position_label = QLabel("", self)
        self.position_label.setToolTip("Playback position (click the overview while playing to jump)")
        self.scan_button = QPushButton("Scan whole file…", self)
        self.scan_button.setToolTip("Ask one prompt of every window of this recording (Clips ▸ Scan, "
                                    "Ctrl+Shift+F)")
        self.scan_button.clicked.connect(self.scan_requested)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Window starts at", self))
        row.addWidget(self.start_field)
        row.addWidget(self.length_label, 1)
        row.addWidget(self.position_label)
        row.addWidget(self.scan_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.strip)
        lay.addLayout(row)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the first file shows it without re-laying out the panel
        self.setSizePolicy(policy)
        self.show_file(None, 0.0)

    def show_file(self, path: Path | None, duration_s: float) -> None:
        self.strip.show_file(path, duration_s)
        self.setVisible(path is not None)
        self.start_field.setText(format_seconds(0.0))
        self.length_label.setText(f"of {format_seconds(duration_s)}" if path is not None else "")

    def set_window(self, start_s: float) -> None:
        self.strip.set_window(start_s)
        if not self.start_field.hasFocus():
            self.start_field.setText(format_seconds(start_s))
        self.start_field.setStyleSheet("")

    def set_playhead(self, t: float | None) -> None:
        """Show the playback position (seconds in the file) on the strip and in the readout; None hides."""
        self.strip.set_playhead(t)
        self.position_label.setText("" if t is None else f"▶ {format_seconds(t)}")

    def _typed(self) -> None:
        try:
            start = parse_time(self.start_field.text(), self.strip.duration_s)
        except TimeEntryError as exc:
            self.start_field.setStyleSheet("border: 1px solid #d03030;")
            self.start_field.setToolTip(str(exc))
            self.message.emit(str(exc))
            return
        self.start_field.setStyleSheet("")
        self.window_requested.emit(start)
