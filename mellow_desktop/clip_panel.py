"""One clip slot ("Clip A" or "Clip B"): open, drop, record, play, clear; waveform, spectrogram, facts.

Files are read on the thread pool (:mod:`mellow_desktop.clip_loader`); the panel keeps showing its previous
clip until the new one has been read successfully, and shows an error banner (keeping the previous clip)
when not.
Recording and playback use the Qt-free cores in :mod:`mellow_desktop.core.audio_io`, polled by one timer that
runs only while something is recording or playing.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QIcon
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mellow.audio import AudioInfo
from mellow.measurements import format_seconds
from mellow_desktop.clip_loader import ClipFacts, ClipJobs, OpenedClip
from mellow_desktop.clip_transport import ClipTransport
from mellow_desktop.core.clip_analysis import WINDOW_SECONDS, Trace, WindowAnalysis, clamp_start
from mellow_desktop.icons import transport_icon
from mellow_desktop.level_meter import LevelMeter
from mellow_desktop.spectrogram_view import SpectrogramView
from mellow_desktop.waveform_view import DETAIL_BINS, WaveformView

log = logging.getLogger(__name__)
AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.oga *.mp3 *.aif *.aiff *.au *.w64 *.caf);;All files (*)"


@dataclass(frozen=True)
class ClipState:
    """A loaded clip as the panel shows it; ``facts`` arrives a little after the clip is drawn."""

    path: Path
    info: AudioInfo
    overview: Trace
    window: WindowAnalysis
    facts: ClipFacts | None = None

    @property
    def start_s(self) -> float:
        return self.window.start_s

    def window_text(self) -> str:
        """``0:12.0–0:22.0`` or ``8.00 s, repeated to 10 s`` for short clips."""
        if self.info.duration < WINDOW_SECONDS:
            return f"whole {format_seconds(self.info.duration)}, repeated to 10 s"
        return f"{format_seconds(self.start_s)}–{format_seconds(self.start_s + WINDOW_SECONDS)}"


def describe_file(info: AudioInfo) -> str:
    """``8.00 s · 22 050 Hz · mono · FLAC 16-bit`` style summary."""
    ch = {1: "mono", 2: "stereo"}.get(info.channels, f"{info.channels} channels")
    subtype = info.subtype.replace("PCM_", "").replace("_", " ")
    subtype = f"{subtype}-bit" if subtype.isdigit() else subtype.lower()
    return (
        f"{format_seconds(info.duration)} · {info.sample_rate:,} Hz · {ch} · {info.format} {subtype}".replace(
            ",", "\u2009"
        )
    )


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
        self._detail_ticket = 0
        self._loading_path: Path | None = None
        self.last_folder = ""
        self._record_reason: str | None = None
        self._pending_start = 0.0
        self._jobs = ClipJobs(self)
        self._jobs.opened.done.connect(self._on_opened)
        self._jobs.opened.failed.connect(self._on_open_failed)
        self._jobs.facts.done.connect(self._on_facts)
        self._jobs.facts.failed.connect(self._on_facts_failed)
        self._jobs.window.done.connect(self._on_window)
        self._jobs.window.failed.connect(self._on_open_failed)
        self._jobs.detail.done.connect(self._on_detail)
        self.transport = ClipTransport(self._jobs, self)
        self._build()
        self.transport.recorded.connect(self.open_file)
        self.transport.recording_started.connect(self._on_recording_started)
        self.transport.error.connect(self.show_error)
        self.transport.changed.connect(self._update_buttons)
        self.transport.level.connect(self._on_level)
        self.transport.playhead.connect(self.waveform.set_playhead)
        self.set_recording_unavailable(None)
        self._update_buttons()

    # ------------------------------------------------------------------------------------------- layout
    def _button(self, text: str, icon: QIcon, tip: str, slot: object) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setIcon(icon)
        b.setToolTip(tip)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        b.setAutoRaise(True)
        b.clicked.connect(slot)
        return b

    def _build(self) -> None:
        st = self.style()
        title = QLabel(f"Clip {self.slot}", self)
        title.setStyleSheet("font-weight: 600; font-size: 11pt;")
        self.name_label = QLabel("no clip — open a file, drop one here or record", self)
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.name_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.open_button = self._button(
            "Open…",
            st.standardIcon(QStyle.StandardPixmap.SP_DialogOpenButton),
            f"Open an audio file as Clip {self.slot} (Ctrl+O)",
            self.choose_file,
        )
        self.record_button = self._button(
            "Record",
            transport_icon("record", self.palette()),
            f"Record Clip {self.slot} from the input device chosen in Settings (Ctrl+R)",
            self.toggle_recording,
        )
        self.play_button = self._button(
            "Play",
            transport_icon("play", self.palette()),
            "Play or pause this clip (Space)",
            self.toggle_playback,
        )
        self.stop_button = self._button(
            "Stop",
            transport_icon("stop", self.palette()),
            "Stop playback or recording",
            self.stop_audio,
        )
        self.clear_button = self._button(
            "Clear",
            st.standardIcon(QStyle.StandardPixmap.SP_DialogDiscardButton),
            f"Remove Clip {self.slot}",
            self.clear,
        )
        head = QHBoxLayout()
        head.setSpacing(6)
        head.addWidget(title)
        head.addWidget(self.name_label, 1)
        for b in (
            self.open_button,
            self.record_button,
            self.play_button,
            self.stop_button,
            self.clear_button,
        ):
            head.addWidget(b)

        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(
            "background: #f8d7da; color: #58151c; border: 1px solid #f1aeb5;"
            " border-radius: 4px; padding: 4px 8px;"
        )
        self.error_label.setVisible(False)

        self.waveform = WaveformView(self)
        self.waveform.window_moved.connect(self._on_window_dragged)
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
        under = QHBoxLayout()
        under.addWidget(self.window_label, 1)
        under.addWidget(self.hover_label)

        self.facts_label = QLabel("", self)
        self.facts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meter = LevelMeter(self)
        self.meter.setVisible(False)
        self.elapsed_label = QLabel("", self)
        foot = QHBoxLayout()
        foot.addWidget(self.facts_label, 1)
        foot.addWidget(self.meter)
        foot.addWidget(self.elapsed_label)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(4)
        lay.addLayout(head)
        lay.addWidget(self.error_label)
        lay.addWidget(self.waveform, 4)
        lay.addWidget(self.spectrogram, 5)
        lay.addLayout(under)
        lay.addLayout(foot)

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

    def _show_state(self) -> None:
        s = self._state
        if s is None:
            self.waveform.clear_clip()
            self.spectrogram.set_analysis(None)
            self.name_label.setText("no clip — open a file, drop one here or record")
            self.name_label.setToolTip("")
            self.facts_label.setText("")
            self.window_label.setText("")
        else:
            self.waveform.set_overview(s.overview, s.info.duration)
            self.waveform.set_window(s.start_s)
            self.spectrogram.set_analysis(s.window)
            self.name_label.setText(s.path.name)
            self.name_label.setToolTip(str(s.path))
            self.facts_label.setText(describe_file(s.info))
            self._show_window_text()
        self._update_buttons()

    def _show_window_text(self) -> None:
        s = self._state
        if s is None:
            return
        notes = []
        if s.info.channels > 1:
            notes.append(
                f"{'stereo' if s.info.channels == 2 else f'{s.info.channels} channels'} mixed to mono"
            )
        if s.info.sample_rate != 32000:
            notes.append(f"resampled {s.info.sample_rate / 1000:g} → 32 kHz")
        extra = f" ({'; '.join(notes)})" if notes else ""
        self.window_label.setText(f"Model hears: {s.window_text()}{extra}")

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
        self._loading_path = p
        self._pending_start = start_s
        self.last_folder = str(p.parent)
        self.name_label.setText(f"opening {p.name}…")
        self.message.emit(f"Opening {p.name}…")
        self._jobs.open(self._ticket, p)

    def _on_opened(self, ticket: int, opened: OpenedClip) -> None:
        if ticket != self._ticket:
            return
        self._loading_path = None
        self.stop_audio()
        self.hide_error()
        self._state = ClipState(
            path=opened.path, info=opened.info, overview=opened.overview, window=opened.window
        )
        self._show_state()
        self.message.emit(f"Clip {self.slot}: {opened.path.name} ({format_seconds(opened.info.duration)})")
        self.clip_changed.emit(self.slot)
        self._jobs.measure(ticket, opened.path)
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
        if ticket != self._ticket or self._state is None:
            return
        self._state = replace(self._state, facts=facts)
        self.facts_changed.emit(self.slot)

    def _on_facts_failed(self, ticket: int, message: str) -> None:
        if ticket == self._ticket:
            self.show_error(
                f"Measuring {self._state.path.name if self._state else 'the clip'} failed: {message}"
            )

    def show_error(self, text: str) -> None:
        """Show an error banner in the panel (and in the status bar)."""
        self.error_label.setText(text)
        self.error_label.setVisible(True)
        self.message.emit(text)

    def hide_error(self) -> None:
        self.error_label.setVisible(False)

    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisible() else ""

    def clear(self) -> None:
        """Remove the clip from this slot."""
        self.stop_audio()
        self._ticket += 1
        self._loading_path = None
        self._state = None
        self.hide_error()
        self._show_state()
        self.clip_changed.emit(self.slot)

    # ------------------------------------------------------------------------------------------- window
    def set_window_start(self, start_s: float) -> None:
        """Move the analysis window (seconds) and recompute its spectrogram in the background."""
        s = self._state
        if s is None:
            return
        start = clamp_start(s.info, start_s)
        self.waveform.set_window(start)
        self._window_ticket = self._ticket
        self._jobs.analyse_window(self._ticket, s.info, start)

    def _on_window_dragged(self, start_s: float) -> None:
        self.set_window_start(start_s)

    def _on_window(self, ticket: int, analysis: WindowAnalysis) -> None:
        if ticket != self._ticket or self._state is None:
            return
        self._state = replace(self._state, window=analysis)
        self.spectrogram.set_analysis(analysis)
        self.waveform.set_window(analysis.start_s)
        self._show_window_text()
        self.window_changed.emit(self.slot)

    def _on_detail_wanted(self, t0: float, t1: float) -> None:
        s = self._state
        if s is None:
            return
        rate = s.info.sample_rate
        self._detail_ticket = self._ticket
        self._jobs.detail_trace(self._ticket, s.info, int(t0 * rate), int(math.ceil(t1 * rate)), DETAIL_BINS)

    def _on_detail(self, ticket: int, detail: Trace) -> None:
        if ticket == self._ticket and self._state is not None:
            self.waveform.set_detail(detail)

    # ------------------------------------------------------------------------------------- drag and drop
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

    def is_playing(self) -> bool:
        return self.transport.is_playing()

    def toggle_recording(self) -> None:
        """Start recording into a new WAV under the data dir, or stop and load the recording."""
        self.transport.toggle_recording()

    def toggle_playback(self) -> None:
        """Play from the window start, pause, or resume."""
        if self._state is not None:
            self.transport.toggle_playback(self._state.path, self._state.start_s)

    def stop_playback(self) -> None:
        self.transport.stop_playback()

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
        has = self._state is not None
        recording = self.transport.is_recording()
        playing = self.transport.is_playing()
        self.meter.setVisible(recording)
        if not recording:
            self.elapsed_label.setText("")
        self.open_button.setEnabled(not recording)
        self.record_button.setEnabled(self._record_reason is None or recording)
        self.record_button.setText("Stop rec." if recording else "Record")
        self.record_button.setToolTip(
            f"Recording is unavailable: {self._record_reason}"
            if self._record_reason
            else f"Record Clip {self.slot} from the input device chosen in Settings (Ctrl+R)"
        )
        self.play_button.setEnabled(has and not recording)
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(transport_icon("pause" if playing else "play", self.palette()))
        self.stop_button.setEnabled(recording or self.transport.has_player())
        self.clear_button.setEnabled(has and not recording)

    # ------------------------------------------------------------------------------------------- focus look
    def set_focused_look(self, focused: bool) -> None:
        """Outline the panel that Space / Ctrl+O act on."""
        color = self.palette().color(self.palette().ColorRole.Highlight).name()
        self.setStyleSheet(
            f"#clipPanel{self.slot} {{ border: 2px solid {color}; border-radius: 4px; }}"
            if focused
            else f"#clipPanel{self.slot} {{ border: 2px solid transparent; }}"
        )

    def changeEvent(self, ev: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(ev)
        if ev.type() == QEvent.Type.PaletteChange and hasattr(self, "play_button"):
            self.record_button.setIcon(transport_icon("record", self.palette()))
            self.stop_button.setIcon(transport_icon("stop", self.palette()))
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
