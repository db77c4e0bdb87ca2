"""Min/max envelopes of a signal or a file: the one reduction every waveform view and overview draws.

Bins are the frames ``[k * n // bins, (k + 1) * n // bins)``; a file is streamed block by block (never read
whole), channels are mixed with :func:`mellow.audio.to_mono` unless ``per_channel``, and non-finite samples
count as 0 (as in :mod:`mellow.measurements`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from mellow.audio import to_mono
from mellow.errors import AudioError, one_line
from mellow.measurements import as_frames, finite_block, open_sound_file


def _bin_edges(n_frames: int, n_bins: int) -> np.ndarray:
    return (np.arange(n_bins + 1, dtype=np.int64) * n_frames) // n_bins


def _reduce_into(
    data: np.ndarray, first: int, edges: np.ndarray, mins: np.ndarray, maxs: np.ndarray
) -> None:
    """Fold ``data`` (frames, k), starting at global frame ``first``, into ``mins``/``maxs`` (k, bins)."""
    last = first + data.shape[0]
    i0 = int(np.searchsorted(edges, first, side="right")) - 1
    i1 = int(np.searchsorted(edges, last - 1, side="right")) - 1
    starts = np.maximum(edges[i0 : i1 + 1], first) - first
    lo = np.minimum.reduceat(data, starts, axis=0).T
    hi = np.maximum.reduceat(data, starts, axis=0).T
    np.minimum(mins[:, i0 : i1 + 1], lo, out=mins[:, i0 : i1 + 1])
    np.maximum(maxs[:, i0 : i1 + 1], hi, out=maxs[:, i0 : i1 + 1])


class _EnvelopeReducer:
    """The one envelope algorithm: min/max per bin of frames fed in blocks (bin ``i`` covers frames
    ``[i*N//bins, (i+1)*N//bins)`` of the ``N`` frames), over each channel or over the mono mix."""

    def __init__(self, n_frames: int, n_bins: int, channels: int, per_channel: bool) -> None:
        if n_bins < 1:
            raise ValueError("n_bins must be at least 1")
        self.per_channel = per_channel
        self.bins = max(1, min(n_bins, n_frames))
        self.edges = _bin_edges(max(n_frames, 1), self.bins)
        k = channels if per_channel else 1
        self.mins = np.full((k, self.bins), np.inf, dtype=np.float32)
        self.maxs = np.full((k, self.bins), -np.inf, dtype=np.float32)
        self.done = 0

    def feed(self, block: np.ndarray) -> None:
        """Fold the next (frames, channels) float block in (non-finite samples count as 0)."""
        if block.shape[0] == 0:
            return
        data, _ = finite_block(block)
        data = data.astype(np.float32, copy=False) if self.per_channel else to_mono(data)[:, None]
        _reduce_into(data, self.done, self.edges, self.mins, self.maxs)
        self.done += data.shape[0]

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(mins, maxs): (channels, bins) per channel, else (bins,); bins never reached are flat (0)."""
        unfilled = ~np.isfinite(self.mins)
        self.mins[unfilled] = 0.0
        self.maxs[unfilled] = 0.0
        return (self.mins, self.maxs) if self.per_channel else (self.mins[0], self.maxs[0])


def envelope_array(
    signal: np.ndarray, n_bins: int, *, per_channel: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Min/max envelope of an in-memory signal; see :func:`envelope` for the shapes."""
    frames = as_frames(signal)
    reducer = _EnvelopeReducer(frames.shape[0], n_bins, frames.shape[1], per_channel)
    reducer.feed(frames)
    return reducer.result()


def envelope_frames(
    data: np.ndarray,
    n_bins: int,
    *,
    scale: float = 1.0,
    per_channel: bool = False,
    start: int = 0,
    stop: int | None = None,
    block: int = 1 << 18,
) -> tuple[np.ndarray, np.ndarray]:
    """Min/max envelope of rows ``[start, stop)`` of a (frames, channels) array (e.g. a memory-mapped WAV).

    Read ``block`` frames at a time and divided by ``scale`` (the full-scale sample value); same binning and
    shapes as :func:`envelope`.
    """
    total = data.shape[0]
    stop = total if stop is None else max(0, min(stop, total))
    start = max(0, min(start, stop))
    reducer = _EnvelopeReducer(stop - start, n_bins, data.shape[1], per_channel)
    for first in range(start, stop, block):
        chunk = np.asarray(data[first : min(stop, first + block)], dtype=np.float32)
        reducer.feed(chunk / np.float32(scale) if scale != 1.0 else chunk)
    return reducer.result()


def envelope(
    path: str | os.PathLike[str],
    n_bins: int,
    *,
    per_channel: bool = False,
    start: int = 0,
    stop: int | None = None,
    block: int = 1 << 18,
) -> tuple[np.ndarray, np.ndarray]:
    """Min/max envelope of frames ``[start, stop)`` of a file, streamed in blocks.

    Returns ``(mins, maxs)`` as float32 arrays of shape (bins,) for the mono mix or (channels, bins) with
    ``per_channel=True``, where ``bins = min(n_bins, frames)``. Bin ``i`` covers frames
    ``start + [i*N//bins, (i+1)*N//bins)`` with ``N = stop - start``. Raises AudioError for unreadable files.
    """
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    with open_sound_file(path) as f:
        total = int(f.frames)
        stop = total if stop is None else max(0, min(stop, total))
        start = max(0, min(start, stop))
        n = stop - start
        reducer = _EnvelopeReducer(n, n_bins, int(f.channels), per_channel)
        if n:
            f.seek(start)
        try:
            while reducer.done < n:
                data = f.read(min(block, n - reducer.done), dtype="float32", always_2d=True)
                if data.shape[0] == 0:
                    break  # the file is shorter than its header said
                reducer.feed(data)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"cannot read {Path(path).name}: {one_line(exc)}") from None
    return reducer.result()
