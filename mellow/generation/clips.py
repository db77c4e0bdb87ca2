"""Clips as cache keys: which window of which content a clip means, reading each file as little as possible.

A clip's key is (content hash, effective window start in samples at the model's rate), so two paths of the
same bytes share one encoder output, and two starts that cut the same window (a short clip is tiled and
ignores its start; starts past the end are clamped) share one too.

:class:`ClipFiles` finds each file's hash and resampled length in the one memo of file facts keyed on (path,
size, mtime) (:data:`mellow.file_hash.FILE_MEMO`): a clip of a file seen before, unchanged, gets its key from
one ``stat`` and no open; a new (or changed) file is opened once per question, for the hash, the header and
the window together (:func:`mellow.audio.read_clip`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mellow.audio import Clip, load_window, read_clip
from mellow.errors import AudioError, MellowError
from mellow.file_hash import CONTENT_HASH, FILE_MEMO, FileState, file_state
from mellow.model.config import AudioConfig

ClipLike = Clip | str | Path | torch.Tensor | np.ndarray


class LRU:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class ClipFiles:
    """Keys and windows of clips; a file's (content hash, resampled length) come from :data:`FILE_MEMO`."""

    def __init__(self, audio: AudioConfig) -> None:
        self.audio = audio
        self._length_fact = ("resampled frames", audio.sample_rate)  # the memo's name for the length

    def key(self, clip: ClipLike) -> tuple:
        """The cache key of a clip (see the module docstring); a waveform's key is a hash of its samples."""
        return self.resolve(clip, window_if_opened=False)[0]

    def resolve(self, clip: ClipLike, window_if_opened: bool = True) -> tuple[tuple, torch.Tensor | None]:
        """(key, window (clip_samples,) or None).

        The window comes along for a waveform, and (``window_if_opened``) when the file had to be opened for
        its hash anyway (a new file state); otherwise it is None and :meth:`window` reads it when needed.
        """
        if isinstance(clip, torch.Tensor | np.ndarray):
            wave = self.waveform(clip)
            return ("wave", hashlib.blake2b(wave.numpy().tobytes(), digest_size=20).hexdigest()), wave
        if not isinstance(clip, Clip):
            clip = Clip(clip)
        try:
            state: FileState | None = file_state(Path(clip.path))
        except OSError:  # the read that follows reports it properly; this only skips the memo
            state = None
        facts = None if state is None else self._known_facts(state)
        if facts is None:
            read = read_clip(clip, self.audio, window=window_if_opened)  # remembers the hash itself
            if state is not None:
                FILE_MEMO.put(state, self._length_fact, read.out_frames)
            return self._key((read.content_hash, read.out_frames), clip.start), read.wave
        return self._key(facts, clip.start), None

    def _known_facts(self, state: FileState) -> tuple[str, int] | None:
        """(content hash, resampled length) of the file in ``state`` when both are known, else None."""
        content_hash, n_out = FILE_MEMO.get(state, CONTENT_HASH), FILE_MEMO.get(state, self._length_fact)
        return None if content_hash is None or n_out is None else (str(content_hash), int(n_out))

    def window(self, clip: ClipLike) -> torch.Tensor:
        """The preprocessed window of a clip (one open of its file)."""
        if isinstance(clip, torch.Tensor | np.ndarray):
            return self.waveform(clip)
        return load_window(clip if isinstance(clip, Clip) else Clip(clip), self.audio)

    def waveform(self, clip: torch.Tensor | np.ndarray) -> torch.Tensor:
        """A preprocessed waveform clip as a (clip_samples,) float32 tensor (checked)."""
        raw = clip.detach().cpu() if isinstance(clip, torch.Tensor) else torch.from_numpy(np.asarray(clip))
        wave = raw.to(torch.float32).reshape(-1).contiguous()
        if wave.shape[0] != self.audio.clip_samples:
            raise MellowError(f"a waveform clip must have {self.audio.clip_samples} samples, "
                              f"got {wave.shape[0]}")
        if not torch.isfinite(wave).all():
            raise AudioError("the waveform contains NaN or infinite samples")
        return wave

    def _key(self, facts: tuple[str, int], start_s: float) -> tuple:
        content_hash, n_out = facts
        start = 0
        if n_out > self.audio.clip_samples:
            start = min(max(0, round(start_s * self.audio.sample_rate)), n_out - self.audio.clip_samples)
        return (content_hash, start)
