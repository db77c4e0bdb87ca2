"""The main window: two clip panels and their comparison, the conversation, history, menus and status bar.

Layout (:mod:`~mellow_desktop.qt.window_layout`) and wiring only; what the window does is in the core
(questions, history rows, settings) and in its parts. It owns their lifetimes: the engine thread
(:class:`EngineHost`), the model manager, the history store, and the clip panels' audio. Closing the window
stops audio (a recording is finished and kept), cancels an answer, joins every thread and saves its state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QWidget,
)

from mellow.generation import GenerationOptions
from mellow_desktop.core import paths
from mellow_desktop.core.conversation import LIMIT, answer_of, last_conversation
from mellow_desktop.core.history_store import HistoryRecord, HistoryStore
from mellow_desktop.core.package_data import samples_dir
from mellow_desktop.core.session import reload_plan
from mellow_desktop.qt import window_layout as layout
from mellow_desktop.qt import window_state
from mellow_desktop.qt.actions import build_menus, find_action, show_about, show_shortcuts, tip
from mellow_desktop.qt.asking import AskingFlow
from mellow_desktop.qt.clip_pair import ClipPair
from mellow_desktop.qt.deployment_flow import DeploymentFlow
from mellow_desktop.qt.dialogs.settings_dialog import SettingsDialog, load_settings, save_settings
from mellow_desktop.qt.engine_host import EngineHost
from mellow_desktop.qt.export_window import export_window_dialog
from mellow_desktop.qt.jobs import wait_for_jobs
from mellow_desktop.qt.listen_flow import ListenFlow
from mellow_desktop.qt.model_manager import ModelManager
from mellow_desktop.qt.recovery import audio_problem, recover_recordings
from mellow_desktop.qt.scan_flow import ScanFlow
from mellow_desktop.qt.widgets.chat_panel import ChatPanel
from mellow_desktop.qt.widgets.clip_panel import ClipPanel
from mellow_desktop.qt.widgets.comparison_table import ComparisonTable
from mellow_desktop.qt.widgets.history_view import HistoryView
from mellow_desktop.qt.widgets.prompt_box import PromptBox


class MainWindow(QMainWindow):
    """Mellow Desktop's window."""

    answer_shown = Signal(object)  # Answer, after it is shown in the conversation and stored in the history

    def __init__(
        self, settings: QSettings, store: HistoryStore | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        window_state.set_clip_title(self, [])
        self._owns_store = store is None
        self.store = store if store is not None else HistoryStore.open(paths.history_db_path())
        self.app_settings = load_settings(settings)
        self.host = EngineHost(self)
        self.model = ModelManager(self.host, settings, lambda: self.app_settings.device, self)
        self._closed = False
        self._build_widgets()
        self.view_actions = build_menus(self, self.commands(), self.set_spectrogram_mode, self.set_colormap,
                                        self.model.choose_model)
        self.model.show_models(self.view_actions.models)
        self._connect()
        self._restore_state()
        self.show_conversation(last_conversation(self.store.search("", limit=LIMIT)),
                               "The last conversation, from History:")
        self.clips.focus("A")
        if self.store.recovery_message:
            self.notify(self.store.recovery_message, 15000)

    @property
    def generation(self) -> GenerationOptions:
        """How answers are decoded (the engine's options, from Settings ▸ Generation)."""
        return self.app_settings.generation

    @generation.setter
    def generation(self, options: GenerationOptions) -> None:
        self.app_settings = replace(self.app_settings, generation=options)

    @property
    def input_device(self) -> str:
        """The chosen recording device ("" is the system default)."""
        return self.app_settings.input_device

    @input_device.setter
    def input_device(self, name: str) -> None:
        self.app_settings = replace(self.app_settings, input_device=name)
        self.clips.apply_devices(self.app_settings)

    def _build_widgets(self) -> None:
        self.panel_a, self.panel_b = ClipPanel("A", self), ClipPanel("B", self)
        self.clips = ClipPair(self.panel_a, self.panel_b)
        self.clips.apply_devices(self.app_settings)
        self.comparison = ComparisonTable(self)
        self.swap_button = QPushButton("Swap A ⇄ B", self)
        self.swap_button.setToolTip(tip("swap"))
        self.swap_button.clicked.connect(self.swap_clips)
        middle = layout.comparison_column(self, self.comparison, self.swap_button)
        self.chat, self.prompt = ChatPanel(self), PromptBox(self)
        self.history = HistoryView(self.store, self)
        self.splitters = layout.assemble(self, (self.panel_a, middle, self.panel_b), self.chat, self.prompt,
                                         self.history)
        self.main_splitter = self.splitters.main  # (tests resize it)
        self.scans = ScanFlow(self, self.host, self.model, self.clips, self.store, self.history.refresh,
                              self.notify)
        self.scans.prompt_text = self.prompt.text
        self.deployments = DeploymentFlow(self, self.clips, self.scans, self.settings, self.notify)
        self.scans.location_of = self.deployments.location
        self.tabifyDockWidget(self.deployments.dock, self.scans.dock)  # tabs: Deployment, Scan
        self.listening = ListenFlow(self, self.host, self.model, self.clips, self.store, self.history.refresh,
                                    self.notify)
        self.tabifyDockWidget(self.scans.dock, self.listening.dock)  # tabs: Deployment, Scan, Listen
        self.setAcceptDrops(True)  # a folder dropped anywhere opens as a deployment
        self.model_label = QLabel(self.model.description, self)
        self.model_label.setToolTip("The model's state and the device it runs on")
        self.statusBar().addPermanentWidget(self.model_label)

    def commands(self) -> dict[str, Callable[[], object]]:
        """Every action's command by name (:mod:`~mellow_desktop.qt.actions`); looked up when triggered."""
        return {
            "open_focused": lambda: self.focused_panel().choose_file(),
            "open_a": lambda: self.panel_a.choose_file(), "open_b": lambda: self.panel_b.choose_file(),
            "open_samples": lambda: self.clips.open_files(sorted(samples_dir().glob("*.flac"))),
            "open_folder": self.deployments.choose_folder,
            "export_md": lambda: self.history.export_dialog("md"),
            "export_json": lambda: self.history.export_dialog("json"),
            "quit": self.close,
            "record": lambda: self.focused_panel().toggle_recording(),
            "play": lambda: self.focused_panel().toggle_playback(),
            "stop_audio": lambda: self.focused_panel().stop_audio(),
            "swap": self.swap_clips, "clear_a": self.panel_a.clear, "clear_b": self.panel_b.clear,
            "fit": self.clips.fit, "settings": self.edit_settings,
            "shortcuts": lambda: show_shortcuts(self), "about": lambda: show_about(self),
            "send": self.prompt.send, "stop_answer": self.stop_generation,
            "scan": self.scans.open_dialog, "cancel_scan": self.scans.cancel,
            "listen": self.listening.open_panel,
            "export_window": lambda: export_window_dialog(self.focused_panel(), self.notify),
            "window_next": lambda: self.focused_panel().step_window(1),
            "window_prev": lambda: self.focused_panel().step_window(-1),
        } | self.model.commands()

    def _connect(self) -> None:
        for p in (self.panel_a, self.panel_b):
            for signal in (p.clip_changed, p.facts_changed, p.window_changed):
                signal.connect(self._on_clips_changed)
            p.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
            p.folder_dropped.connect(self.deployments.open_folder)
        self.prompt.send_requested.connect(self.ask)
        self.prompt.stop_requested.connect(self.stop_generation)
        self.prompt.scan_requested.connect(lambda: find_action(self, "scan").trigger())
        self.asking = AskingFlow(self.host, self.model, self.chat, self.prompt, self.store, self.history,
                                 self.statusBar().showMessage, self)
        self.asking.answered.connect(self.answer_shown)
        self.model.state_changed.connect(lambda _state, text: self.model_label.setText(text))
        self.model.message.connect(self.chat.add_notice)
        self.model.tokenizer_ready.connect(lambda tok: self.prompt.set_tokenizer(tok.count_tokens))
        self.history.reuse_prompt.connect(self.prompt.reuse)
        self.history.reload_clips.connect(self.reload_clips)
        self.history.open_conversation.connect(lambda rs: self.show_conversation(rs, "From History:"))
        self.history.open_scan.connect(self.scans.open_scan)
        self.history.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        QApplication.instance().focusChanged.connect(
            lambda _old, new: None if self._closed else self.clips.follow_focus(new)
        )

    def notify(self, text: str, msecs: int = 8000) -> None:
        """Tell the user in the conversation and in the status bar."""
        self.chat.add_notice(text)
        self.statusBar().showMessage(text, msecs)

    def start_background_tasks(self) -> None:
        """After the window is shown: tokenizer, model (when installed), audio check, lost recordings,
        interrupted scans."""
        self.model.start()
        QTimer.singleShot(0, self.check_audio)
        QTimer.singleShot(0, self.recover_recordings)
        QTimer.singleShot(0, self.scans.notice_interrupted)

    def recover_recordings(self) -> list[Path]:
        """Repair recordings left unfinished by a crash and offer them in the conversation."""
        return recover_recordings(self.chat, self._open_link)

    def _open_link(self, link: str) -> None:
        slot, _, uri = link.partition("|")
        self.panel(slot).open_file(QUrl(uri).toLocalFile())

    # ------------------------------------------------------------------------------------------- clips
    def panel(self, slot: str) -> ClipPanel:
        return self.clips.panel(slot)

    def focused_panel(self) -> ClipPanel:
        return self.clips.focused()

    def _on_clips_changed(self, _slot: str = "") -> None:
        a, b = self.clips.states()
        self.comparison.update_states(a, b)
        window_state.set_clip_title(self, [s.path for s in (a, b) if s is not None])
        self.prompt.set_clips(a.path.name if a else None, b.path.name if b else None)

    def show_conversation(self, records: list[HistoryRecord], note: str) -> None:
        """Show history entries (oldest first) as cards in the conversation."""
        self.chat.add_stored([answer_of(r) for r in records], note)

    def swap_clips(self) -> None:
        """Exchange Clip A and Clip B (without reading the files again)."""
        self.clips.swap()

    def reload_clips(self, record: HistoryRecord) -> None:
        """Open the clips of a history entry again, at the same windows, when the files still exist."""
        folders = [f for f in (self.panel_a.last_folder, self.panel_b.last_folder) if f]
        plan = reload_plan(record, [*folders, str(paths.recordings_dir(create=False))])
        for slot, path, start in plan.open:
            self.panel(slot).open_file(path, start_s=start)
        if plan.single:
            self.panel_b.clear()
        if plan.missing:
            self.notify(f"No longer on disk: {', '.join(plan.missing)}")

    def set_spectrogram_mode(self, mode: str) -> None:
        self.clips.set_view(mode=mode)
        self.view_actions.modes[mode].setChecked(True)
        self.settings.setValue("view/spectrogram", mode)

    def set_colormap(self, name: str) -> None:
        self.clips.set_view(colormap=name)
        self.view_actions.colormaps[name].setChecked(True)
        self.settings.setValue("view/colormap", name)

    def check_audio(self) -> None:
        """Disable Record (with the reason) when there is no PortAudio or no input device."""
        reason = audio_problem(self.input_device or None)
        self.clips.set_recording_unavailable(reason)
        if reason:
            self.statusBar().showMessage(f"Recording disabled: {reason}", 10000)

    # ------------------------------------------------------------------------------------------- asking
    def ask(self, prompt: str) -> None:
        """Send ``prompt`` about the loaded clips to the model (or explain what is missing)."""
        self.asking.ask(prompt, self.clips.refs(), self.clips.loading(), self.app_settings,
                        self.prompt.about())

    def stop_generation(self) -> None:
        """Stop the current answer (Esc)."""
        self.asking.stop()

    # ------------------------------------------------------------------------------------------- settings
    def edit_settings(self) -> None:
        dialog = SettingsDialog(self.app_settings, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        old_device = self.app_settings.device
        self.app_settings = dialog.chosen()
        save_settings(self.settings, self.app_settings)
        self.clips.apply_devices(self.app_settings)
        self.check_audio()
        if self.app_settings.device != old_device and self.model.state in ("ready", "failed"):
            self.model.reload()

    def _restore_state(self) -> None:
        choices = window_state.restore(self, self.splitters.all(), self.settings)
        for slot, folder in choices.folders.items():
            self.panel(slot).last_folder = folder
        self.set_spectrogram_mode(choices.mode)
        self.set_colormap(choices.colormap)

    def save_state(self) -> None:
        folders = {slot: self.panel(slot).last_folder for slot in window_state.SLOTS}
        window_state.save(self, self.splitters.all(), folders, self.settings)
        save_settings(self.settings, self.app_settings)
        self.settings.sync()

    def dragEnterEvent(self, ev: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if any(u.isLocalFile() and Path(u.toLocalFile()).is_dir() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev: QDropEvent) -> None:  # noqa: N802 (Qt override)
        folders = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        folders = [f for f in folders if Path(f).is_dir()]
        if folders:
            ev.acceptProposedAction()
            self.deployments.open_folder(folders[0])

    def closeEvent(self, ev: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self._closed:
            ev.accept()
            return
        self._closed = True
        self.save_state()
        self.host.cancel()
        self.deployments.stop()
        self.listening.shutdown()
        self.clips.shutdown()
        self.model.shutdown()
        self.host.shutdown()
        # A cancelled answer's "finished" is queued for the asking flow: store it before the history closes.
        QCoreApplication.sendPostedEvents(self.asking, QEvent.Type.MetaCall)
        QCoreApplication.sendPostedEvents(self.scans, QEvent.Type.MetaCall)  # a cancelled scan's end
        wait_for_jobs()
        for timer in self.findChildren(QTimer):  # pending debounce timers must not fire into a closed window
            timer.stop()
        if self._owns_store:
            self.store.close()
        ev.accept()
