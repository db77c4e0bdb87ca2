"""The main window: two clip panels and their comparison, the conversation, history, menus and status bar.

It wires the parts together and owns their lifetimes: the engine thread (:class:`EngineHost`), the model
manager, the history store, and the clip panels' audio. Closing the window stops audio (a recording is
finished and kept), cancels an answer, joins every thread and saves the window state in QSettings.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from mellow.errors import MellowError
from mellow_desktop.chat_panel import ChatPanel
from mellow_desktop.clip_loader import wait_for_jobs
from mellow_desktop.clip_panel import ClipPanel, ClipState, panel_of
from mellow_desktop.comparison_table import ComparisonTable
from mellow_desktop.core import paths
from mellow_desktop.core.history_store import HistoryError, HistoryRecord, HistoryStore
from mellow_desktop.core.package_data import samples_dir
from mellow_desktop.core.question import Answer, ClipRef, QuestionProblem, build_question
from mellow_desktop.history_view import HistoryView
from mellow_desktop.model_menu import INSTALL_HINT, ModelManager
from mellow_desktop.prompt_box import PromptBox
from mellow_desktop.settings_dialog import SettingsDialog, load_generation_settings, save_generation_settings
from mellow_desktop.spectrogram_view import COLORMAPS, MODES
from mellow_desktop.window_menus import build_menus, build_shortcuts
from mellow_desktop.worker import EngineHost

log = logging.getLogger(__name__)
SAMPLES_DIR = samples_dir()
TITLE = "Mellow Desktop"


def clip_ref(state: ClipState | None) -> ClipRef | None:
    """What a question records about a loaded clip."""
    if state is None:
        return None
    return ClipRef(
        path=state.path,
        start_s=state.start_s,
        content_hash=state.facts.content_hash if state.facts else None,
        window_text=state.window_text(),
    )


def history_record(answer: Answer) -> HistoryRecord:
    """The history row for a finished, stopped or failed answer."""
    q = answer.question
    settings = q.settings.to_dict() | {"single_clip": q.single_clip}
    if answer.error:
        settings["error"] = answer.error
    return HistoryRecord(
        prompt=q.prompt,
        answer=answer.text,
        status=answer.status,
        clip_a=str(q.clip_a.path),
        clip_b=str(q.clip_b.path),
        hash_a=answer.hash_a,
        hash_b=answer.hash_b,
        start_a=q.clip_a.start_s,
        start_b=q.clip_b.start_s,
        model_id=answer.model_id,
        settings=settings,
        tokens_per_s=answer.tokens_per_s,
        n_tokens=answer.n_tokens,
        created=q.created,
    )


class MainWindow(QMainWindow):
    """Mellow Desktop's window."""

    answer_shown = Signal(object)  # Answer, after it is shown in the conversation and stored in the history

    def __init__(
        self, settings: QSettings, store: HistoryStore | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle(TITLE)
        self._owns_store = store is None
        self.store = store if store is not None else HistoryStore.open(paths.history_db_path())
        self.generation = load_generation_settings(settings)
        self.input_device = str(settings.value("audio/input_device", "") or "")
        self.output_device = str(settings.value("audio/output_device", "") or "")
        self.host = EngineHost(self)
        self.model = ModelManager(self.host, settings, lambda: self.generation.device, self)
        self._focused_slot = "A"
        self._closed = False
        self._build_widgets()
        self.mode_actions, self.cmap_actions = build_menus(self)
        build_shortcuts(self)
        self._connect()
        self._restore_state()
        self._set_focused_slot("A")
        if self.store.recovery_message:
            self.chat.add_notice(self.store.recovery_message)
            self.statusBar().showMessage(self.store.recovery_message, 15000)

    # ------------------------------------------------------------------------------------------- building
    def _build_widgets(self) -> None:
        self.panel_a = ClipPanel("A", self)
        self.panel_b = ClipPanel("B", self)
        for p in (self.panel_a, self.panel_b):
            p.input_device = self.input_device or None
            p.output_device = self.output_device or None
        self.comparison = ComparisonTable(self)
        self.swap_button = QPushButton("Swap A ⇄ B", self)
        self.swap_button.setToolTip("Exchange Clip A and Clip B (Ctrl+Shift+S)")
        self.swap_button.clicked.connect(self.swap_clips)
        compare_title = QLabel("A vs B", self)
        compare_title.setStyleSheet("font-weight: 600;")
        middle = QWidget(self)
        mid = QVBoxLayout(middle)
        mid.setContentsMargins(6, 0, 6, 0)
        mid.addWidget(compare_title)
        mid.addWidget(self.comparison)
        explain = QLabel(
            "The shaded part of each waveform is what Mellow hears: 10 s, mixed to mono and resampled to "
            "32 kHz. Drag it to choose. Shorter clips are repeated to fill 10 s (dashed lines in the "
            "spectrogram). Wheel: zoom · drag: pan · double-click: fit.",
            self,
        )
        explain.setWordWrap(True)
        explain.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        mid.addWidget(explain)
        mid.addStretch(1)
        mid.addWidget(self.swap_button)
        middle.setMinimumWidth(330)
        middle.setMaximumWidth(420)

        self.clips_splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.clips_splitter.setObjectName("clipsSplitter")
        self.clips_splitter.addWidget(self.panel_a)
        self.clips_splitter.addWidget(middle)
        self.clips_splitter.addWidget(self.panel_b)
        self.clips_splitter.setStretchFactor(0, 1)
        self.clips_splitter.setStretchFactor(1, 0)
        self.clips_splitter.setStretchFactor(2, 1)
        self.clips_splitter.setChildrenCollapsible(False)

        self.chat = ChatPanel(self)
        self.prompt = PromptBox(self)
        conversation = QWidget(self)
        conv = QVBoxLayout(conversation)
        conv.setContentsMargins(0, 0, 0, 0)
        conv.setSpacing(6)
        conv_title = QLabel("Conversation", self)
        conv_title.setStyleSheet("font-weight: 600;")
        conv.addWidget(conv_title)
        conv.addWidget(self.chat, 1)
        conv.addWidget(self.prompt)
        self.history = HistoryView(self.store, self)

        self.bottom_splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.bottom_splitter.setObjectName("bottomSplitter")
        self.bottom_splitter.addWidget(conversation)
        self.bottom_splitter.addWidget(self.history)
        self.bottom_splitter.setStretchFactor(0, 3)
        self.bottom_splitter.setStretchFactor(1, 1)
        self.bottom_splitter.setChildrenCollapsible(False)

        self.main_splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.main_splitter.setObjectName("mainSplitter")
        self.main_splitter.addWidget(self.clips_splitter)
        self.main_splitter.addWidget(self.bottom_splitter)
        self.main_splitter.setStretchFactor(0, 5)
        self.main_splitter.setStretchFactor(1, 4)
        self.main_splitter.setChildrenCollapsible(False)
        central = QWidget(self)
        lay = QHBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 0)
        lay.addWidget(self.main_splitter)
        self.setCentralWidget(central)

        self.model_label = QLabel(self.model.description, self)
        self.model_label.setToolTip("The model's state and the device it runs on")
        self.statusBar().addPermanentWidget(self.model_label)

    def _connect(self) -> None:
        for p in (self.panel_a, self.panel_b):
            p.clip_changed.connect(self._on_clips_changed)
            p.facts_changed.connect(self._on_clips_changed)
            p.window_changed.connect(self._on_clips_changed)
            p.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.prompt.send_requested.connect(self.ask)
        self.prompt.stop_requested.connect(self.stop_generation)
        self.host.worker.piece.connect(self.chat.add_piece)
        self.host.worker.finished.connect(self._on_answer)
        self.model.state_changed.connect(self._on_model_state)
        self.model.message.connect(self.chat.add_notice)
        self.model.tokenizer_ready.connect(lambda tok: self.prompt.set_tokenizer(tok.count_tokens))
        self.history.reuse_prompt.connect(
            lambda r: (self.prompt.set_text(r.prompt), self.prompt.edit.setFocus())
        )
        self.history.reload_clips.connect(self.reload_clips)
        self.history.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        app = QApplication.instance()
        app.focusChanged.connect(self._on_focus_changed)

    def start_background_tasks(self) -> None:
        """After the window is shown: tokenizer, model (when installed), audio check, lost recordings."""
        self.model.start()
        QTimer.singleShot(0, self.check_audio)
        QTimer.singleShot(0, self.recover_recordings)

    def recover_recordings(self) -> list[Path]:
        """Repair recordings left unfinished by a crash and offer them in the conversation."""
        from mellow_desktop.core.audio_io.wav_writer import find_unfinished_recordings, repair_wav

        recovered = []
        for path in find_unfinished_recordings(paths.recordings_dir()):
            try:
                result = repair_wav(path)
            except MellowError as exc:
                self.chat.add_notice(f"An unfinished recording could not be repaired: {exc}")
                continue
            recovered.append(path)
            link = path.as_uri()
            label = self.chat.add_notice(
                f"Recovered an unfinished recording: <b>{path.name}</b> ({result.duration_s:.1f} s). "
                f'<a href="A|{link}">Open as Clip A</a> · <a href="B|{link}">Open as Clip B</a>'
            )
            label.linkActivated.connect(self._open_link)
        return recovered

    def _open_link(self, link: str) -> None:
        slot, _, uri = link.partition("|")
        self.panel(slot).open_file(QUrl(uri).toLocalFile())

    # ------------------------------------------------------------------------------------------- clips
    def panel(self, slot: str) -> ClipPanel:
        return self.panel_a if slot == "A" else self.panel_b

    def focused_panel(self) -> ClipPanel:
        return self.panel(self._focused_slot)

    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if self._closed:
            return
        p = panel_of(new)
        if p is not None:
            self._set_focused_slot(p.slot)

    def _set_focused_slot(self, slot: str) -> None:
        self._focused_slot = slot
        self.panel_a.set_focused_look(slot == "A")
        self.panel_b.set_focused_look(slot == "B")

    def _on_clips_changed(self, _slot: str = "") -> None:
        a, b = self.panel_a.state(), self.panel_b.state()
        self.comparison.update_states(a, b)
        names = [s.path.name for s in (a, b) if s is not None]
        self.setWindowTitle(f"{TITLE} — {' vs '.join(names)}" if names else TITLE)

    def swap_clips(self) -> None:
        """Exchange Clip A and Clip B (without reading the files again)."""
        a, b = self.panel_a.state(), self.panel_b.state()
        self.panel_a.set_state(b)
        self.panel_b.set_state(a)

    def open_samples(self) -> None:
        files = sorted(SAMPLES_DIR.glob("*.flac"))
        for panel, path in zip((self.panel_a, self.panel_b), files, strict=False):
            panel.open_file(path)

    def reload_clips(self, record: HistoryRecord) -> None:
        """Open the clips of a history entry again, at the same windows, when the files still exist."""
        single = bool(record.settings.get("single_clip")) or record.clip_a == record.clip_b
        wanted = [("A", record.clip_a, record.start_a)] + (
            [] if single else [("B", record.clip_b, record.start_b)]
        )
        missing = []
        for slot, path, start in wanted:
            if path and Path(path).is_file():
                self.panel(slot).open_file(path, start_s=start)
            elif path:
                missing.append(Path(path).name)
        if single:
            self.panel_b.clear()
        if missing:
            text = f"No longer on disk: {', '.join(missing)}"
            self.chat.add_notice(text)
            self.statusBar().showMessage(text, 8000)

    def _fit_all(self) -> None:
        for p in (self.panel_a, self.panel_b):
            p.waveform.fit()

    def set_spectrogram_mode(self, mode: str) -> None:
        for p in (self.panel_a, self.panel_b):
            p.spectrogram.set_mode(mode)
        self.mode_actions[mode].setChecked(True)
        self.settings.setValue("view/spectrogram", mode)

    def set_colormap(self, name: str) -> None:
        for p in (self.panel_a, self.panel_b):
            p.spectrogram.set_colormap(name)
        self.cmap_actions[name].setChecked(True)
        self.settings.setValue("view/colormap", name)

    def check_audio(self) -> None:
        """Disable Record (with the reason) when there is no PortAudio or no input device."""
        from mellow_desktop.core.audio_io.devices import recording_unavailable_reason

        try:
            reason = recording_unavailable_reason(self.input_device or None)
        except Exception as exc:  # a broken audio stack must not stop the app
            reason = f"audio is unavailable ({exc})"
        for p in (self.panel_a, self.panel_b):
            p.set_recording_unavailable(reason)
        if reason:
            self.statusBar().showMessage(f"Recording disabled: {reason}", 10000)

    # ------------------------------------------------------------------------------------------- asking
    def ask(self, prompt: str) -> None:
        """Send ``prompt`` about the loaded clips to the model (or explain what is missing)."""
        if self.host.busy():
            return
        if self.panel_a.is_loading() or self.panel_b.is_loading():
            self.statusBar().showMessage("Wait until the clips are loaded.", 5000)
            return
        try:
            q = build_question(
                prompt, clip_ref(self.panel_a.state()), clip_ref(self.panel_b.state()), self.generation
            )
        except QuestionProblem as exc:
            self.chat.add_notice(str(exc))
            return
        if not self.model.is_ready():
            if self.model.state == "loading":
                self.chat.add_notice("The model is still loading — ask again in a moment.")
            elif self.model.state == "failed":
                self.chat.add_notice(
                    f"The model could not be loaded: {self.model.description}. "
                    "Try Model ▸ Open checkpoint… or Model ▸ Download Mellow v0…."
                )
            else:
                self.chat.add_notice(INSTALL_HINT)
            return
        self.chat.add_question(q)
        self.prompt.set_busy(True)
        self.statusBar().showMessage("Answering…")
        self.host.ask(q)

    def stop_generation(self) -> None:
        """Stop the current answer (Esc)."""
        if self.host.busy():
            self.host.cancel()
            self.statusBar().showMessage("Stopping…", 3000)

    def _on_answer(self, answer: Answer) -> None:
        self.chat.finish(answer)
        self.prompt.set_busy(False)
        if answer.device_note:
            self.chat.add_notice(answer.device_note)
        try:
            self.store.add(history_record(answer))
        except (HistoryError, ValueError) as exc:
            self.chat.add_notice(f"The answer could not be saved in the history: {exc}")
        self.history.refresh()
        self.answer_shown.emit(answer)
        if answer.status == "finished":
            speed = f" ({answer.tokens_per_s:.1f} tokens/s)" if answer.tokens_per_s else ""
            self.statusBar().showMessage(f"Answered{speed}.", 8000)
        elif answer.status == "cancelled":
            self.statusBar().showMessage("Stopped.", 5000)
        else:
            self.statusBar().showMessage(f"The answer failed: {answer.error}", 10000)

    def _on_model_state(self, _state: str, description: str) -> None:
        self.model_label.setText(description)

    # ------------------------------------------------------------------------------------------- dialogs
    def edit_settings(self) -> None:
        dialog = SettingsDialog(self.generation, self.input_device, self.output_device, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        old_device = self.generation.device
        self.generation = dialog.generation_settings()
        save_generation_settings(self.settings, self.generation)
        self.input_device, self.output_device = dialog.devices()
        self.settings.setValue("audio/input_device", self.input_device)
        self.settings.setValue("audio/output_device", self.output_device)
        for p in (self.panel_a, self.panel_b):
            p.input_device = self.input_device or None
            p.output_device = self.output_device or None
        self.check_audio()
        if self.generation.device != old_device and self.model.state in ("ready", "failed"):
            self.model.reload()

    # ------------------------------------------------------------------------------------------- state
    def _restore_state(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 940)
        for splitter in (self.main_splitter, self.clips_splitter, self.bottom_splitter):
            state = s.value(f"window/{splitter.objectName()}")
            if isinstance(state, QByteArray) and not state.isEmpty():
                splitter.restoreState(state)
        if not isinstance(s.value("window/mainSplitter"), QByteArray):
            self.main_splitter.setSizes([520, 420])
            self.bottom_splitter.setSizes([1000, 420])
        for slot in ("A", "B"):
            self.panel(slot).last_folder = str(s.value(f"folders/clip_{slot}", "") or "")
        mode = str(s.value("view/spectrogram", "mel"))
        self.set_spectrogram_mode(mode if mode in MODES else "mel")
        cmap = str(s.value("view/colormap", COLORMAPS[0]))
        self.set_colormap(cmap if cmap in COLORMAPS else COLORMAPS[0])

    def save_state(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        for splitter in (self.main_splitter, self.clips_splitter, self.bottom_splitter):
            s.setValue(f"window/{splitter.objectName()}", splitter.saveState())
        for slot in ("A", "B"):
            s.setValue(f"folders/clip_{slot}", self.panel(slot).last_folder)
        save_generation_settings(s, self.generation)
        s.sync()

    def closeEvent(self, ev: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self._closed:
            ev.accept()
            return
        self._closed = True
        self.save_state()
        self.host.cancel()
        for p in (self.panel_a, self.panel_b):
            p.shutdown()
        self.model.shutdown()
        self.host.shutdown()
        # A cancelled answer's "finished" is queued for this window: store it before the history closes.
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        wait_for_jobs()
        for timer in self.findChildren(QTimer):  # pending debounce timers must not fire into a closed window
            timer.stop()
        if self._owns_store:
            self.store.close()
        ev.accept()
