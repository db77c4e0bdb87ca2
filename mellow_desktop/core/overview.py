"""Whole-file overview of a long recording: level envelope and a mel spectrogram overview, computed in chunks
read from the file (never the whole file in memory), yielded as partial results so the view draws at once.

:func:`overview_chunks` yields :class:`Overview` snapshots: first coarse ones over the whole file (one FFT
frame read at the centre of 256 columns spread over the file, then of every column: quick), then ever more
exact ones as a sequential pass reads the file ~10 s at a time (columns ``[0, done)`` exact: the envelope of
every sample of every channel by the one envelope algorithm, :func:`.envelope.envelope_frames`, on
the samples of a PCM WAV as stored; the mono mix's spectrum averaged over 8 frames per column).
The mel filters are the engine's (:func:`mellow.model.htsat.slaney_mel_matrix`, 64 Slaney bands, 50 Hz-14 kHz,
capped at the file's Nyquist frequency), in dB as the engine's log-mel: ``10·log10(max(power, 1e-10))``.
Caching per file content is in :mod:`.overview_cache`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from mellow.audio import audio_info, to_mono
from mellow.errors import AudioError, one_line
from mellow.model.config import AudioConfig
from mellow.model.features import periodic_hann, slaney_mel_edges_hz, slaney_mel_matrix
from mellow_desktop.core.envelope import envelope_frames, stored_wav_samples

DEFAULT_COLUMNS = 2048
FRAMES_PER_COLUMN = 8  # FFT frames averaged per column in the exact pass
CHUNK_SECONDS = 10.0  # read per step of the exact pass (about one analysis window)
COARSE_GROUP = 256  # columns of the first coarse snapshot; also read and analysed together
YIELD_EVERY_S = 0.2  # the exact pass yields a snapshot at most this often (and at the end)


@dataclass(frozen=True)
class Overview:
    """A snapshot of a file's overview.

    ``env_min``/``env_max`` (columns,) float32: min/max over every channel's samples per column (column
    ``i`` covers frames ``[i*F//columns, (i+1)*F//columns)`` of the ``F`` frames); ``mel_db`` (n_mels,
    columns) float32, low bands first; ``band_edges_hz`` (n_mels + 2,).  Columns ``[0, done)`` are exact;
    the rest come from the coarse
    pass.  ``complete`` when ``done == columns``.
    """

    duration_s: float
    sample_rate: int
    channels: int
    frames: int
    env_min: np.ndarray
    env_max: np.ndarray
    mel_db: np.ndarray
    band_edges_hz: np.ndarray
    done: int = 0

    @property
    def columns(self) -> int:
        return int(self.env_min.shape[0])

    @property
    def complete(self) -> bool:
        return self.done >= self.columns

    def column_of(self, seconds: float) -> int:
        """The column that shows time ``seconds`` (clamped to the file)."""
        return int(min(self.columns - 1, max(0, seconds / max(self.duration_s, 1e-12) * self.columns)))


def fft_size(rate: int, audio: AudioConfig) -> int:
    """FFT length at ``rate`` closest to the engine's resolution (1024 at 32 kHz): a power of two."""
    return int(2 ** round(np.log2(audio.n_fft * rate / audio.sample_rate)))


class _Analyser:
    """Mel power of mono frames at one sample rate."""

    def __init__(self, rate: int, audio: AudioConfig, n_mels: int) -> None:
        self.n_fft = fft_size(rate, audio)
        f_max = min(audio.f_max, rate / 2)
        self.mel = slaney_mel_matrix(rate, self.n_fft, n_mels, audio.f_min, f_max).numpy()  # (bins, n_mels)
        self.window = periodic_hann(self.n_fft).astype(np.float32)
        self.amin = audio.amin
        self.edges = slaney_mel_edges_hz(n_mels, audio.f_min, f_max)

    def mel_db(self, frames: np.ndarray) -> np.ndarray:
        """(columns, k, n_fft) mono frames -> (n_mels, columns) dB, power averaged over the k frames."""
        spec = np.fft.rfft(frames * self.window, axis=-1)
        power = (spec.real ** 2 + spec.imag ** 2).mean(axis=1)  # (columns, bins)
        return (10.0 * np.log10(np.maximum(power @ self.mel, self.amin))).T.astype(np.float32)


def _open(path: Path) -> sf.SoundFile:
    audio_info(path)  # one-line AudioError for missing, empty or unreadable files
    try:
        return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"{path} is not a readable audio file ({one_line(exc)})") from None


def _read(f: sf.SoundFile, start: int, count: int) -> np.ndarray:
    """``count`` frames from ``start`` as float32 (frames, channels), zero-padded past the end."""
    f.seek(max(0, start))
    data = f.read(count, dtype="float32", always_2d=True)
    if data.shape[0] < count:
        data = np.concatenate([data, np.zeros((count - data.shape[0], f.channels), np.float32)])
    return data


def _frame_starts(length: int, n_fft: int, k: int) -> np.ndarray:
    """Up to ``k`` frame starts spread evenly over a stretch of ``length`` samples."""
    if length <= n_fft:
        return np.zeros(1, dtype=np.int64)
    return np.unique(np.linspace(0, length - n_fft, k).astype(np.int64))


def _coarse(f: sf.SoundFile, edges: np.ndarray, an: _Analyser,
            cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One frame at the centre of each column of ``cols``: (mel_db (n_mels, n), env_min (n,), env_max (n,))
    of those frames, computed ``COARSE_GROUP`` columns at a time (bounded memory)."""
    centres = (edges[cols] + edges[cols + 1]) // 2 - an.n_fft // 2
    mels, lows, highs = [], [], []
    for g in range(0, len(centres), COARSE_GROUP):
        reads = np.stack([_read(f, int(c), an.n_fft) for c in centres[g:g + COARSE_GROUP]])  # (n, n_fft, ch)
        reads[~np.isfinite(reads)] = 0.0
        mono = to_mono(reads.reshape(-1, reads.shape[-1])).reshape(reads.shape[:2])
        mels.append(an.mel_db(mono[:, None, :]))
        lows.append(reads.min(axis=(1, 2)))
        highs.append(reads.max(axis=(1, 2)))
    return np.concatenate(mels, axis=1), np.concatenate(lows), np.concatenate(highs)


def _coarse_passes(f: sf.SoundFile, edges: np.ndarray, an: _Analyser, view: Overview) -> Iterator[Overview]:
    """Coarse snapshots: ``COARSE_GROUP`` columns spread over the file (their neighbours copied), then all."""
    n = len(edges) - 1
    stride = max(1, n // COARSE_GROUP)
    sparse = np.arange(0, n, stride)
    mel, lo, hi = _coarse(f, edges, an, sparse)
    fill = np.minimum(np.arange(n) // stride, len(sparse) - 1)
    view = replace(view, env_min=lo[fill].astype(np.float32), env_max=hi[fill].astype(np.float32),
                   mel_db=mel[:, fill])
    yield view
    rest = np.setdiff1d(np.arange(n), sparse)
    if rest.size:
        m, a, b = _coarse(f, edges, an, rest)
        mel, lo, hi = view.mel_db.copy(), view.env_min.copy(), view.env_max.copy()
        mel[:, rest], lo[rest], hi[rest] = m, a, b
        yield replace(view, env_min=lo, env_max=hi, mel_db=mel)


def _exact(chunk: np.ndarray, scale: float, local_edges: np.ndarray, an: _Analyser) -> tuple[np.ndarray, ...]:
    """Exact columns of one chunk (frames, channels) of samples with full scale ``scale`` (float32 read by
    soundfile, or the stored integers of a PCM WAV) whose column edges are ``local_edges`` (from
    0): (mel_db (n_mels, n), env_min (n,), env_max (n,)), the envelope over every sample of every channel."""
    n_cols = len(local_edges) - 1
    env_min, env_max = envelope_frames(chunk, n_cols, scale=scale, all_channels=True, edges=local_edges)
    starts = [a + _frame_starts(int(b - a), an.n_fft, FRAMES_PER_COLUMN)
              for a, b in zip(local_edges[:-1], local_edges[1:], strict=True)]
    starts = np.stack([s[np.arange(FRAMES_PER_COLUMN) % s.size] for s in starts])  # (n, k)
    idx = starts[..., None] + np.arange(an.n_fft)  # (n, k, n_fft)
    if idx.max() >= chunk.shape[0]:  # columns shorter than one FFT frame (very short files)
        chunk = np.concatenate([chunk, np.zeros((an.n_fft, chunk.shape[1]), chunk.dtype)])
    frames = np.asarray(chunk[idx.reshape(-1)], dtype=np.float32)
    mono = to_mono(frames / np.float32(scale) if scale != 1.0 else frames).reshape(idx.shape)
    mono[~np.isfinite(mono)] = 0.0
    return an.mel_db(mono), env_min, env_max


def overview_chunks(path: str | os.PathLike[str], columns: int = DEFAULT_COLUMNS, n_mels: int = 64,
                    audio: AudioConfig | None = None) -> Iterator[Overview]:
    """Snapshots of the overview of ``path``: coarse first, then exact from the start (see the module
    docstring); the last one is complete.  Raises :class:`~mellow.errors.AudioError` (one line)."""
    audio, p = audio or AudioConfig(), Path(path)
    with _open(p) as f:
        rate, total = int(f.samplerate), int(f.frames)
        an = _Analyser(rate, audio, n_mels)
        n_cols = max(1, min(columns, total // an.n_fft))
        edges = (np.arange(n_cols + 1, dtype=np.int64) * total) // n_cols
        empty = np.zeros(n_cols, np.float32)
        start = Overview(total / rate, rate, int(f.channels), total, empty, empty,
                         np.zeros((n_mels, n_cols), np.float32), an.edges, 0)
        view = start
        for view in _coarse_passes(f, edges, an, start):
            yield view
        yield from _exact_pass(_chunk_reader(f, p), edges, an, view)


_ChunkReader = Callable[[int, int], tuple[np.ndarray, float]]


def _chunk_reader(f: sf.SoundFile, path: Path) -> _ChunkReader:
    """``read(start, count)`` -> (samples (count, channels), full scale): the stored samples of a PCM/float
    WAV whose header agrees with its size, else float32 reads through soundfile."""
    stored = stored_wav_samples(audio_info(path))
    if stored is not None and stored[0].shape == (f.frames, f.channels):
        data, scale = stored
        return lambda start, count: (data[start:start + count], scale)

    def read(start: int, count: int) -> tuple[np.ndarray, float]:
        try:
            return _read(f, start, count), 1.0
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"cannot read {f.name}: {one_line(exc)}") from None

    return read


def _exact_pass(read: _ChunkReader, edges: np.ndarray, an: _Analyser, view: Overview) -> Iterator[Overview]:
    mel, lo, hi = view.mel_db.copy(), view.env_min.copy(), view.env_max.copy()
    per_col = max(1, int(edges[1] - edges[0]))
    step = max(1, int(round(CHUNK_SECONDS * view.sample_rate / per_col)))
    last_yield, n_cols = time.monotonic(), len(edges) - 1
    for c0 in range(0, n_cols, step):
        c1 = min(n_cols, c0 + step)
        chunk, scale = read(int(edges[c0]), int(edges[c1] - edges[c0]))
        m, a, b = _exact(chunk, scale, edges[c0:c1 + 1] - edges[c0], an)
        mel[:, c0:c1], lo[c0:c1], hi[c0:c1] = m, a, b
        if c1 == n_cols or time.monotonic() - last_yield >= YIELD_EVERY_S:
            last_yield = time.monotonic()
            yield replace(view, env_min=lo.copy(), env_max=hi.copy(), mel_db=mel.copy(), done=c1)
