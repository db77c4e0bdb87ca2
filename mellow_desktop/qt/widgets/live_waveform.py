"""The live waveform of a running recording: a scrolling peak envelope of the last seconds, with the time.

The recorder is polled at display rate (:class:`~mellow_desktop.qt.widgets.clip_transport.ClipTransport`
emits ``level(dBFS, elapsed_s)``); each poll adds one column of the envelope, drawn mirrored around zero on a
linear scale like the clip's own waveform. The newest sound is at the right edge.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from mellow.timefmt import format_seconds
from mellow_desktop.qt.theme import plot_colors

SPAN_S = 10.0  # seconds shown
MAX_POINTS = 20_000  # about 10 minutes of polls; older ones are dropped


class LiveWaveform(QWidget):
    """Scrolling envelope of the recording's input levels (linear peak 0..1) and the elapsed time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(60)
        self.setToolTip("The input being recorded (peak level); the newest sound is at the right")
        self._times: list[float] = []
        self._levels: list[float] = []
        self.label = "Recording"  # what the elapsed time is of ("Listening" in Listen mode)

    def start(self) -> None:
        """Forget the previous recording."""
        self._times.clear()
        self._levels.clear()
        self.update()

    def add_db(self, level_dbfs: float, elapsed_s: float) -> None:
        """One polled level (dBFS, ``-inf`` for silence) at ``elapsed_s`` into the recording."""
        level = 0.0 if not math.isfinite(level_dbfs) else min(1.0, 10.0 ** (level_dbfs / 20.0))
        self._times.append(float(elapsed_s))
        self._levels.append(level)
        if len(self._times) > MAX_POINTS:
            del self._times[: len(self._times) - MAX_POINTS]
            del self._levels[: len(self._levels) - MAX_POINTS]
        self.update()

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """(times in s, linear peak levels) received so far (for tests)."""
        return np.asarray(self._times, dtype=float), np.asarray(self._levels, dtype=float)

    def elapsed_text(self) -> str:
        return f"● {self.label} {format_seconds(self._times[-1] if self._times else 0.0)}"

    def paintEvent(self, _ev: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        c = plot_colors(self.palette())
        p = QPainter(self)
        p.fillRect(self.rect(), c.background)
        w, h = float(self.width()), float(self.height())
        mid = h / 2.0
        p.setPen(QPen(c.muted, 1))
        p.drawLine(QPointF(0, mid), QPointF(w, mid))
        now = self._times[-1] if self._times else 0.0
        left = max(0.0, now - SPAN_S)
        p.setPen(QPen(c.wave, 2))
        for t, level in zip(self._times, self._levels, strict=True):
            if t >= left:
                x = (t - left) / SPAN_S * w
                half = max(0.5, level * (mid - 4))
                p.drawLine(QPointF(x, mid - half), QPointF(x, mid + half))
        p.setPen(c.playhead)
        p.drawText(QRectF(6, 4, w - 12, 20), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                   self.elapsed_text())
        p.end()
