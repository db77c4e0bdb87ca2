"""Signal measurements for the clip panels: levels, spectral centroid, dominant frequency (envelopes:
:mod:`mellow_desktop.core.envelope`).

Everything here works on plain numpy arrays or streams a file through ``soundfile`` block by block, so a
two-hour recording is measured without ever holding a full-length copy in memory.

Conventions
-----------
* Levels are dBFS relative to a full-scale sample value of 1.0: a full-scale sine has peak 0 dBFS and
  RMS -3.01 dBFS. Silence gives ``-inf`` (shown as "-inf dBFS").
* Peak and RMS are taken over every sample of every channel; the spectral values (centroid and dominant
  frequency) describe the mono mix, which is what the model hears.
* Non-finite samples (NaN/Inf in float files) are counted and treated as 0.
* The spectrum is a Welch average: Hann-windowed frames of ``NFFT`` samples with per-frame mean removal
  (so a DC offset does not count as a frequency). The dominant frequency is refined with a parabola through
  the log power of the strongest bin and its neighbours.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from mellow.audio import to_mono
from mellow.audio_io.levels import to_dbfs
from mellow.errors import AudioError, one_line
from mellow.timefmt import format_seconds

NFFT = 8192
"""Spectral frame length in samples."""

DEFAULT_BLOCK = 65536
"""Frames read per block when streaming a file."""

DEFAULT_MAX_FFT_FRAMES = 4000
"""Upper bound on analysed spectral frames per file (long files use evenly spaced frames)."""


@dataclass(frozen=True)
class Measurements:
    """Facts and measurements of one clip (all channels for levels, the mono mix for the spectrum)."""

    duration_s: float
    sample_rate: int
    channels: int
    frames: int
    peak_dbfs: float
    rms_dbfs: float
    centroid_hz: float
    dominant_hz: float
    non_finite: int = 0

    def rows(self) -> list[tuple[str, str]]:
        """Label/value pairs ready for display."""
        return [
            ("Duration", format_seconds(self.duration_s)),
            ("Sample rate", f"{self.sample_rate} Hz"),
            ("Channels", str(self.channels)),
            ("Peak", format_db(self.peak_dbfs)),
            ("RMS", format_db(self.rms_dbfs)),
            ("Spectral centroid", format_hz(self.centroid_hz)),
            ("Dominant frequency", format_hz(self.dominant_hz)),
        ]


@dataclass(frozen=True)
class MeasurementDifference:
    """``a - b`` for each measurement; NaN where undefined (for example both clips silent)."""

    duration_s: float
    peak_db: float
    rms_db: float
    centroid_hz: float
    dominant_hz: float

    def rows(self) -> list[tuple[str, str]]:
        """Label/value pairs (signed) ready for display."""
        return [
            ("Duration", _signed(self.duration_s, " s", 2)),
            ("Peak", _signed(self.peak_db, " dB", 1)),
            ("RMS", _signed(self.rms_db, " dB", 1)),
            ("Spectral centroid", _signed(self.centroid_hz, " Hz", 1)),
            ("Dominant frequency", _signed(self.dominant_hz, " Hz", 1)),
        ]


def _sub(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b) or (math.isinf(a) and math.isinf(b) and a == b):
        return math.nan
    return a - b


def difference(a: Measurements, b: Measurements) -> MeasurementDifference:
    """Differences ``a - b`` for the A−B display (``-inf`` minus ``-inf`` is NaN, not 0)."""
    return MeasurementDifference(
        duration_s=_sub(a.duration_s, b.duration_s),
        peak_db=_sub(a.peak_dbfs, b.peak_dbfs),
        rms_db=_sub(a.rms_dbfs, b.rms_dbfs),
        centroid_hz=_sub(a.centroid_hz, b.centroid_hz),
        dominant_hz=_sub(a.dominant_hz, b.dominant_hz),
    )


# ----------------------------------------------------------------------------------------------- formatting


def format_db(value: float) -> str:
    """``-6.0 dBFS``, ``-inf dBFS`` or ``n/a``."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "-inf dBFS" if value < 0 else "+inf dBFS"
    return f"{value:.1f} dBFS"


def format_hz(value: float) -> str:
    """``440.0 Hz``, ``1.23 kHz`` or ``n/a`` (silence)."""
    if not math.isfinite(value):
        return "n/a"
    if value >= 1000.0:
        return f"{value / 1000.0:.2f} kHz"
    return f"{value:.1f} Hz"


def clock_label(value: float, step_s: float) -> str:
    """A time-axis tick of an axis that passes a minute: ``0:30``, ``1:09:02`` (tenths kept only when the
    ticks are less than a second apart: ``0:30.5``), by :func:`format_seconds`."""
    text = format_seconds(value) if value >= 60 else f"0:{max(0.0, value):04.1f}"
    return text.removesuffix(".0") if step_s >= 1 else text


def _signed(value: float, unit: str, digits: int) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return ("+inf" if value > 0 else "-inf") + unit
    return f"{value:+.{digits}f}{unit}"


# ----------------------------------------------------------------------------------------------- accumulators


class _LevelAccumulator:
    """Running peak, sum of squares and sample count over all channels."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.sum_sq = 0.0
        self.count = 0
        self.non_finite = 0

    def feed(self, block: np.ndarray) -> None:
        if block.size == 0:
            return
        x = block.astype(np.float64, copy=False)
        self.peak = max(self.peak, float(np.max(np.abs(x))))
        # einsum rather than np.dot: no BLAS threads (they can stall badly on a busy machine).
        self.sum_sq += float(np.einsum("ij,ij->", x, x) if x.ndim == 2 else np.einsum("i,i->", x, x))
        self.count += x.size

    @property
    def rms(self) -> float:
        return math.sqrt(self.sum_sq / self.count) if self.count else 0.0


class _SpectrumAccumulator:
    """Welch-averaged power and magnitude spectra of a mono stream fed in arbitrary blocks.

    Frames of ``nfft`` samples start every ``hop`` samples (``hop`` may exceed ``nfft``: the gap is skipped).
    A stream shorter than one frame is analysed as a single zero-padded frame.
    """

    def __init__(self, sample_rate: int, nfft: int = NFFT, hop: int | None = None) -> None:
        self.sample_rate = sample_rate
        self.nfft = nfft
        self.hop = max(1, hop if hop is not None else nfft // 2)
        self.window = np.hanning(nfft).astype(np.float64)
        self.power = np.zeros(nfft // 2 + 1)
        self.magnitude = np.zeros(nfft // 2 + 1)
        self.frames = 0
        self._carry = np.zeros(0, dtype=np.float64)
        self._skip = 0  # samples still to drop before the next frame starts (hop > nfft)

    def feed(self, mono: np.ndarray) -> None:
        x = np.asarray(mono, dtype=np.float64)
        if self._skip:
            dropped = min(self._skip, x.size)
            x = x[dropped:]
            self._skip -= dropped
        if x.size == 0:
            return
        buf = np.concatenate([self._carry, x]) if self._carry.size else x
        n_frames = 0 if buf.size < self.nfft else 1 + (buf.size - self.nfft) // self.hop
        if n_frames:
            # Process in chunks to keep the frame matrix small (at most ~64 frames at a time).
            windows = np.lib.stride_tricks.sliding_window_view(buf, self.nfft)[:: self.hop]
            for first in range(0, n_frames, 64):
                self._add_frames(windows[first : first + 64])
            next_start = n_frames * self.hop
            if next_start >= buf.size:
                self._skip = next_start - buf.size
                self._carry = np.zeros(0, dtype=np.float64)
            else:
                self._carry = buf[next_start:].copy()
        else:
            self._carry = buf.copy()

    def _add_frames(self, frames: np.ndarray) -> None:
        frames = frames - frames.mean(axis=1, keepdims=True)
        spec = np.fft.rfft(frames * self.window, n=self.nfft, axis=1)
        mag = np.abs(spec)
        self.magnitude += mag.sum(axis=0)
        self.power += (mag * mag).sum(axis=0)
        self.frames += frames.shape[0]

    def finish(self) -> None:
        """Analyse a stream that never filled one frame as a single zero-padded frame."""
        if self.frames == 0 and self._carry.size >= 2:
            n = self._carry.size
            frame = self._carry - self._carry.mean()
            spec = np.fft.rfft(frame * np.hanning(n), n=self.nfft)
            mag = np.abs(spec)
            self.magnitude += mag
            self.power += mag * mag
            self.frames = 1
        self._carry = np.zeros(0, dtype=np.float64)

    def centroid_hz(self) -> float:
        total = float(self.magnitude.sum())
        if self.frames == 0 or total <= 1e-20 * max(self.frames, 1):
            return math.nan
        freqs = np.fft.rfftfreq(self.nfft, 1.0 / self.sample_rate)
        return float(np.dot(freqs, self.magnitude) / total)

    def dominant_hz(self) -> float:
        if self.frames == 0:
            return math.nan
        p = self.power
        if p.size < 3 or float(p[1:].max()) <= 1e-30 * max(self.frames, 1):
            return math.nan
        k = int(np.argmax(p[1:])) + 1  # the DC bin is never the answer
        offset = 0.0
        if 1 <= k < p.size - 1:
            a, b, c = (math.log(max(float(v), 1e-300)) for v in p[k - 1 : k + 2])
            denom = a - 2.0 * b + c
            if denom < 0.0:
                offset = max(-0.5, min(0.5, 0.5 * (a - c) / denom))
        return (k + offset) * self.sample_rate / self.nfft


# ----------------------------------------------------------------------------------------------- public API


def as_frames(signal: np.ndarray) -> np.ndarray:
    """(frames, channels) view of a 1-D/2-D array; integer PCM is scaled to [-1, 1) floats."""
    x = np.asarray(signal)
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        if info.min == 0:  # unsigned 8-bit style: midpoint is silence
            x = (x.astype(np.float64) - (info.max + 1) / 2) / ((info.max + 1) / 2)
        else:
            x = x.astype(np.float64) / -float(info.min)
    if x.ndim == 1:
        return x[:, None]
    if x.ndim == 2:
        return x
    raise ValueError(f"expected a (frames,) or (frames, channels) array, got shape {x.shape}")


def finite_block(block: np.ndarray) -> tuple[np.ndarray, int]:
    """Float64 copy-free view with non-finite samples replaced by 0; returns the count replaced."""
    if not np.issubdtype(block.dtype, np.floating):
        return block, 0
    bad = ~np.isfinite(block)
    n_bad = int(bad.sum())
    if n_bad:
        block = np.where(bad, 0.0, block)
    return block, n_bad


def measure(signal: np.ndarray, sample_rate: int) -> Measurements:
    """Measure a (frames,) or (frames, channels) signal: floats in [-1, 1] or integer PCM."""
    if sample_rate <= 0:
        raise ValueError("sample_rate must be positive")
    frames = as_frames(signal)
    frames, n_bad = finite_block(frames)
    levels = _LevelAccumulator()
    spectrum = _SpectrumAccumulator(sample_rate)
    levels.feed(frames)
    spectrum.feed(to_mono(frames))
    spectrum.finish()
    return _result(levels, spectrum, frames.shape[0], frames.shape[1], sample_rate, n_bad)


def _result(
    levels: _LevelAccumulator,
    spectrum: _SpectrumAccumulator,
    n_frames: int,
    channels: int,
    sample_rate: int,
    non_finite: int,
) -> Measurements:
    return Measurements(
        duration_s=n_frames / sample_rate,
        sample_rate=sample_rate,
        channels=channels,
        frames=n_frames,
        peak_dbfs=to_dbfs(levels.peak),
        rms_dbfs=to_dbfs(levels.rms),
        centroid_hz=spectrum.centroid_hz(),
        dominant_hz=spectrum.dominant_hz(),
        non_finite=non_finite,
    )


def open_sound_file(path: str | os.PathLike[str]) -> sf.SoundFile:
    p = Path(path)
    if p.is_dir():
        raise AudioError(f"{p.name} is a folder, not an audio file")
    if not p.exists():
        raise AudioError(f"{p.name}: file not found")
    try:
        return sf.SoundFile(str(p))
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError, ValueError) as exc:
        reason = one_line(exc)
        raise AudioError(f"cannot read {p.name} as audio: {reason}") from None


def measure_file(
    path: str | os.PathLike[str],
    block: int = DEFAULT_BLOCK,
    max_fft_frames: int = DEFAULT_MAX_FFT_FRAMES,
) -> Measurements:
    """Measure a file by streaming ``block`` frames at a time (bounded memory for any length).

    Levels use every sample. For files longer than ``max_fft_frames`` half-overlapping spectral frames, the
    spectral frames are spread evenly over the file instead (the hop grows), which bounds the FFT work.
    Raises :class:`mellow.errors.AudioError` for unreadable files.
    """
    with open_sound_file(path) as f:
        sr, channels, total = int(f.samplerate), int(f.channels), int(f.frames)
        hop = max(NFFT // 2, total // max(1, max_fft_frames))
        levels = _LevelAccumulator()
        spectrum = _SpectrumAccumulator(sr, hop=hop)
        n_bad = 0
        n_read = 0
        try:
            while True:
                data = f.read(block, dtype="float32", always_2d=True)
                if data.shape[0] == 0:
                    break
                data, bad = finite_block(data)
                n_bad += bad
                n_read += data.shape[0]
                levels.feed(data)
                spectrum.feed(to_mono(data))
        except (sf.LibsndfileError, RuntimeError) as exc:
            reason = one_line(exc)
            raise AudioError(f"cannot read {Path(path).name}: {reason}") from None
    spectrum.finish()
    return _result(levels, spectrum, n_read, channels, sr, n_bad)
