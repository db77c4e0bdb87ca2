"""One clip slot ("Clip A" or "Clip B"): open, drop, record, play, clear; waveform, spectrogram, facts.

Files are read in the background by the panel's :class:`~mellow_desktop.qt.widgets.clip_reader.ClipReader`
(only the latest request's results arrive); the panel keeps showing its previous clip until the new one has
been read successfully, and shows an error banner (keeping the previous clip) when not.
Recording and playback are :class:`~mellow_desktop.qt.widgets.clip_transport.ClipTransport`'s.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QFrame, QVBoxLayout, QWidget

from mellow.timefmt import format_seconds
from mellow_desktop.core.audio_io.silence import silent_input_notice
from mellow_desktop.core.clip_analysis import WINDOW_SECONDS, Trace, WindowAnalysis, clamp_start
from mellow_desktop.core.clip_io import ClipFacts, OpenedClip, overview_trace
from mellow_desktop.core.overview import Overview
from mellow_desktop.core.session import ClipState
from mellow_desktop.qt.widgets.clip_controls import NO_CLIP_TEXT, ClipControls, ClipInfoRows, error_banner
from mellow_desktop.qt.widgets.clip_reader import ClipReader
from mellow_desktop.qt.widgets.clip_transport import ClipTransport
from mellow_desktop.qt.widgets.live_waveform import LiveWaveform
from mellow_desktop.qt.widgets.overview_strip import OverviewNavigator
from mellow_desktop.qt.widgets.spectrogram_view import SpectrogramView
from mellow_desktop.qt.widgets.waveform_view import DETAIL_BINS, WaveformView

AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.oga *.mp3 *.aif *.aiff *.au *.w64 *.caf);;All files (*)"


def _transport_setting(name: str, doc: str) -> property:
    """A panel property that reads and writes its transport's attribute ``name``."""
    return property(lambda self: getattr(self.transport, name),
                    lambda self, value: setattr(self.transport, name, value), doc=doc)


class ClipPanel(QFrame):
    """A clip slot with its own plots, buttons and background jobs."""

    clip_changed = Signal(str)  # slot name; emitted when a clip is loaded, replaced, cleared
    window_changed = Signal(str)  # slot name; the analysis window moved
    facts_changed = Signal(str)  # slot name; measurements arrived
    message = Signal(str)  # status-bar text
    folder_dropped = Signal(str)  # a folder was dropped here: the window opens it as a deployment

    def __init__(self, slot: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slot = slot
        self.setObjectName(f"clipPanel{slot}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self._state: ClipState | None = None
        self._pending_start = 0.0
        self._record_reason: str | None = None
        self.last_folder = ""
        self.reader = ClipReader(self)
        self.transport = ClipTransport(self)
        self._build()
        r, t = self.reader, self.transport
        for signal, slot in ((r.opened, self._on_opened), (r.open_failed, self._on_open_failed),
                             (r.measured, self._on_facts), (r.measure_failed, self._on_facts_failed),
                             (r.window_ready, self._on_window), (r.detail_ready, self._on_detail),
                             (t.recorded, self.open_file), (t.recording_started, self._on_recording_started),
                             (t.error, self.show_error), (t.silent_input, self.show_error),
                             (t.changed, self._update_buttons),
                             (t.level, self.info_rows.show_level), (t.level, self.live_waveform.add_db),
                             (t.playhead, self.waveform.set_playhead),
                             (t.playhead, self.navigator.set_playhead)):
            signal.connect(slot)
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
        self.error_label = error_banner(self)
        self.navigator = OverviewNavigator(self)
        self.navigator.window_requested.connect(self.set_window_start)
        self.navigator.message.connect(self.message)
        self.navigator.strip.seek_requested.connect(self.seek_playback)
        self.navigator.strip.overview_ready.connect(self._on_overview)
        self.waveform = WaveformView(self)
        self.waveform.window_moved.connect(self.set_window_start)
        self.waveform.detail_wanted.connect(self._on_detail_wanted)
        self.spectrogram = SpectrogramView(self)
        for view in (self.waveform, self.spectrogram):
            view.setAcceptDrops(False)  # a file dropped on a plot goes to the panel
            view.viewport().setAcceptDrops(False)
        self.live_waveform = LiveWaveform(self)  # in place of the clip's plots while recording
        self.live_waveform.setVisible(False)
        self.info_rows = i = ClipInfoRows(self)
        self.window_label, self.facts_label = i.window_label, i.facts_label
        self.meter, self.elapsed_label = i.meter, i.elapsed_label
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(4)
        lay.addWidget(self.controls)
        lay.addWidget(self.error_label)
        lay.addWidget(self.navigator)
        lay.addWidget(self.waveform, 4)
        lay.addWidget(self.spectrogram, 5)
        lay.addWidget(self.live_waveform, 9)
        lay.addWidget(self.info_rows)

    # ------------------------------------------------------------------------------------------- state
    def state(self) -> ClipState | None:
        """The loaded clip, or None."""
        return self._state

    def is_loading(self) -> bool:
        return self.reader.loading is not None

    def set_state(self, state: ClipState | None) -> None:
        """Show ``state`` (used by Swap A⇄B) without reading the file again."""
        self.stop_audio()
        self.reader.invalidate()
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
            self.navigator.show_file(None, 0.0)
            self.spectrogram.set_analysis(None)
        else:
            self.waveform.set_overview(s.overview, s.info.duration)
            self.waveform.set_window(s.start_s)
            self.navigator.show_file(s.path, s.info.duration)
            self.navigator.set_window(s.start_s)
            self.spectrogram.set_analysis(s.window)
        self.name_label.setText(s.path.name if s else NO_CLIP_TEXT)
        self.name_label.setToolTip(str(s.path) if s else "")
        self.info_rows.show_clip(s)
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
        self._pending_start, self.last_folder = start_s, str(p.parent)
        self.name_label.setText(f"opening {p.name}…")
        self.message.emit(f"Opening {p.name}…")
        self.reader.open(p)

    def _on_opened(self, opened: OpenedClip) -> None:
        self.stop_audio()
        self.hide_error()
        self._state = ClipState.opened(opened)
        self._show_state()
        self.message.emit(f"Clip {self.slot}: {opened.path.name} ({format_seconds(opened.info.duration)})")
        self.clip_changed.emit(self.slot)
        start = clamp_start(opened.info, self._pending_start)
        if start > 0:
            self.set_window_start(start)

    def _on_overview(self, ov: Overview) -> None:
        """A first, approximate waveform (a long streamed file) is refined by each overview snapshot."""
        s = self._state
        if s is not None and not s.overview.exact and ov.frames == s.info.frames:
            self._state = replace(s, overview=overview_trace(ov))
            self.waveform.refine_overview(self._state.overview)

    def _on_open_failed(self, path: Path | None, message: str) -> None:
        self._show_state()
        kept = f" Clip {self.slot} still holds {self._state.path.name}." if self._state else ""
        what = f"Could not open {path.name}: " if path else ""
        self.show_error(f"{what}{message}.{kept}".replace("..", "."))

    def _on_facts(self, facts: ClipFacts) -> None:
        if self._state is not None:
            self._state = replace(self._state, facts=facts)
            self.facts_changed.emit(self.slot)
            recorded = self.transport.recorded_from
            if recorded is not None and recorded[0] == self._state.path:
                notice = silent_input_notice(facts.measurements.peak_dbfs, recorded[1])
                if notice:
                    self.show_error(notice)

    def _on_facts_failed(self, message: str) -> None:
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
        if s is not None:
            start = clamp_start(s.info, start_s)
            self.waveform.set_window(start)
            self.navigator.set_window(start)
            self.reader.analyse(s.info, start)

    def _on_window(self, analysis: WindowAnalysis) -> None:
        if self._state is None:
            return
        self._state = replace(self._state, window=analysis)
        self.spectrogram.set_analysis(analysis)
        self.waveform.set_window(analysis.start_s)
        self.navigator.set_window(analysis.start_s)
        self.window_label.setText(self._state.heard_text())
        self.window_changed.emit(self.slot)

    def step_window(self, hops: int) -> None:
        """Move the analysis window by ``hops`` hops of 10 s (PageDown: +1, PageUp: -1)."""
        s = self._state
        if s is not None:
            self.set_window_start(self.waveform.window_start() + hops * WINDOW_SECONDS)

    def _on_detail_wanted(self, t0: float, t1: float) -> None:
        s = self._state
        if s is not None:
            rate = s.info.sample_rate
            self.reader.detail(s.info, int(t0 * rate), int(math.ceil(t1 * rate)), DETAIL_BINS)

    def _on_detail(self, detail: Trace) -> None:
        if self._state is not None:
            self.waveform.set_detail(detail)

    def dragEnterEvent(self, ev: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev: QDropEvent) -> None:  # noqa: N802 (Qt override)
        files = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if files:
            ev.acceptProposedAction()
            if Path(files[0]).is_dir():
                self.folder_dropped.emit(files[0])
            else:
                self.open_file(files[0])

    # ------------------------------------------------------------------------------------------- audio
    input_device = _transport_setting("input_device", "The recording device (None: the system default).")
    output_device = _transport_setting("output_device", "The playback device (None: the system default).")

    def set_recording_unavailable(self, reason: str | None) -> None:
        """Disable Record with ``reason`` in its tooltip and a note under the clip (None enables it)."""
        self._record_reason = reason
        self.info_rows.show_record_note(reason)
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

    def seek_playback(self, seconds: float) -> None:
        """Move playback to ``seconds`` of the file (a click on the overview while playing)."""
        if self.transport.seek(seconds):
            self.message.emit(f"Playing Clip {self.slot} from {format_seconds(seconds)}")

    def stop_audio(self) -> None:
        """Stop playback and any recording (a recording is finished, kept and loaded)."""
        self.transport.stop()

    def shutdown(self) -> None:
        """Window closing: stop audio (a recording is finished and kept) and release the devices."""
        self.transport.shutdown()
        self.navigator.strip.stop()

    def _on_recording_started(self, path: Path) -> None:
        self.hide_error()
        self.live_waveform.start()
        self.message.emit(f"Recording Clip {self.slot} to {path.name}…")

    def _update_buttons(self) -> None:
        recording = self.transport.is_recording()
        self.info_rows.show_recording(recording)
        for view in (self.waveform, self.spectrogram):
            view.setVisible(not recording)
        self.navigator.setVisible(not recording and self._state is not None)  # no file: no overview
        self.navigator.strip.seek_on_click = self.transport.is_playing()
        self.live_waveform.setVisible(recording)
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
