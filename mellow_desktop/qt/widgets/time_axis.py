"""The time axis of the clip plots (waveform, spectrogram): h:mm:ss / m:ss labels once times pass a minute, on
clock steps for spans over two minutes, plain seconds below a minute."""

from __future__ import annotations

import pyqtgraph as pg

from mellow_desktop.core.measurements import clock_label


class TimeAxis(pg.AxisItem):
    """A time axis that writes h:mm:ss / m:ss (the one formatter) once the ticks pass a minute."""

    CLOCK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        """Ticks on clock steps (1 min, 5 min, 15 min, 1 h ...) for spans over two minutes."""
        span = maxVal - minVal
        if span < 120 or size <= 0:
            return super().tickSpacing(minVal, maxVal, size)
        wanted = span / max(2.0, size / 90.0)
        major = next((st for st in self.CLOCK_STEPS if st >= wanted), self.CLOCK_STEPS[-1])
        minor = next((st for st in reversed(self.CLOCK_STEPS) if st <= major / 4), major)
        return [(float(major), 0.0), (float(minor), 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        if not values or max(values) < 60:
            return super().tickStrings(values, scale, spacing)
        return [clock_label(v, spacing) for v in values]


def time_label(last_s: float) -> str:
    """The axis title for times up to ``last_s``: "time (s)" while the labels are seconds, else "time"."""
    return "time (s)" if last_s < 60 else "time"
