"""The mel front end of the encoder (SPEC.md section 3): the periodic Hann window, the STFT kernels under the
published names, Slaney mel filters, and the power-spectrogram and log-mel modules.

The desktop's views (spectrogram, overview) draw with the same window and filters, so what they show is what
the model hears.  Constants are computed with the reference's floating-point steps (bit-equal buffers).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mellow.model.config import AudioConfig

#: Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_LOG_START_HZ = 1000.0
_SLANEY_LOG_STEP = np.log(6.4) / 27.0


def periodic_hann(n: int) -> np.ndarray:
    """Periodic Hann window of length n (float64), computed as SciPy's ``get_window('hann', n)`` does."""
    phase = np.linspace(-np.pi, np.pi, n + 1)
    w = np.zeros(n + 1)
    w += 0.5 * np.cos(0 * phase)
    w += 0.5 * np.cos(phase)
    return w[:n]


def stft_kernels(n_fft: int, win_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Conv1d kernels of the windowed DFT: real = cos * window, imag = -sin * window.

    Returns:
        ``(real, imag)``, each float32 (n_fft // 2 + 1, 1, n_fft). The DFT matrix is built as integer powers
        of exp(-2*pi*i / n_fft) in complex128, which reproduces the published kernels exactly.
    """
    window = periodic_hann(win_length)
    if win_length < n_fft:  # centre the window in the frame
        left = (n_fft - win_length) // 2
        window = np.pad(window, (left, n_fft - win_length - left))
    n_bins = n_fft // 2 + 1
    cols, rows = np.meshgrid(np.arange(n_fft), np.arange(n_fft))
    dft = np.power(np.exp(-2j * np.pi / n_fft), cols * rows)[:, :n_bins] * window[:, None]
    real = torch.from_numpy(np.real(dft).T.astype(np.float32)).unsqueeze(1)
    imag = torch.from_numpy(np.imag(dft).T.astype(np.float32)).unsqueeze(1)
    return real.contiguous(), imag.contiguous()


def _hz_to_slaney_mel(hz: np.ndarray) -> np.ndarray:
    mel = hz / _SLANEY_HZ_PER_MEL
    log_part = hz >= _SLANEY_LOG_START_HZ
    start_mel = _SLANEY_LOG_START_HZ / _SLANEY_HZ_PER_MEL
    mel[log_part] = start_mel + np.log(hz[log_part] / _SLANEY_LOG_START_HZ) / _SLANEY_LOG_STEP
    return mel


def _slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    hz = _SLANEY_HZ_PER_MEL * mel
    start_mel = _SLANEY_LOG_START_HZ / _SLANEY_HZ_PER_MEL
    log_part = mel >= start_mel
    hz[log_part] = _SLANEY_LOG_START_HZ * np.exp(_SLANEY_LOG_STEP * (mel[log_part] - start_mel))
    return hz


def slaney_mel_edges_hz(n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """(n_mels + 2,) float64 band edges in Hz, equally spaced on the Slaney mel scale; band i is centred on
    edge i + 1."""
    edges_mel = np.linspace(_hz_to_slaney_mel(np.array([f_min], dtype=np.float64))[0],
                            _hz_to_slaney_mel(np.array([f_max], dtype=np.float64))[0], n_mels + 2)
    return _slaney_mel_to_hz(edges_mel)


def slaney_mel_matrix(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> torch.Tensor:
    """Slaney-scale, area-normalised triangular filters (librosa's default ``filters.mel``).

    Returns:
        float32 (n_fft // 2 + 1, n_mels): multiply a power spectrum (..., n_bins) by it to get mel power.
    """
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    edges_hz = slaney_mel_edges_hz(n_mels, f_min, f_max)
    spacing = np.diff(edges_hz)
    offsets = np.subtract.outer(edges_hz, fft_hz)  # (n_mels + 2, n_bins)
    weights = np.zeros((n_mels, fft_hz.shape[0]), dtype=np.float32)
    for i in range(n_mels):
        rising = -offsets[i] / spacing[i]
        falling = offsets[i + 2] / spacing[i + 1]
        weights[i] = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:n_mels + 2] - edges_hz[:n_mels]))[:, None]
    return torch.from_numpy(np.ascontiguousarray(weights.T))


class _STFT(nn.Module):
    """Holds the STFT kernels under the published names ``conv_real`` / ``conv_imag`` (frozen)."""

    def __init__(self, n_fft: int, win_length: int, hop_length: int) -> None:
        super().__init__()
        n_bins = n_fft // 2 + 1
        self.n_fft, self.hop_length = n_fft, hop_length
        self.conv_real = nn.Conv1d(1, n_bins, n_fft, stride=hop_length, bias=False)
        self.conv_imag = nn.Conv1d(1, n_bins, n_fft, stride=hop_length, bias=False)
        real, imag = stft_kernels(n_fft, win_length)
        with torch.no_grad():
            self.conv_real.weight.copy_(real)
            self.conv_imag.weight.copy_(imag)
        self.requires_grad_(False)


class PowerSpectrogram(nn.Module):
    """(B, samples) -> centered power STFT (B, 1, frames, n_fft // 2 + 1), reflect padding n_fft // 2."""

    def __init__(self, cfg: AudioConfig) -> None:
        super().__init__()
        self.stft = _STFT(cfg.n_fft, cfg.win_length, cfg.hop_length)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """Always computed in float32, whatever the module's dtype."""
        pad = self.stft.n_fft // 2
        x = F.pad(wave.float()[:, None, :], (pad, pad), mode="reflect")
        kernels = torch.cat([self.stft.conv_real.weight, self.stft.conv_imag.weight]).float()
        spec = F.conv1d(x, kernels, stride=self.stft.hop_length)  # (B, 2 * n_bins, frames)
        real, imag = spec.chunk(2, dim=1)
        return (real.square() + imag.square()).transpose(1, 2)[:, None]


class LogMel(nn.Module):
    """(B, 1, frames, n_bins) power -> (B, 1, frames, n_mels) in dB: 10*log10(max(x, amin)), in float32."""

    def __init__(self, cfg: AudioConfig) -> None:
        super().__init__()
        mel = slaney_mel_matrix(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min, cfg.f_max)
        self.melW = nn.Parameter(mel, requires_grad=False)
        self.amin = cfg.amin

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.log10(torch.clamp(power.float() @ self.melW.float(), min=self.amin))
