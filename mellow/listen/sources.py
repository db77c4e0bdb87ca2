"""Where live audio comes from: an input device through PortAudio, or a file played in real time (or
``speed`` times faster) for tests and demos.  Both write into the listener's
:class:`~mellow.listen.ring.Ring`.

:class:`DeviceSource`: the PortAudio callback only copies each block into the ring.  A supervisor thread (the
only one that calls PortAudio after the first open) notices a device that went away — the stream ended, or no
audio for :data:`~mellow.audio_io.devices.STALL_TIMEOUT_S` — says so, and tries to open it again every
``retry_s`` seconds; audio heard after it came back starts a new segment of the ring.

:class:`FileSource`: a thread reads the file block by block at the pace of the clock; the file's recorded
start time (:mod:`mellow.recordings`), when it has one, is the clock time of its first frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import soundfile as sf

from mellow.audio import audio_info
from mellow.audio_io.devices import (
    DEVICE_DEFAULT_RATE,
    STALL_TIMEOUT_S,
    STARTUP_TIMEOUT_S,
    AudioUnavailable,
    close_stream,
    open_stream,
    refresh_devices,
    sounddevice_module,
)
from mellow.errors import MellowError, one_line
from mellow.listen.ring import Ring

#: ``report(kind, text)``: how a source tells the listener what happened ("device-lost", "device-back",
#: "ended", "error").
Report = Callable[[str, str], None]

RETRY_S = 3.0
"""Seconds between tries to open an input device that went away."""

_RATES = (48000, DEVICE_DEFAULT_RATE, 44100, 32000)
"""Sample rates asked of an input device, in this order, when none is named."""


class SourceError(MellowError):
    """The input cannot be opened; the message says why in one line."""


def now() -> datetime:
    """The local clock time with its UTC offset."""
    return datetime.now().astimezone()


class InputSource(Protocol):
    """What the listener needs of an input."""

    label: str  # the device's name or the file's path, for messages and the session's record
    rate: int
    channels: int

    def open(self) -> None:
        """Open the input (``rate``/``channels`` are known afterwards); SourceError says why it cannot."""

    def start(self, ring: Ring, report: Report) -> None:
        """Start writing into ``ring`` (its first segment is marked here)."""

    def stop(self) -> None:
        """Stop writing and release the input; safe to call twice."""

    @property
    def ended(self) -> bool:
        """True once a finite input has delivered its last frame."""


# --------------------------------------------------------------------------------------------- device
class DeviceSource:
    """An input device (index, name, part of a name, or None for the default) through PortAudio.

    ``refresh``: when a device is gone, ask PortAudio for the device list again before each retry (finds a
    USB microphone plugged in again; it closes every PortAudio stream of the process, so an app that plays
    audio meanwhile passes False).
    """

    def __init__(self, device: int | str | None = None, samplerate: int | None = None, channels: int = 1,
                 retry_s: float = RETRY_S, latency: float | str = 0.2, refresh: bool = True) -> None:
        self.device = device
        self.requested_rate = samplerate
        self.channels = channels
        self.retry_s = retry_s
        self.latency = latency
        self.refresh = refresh
        self.rate = 0
        self.label = "the default input" if device is None else str(device)
        self.overflows = 0
        self._ring: Ring | None = None
        self._report: Report = lambda kind, text: None
        self._stream: Any = None
        self._stream_done = threading.Event()
        self._halt = threading.Event()
        self._dead = False
        self._frames = 0
        self._last_block = 0.0
        self._abort: type[BaseException] = Exception
        self._thread: threading.Thread | None = None

    @property
    def ended(self) -> bool:
        return False

    def open(self) -> None:
        try:
            self._abort = sounddevice_module().CallbackAbort
            rates = [self.requested_rate] if self.requested_rate else list(_RATES)
            self._open(rates, self.channels)
        except AudioUnavailable as exc:
            raise SourceError(str(exc)) from None

    def _open(self, rates: list[int], channels: int) -> None:
        self._stream_done = threading.Event()
        self._frames, self._last_block, self._dead = 0, time.monotonic(), False
        opened = open_stream("input", self.device, channels=channels, samplerates=rates,
                             callback=self._callback, finished_callback=self._stream_done.set,
                             latency=self.latency)
        self._stream, self.rate, self.channels = opened.stream, opened.samplerate, opened.channels
        self.label = opened.device.name

    def start(self, ring: Ring, report: Report) -> None:
        self._report = report
        ring.mark_segment(now())
        self._ring = ring
        self._thread = threading.Thread(target=self._supervise, name="mellow-listen-input", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        stream, self._stream = self._stream, None
        close_stream(stream)

    # ------------------------------------------------------------------------------------------- audio thread
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's thread: copy the block into the ring, nothing else."""
        if self._dead:
            raise self._abort
        if status and status.input_overflow:
            self.overflows += 1
        ring = self._ring
        if ring is not None:
            ring.write(indata)
        self._frames += frames
        self._last_block = time.monotonic()

    # ------------------------------------------------------------------------------------------- supervisor
    def _supervise(self) -> None:
        next_try, last_failure = 0.0, ""
        while not self._halt.wait(0.1):
            if self._stream is not None:
                why = self._lost()
                if why:
                    self._drop_stream()
                    self._report("device-lost", f"the input {self.label} stopped ({why}); trying again "
                                                f"every {self.retry_s:g} s")
                    next_try = time.monotonic() + self.retry_s
            elif time.monotonic() >= next_try:
                failure = self._reopen()
                if failure is None:
                    self._report("device-back", f"the input {self.label} is back; listening again")
                    last_failure = ""
                else:
                    if failure != last_failure:
                        self._report("device-retry", f"the input is still unavailable: {failure}")
                    last_failure = failure
                    next_try = time.monotonic() + self.retry_s

    def _lost(self) -> str:
        """Why the running stream counts as gone ("" while it delivers)."""
        if self._stream_done.is_set():
            return "the input stream ended; was the device unplugged?"
        limit = STALL_TIMEOUT_S if self._frames else STARTUP_TIMEOUT_S
        if time.monotonic() - self._last_block > limit:
            return f"no audio for {limit:.0f} s; was the device unplugged?"
        return ""

    def _drop_stream(self) -> None:
        self._dead = True  # the callback ends the stream from its side too
        stream, self._stream = self._stream, None
        close_stream(stream)

    def _reopen(self) -> str | None:
        """Open the device again with the ring's rate and channels; None on success, else the reason."""
        if self.refresh:
            refresh_devices()
        rate, channels = self.rate, self.channels
        try:
            self._open([rate], channels)
        except AudioUnavailable as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - PortAudio errors of every kind: retried later
            return one_line(exc)
        if (self.rate, self.channels) != (rate, channels):
            self._drop_stream()
            self.rate, self.channels = rate, channels
            return f"it came back with {self.channels} channels, not {channels}"
        assert self._ring is not None
        self._ring.mark_segment(now())
        return None


# --------------------------------------------------------------------------------------------- file
class FileSource:
    """An audio file played in real time (``speed`` 1) or ``speed`` times faster."""

    def __init__(self, path: str | Path, speed: float = 1.0, tick_s: float = 0.05) -> None:
        if not speed > 0:
            raise SourceError(f"--speed must be more than 0, not {speed:g}")
        self.path = Path(path).expanduser().resolve()
        self.speed = float(speed)
        self.tick_s = tick_s
        self.label = str(self.path)
        self.rate = 0
        self.channels = 0
        self._halt = threading.Event()
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def open(self) -> None:
        try:
            info = audio_info(self.path)
        except MellowError as exc:
            raise SourceError(str(exc)) from None
        if info.frames <= 0 or info.sample_rate <= 0:
            raise SourceError(f"{self.path} contains no audio samples")
        self.rate, self.channels = info.sample_rate, info.channels

    def start(self, ring: Ring, report: Report) -> None:
        ring.mark_segment(self._recorded_start() or now())
        self._thread = threading.Thread(target=self._pump, args=(ring, report), name="mellow-listen-file",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _recorded_start(self) -> datetime | None:
        from mellow.recordings import read_recording

        try:
            return read_recording(self.path).start
        except Exception:  # noqa: BLE001 - metadata is a bonus: without it the clock starts now
            return None

    def _pump(self, ring: Ring, report: Report) -> None:
        """Write the file into the ring at the pace of the clock times ``speed``."""
        try:
            with sf.SoundFile(str(self.path)) as f:
                t0, sent, most = time.monotonic(), 0, max(1, ring.capacity // 4)
                while not self._halt.is_set():
                    due = int((time.monotonic() - t0) * self.speed * self.rate)
                    if due > sent:
                        block = f.read(min(due - sent, most), dtype="float32", always_2d=True)
                        if not len(block):
                            break
                        ring.write(block)
                        sent += len(block)
                    self._halt.wait(self.tick_s)
            if not self._halt.is_set():
                report("ended", f"the end of {self.path.name} was reached")
        except Exception as exc:  # noqa: BLE001 - a file that fails mid-way ends the input with its reason
            report("error", f"reading {self.path.name} failed: {one_line(exc)}")
        finally:
            self._ended.set()
