"""Recording to a WAV file while it runs, polled by a GUI timer. No Qt here.

Data path: the PortAudio callback only copies each input block into a queue. A writer thread drains the
queue into a :class:`~mellow.audio_io.wav_writer.WavWriter`, computes the level, and flushes
the file (header sizes + fsync) every ``flush_interval_s`` (0.25 s by default), so a crash or SIGKILL loses
well under 1 s; :func:`~mellow.audio_io.wav_writer.repair_wav` restores such a file.

Failures (device gone, stream error, disk full) stop the recording, keep what was written, and appear as
``RecorderStatus.error``; :meth:`Recorder.stop` still returns the finished file.
"""

from __future__ import annotations

import collections
import os
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from mellow.audio_io.devices import (
    DEVICE_DEFAULT_RATE,
    STALL_TIMEOUT_S,
    STARTUP_TIMEOUT_S,
    close_stream,
    open_stream,
    sounddevice_module,
)
from mellow.audio_io.levels import to_dbfs
from mellow.audio_io.wav_writer import WavWriteError, WavWriter
from mellow.errors import one_line
from mellow_desktop.core.paths import recordings_dir

_NOTHING = np.zeros((0, 0), dtype=np.float32)  # "no block this time" (distinct from the None sentinel)

LEVEL_WINDOW_S = 0.15
"""The live level is the peak of the blocks received in this many recent seconds."""

_FALLBACK_RATES = (DEVICE_DEFAULT_RATE, 48000, 44100)
"""Rates tried, in this order, when the device refuses the requested one."""


@dataclass(frozen=True)
class RecorderStatus:
    """A snapshot for the GUI. ``state``: "idle", "recording", "stopped" or "failed"."""

    state: str
    path: Path | None
    elapsed_s: float
    level: float
    written_s: float
    samplerate: int
    overflows: int = 0
    error: str | None = None

    @property
    def level_dbfs(self) -> float:
        """The live level in dBFS (``-inf`` for silence)."""
        return to_dbfs(self.level)


def new_recording_path(directory: Path | None = None) -> Path:
    """``<recordings dir>/recording-YYYYmmdd-HHMMSS.wav``, made unique."""
    folder = directory or recordings_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = "recording-" + datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stem}.wav"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.wav"
    return path


class Recorder:
    """Record from an input device into a WAV file.

    Use from one controlling thread (the GUI): :meth:`start`, :meth:`poll` from a timer, :meth:`stop`.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        device: int | str | None = None,
        samplerate: int | None = 48000,
        channels: int = 1,
        subtype: str = "PCM_16",
        blocksize: int = 0,
        latency: float | str = 0.2,
        flush_interval_s: float = 0.25,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.device = device
        self.requested_samplerate = samplerate
        self.channels = channels
        self.subtype = subtype
        self.blocksize = blocksize
        # 0.2 s suits recording (no interaction); very low values make PulseAudio's ALSA plugin start late.
        self.latency = latency
        self.flush_interval_s = flush_interval_s
        self.samplerate = 0
        self.path: Path | None = None
        self._state = "idle"
        self._error: str | None = None
        self._queue: queue.SimpleQueue[np.ndarray | None] = queue.SimpleQueue()
        self._stream: Any = None
        self._writer: WavWriter | None = None
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()  # stop asked by the user or by a failure
        self._stream_done = threading.Event()  # PortAudio finished the stream
        self._frames_in = 0
        self._frames_written = 0
        self._overflows = 0
        self._last_block_time = 0.0
        self._failed = False
        self._callback_abort: type[BaseException] = Exception
        self._levels: collections.deque[tuple[float, float]] = collections.deque(maxlen=64)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------- control

    @property
    def is_recording(self) -> bool:
        return self._state == "recording"

    def start(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Open the device and the file and start recording; returns the file path.

        Raises :class:`AudioUnavailable` (no PortAudio, no device, settings refused) or ``WavWriteError``.
        """
        if self._state == "recording":
            raise RuntimeError("already recording")
        self._callback_abort = sounddevice_module().CallbackAbort
        self._reset_counters()
        rates = [self.requested_samplerate, *_FALLBACK_RATES]
        opened = open_stream("input", self.device, channels=self.channels, samplerates=rates,
                             callback=self._callback, finished_callback=self._stream_done.set,
                             latency=self.latency, blocksize=self.blocksize)
        self._stream = opened.stream  # blocks wait in the queue until the writer thread starts
        self.samplerate, self.channels = opened.samplerate, opened.channels
        try:
            self.path = Path(path) if path else new_recording_path(self.directory)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = WavWriter(self.path, self.samplerate, self.channels, self.subtype)
        except BaseException:
            self._close_stream()
            raise
        self._last_block_time = time.monotonic()
        self._state = "recording"
        self._thread = threading.Thread(target=self._drain, name="mellow-recorder-writer", daemon=True)
        self._thread.start()
        return self.path

    def _reset_counters(self) -> None:
        self._error = None
        self._halt.clear()
        self._stream_done.clear()
        self._frames_in = self._frames_written = self._overflows = 0
        self._failed = False
        self._levels.clear()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def stop(self) -> Path:
        """Stop, finish the file and return its path (also after a failure: what was recorded is kept)."""
        if self._thread is None or self.path is None:
            raise RuntimeError("not recording")
        self._halt.set()
        self._close_stream()
        self._queue.put(None)
        self._thread.join()
        self._thread = None
        if self._state == "recording":
            self._state = "stopped"
        return self.path

    def close(self) -> None:
        """Stop if recording (for window close); safe to call any time."""
        if self._thread is not None:
            self.stop()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        close_stream(stream)

    # ------------------------------------------------------------------------------------------- audio thread

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio thread: copy the block into the queue, nothing else (ends the stream after a failure)."""
        if self._failed:
            raise self._callback_abort
        if status and status.input_overflow:
            self._overflows += 1
        self._queue.put(indata.copy())
        self._frames_in += frames

    # ------------------------------------------------------------------------------------------- writer

    def _drain(self) -> None:
        """Writer thread: queue -> file, level, periodic flush; ends at stop()'s sentinel or on failure."""
        writer = self._writer
        assert writer is not None
        last_flush = time.monotonic()
        try:
            while not self._failed:
                try:
                    block = self._queue.get(timeout=0.05)
                except queue.Empty:
                    if not self._halt.is_set():
                        self._check_stream()
                    block = _NOTHING
                if block is None:  # stop() closed the stream and queued the sentinel
                    break
                if block is not _NOTHING:
                    self._write(writer, block)
                if time.monotonic() - last_flush >= self.flush_interval_s:
                    writer.flush()
                    last_flush = time.monotonic()
            if self._failed:  # keep whatever the device delivered before it failed
                while True:
                    try:
                        block = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if block is not None:
                        self._write(writer, block)
        except WavWriteError as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - keep the file whatever happens
            self._fail(f"recording stopped: {one_line(exc)}")
        finally:
            try:
                writer.close()
            except WavWriteError as exc:
                self._fail(str(exc))
            self._frames_written = writer.frames_written

    def _write(self, writer: WavWriter, block: np.ndarray) -> None:
        self._last_block_time = time.monotonic()
        writer.write(block)
        self._frames_written = writer.frames_written
        peak = float(np.max(np.abs(block))) if block.size else 0.0
        with self._lock:
            self._levels.append((time.monotonic(), peak))

    def _check_stream(self) -> None:
        """Detect a device that went away: the stream ended by itself, or no audio for a while.

        Uses only the finished-callback flag and timestamps: the writer thread never calls PortAudio.
        """
        limit = STALL_TIMEOUT_S if self._frames_in else STARTUP_TIMEOUT_S
        stalled = time.monotonic() - self._last_block_time > limit
        ended = self._stream_done.is_set()
        if ended or stalled:
            why = "the input stream ended" if ended else f"no audio for {limit:.0f} s"
            self._fail(f"recording stopped: {why} (device disconnected?); what was recorded is kept")

    def _fail(self, message: str) -> None:
        """Writer thread: stop recording after an error.

        Only the controlling thread calls PortAudio (``stop()`` aborts and closes the stream; aborts from two
        threads at once can deadlock); here the callback is told to end the stream itself.
        """
        if self._error is None:
            self._error = message
        self._failed = True
        self._state = "failed"

    # ------------------------------------------------------------------------------------------- polling

    def poll(self) -> RecorderStatus:
        """Current state, elapsed time, live peak level (linear 0..1) and any error; cheap, never blocks."""
        now = time.monotonic()
        with self._lock:
            level = max((p for t, p in self._levels if now - t <= LEVEL_WINDOW_S), default=0.0)
        rate = self.samplerate or 1
        return RecorderStatus(
            state=self._state,
            path=self.path,
            elapsed_s=self._frames_in / rate,
            level=min(level, 1.0),
            written_s=self._frames_written / rate,
            samplerate=self.samplerate,
            overflows=self._overflows,
            error=self._error,
        )
