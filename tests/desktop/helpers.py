"""Helpers for the desktop tests: writing test tones and waiting for a clip panel to finish loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf


def write_tone(
    path: Path, seconds: float, rate: int, freq: float = 440.0, channels: int = 1, amplitude: float = 0.5
) -> Path:
    """A sine tone file (PCM 16-bit); the second channel, if any, is the same tone at half level."""
    t = np.arange(int(seconds * rate)) / rate
    x = amplitude * np.sin(2 * np.pi * freq * t)
    data = np.stack([x] + [0.5 * x] * (channels - 1), axis=1) if channels > 1 else x
    sf.write(path, data, rate, subtype="PCM_16")
    return path


def wait_loaded(
    qtbot: Any, panel: Any, path: Path | None = None, facts: bool = True, timeout: int = 20000
) -> None:
    """Wait until ``panel`` shows ``path`` (and its measurements when ``facts``)."""

    def ready() -> None:
        s = panel.state()
        assert s is not None and not panel.is_loading()
        if path is not None:
            assert s.path == Path(path)
        if facts:
            assert s.facts is not None

    qtbot.waitUntil(ready, timeout=timeout)
