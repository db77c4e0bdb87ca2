"""Spectrogram of the 10 s window the model hears: log-mel (the model's input) or a linear STFT, in dB.

The x axis is time in the file (the window's start to start + 10 s); the y axis is the mel band (labelled in
Hz) or frequency. Colours follow a fixed dB scale per mode (:data:`DB_RANGES`, settable with
:meth:`SpectrogramView.set_db_range` or by dragging the colour bar), so digital silence is drawn dark and a
quiet window looks quiet. Hovering shows the time, frequency and level under the mouse in a read-out drawn
over the plot's top right corner (nothing around the plot moves), also sent as
:attr:`SpectrogramView.readout`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget

from mellow.audio import TARGET_RATE
from mellow_desktop.core.clip_analysis import HOP, N_MELS, WINDOW_SECONDS, WindowAnalysis, mel_centers_hz
from mellow_desktop.qt.theme import plot_colors
from mellow_desktop.qt.widgets.time_axis import TimeAxis, time_label

MODES = {"mel": "Log-mel (what the model sees)", "stft": "STFT (linear frequency)"}
COLORMAPS = ("inferno", "viridis", "magma", "plasma", "CET-L1")
_MEL_TICKS_HZ = (200, 500, 1000, 2000, 4000, 8000)
DB_RANGES: dict[str, tuple[float, float]] = {"mel": (-80.0, 30.0), "stft": (-60.0, 50.0)}
"""Default colour scale (dB of power; the floor of silence is -100 dB): white noise at 0.2 peaks near 6 dB in
the log-mel and 23 dB in the STFT, a full-scale tone near 24 / 42 dB."""
DB_UNITS = "dB (power)"
READOUT_STYLE = "background: rgba(0, 0, 0, 150); color: white; padding: 1px 4px; border-radius: 3px;"
_MAX_SEAMS = 24  # short clips repeat: mark at most this many joins


def format_hz_short(hz: float) -> str:
    """``250 Hz`` / ``2.5 kHz``."""
    return f"{hz / 1000:.3g} kHz" if hz >= 1000 else f"{hz:.0f} Hz"


class SpectrogramView(pg.PlotWidget):
    """Image plot of one window's spectrogram with a hover read-out."""

    readout = Signal(str)  # "t = 12.34 s · f = 2.1 kHz · -32 dB" or "" when the mouse leaves

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems={"bottom": TimeAxis("bottom")})
        self.setMinimumHeight(90)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMouseEnabled(x=False, y=False)
        plot = self.getPlotItem()
        plot.getAxis("left").setWidth(44)
        plot.setLabel("bottom", "time (s)")
        self.image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        self._mode = "mel"
        self._cmap = COLORMAPS[0]
        self._db_ranges = dict(DB_RANGES)
        self.color_bar = pg.ColorBarItem(values=self._db_ranges["mel"], colorMap=pg.colormap.get(self._cmap),
                                         label=DB_UNITS, interactive=True, width=12, rounding=1,
                                         colorMapMenu=False)
        self.color_bar.setImageItem(self.image, insert_in=plot)
        self.color_bar.sigLevelsChangeFinished.connect(self._levels_dragged)
        self.hover_text = QLabel(self)  # over the plot, in no layout: showing it moves nothing
        self.hover_text.setObjectName("spectrogramReadout")
        self.hover_text.setStyleSheet(READOUT_STYLE)
        self.hover_text.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hover_text.hide()
        self.readout.connect(self._show_readout)
        self._analysis: WindowAnalysis | None = None
        self._data: np.ndarray | None = None  # (freq rows, frames) as drawn
        self._seams: list[pg.InfiniteLine] = []
        self.scene().sigMouseMoved.connect(self._hover)
        self.apply_palette()

    # ------------------------------------------------------------------------------------------- content
    def set_mode(self, mode: str) -> None:
        """ "mel" or "stft"."""
        if mode not in MODES:
            raise ValueError(f"unknown spectrogram mode {mode!r}")
        self._mode = mode
        self._redraw()

    def mode(self) -> str:
        return self._mode

    def set_colormap(self, name: str) -> None:
        self._cmap = name
        self.color_bar.setColorMap(pg.colormap.get(name))

    def set_db_range(self, low: float, high: float, mode: str | None = None) -> None:
        """Set the colour scale of ``mode`` (default: the shown one) in dB; ValueError unless low < high."""
        if not low < high:
            raise ValueError(f"the dB range needs low < high, got {low:g}..{high:g}")
        self._db_ranges[mode or self._mode] = (float(low), float(high))
        if mode in (None, self._mode):
            self.color_bar.setLevels((float(low), float(high)))

    def db_range(self, mode: str | None = None) -> tuple[float, float]:
        """The colour scale (low, high) in dB of ``mode`` (default: the shown one)."""
        return self._db_ranges[mode or self._mode]

    def _levels_dragged(self, bar: pg.ColorBarItem) -> None:
        low, high = bar.levels()
        self._db_ranges[self._mode] = (float(low), float(high))

    def set_analysis(self, analysis: WindowAnalysis | None) -> None:
        """Show a new window (None clears the plot)."""
        self._analysis = analysis
        self._redraw()

    def image_data(self) -> np.ndarray | None:
        """(rows, frames) array currently drawn, in dB (for tests)."""
        return self._data

    def _redraw(self) -> None:
        a = self._analysis
        plot = self.getPlotItem()
        height = self._frequency_axis()
        if a is None:  # an empty plot keeps its frequency axis (no meaningless ±0.4 scale)
            self._data = None
            self.image.clear()
            for line in self._seams:
                line.setVisible(False)
            plot.setXRange(0, WINDOW_SECONDS, padding=0)
            return
        spec = a.mel_db if self._mode == "mel" else a.stft_db
        data = np.ascontiguousarray(spec.T)  # rows = frequency, columns = frames
        self._data = data
        self.image.setImage(data, autoLevels=False)
        self.color_bar.setLevels(self._db_ranges[self._mode])
        self.image.setRect(a.start_s, 0.0, data.shape[1] * HOP / TARGET_RATE, height)
        plot.setXRange(a.start_s, a.start_s + WINDOW_SECONDS, padding=0)
        plot.setLabel("bottom", time_label(a.start_s + WINDOW_SECONDS))
        self._show_seams(a)

    def _frequency_axis(self) -> float:
        """Set the y range and the frequency ticks of the current mode; returns the plot's height."""
        plot = self.getPlotItem()
        height = float(N_MELS) if self._mode == "mel" else TARGET_RATE / 2
        plot.setYRange(0.0, height, padding=0)
        left = plot.getAxis("left")
        if self._mode == "mel":
            centers = mel_centers_hz()
            ticks = [
                (float(np.interp(hz, centers, np.arange(N_MELS)) + 0.5), format_hz_short(hz).replace(" ", ""))
                for hz in _MEL_TICKS_HZ
            ]
            left.setTicks([ticks, []])
        else:
            left.setTicks([[(hz, f"{hz // 1000}k") for hz in range(0, 16001, 4000)], []])
        return height

    def _show_seams(self, a: WindowAnalysis) -> None:
        """Dashed lines where a short clip starts over (it is tiled to fill 10 s)."""
        period = WINDOW_SECONDS / a.repeats if a.repeats > 1.0 else 0.0
        times = [k * period for k in range(1, int(np.ceil(a.repeats)))] if period else []
        times = times if len(times) <= _MAX_SEAMS else []
        c = plot_colors(self.palette())
        while len(self._seams) < len(times):
            line = pg.InfiniteLine(angle=90, movable=False)
            line.setToolTip("The clip starts over here: it is repeated to fill the 10 s window")
            self.getPlotItem().addItem(line)
            self._seams.append(line)
        for i, line in enumerate(self._seams):
            line.setVisible(i < len(times))
            if i < len(times):
                line.setPen(pg.mkPen(c.muted, width=1, style=Qt.PenStyle.DashLine))
                line.setValue(a.start_s + times[i])

    def seam_times(self) -> list[float]:
        """Times of the visible repeat markers (for tests)."""
        return [float(line.value()) for line in self._seams if line.isVisible()]

    # ------------------------------------------------------------------------------------------- hover
    def describe_point(self, t: float, y: float) -> str:
        """Read-out text for plot coordinates (time in s, y in bins or Hz), or "" outside the image."""
        a, data = self._analysis, self._data
        if a is None or data is None:
            return ""
        col = int((t - a.start_s) * TARGET_RATE / HOP)
        if self._mode == "mel":
            row = int(y)
            hz = float(mel_centers_hz()[min(max(row, 0), N_MELS - 1)]) if 0 <= row < N_MELS else -1.0
        else:
            hz = y
            row = int(y / (TARGET_RATE / 2) * (data.shape[0] - 1) + 0.5)
        if not (0 <= col < data.shape[1] and 0 <= row < data.shape[0]) or hz < 0:
            return ""
        return f"t = {t:.2f} s · f = {format_hz_short(hz)} · {data[row, col]:.0f} dB"

    def _hover(self, pos: QPointF) -> None:
        vb = self.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(pos):
            self.readout.emit("")
            return
        p = vb.mapSceneToView(pos)
        self.readout.emit(self.describe_point(p.x(), p.y()))

    def _show_readout(self, text: str) -> None:
        self.hover_text.setText(text)
        self.hover_text.setVisible(bool(text))
        if text:
            self.hover_text.adjustSize()
            self._place_readout()

    def _place_readout(self) -> None:
        """Top right corner of the plotted area."""
        area = self.mapFromScene(self.getPlotItem().getViewBox().sceneBoundingRect()).boundingRect()
        self.hover_text.move(max(0, area.right() - self.hover_text.width() - 2), area.top() + 2)

    def resizeEvent(self, ev: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(ev)
        if "hover_text" in self.__dict__ and self.hover_text.isVisible():
            self._place_readout()

    def leaveEvent(self, ev: QEvent) -> None:  # noqa: N802 (Qt override)
        super().leaveEvent(ev)
        self.readout.emit("")

    def changeEvent(self, ev: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(ev)
        if ev.type() == QEvent.Type.PaletteChange and "image" in self.__dict__:
            self.apply_palette()

    def apply_palette(self) -> None:
        """Recolor axes and background for the current palette."""
        c = plot_colors(self.palette())
        self.setBackground(c.background)
        for name in ("left", "bottom"):
            axis = self.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(c.foreground))
            axis.setTextPen(pg.mkPen(c.foreground))
