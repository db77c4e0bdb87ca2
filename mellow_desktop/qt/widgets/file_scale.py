"""The horizontal scale shared by the widgets that show a whole file across their width (the overview strip,
the scan timeline): seconds ↔ pixels."""

from __future__ import annotations


class WholeFileScale:
    """Mixin for a QWidget (listed after it) with a ``duration_s`` attribute, drawn from x = 0 (time 0) to its
    width (the end); ``width()`` is the widget's."""

    duration_s: float

    def x_of(self, t: float) -> float:
        """The x pixel of time ``t`` (seconds)."""
        return t / self.duration_s * self.width() if self.duration_s > 0 else 0.0

    def time_at(self, x: float) -> float:
        """The time (seconds, clamped to the file) at pixel ``x``."""
        return min(max(x / max(1, self.width()) * self.duration_s, 0.0), self.duration_s)
