"""Recording and playback for one clip panel, on the Qt-free cores of :mod:`mellow_desktop.core.audio_io`.

One QTimer polls the recorder or player at display rate, and runs only while something records or plays. The
audio callbacks themselves never touch Qt: they only copy samples (see ``audio_io``). Playback streams the
file from the window start through the player's file feed, so a clip of any length plays without loading it.

Until the started player has delivered its first samples, and for :data:`START_GRACE_S` after ``play``
returned (clicks made while the device was opening arrive then), Play/Pause clicks are ignored: a second
click during start-up does not cancel it (Stop still stops). :meth:`ClipTransport.seek` moves a playing
clip to another time of its file.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from mellow.audio_io.devices import AudioUnavailable
from mellow.errors import MellowError, one_line
from mellow_desktop.qt.jobs import failure_message

POLL_MS = 33
START_GRACE_S = 0.3
"""After playback started, Play/Pause clicks are ignored this long (they were made during start-up)."""


class ClipTransport(QObject):
    """Record into a new WAV under the data dir; play a clip from its window start with a playhead."""

    recorded = Signal(object)  # Path of a finished recording (not emitted while shutting down)
    recording_started = Signal(object)  # Path being written
    error = Signal(str)  # one-line message for the panel's banner
    changed = Signal()  # recording/playing state changed
    level = Signal(float, float)  # live input level (dBFS) and elapsed seconds while recording
    playhead = Signal(object)  # seconds in the file, or None to hide it
    silent_input = Signal(str)  # the "input was silent" notice, once per recording (after 2 s of silence)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.input_device: int | str | None = None
        self.output_device: int | str | None = None
        self._recorder: Any = None
        self._player: Any = None
        self._source: tuple[Path, float] | None = None  # what the player holds: (file, window start)
        self._shutting_down = False
        self._started_at = -math.inf  # time.monotonic() when play/resume last returned
        self._silence: Any = None  # SilenceWatch of the running recording
        self.recorded_from: tuple[Path, str] | None = None  # (last recording, its input device's name)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._tick)

    # ------------------------------------------------------------------------------------------- state
    def is_recording(self) -> bool:
        return self._recorder is not None

    def is_playing(self) -> bool:
        return self._player is not None and self._player.poll().state == "playing"

    def has_player(self) -> bool:
        return self._player is not None and self._player.poll().state in ("playing", "paused")

    # ------------------------------------------------------------------------------------------- recording
    def toggle_recording(self) -> None:
        """Start recording, or stop and emit :attr:`recorded`."""
        if self._recorder is not None:
            self.finish_recording()
            return
        from mellow_desktop.core.audio_io.recorder import Recorder
        from mellow_desktop.core.audio_io.silence import SilenceWatch, input_device_name

        self.stop_playback()
        recorder = Recorder(device=self.input_device)
        try:
            path = recorder.start()
        except (AudioUnavailable, OSError) as exc:
            self.error.emit(f"Cannot record: {exc}")
            return
        self._recorder = recorder
        self._silence = SilenceWatch(input_device_name(self.input_device))
        self.recorded_from = (Path(path), self._silence.device_name)
        self.recording_started.emit(path)
        self._timer.start()
        self.changed.emit()

    def finish_recording(self) -> Path | None:
        """Stop recording; the file is complete on disk (also after a device error)."""
        rec, self._recorder = self._recorder, None
        if rec is None:
            return None
        try:
            path = rec.stop()
        except Exception as exc:  # keep going: the file on disk is what counts
            message = failure_message(exc, "stopping the recorder")
            self.error.emit(f"Recording stopped with an error: {message}")
            path = rec.path
        finally:
            rec.close()
        self._stop_timer_if_idle()
        self.changed.emit()
        if path is not None and Path(path).exists() and not self._shutting_down:
            self.recorded.emit(Path(path))
        return path

    # ------------------------------------------------------------------------------------------- playback
    def toggle_playback(self, path: Path, start_s: float) -> None:
        """Play ``path`` from ``start_s``, pause, or resume."""
        if self._recorder is not None:
            return
        state = self._player.poll().state if self._player is not None else "empty"
        if state == "playing" and self.is_starting():
            return  # still starting up: this click would only cancel it
        if state == "playing":
            self._player.pause()
            self._tick()
        else:
            resume = state == "paused" and self._source == (path, start_s)
            self._source = (path, start_s)
            self._start_player(None if resume else (path, start_s))
        self.changed.emit()

    def is_delivering(self) -> bool:
        """Playing, and the device has received its first samples."""
        return self._player is not None and self._player.delivering

    def is_starting(self) -> bool:
        """Playing, but no samples delivered to the device yet or started under :data:`START_GRACE_S` ago."""
        recent = time.monotonic() - self._started_at < START_GRACE_S
        return self.is_playing() and (recent or not self.is_delivering())

    def seek(self, seconds: float) -> bool:
        """Move a playing clip to ``seconds`` of its file (True), else do nothing (False)."""
        if not self.is_playing():
            return False
        try:
            self._player.seek(seconds)
        except (AudioUnavailable, RuntimeError) as exc:
            self.error.emit(f"Cannot play: {one_line(exc)}")
        self._tick()
        self.changed.emit()
        return True

    def _start_player(self, source: tuple[Path, float] | None) -> None:
        """Resume (``source`` None) or play a file from a start, streamed by the player's file feed."""
        from mellow_desktop.core.audio_io.player import Player

        try:
            if self._player is None:
                self._player = Player(device=self.output_device)
            if source is None:
                self._player.resume()
            else:
                self._player.play(source[0], start_s=source[1])
        except (AudioUnavailable, MellowError, RuntimeError, ValueError) as exc:
            message = one_line(exc)
            self.error.emit(message if isinstance(exc, MellowError) else f"Cannot play: {message}")
            return
        self._started_at = time.monotonic()
        self._timer.start()

    def stop_playback(self) -> None:
        """Stop and rewind; hides the playhead."""
        if self._player is not None:
            self._player.stop()
        self.playhead.emit(None)
        self._stop_timer_if_idle()
        self.changed.emit()

    def stop(self) -> None:
        """Stop playback and any recording (a recording is finished and kept)."""
        if self._recorder is not None:
            self.finish_recording()
        self.stop_playback()

    def shutdown(self) -> None:
        """Window closing: finish a recording (kept on disk, not reopened), release the output device."""
        self._shutting_down = True
        self.stop()
        if self._player is not None:
            self._player.close()
            self._player = None
        self._timer.stop()

    # ------------------------------------------------------------------------------------------- polling
    def _stop_timer_if_idle(self) -> None:
        if self._recorder is None and not self.is_playing():
            self._timer.stop()

    def _tick(self) -> None:
        if self._recorder is not None:
            st = self._recorder.poll()
            self.level.emit(st.level_dbfs, st.elapsed_s)
            notice = self._silence.update(st.level, st.elapsed_s) if self._silence is not None else None
            if notice:
                self._silence = None  # said once per recording
                self.silent_input.emit(notice)
            if st.state == "failed":
                self.error.emit(st.error or "recording failed")
                self.finish_recording()
            return
        if self._player is None:
            self._timer.stop()
            return
        st = self._player.poll()
        if st.state in ("playing", "paused"):
            self.playhead.emit(st.position_s)
            if st.state == "paused":
                self._timer.stop()
        else:
            self.playhead.emit(None)
            if st.error:
                self.error.emit(st.error)
            self._timer.stop()
            self.changed.emit()
