"""Min/max envelopes of a signal or a file: the one reduction every waveform view and overview draws.

Bins are the frames ``[k * n // bins, (k + 1) * n // bins)``; a file is streamed block by block (never read
whole), channels are mixed with :func:`mellow.audio.to_mono` unless ``per_channel`` (each channel) or
``all_channels`` (every sample of every channel together), and non-finite samples count as 0 (as in
:mod:`mellow_desktop.core.measurements`).  The samples of PCM/float WAV files are read as stored
(:func:`stored_wav_samples`); integers are then reduced unconverted and scaled once at the end, which is what
makes an envelope of two hours of 48 kHz stereo take a fraction of a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from mellow.audio import AudioInfo, to_mono
from mellow.errors import AudioError, one_line
from mellow_desktop.core.measurements import as_frames, finite_block, open_sound_file

#: soundfile subtypes that are stored as plain little-endian samples, and their full-scale value.
_PLAIN_SUBTYPES = {
    "PCM_16": ("<i2", 32768.0),
    "PCM_32": ("<i4", 2147483648.0),
    "FLOAT": ("<f4", 1.0),
    "DOUBLE": ("<f8", 1.0),
}


def _wav_data_offset(path: Path) -> int | None:
    """Byte offset of the samples of a RIFF/WAVE file, or None if it is not one."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            while True:
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return None
                size = int.from_bytes(chunk[4:], "little")
                if chunk[:4] == b"data":
                    return fh.tell()
                fh.seek(size + (size & 1), 1)
    except OSError:
        return None


class StoredSamples:
    """The (frames, channels) samples of a PCM/float WAV file as stored, read straight from the file:
    ``samples[a:b]`` reads frames ``[a, b)`` into a new array of the stored dtype (no decoding, no float
    conversion).  A memory map would read the same bytes but leave every page it touched counted in the
    process's resident memory (1.4 GB after a 2-hour file)."""

    def __init__(self, path: Path, offset: int, frames: int, channels: int, dtype: np.dtype) -> None:
        self.path, self.offset, self.dtype = path, offset, dtype
        self.shape = (frames, channels)
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("StoredSamples reads contiguous frames: samples[start:stop]")
        start, stop, _ = key.indices(self.shape[0])
        count, channels = max(0, stop - start), self.shape[1]
        data = np.empty((count, channels), dtype=self.dtype)
        with open(self.path, "rb", buffering=0) as fh:
            fh.seek(self.offset + start * channels * self.dtype.itemsize)
            got = fh.readinto(memoryview(data).cast("B"))
        return data[: (got or 0) // (channels * self.dtype.itemsize)]


def stored_wav_samples(info: AudioInfo) -> tuple[StoredSamples, float] | None:
    """The samples of a PCM/float WAV file as stored (:class:`StoredSamples`) and their full-scale value, or
    None for other files (then stream them with soundfile).  A truncated file gives the frames it has."""
    kind = _PLAIN_SUBTYPES.get(info.subtype)
    if info.format != "WAV" or kind is None:
        return None
    path = Path(info.path)
    offset = _wav_data_offset(path)
    if offset is None:
        return None
    dtype = np.dtype(kind[0])
    try:
        frames = min(info.frames, (path.stat().st_size - offset) // (dtype.itemsize * info.channels))
    except OSError:
        return None
    if frames <= 0:
        return None
    return StoredSamples(path, offset, frames, info.channels, dtype), kind[1]


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
    ``[i*N//bins, (i+1)*N//bins)`` of the ``N`` frames), over each channel, over the mono mix, or over every
    sample of every channel together (``all_channels``)."""

    def __init__(self, n_frames: int, n_bins: int, channels: int, per_channel: bool,
                 all_channels: bool = False, edges: np.ndarray | None = None) -> None:
        if n_bins < 1:
            raise ValueError("n_bins must be at least 1")
        self.per_channel, self.all_channels = per_channel and not all_channels, all_channels
        self.width = channels if all_channels else 1  # samples per frame in the flattened all-channel view
        if edges is None:
            self.bins = max(1, min(n_bins, n_frames))
            edges = _bin_edges(max(n_frames, 1), self.bins)
        else:
            self.bins = len(edges) - 1
        self.edges = np.asarray(edges, dtype=np.int64) * self.width
        k = channels if self.per_channel else 1
        self.mins = np.full((k, self.bins), np.inf, dtype=np.float32)
        self.maxs = np.full((k, self.bins), -np.inf, dtype=np.float32)
        self.done = 0

    def feed(self, block: np.ndarray) -> None:
        """Fold the next (frames, channels) block in: floats (non-finite samples count as 0), or integers
        (reduced as they are, unscaled) when each channel or all channels are kept."""
        if block.shape[0] == 0:
            return
        if np.issubdtype(block.dtype, np.integer) and (self.per_channel or self.all_channels):
            data = block
        else:
            data = finite_block(block)[0].astype(np.float32, copy=False)
        if self.all_channels:
            data = data.reshape(-1, 1)
        elif not self.per_channel:
            data = to_mono(data)[:, None]
        _reduce_into(data, self.done * self.width, self.edges, self.mins, self.maxs)
        self.done += block.shape[0]

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
    all_channels: bool = False,
    start: int = 0,
    stop: int | None = None,
    block: int = 1 << 18,
    edges: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Min/max envelope of rows ``[start, stop)`` of (frames, channels) samples: an array, or
    :class:`StoredSamples` (anything sliced ``[a:b]`` into an array).

    Read ``block`` frames at a time and divided by ``scale`` (the full-scale sample value); same binning and
    shapes as :func:`envelope`, and (bins,) with ``all_channels`` (min/max over every channel's samples).
    ``edges`` ((bins + 1,) frame offsets from ``start``, from 0 to ``stop - start``) replaces the even bins:
    a stretch of a longer file then keeps that file's bins.  Integer samples are reduced unconverted for
    ``per_channel``/``all_channels`` (the same values, faster).
    """
    total = data.shape[0]
    stop = total if stop is None else max(0, min(stop, total))
    start = max(0, min(start, stop))
    reducer = _EnvelopeReducer(stop - start, n_bins, data.shape[1], per_channel, all_channels, edges)
    native = np.issubdtype(data.dtype, np.integer) and (per_channel or all_channels)
    scaled = scale != 1.0
    for first in range(start, stop, block):
        chunk = np.asarray(data[first : min(stop, first + block)])
        if native:
            reducer.feed(chunk)
        else:
            chunk = chunk.astype(np.float32, copy=False)
            reducer.feed(chunk / np.float32(scale) if scaled else chunk)
    mins, maxs = reducer.result()
    if native and scaled:
        mins, maxs = mins / np.float32(scale), maxs / np.float32(scale)
    return mins, maxs


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
