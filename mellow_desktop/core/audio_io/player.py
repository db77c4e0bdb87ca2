"""Playback of a clip through PortAudio with a moving playhead, polled by a GUI timer. No Qt here.

A clip is either an in-memory array (:meth:`Player.load`) or a file (:meth:`Player.load_file`, or
``play(path)``), which a feeder thread streams from disk a second or two ahead, so files of any length play
without being read whole. In both cases the PortAudio callback only copies the next samples into the output
buffer and advances the position. ``play``/``pause``/``resume``/``stop``/``seek`` are called from the
controlling (GUI) thread; :meth:`Player.poll` reports the playhead and whether the clip reached its end.
Files with more than two channels are mixed to mono.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from mellow.audio import to_mono
from mellow.audio_io.devices import (
    AudioUnavailable,
    close_stream,
    open_stream,
    sounddevice_module,
)
from mellow.errors import AudioError, one_line

FEED_CHUNK = 8192
"""Frames per chunk read by the file feeder."""

FEED_AHEAD_S = 1.5
"""How far ahead of the playhead the feeder reads."""

_EOF = np.zeros((0, 0), dtype=np.float32)


@dataclass(frozen=True)
class PlayerStatus:
    """A snapshot for the GUI. ``state``: "empty", "stopped", "playing", "paused" or "finished"."""

    state: str
    position_s: float
    duration_s: float
    path: Path | None = None
    error: str | None = None


def _playable(block: np.ndarray) -> np.ndarray:
    """float32 (frames, 1 or 2): over two channels are mixed to mono; NaN/Inf become silence/full scale."""
    x = block if block.ndim == 2 else block[:, None]
    if x.shape[1] > 2:
        x = to_mono(x)[:, None]
    return np.nan_to_num(x.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=-1.0)


class _FileFeed:
    """Reads a file from frame ``start`` into a deque of chunks, at most ``ahead`` frames past the reader."""

    def __init__(self, path: Path, start: int, samplerate: int) -> None:
        self.chunks: collections.deque[np.ndarray] = collections.deque()
        self.path = path
        self.start = start
        self.ahead = int(FEED_AHEAD_S * samplerate)
        self.consumed = 0  # frames taken by the callback (written by the audio thread only)
        self.produced = 0
        self.error: str | None = None
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mellow-player-feed", daemon=True)

    def start_thread(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            with sf.SoundFile(str(self.path)) as f:
                f.seek(min(self.start, f.frames))
                while not self._halt.is_set():
                    if self.produced - self.consumed >= self.ahead:
                        self._halt.wait(0.01)
                        continue
                    block = f.read(FEED_CHUNK, dtype="float32", always_2d=True)
                    if block.shape[0] == 0:
                        break
                    self.chunks.append(_playable(block))
                    self.produced += block.shape[0]
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            self.error = f"playback stopped: cannot read {self.path.name} ({one_line(exc)})"
        self.chunks.append(_EOF)

    def stop(self) -> None:
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


class Player:
    """Play one clip at a time on an output device."""

    def __init__(self, *, device: int | str | None = None, latency: float | str = 0.1) -> None:
        self.device = device
        self.latency = latency
        self.samplerate = 0
        self.channels = 1
        self.path: Path | None = None
        self._data: np.ndarray | None = None  # in-memory clip, or None for a file clip
        self._frames = 0
        self._pos = 0  # next frame to play; advanced by the callback while playing
        self._stream: Any = None
        self._feed: _FileFeed | None = None
        self._chunk = _EOF
        self._chunk_pos = 0
        self._state = "empty"
        self._error: str | None = None
        self._ended = threading.Event()
        self._delivered = threading.Event()  # set by the callback once the open stream got its first samples
        self._callback_stop: type[Exception] = Exception

    # ------------------------------------------------------------------------------------------- loading

    def load(self, data: np.ndarray, samplerate: int) -> None:
        """Use ``data`` (frames,) or (frames, channels) float samples as the clip; stops any playback."""
        self.stop()
        x = np.asarray(data)
        if x.ndim not in (1, 2) or (x.ndim == 2 and x.shape[1] == 0):
            raise ValueError(f"expected (frames,) or (frames, channels), got shape {x.shape}")
        if samplerate <= 0:
            raise ValueError("samplerate must be positive")
        self._data = np.ascontiguousarray(_playable(x))
        self._frames = self._data.shape[0]
        self.channels = self._data.shape[1]
        self.samplerate = int(samplerate)
        self.path = None
        self._reset()

    def load_file(self, path: str | os.PathLike[str]) -> None:
        """Use an audio file as the clip (read while playing); AudioError if it cannot be opened."""
        p = Path(path)
        try:
            info = sf.info(str(p))
        except (sf.LibsndfileError, RuntimeError, OSError, TypeError, ValueError) as exc:
            raise AudioError(f"cannot play {p.name}: {one_line(exc)}") from None
        self.stop()
        self._data = None
        self._frames = int(info.frames)
        self.channels = 1 if info.channels > 2 else int(info.channels)
        self.samplerate = int(info.samplerate)
        self.path = p
        self._reset()

    def _reset(self) -> None:
        self._pos = 0
        self._state = "stopped"
        self._error = None

    # ------------------------------------------------------------------------------------------- transport

    @property
    def duration_s(self) -> float:
        return self._frames / self.samplerate if self.samplerate else 0.0

    @property
    def position_s(self) -> float:
        """Playhead in seconds: what has been handed to the device, less its output latency while playing."""
        if not self.samplerate:
            return 0.0
        pos = self._pos / self.samplerate
        stream = self._stream
        if stream is not None and self._state == "playing" and not self._ended.is_set():
            with contextlib.suppress(Exception):
                pos = max(0.0, pos - float(stream.latency))
        return pos

    @property
    def delivering(self) -> bool:
        """True once the playing stream has handed its first samples to the device (start-up is over)."""
        return self._state == "playing" and self._delivered.is_set()

    @property
    def state(self) -> str:
        self._update_end()
        return self._state

    def play(self, source: str | os.PathLike[str] | None = None, start_s: float | None = None) -> None:
        """Start playing (``source``: a file to load first; ``start_s``: where to start, else where it is).

        After the clip finished, playing starts again from the beginning. Raises AudioUnavailable when no
        output device can be used and AudioError when the file cannot be opened.
        """
        if source is not None and (self.path is None or Path(source) != self.path or self._data is not None):
            self.load_file(source)
        self._update_end()
        if self._state == "empty":
            raise RuntimeError("no clip loaded")
        if start_s is not None:
            self._close_stream()
            self._pos = self._frame_at(start_s)
        elif self._state == "playing":
            return
        elif self._state == "finished" or self._pos >= self._frames:
            self._pos = 0
        self._open_stream()

    def resume(self) -> None:
        """Continue from the current position."""
        if self.state != "playing":
            self.play()

    def pause(self) -> None:
        """Stop sound, keep the position."""
        self._update_end()
        if self._state == "playing":
            self._close_stream()
            self._state = "paused"

    def toggle(self) -> None:
        """Play if not playing, else pause (for the Space key)."""
        if self.state == "playing":
            self.pause()
        else:
            self.play()

    def stop(self) -> None:
        """Stop sound and rewind to the start."""
        self._close_stream()
        self._pos = 0
        if self._state != "empty":
            self._state = "stopped"

    def seek(self, seconds: float) -> None:
        """Move the playhead (clamped to the clip); keeps playing if it was."""
        if not self.samplerate:
            return
        self._update_end()
        if self._state == "playing":
            self.play(start_s=seconds)
            return
        self._pos = self._frame_at(seconds)
        if self._state == "finished":
            self._state = "paused"

    def close(self) -> None:
        """Release the device and the feeder thread (for window close)."""
        self._close_stream()

    def poll(self) -> PlayerStatus:
        """State, playhead and duration; "finished" once the clip played to its end."""
        self._update_end()
        return PlayerStatus(self._state, self.position_s, self.duration_s, self.path, self._error)

    # ------------------------------------------------------------------------------------------- internals

    def _frame_at(self, seconds: float) -> int:
        return min(int(round(max(0.0, seconds) * self.samplerate)), self._frames)

    def _open_stream(self) -> None:
        self._callback_stop = sounddevice_module().CallbackStop
        self._ended.clear()
        self._delivered.clear()
        self._chunk, self._chunk_pos = _EOF, 0
        if self._data is None and self.path is not None:
            self._feed = _FileFeed(self.path, self._pos, self.samplerate)
            self._feed.start_thread()
        try:
            opened = open_stream("output", self.device, channels=self.channels, samplerates=[self.samplerate],
                                 callback=self._callback, finished_callback=self._ended.set,
                                 latency=self.latency)
        except AudioUnavailable:
            self._close_stream()
            raise
        self._stream = opened.stream
        self._state = "playing"
        self._error = None

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        close_stream(stream)
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.stop()

    def _update_end(self) -> None:
        if self._state == "playing" and self._ended.is_set():
            feed_error = self._feed.error if self._feed is not None else None
            self._close_stream()
            if feed_error:
                self._state, self._error = "paused", feed_error
            elif self._pos >= self._frames:
                self._state = "finished"
            else:
                self._state = "paused"
                self._error = "playback stopped: the output device went away"

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio thread: copy the next samples; silence on underrun; finish the stream at the end."""
        channels = outdata.shape[1]
        if self._data is not None:
            chunk = self._data[self._pos : self._pos + frames, :channels]
            n = chunk.shape[0]
            outdata[:n] = chunk
            outdata[n:] = 0.0
            self._pos += n
            if n:
                self._delivered.set()
            if n < frames:
                raise self._callback_stop
            return
        feed = self._feed
        filled, at_end = 0, False
        while feed is not None and filled < frames:
            if self._chunk_pos >= self._chunk.shape[0]:
                try:
                    self._chunk, self._chunk_pos = feed.chunks.popleft(), 0
                except IndexError:
                    break  # underrun: the rest of this buffer is silence
                if self._chunk is _EOF:
                    at_end = True
                    break
            n = min(frames - filled, self._chunk.shape[0] - self._chunk_pos)
            outdata[filled : filled + n] = self._chunk[self._chunk_pos : self._chunk_pos + n, :channels]
            self._chunk_pos += n
            filled += n
        outdata[filled:] = 0.0
        self._pos += filled
        if filled:
            self._delivered.set()
        if feed is not None:
            feed.consumed += filled
        if at_end or feed is None:
            raise self._callback_stop
