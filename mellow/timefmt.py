"""Durations as people read them: ``3.25 s``, ``2:03.5``, ``1:02:03.5`` (messages, progress, tables)."""

from __future__ import annotations

import math


def format_seconds(value: float) -> str:
    """``3.25 s`` below a minute, ``1:02:03.5`` / ``2:03.5`` above; ``n/a`` when not finite."""
    if not math.isfinite(value):
        return "n/a"
    if value < 60.0:
        return f"{value:.2f} s"
    minutes, seconds = divmod(value, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:04.1f}"
    return f"{minutes}:{seconds:04.1f}"
