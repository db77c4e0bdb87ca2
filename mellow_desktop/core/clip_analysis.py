"""What the clip panels draw, computed without Qt so that it can run on a pool thread.

* :func:`trace` — a waveform trace of frames ``[start, stop)``: the raw mono samples when they are few, else a
  min/max envelope (union of all channels) computed by :mod:`.envelope` (one algorithm, one binning):
  PCM WAV files are read as stored (``stored_wav_samples``, ``envelope_frames``), so two hours of 48 kHz
  stereo take a fifth of a second; other formats are streamed (``envelope``), and both draw the same.
* :func:`analyse_window` — the 10 s window the model hears (``mellow.audio.load_window``: mono, 32 kHz, tiled
  when short) and its log-mel spectrogram with the model's settings (n_fft 1024, hop 320, 64 Slaney mel bands,
  50–14 000 Hz) plus a linear STFT in dB.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mellow.audio import TARGET_RATE, WINDOW_SAMPLES, AudioInfo, Clip, load_window, to_mono
from mellow.model.features import periodic_hann, slaney_mel_edges_hz, slaney_mel_matrix
from mellow_desktop.core.envelope import envelope, envelope_frames, stored_wav_samples

N_FFT = 1024
HOP = 320
N_MELS = 64
F_MIN, F_MAX = 50.0, 14000.0
WINDOW_SECONDS = WINDOW_SAMPLES / TARGET_RATE
#: Bins of the overview envelope of a whole file.
OVERVIEW_BINS = 4000


@dataclass(frozen=True)
class Trace:
    """A drawable waveform over ``[t0, t1)`` seconds: ``lo``/``hi`` per point (equal when ``raw``);
    ``exact`` is False for a first, approximate draw that an exact one will replace."""

    t0: float
    t1: float
    lo: np.ndarray  # (n,) float32
    hi: np.ndarray  # (n,) float32
    raw: bool
    exact: bool = True

    @property
    def times(self) -> np.ndarray:
        """(n,) point times in seconds (bin starts for an envelope, sample times for raw samples)."""
        n = self.lo.shape[0]
        return self.t0 + (self.t1 - self.t0) * np.arange(n, dtype=np.float64) / max(n, 1)


@dataclass(frozen=True)
class WindowAnalysis:
    """The 10 s the model hears, starting ``start_s`` into the file, and its spectrograms."""

    start_s: float
    mel_db: np.ndarray  # (1001, 64) float32, frames x mel bands
    stft_db: np.ndarray  # (1001, 513) float32, frames x linear bins 0..16 kHz
    repeats: float  # how many times a short clip is tiled to fill the window (1.0 when long enough)


# ----------------------------------------------------------------------------------------------- waveform
def _raw_mono(info: AudioInfo, start: int, stop: int) -> np.ndarray:
    import soundfile as sf

    with sf.SoundFile(info.path) as f:
        f.seek(start)
        data = f.read(stop - start, dtype="float32", always_2d=True)
    return np.nan_to_num(to_mono(data), nan=0.0, posinf=1.0, neginf=-1.0)


def trace(info: AudioInfo, start: int = 0, stop: int | None = None, n_bins: int = OVERVIEW_BINS) -> Trace:
    """Waveform of frames ``[start, stop)``: raw mono samples up to ``2 * n_bins`` frames, else envelope."""
    stop = info.frames if stop is None else max(0, min(stop, info.frames))
    start = max(0, min(start, stop))
    rate = max(1, info.sample_rate)
    n = stop - start
    t0 = start / rate
    if n <= 0:
        z = np.zeros(1, np.float32)
        return Trace(t0, t0, z, z, raw=True)
    if n <= 2 * n_bins:
        mono = _raw_mono(info, start, stop)
        return Trace(t0, t0 + mono.shape[0] / rate, mono, mono, raw=True)
    stored = stored_wav_samples(info)
    if stored is not None:
        data, scale = stored
        stop = min(stop, data.shape[0])
        lo, hi = envelope_frames(data, n_bins, scale=scale, all_channels=True, start=start, stop=stop)
        del data
    else:
        mins, maxs = envelope(info.path, n_bins, per_channel=True, start=start, stop=stop)
        lo, hi = mins.min(axis=0), maxs.max(axis=0)
    return Trace(t0, stop / rate, lo, hi, raw=False)


# ----------------------------------------------------------------------------------------------- spectrogram
@functools.lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(513, 64) the model's own Slaney mel filters (50–14 000 Hz at 32 kHz)."""
    return slaney_mel_matrix(TARGET_RATE, N_FFT, N_MELS, F_MIN, F_MAX).numpy()


@functools.lru_cache(maxsize=1)
def mel_centers_hz() -> np.ndarray:
    """(64,) center frequency of each mel band in Hz (for axis labels and hover read-outs)."""
    return slaney_mel_edges_hz(N_MELS, F_MIN, F_MAX)[1:-1]


def power_spectrogram(wave: np.ndarray) -> np.ndarray:
    """(n,) float32 -> (1 + n // 320, 513) power: periodic Hann, n_fft 1024, centered with reflect padding."""
    x = np.pad(np.asarray(wave, dtype=np.float32), N_FFT // 2, mode="reflect")
    n_frames = 1 + (x.shape[0] - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(x, shape=(n_frames, N_FFT), strides=(HOP * 4, 4))
    window = periodic_hann(N_FFT).astype(np.float32)
    spec = np.fft.rfft(frames * window, axis=1)
    return (spec.real**2 + spec.imag**2).astype(np.float32)


def analyse_window(info: AudioInfo, start_s: float) -> WindowAnalysis:
    """Load the model's 10 s window at ``start_s`` (clamped) and compute its spectrograms."""
    wave = load_window(Clip(info.path, start_s)).numpy()
    power = power_spectrogram(wave)
    mel = 10.0 * np.log10(np.maximum(power @ mel_filters(), 1e-10))
    stft = 10.0 * np.log10(np.maximum(power, 1e-10))
    repeats = WINDOW_SECONDS / info.duration if 0 < info.duration < WINDOW_SECONDS else 1.0
    return WindowAnalysis(
        start_s=clamp_start(info, start_s),
        mel_db=mel.astype(np.float32),
        stft_db=stft.astype(np.float32),
        repeats=repeats,
    )


def clamp_start(info: AudioInfo, start_s: float) -> float:
    """The window start the engine will use: within [0, duration - 10 s], 0 for short clips."""
    return float(min(max(0.0, start_s), max(0.0, info.duration - WINDOW_SECONDS)))
