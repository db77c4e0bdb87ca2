"""Helpers of the scan tests: generated recordings and hand-made window results (no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from mellow.scan.types import Window, WindowResult
from mellow_desktop.core.scan_record import ScanRecord

YES_NO = "is there a tone in the audio? answer yes or no"


def recording(path: Path, seconds: float, rate: int = 16000, channels: int = 1, seed: int = 0) -> Path:
    """Noise with an 800 Hz tone that comes and goes every ~18 s, so that windows differ."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 800 * t) * (np.sin(2 * np.pi * t / 37) > 0)
    mono = (tone + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)
    data = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, rate, subtype="PCM_16")
    return path


def fake_results(record: ScanRecord, texts: list[str],
                 scores: list[float | None]) -> list[tuple[int, WindowResult]]:
    """(index, result) pairs at starts 0, 10, 20... of ``record`` (no model: for the store's own tests)."""
    out = []
    for i, (text, score) in enumerate(zip(texts, scores, strict=True)):
        w = Window(Path(record.file), 10.0 * i, 10.0 * i + 10.0, record.file_hash)
        out.append((i, WindowResult(w, text=text, tokens=[5, 6, i], score=score)))
    return out
