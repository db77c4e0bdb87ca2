"""Synthesize the two sample clips shipped as package data (run: ``python resources/make_samples.py``).

Both are made from numpy noise and sines with a fixed seed, so re-running gives the same files:

* ``birdsong.flac`` — 8 s of bird-like chirps: short downward and upward frequency sweeps between 2 and 7 kHz
  with a warble, in irregular bursts, over faint wind noise (22.05 kHz, mono, 16-bit).
* ``hum.flac`` — 8 s of mains hum (50 Hz and harmonics) from a machine, with a slow beat and broadband
  fan-like noise (16 kHz, mono, 16-bit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

OUT_DIR = Path(__file__).resolve().parents[1] / "mellow_desktop" / "core" / "data" / "samples"  # package data
SECONDS = 8.0


def _chirp(rng: np.random.Generator, rate: int) -> np.ndarray:
    """One chirp: a 40-160 ms sweep with a fast warble and a smooth bell-shaped envelope."""
    dur = rng.uniform(0.04, 0.16)
    t = np.arange(int(dur * rate)) / rate
    f0, f1 = rng.uniform(2500, 7000), rng.uniform(2000, 6500)
    warble = 300.0 * np.sin(2 * np.pi * rng.uniform(25, 60) * t)
    freq = f0 + (f1 - f0) * t / dur + warble
    phase = 2 * np.pi * np.cumsum(freq) / rate
    env = np.sin(np.pi * t / dur) ** 2
    return (env * np.sin(phase)).astype(np.float64)


def birdsong(rate: int = 22050, seed: int = 7) -> np.ndarray:
    """Bird-like chirps in bursts over faint wind: (n,) float in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * rate)
    out = np.zeros(n)
    wind = np.convolve(rng.standard_normal(n), np.ones(64) / 64, mode="same")
    out += 0.03 * wind / np.max(np.abs(wind))
    t = 0.2
    while t < SECONDS - 0.3:
        for _ in range(rng.integers(2, 6)):  # a burst of a few chirps
            c = _chirp(rng, rate) * rng.uniform(0.25, 0.6)
            i = int(t * rate)
            out[i : i + c.size] += c[: max(0, min(c.size, n - i))]
            t += rng.uniform(0.08, 0.2)
        t += rng.uniform(0.3, 1.0)
    return np.clip(out, -1.0, 1.0)


def hum(rate: int = 16000, seed: int = 11) -> np.ndarray:
    """Mains hum with harmonics, a slow beat and fan noise: (n,) float in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * rate)
    t = np.arange(n) / rate
    tone = sum(
        a * np.sin(2 * np.pi * 50.0 * k * t + k) for k, a in ((1, 0.30), (2, 0.12), (3, 0.08), (5, 0.04))
    )
    beat = 1.0 + 0.25 * np.sin(2 * np.pi * 0.7 * t)
    noise = rng.standard_normal(n)
    fan = np.convolve(noise, np.hanning(9) / np.hanning(9).sum(), mode="same")
    return np.clip(beat * tone + 0.05 * fan, -1.0, 1.0)


def main() -> None:
    """Write both samples into mellow_desktop/core/data/samples/."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    sf.write(OUT_DIR / "birdsong.flac", birdsong(), 22050, subtype="PCM_16")
    sf.write(OUT_DIR / "hum.flac", hum(), 16000, subtype="PCM_16")
    for p in sorted(OUT_DIR.glob("*.flac")):
        print(f"{p.name}: {p.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
