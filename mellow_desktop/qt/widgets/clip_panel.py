"""One clip slot ("Clip A" or "Clip B"): open, drop, record, play, clear; waveform, spectrogram, facts.

Files are read by the panel's :class:`~mellow_desktop.qt.jobs.JobRunner` (work from
:mod:`mellow_desktop.core.clip_io`); the panel keeps showing its previous clip until the new one has been read
successfully, and shows an error banner (keeping the previous clip) when not. Every request carries a ticket:
only results of the latest request are shown, so a slow, outdated job never overwrites a newer clip.
Recording and playback are :class:`~mellow_desktop.qt.widgets.clip_transport.ClipTransport`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mellow.measurements import format_seconds
from mellow_desktop.core.clip_analysis import Trace, WindowAnalysis, analyse_window, clamp_start, trace
from mellow_desktop.core.clip_io import ClipFacts, OpenedClip, clip_facts, open_clip
from mellow_desktop.core.session import ClipState, describe_file
from mellow_desktop.qt.jobs import JobRunner
from mellow_desktop.qt.widgets.clip_controls import NO_CLIP_TEXT, ClipControls
from mellow_desktop.qt.widgets.clip_transport import ClipTransport
from mellow_desktop.qt.widgets.level_meter import LevelMeter
from mellow_desktop.qt.widgets.spectrogram_view import SpectrogramView
from mellow_desktop.qt.widgets.waveform_view import DETAIL_BINS, WaveformView

AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.oga *.mp3 *.aif *.aiff *.au *.w64 *.caf);;All files (*)"
ERROR_STYLE = (
    "background: #f8d7da; color: #58151c; border: 1px solid #f1aeb5; border-radius: 4px; padding: 4px 8px;"
)
READING, MEASURING = "reading the file", "measuring the file"


class ClipPanel(QFrame):
    """A clip slot with its own plots, buttons and background jobs."""

    clip_changed = Signal(str)  # slot name; emitted when a clip is loaded, replaced, cleared
    window_changed = Signal(str)  # slot name; the analysis window moved
    facts_changed = Signal(str)  # slot name; measurements arrived
    message = Signal(str)  # status-bar text

    def __init__(self, slot: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slot = slot
        self.setObjectName(f"clipPanel{slot}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self._state: ClipState | None = None
        self._ticket = 0  # latest request; older results are ignored
        self._window_ticket = 0
        self._loading_path: Path | None = None
        self._pending_start = 0.0
        self._record_reason: str | None = None
        self.last_folder = ""
        self._jobs = JobRunner(self)
        self.transport = ClipTransport(self)
        self._build()
        self.transport.recorded.connect(self.open_file)
        self.transport.recording_started.connect(self._on_recording_started)
        self.transport.error.connect(self.show_error)
        self.transport.changed.connect(self._update_buttons)
        self.transport.level.connect(self._on_level)
        self.transport.playhead.connect(self.waveform.set_playhead)
        self._update_buttons()

    def _build(self) -> None:
        self.controls = ClipControls(self.slot, self)
        c = self.controls
        self.name_label, self.open_button, self.record_button = c.name_label, c.open_button, c.record_button
        self.play_button, self.stop_button, self.clear_button = c.play_button, c.stop_button, c.clear_button
        for button, slot in ((c.open_button, self.choose_file), (c.record_button, self.toggle_recording),
                             (c.play_button, self.toggle_playback), (c.stop_button, self.stop_audio),
                             (c.clear_button, self.clear)):
            button.clicked.connect(slot)
        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setVisible(False)
        self.waveform = WaveformView(self)
        self.waveform.window_moved.connect(self.set_window_start)
        self.waveform.detail_wanted.connect(self._on_detail_wanted)
        self.spectrogram = SpectrogramView(self)
        for view in (self.waveform, self.spectrogram):
            view.setAcceptDrops(False)  # a file dropped on a plot goes to the panel
            view.viewport().setAcceptDrops(False)
        self.window_label = QLabel("", self)
        self.window_label.setToolTip("The 10 s the model hears: mono, resampled to 32 kHz")
        self.hover_label = QLabel("", self)
        self.hover_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.spectrogram.readout.connect(self.hover_label.setText)
        self.facts_label = QLabel("", self)
        self.facts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meter = LevelMeter(self)
        self.meter.setVisible(False)
        self.elapsed_label = QLabel("", self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(4)
        lay.addWidget(self.controls)
        lay.addWidget(self.error_label)
        lay.addWidget(self.waveform, 4)
        lay.addWidget(self.spectrogram, 5)
        rows = ((self.window_label, self.hover_label), (self.facts_label, self.meter, self.elapsed_label))
        for row in rows:
            line = QHBoxLayout()
            line.addWidget(row[0], 1)
            for w in row[1:]:
                line.addWidget(w)
            lay.addLayout(line)

    # ------------------------------------------------------------------------------------------- state
    def state(self) -> ClipState | None:
        """The loaded clip, or None."""
        return self._state

    def is_loading(self) -> bool:
        return self._loading_path is not None

    def set_state(self, state: ClipState | None) -> None:
        """Show ``state`` (used by Swap A⇄B) without reading the file again."""
        self.stop_audio()
        self._ticket += 1
        self._loading_path = None
        self._state = state
        self._show_state()
        self.clip_changed.emit(self.slot)

    def clear(self) -> None:
        """Remove the clip from this slot."""
        self.hide_error()
        self.set_state(None)

    def _show_state(self) -> None:
        s = self._state
        if s is None:
            self.waveform.clear_clip()
            self.spectrogram.set_analysis(None)
        else:
            self.waveform.set_overview(s.overview, s.info.duration)
            self.waveform.set_window(s.start_s)
            self.spectrogram.set_analysis(s.window)
        self.name_label.setText(s.path.name if s else NO_CLIP_TEXT)
        self.name_label.setToolTip(str(s.path) if s else "")
        self.facts_label.setText(describe_file(s.info) if s else "")
        self.window_label.setText(s.heard_text() if s else "")
        self._update_buttons()

    # ------------------------------------------------------------------------------------------- opening
    def choose_file(self) -> None:
        """Ask for a file and open it."""
        path, _ = QFileDialog.getOpenFileName(self, f"Open Clip {self.slot}", self.last_folder, AUDIO_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path, start_s: float = 0.0) -> None:
        """Read ``path`` in the background; on success it replaces the clip (window at ``start_s``)."""
        p = Path(path).expanduser()
        self._ticket += 1
        self._loading_path, self._pending_start, self.last_folder = p, start_s, str(p.parent)
        self.name_label.setText(f"opening {p.name}…")
        self.message.emit(f"Opening {p.name}…")
        self._submit(lambda: open_clip(p), self._on_opened, self._on_open_failed)

    def _submit(
        self,
        work: Callable[[], Any],
        on_done: Callable[[int, Any], None],
        on_failed: Callable[[int, str], None] | None = None,
        doing: str = READING,
    ) -> None:
        """Run ``work`` for the current ticket; ``on_done(ticket, result)`` / ``on_failed(ticket, msg)``."""
        t = self._ticket
        self._jobs.submit(work, lambda r: on_done(t, r), lambda m: on_failed and on_failed(t, m), doing)

    def _on_opened(self, ticket: int, opened: OpenedClip) -> None:
        if ticket != self._ticket:
            return
        self._loading_path = None
        self.stop_audio()
        self.hide_error()
        self._state = ClipState.opened(opened)
        self._show_state()
        self.message.emit(f"Clip {self.slot}: {opened.path.name} ({format_seconds(opened.info.duration)})")
        self.clip_changed.emit(self.slot)
        self._submit(lambda: clip_facts(opened.path), self._on_facts, self._on_facts_failed, MEASURING)
        start = clamp_start(opened.info, self._pending_start)
        if start > 0:
            self.set_window_start(start)

    def _on_open_failed(self, ticket: int, message: str) -> None:
        if ticket != self._ticket and ticket != self._window_ticket:
            return
        path, self._loading_path = self._loading_path, None
        self._show_state()
        kept = f" Clip {self.slot} still holds {self._state.path.name}." if self._state else ""
        what = f"Could not open {path.name}: " if path else ""
        self.show_error(f"{what}{message}.{kept}".replace("..", "."))

    def _on_facts(self, ticket: int, facts: ClipFacts) -> None:
        if ticket == self._ticket and self._state is not None:
            self._state = replace(self._state, facts=facts)
            self.facts_changed.emit(self.slot)

    def _on_facts_failed(self, ticket: int, message: str) -> None:
        if ticket == self._ticket:
            name = self._state.path.name if self._state else "the clip"
            self.show_error(f"Measuring {name} failed: {message}")

    def show_error(self, text: str) -> None:
        """Show an error banner in the panel (and in the status bar)."""
        self.error_label.setText(text)
        self.error_label.setVisible(True)
        self.message.emit(text)

    def hide_error(self) -> None:
        self.error_label.setVisible(False)

    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisible() else ""

    # ------------------------------------------------------------------------------------------- window
    def set_window_start(self, start_s: float) -> None:
        """Move the analysis window (seconds) and recompute its spectrogram in the background."""
        s = self._state
        if s is None:
            return
        start = clamp_start(s.info, start_s)
        self.waveform.set_window(start)
        self._window_ticket = self._ticket
        self._submit(lambda: analyse_window(s.info, start), self._on_window, self._on_open_failed)

    def _on_window(self, ticket: int, analysis: WindowAnalysis) -> None:
        if ticket != self._ticket or self._state is None:
            return
        self._state = replace(self._state, window=analysis)
        self.spectrogram.set_analysis(analysis)
        self.waveform.set_window(analysis.start_s)
        self.window_label.setText(self._state.heard_text())
        self.window_changed.emit(self.slot)

    def _on_detail_wanted(self, t0: float, t1: float) -> None:
        s = self._state
        if s is not None:
            first, last = int(t0 * s.info.sample_rate), int(math.ceil(t1 * s.info.sample_rate))
            self._submit(lambda: trace(s.info, first, last, DETAIL_BINS), self._on_detail)

    def _on_detail(self, ticket: int, detail: Trace) -> None:
        if ticket == self._ticket and self._state is not None:
            self.waveform.set_detail(detail)

    def dragEnterEvent(self, ev: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev: QDropEvent) -> None:  # noqa: N802 (Qt override)
        files = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if files:
            ev.acceptProposedAction()
            self.open_file(files[0])

    # ------------------------------------------------------------------------------------------- audio
    @property
    def input_device(self) -> int | str | None:
        return self.transport.input_device

    @input_device.setter
    def input_device(self, device: int | str | None) -> None:
        self.transport.input_device = device

    @property
    def output_device(self) -> int | str | None:
        return self.transport.output_device

    @output_device.setter
    def output_device(self, device: int | str | None) -> None:
        self.transport.output_device = device

    def set_recording_unavailable(self, reason: str | None) -> None:
        """Disable Record with ``reason`` in its tooltip (None enables it)."""
        self._record_reason = reason
        self._update_buttons()

    def is_recording(self) -> bool:
        return self.transport.is_recording()

    def toggle_recording(self) -> None:
        """Start recording into a new WAV under the data dir, or stop and load the recording."""
        self.transport.toggle_recording()

    def toggle_playback(self) -> None:
        """Play from the window start, pause, or resume."""
        if self._state is not None:
            self.transport.toggle_playback(self._state.path, self._state.start_s)

    def stop_audio(self) -> None:
        """Stop playback and any recording (a recording is finished, kept and loaded)."""
        self.transport.stop()

    def shutdown(self) -> None:
        """Window closing: stop audio (a recording is finished and kept) and release the devices."""
        self.transport.shutdown()

    def _on_recording_started(self, path: Path) -> None:
        self.hide_error()
        self.message.emit(f"Recording Clip {self.slot} to {path.name}…")

    def _on_level(self, db: float, elapsed_s: float) -> None:
        self.meter.set_level_db(db)
        self.elapsed_label.setText(f"● {format_seconds(elapsed_s)}")

    def _update_buttons(self) -> None:
        recording = self.transport.is_recording()
        self.meter.setVisible(recording)
        if not recording:
            self.elapsed_label.setText("")
        self.controls.refresh(self._state is not None, recording, self.transport.is_playing(),
                              self.transport.has_player(), self._record_reason)

    # ------------------------------------------------------------------------------------------- focus look
    def set_focused_look(self, focused: bool) -> None:
        """Outline the panel that Space / Ctrl+O act on."""
        color = self.palette().color(self.palette().ColorRole.Highlight).name() if focused else "transparent"
        radius = " border-radius: 4px;" if focused else ""
        self.setStyleSheet(f"#clipPanel{self.slot} {{ border: 2px solid {color};{radius} }}")

    def changeEvent(self, ev: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(ev)
        if ev.type() == QEvent.Type.PaletteChange and hasattr(self, "controls"):
            self.controls.refresh_icons()
            self._update_buttons()

    def event(self, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.MouseButtonPress:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
        return super().event(ev)


def panel_of(widget: QObject | None) -> ClipPanel | None:
    """The ClipPanel containing ``widget`` (or None)."""
    w = widget
    while w is not None:
        if isinstance(w, ClipPanel):
            return w
        w = w.parent()
    return None
