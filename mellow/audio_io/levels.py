"""Levels in dBFS and what counts as silence: one rule for the app's recorder and the listener's watchdog."""

from __future__ import annotations

import math

SILENT_PEAK_DBFS = -60.0
"""Audio whose peak stays below this level (dBFS) counts as silent (16-bit dither is about -90)."""


def to_dbfs(linear: float) -> float:
    """20·log10 of a linear level; 0 gives ``-inf``."""
    return 20.0 * math.log10(linear) if linear > 0.0 else -math.inf


def is_silent(peak_dbfs: float) -> bool:
    """True when a peak level (dBFS; ``-inf`` for digital zeros) is below :data:`SILENT_PEAK_DBFS`."""
    return not math.isnan(peak_dbfs) and peak_dbfs < SILENT_PEAK_DBFS
