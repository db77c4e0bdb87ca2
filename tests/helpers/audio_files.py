"""Generated test signals, and audio files written from them (nothing large is committed).

Every writer returns the path it wrote, creating its folder when needed. The sample values are fixed by the
arguments (seeded noise), so a test may compare numbers computed from the same call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def _sine(seconds: float, rate: int, freq: float, amplitude: float) -> np.ndarray:
    """(frames,) float64 sine, ``round(seconds * rate)`` frames."""
    t = np.arange(int(round(seconds * rate))) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def tone(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    """A mono sine, shape (frames,), float32."""
    return _sine(seconds, rate, freq, amplitude).astype(np.float32)


def _written(path: Path, data: np.ndarray, rate: int, subtype: str | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, rate, subtype=subtype)
    return path


def write_tone(path: Path, seconds: float, rate: int, freq: float = 440.0, channels: int = 1,
               amplitude: float = 0.5, subtype: str = "PCM_16") -> Path:
    """A sine tone file; every channel after the first is the same tone at half level."""
    x = _sine(seconds, rate, freq, amplitude)
    data = np.stack([x] + [0.5 * x] * (channels - 1), axis=1) if channels > 1 else x
    return _written(path, data, rate, subtype)


def write_noise(path: Path, seconds: float, rate: int = 16000, channels: int = 1, seed: int | None = None,
                level: float = 0.1, subtype: str = "PCM_16") -> Path:
    """White noise (standard deviation ``level``), float32 before it is written. Without ``seed`` the noise is
    seeded by the length and rate, so that files of different lengths differ (their content hashes too)."""
    rng = np.random.default_rng(int(seconds * 1000) + rate if seed is None else seed)
    frames = round(seconds * rate)
    data = (level * rng.standard_normal((frames, channels) if channels > 1 else frames)).astype(np.float32)
    return _written(path, data, rate, subtype)


def write_recording(path: Path, seconds: float, rate: int = 16000, channels: int = 1, seed: int = 0,
                    subtype: str = "PCM_16") -> Path:
    """Noise with an 800 Hz tone that comes and goes every ~18 s, so that the windows of a scan differ;
    every channel is the same."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    gated = 0.3 * np.sin(2 * np.pi * 800 * t) * (np.sin(2 * np.pi * t / 37) > 0)
    mono = (gated + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)
    data = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    return _written(path, data, rate, subtype)


def write_changing(path: Path, seconds: float, rate: int = 44100, seed: int = 0) -> Path:
    """A stereo 16-bit recording whose content changes every 3 s (tones, noise, silence, clicks); the right
    channel is the left at half level."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros((t.size, 2), dtype=np.float32)
    for start in range(0, int(seconds), 3):
        sel = (t >= start) & (t < start + 3)
        kind = rng.integers(0, 4)
        if kind == 0:
            sig = 0.4 * np.sin(2 * np.pi * rng.uniform(100, 4000) * t[sel])
        elif kind == 1:
            sig = rng.uniform(0.05, 0.5) * rng.standard_normal(sel.sum())
        elif kind == 2:
            sig = np.zeros(sel.sum())
        else:
            sig = (rng.random(sel.sum()) < 0.002).astype(float)
        out[sel, 0] = sig
        out[sel, 1] = 0.5 * sig
    return _written(path, out, rate, "PCM_16")
