"""Scanning a whole recording from the window: the Scan… dialog, the scan on the model's thread, results
streaming into the scan pane, cancel and resume, re-opening a stored scan, and exports.

:class:`ScanFlow` connects a clip panel, the engine host (:meth:`EngineHost.scan
<mellow_desktop.qt.engine_host.EngineHost.scan>`, which iterates the core's
:class:`~mellow_desktop.core.scan_controller.ScanController`: every batch is stored before it reaches the
window), the scan pane (:class:`~mellow_desktop.qt.widgets.scan_results.ScanResults`, in a dock under the
window) and the history. What is drawn comes from the core's :class:`~mellow_desktop.core.scan_view.ScanView`;
exports go through :func:`mellow_desktop.core.scan_export.export_scan`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDialog, QDockWidget, QFileDialog, QMainWindow

from mellow.errors import user_message
from mellow.recordings import Location
from mellow.scan.questions import QuestionError, QuestionSet
from mellow_desktop.core.activity import ActivityWindow
from mellow_desktop.core.history_record import HistoryError
from mellow_desktop.core.history_store import HistoryStore
from mellow_desktop.core.model_loading import not_ready_message
from mellow_desktop.core.scan_activity import file_starts, scan_grid
from mellow_desktop.core.scan_export import EXPORT_FORMATS, export_scan
from mellow_desktop.core.scan_planning import unplanned_note
from mellow_desktop.core.scan_record import LoadedScan, ScanRecord
from mellow_desktop.core.scan_view import ScanView
from mellow_desktop.qt.clip_pair import ClipPair
from mellow_desktop.qt.dialogs.scan_dialog import ScanDialog
from mellow_desktop.qt.engine_host import EngineHost, ScanJob
from mellow_desktop.qt.model_manager import ModelManager
from mellow_desktop.qt.widgets.activity_pane import ActivityPane
from mellow_desktop.qt.widgets.clip_panel import ClipPanel
from mellow_desktop.qt.widgets.scan_results import ScanResults

Notify = Callable[[str], None]


class ScanFlow(QObject):
    """One scan shown at a time (see the module docstring)."""

    batch_shown = Signal(int)  # results shown so far, after each batch
    scan_ended = Signal(str)  # status ("finished", "cancelled", "failed")

    def __init__(self, window: QMainWindow, host: EngineHost, model: ModelManager, clips: ClipPair,
                 store: HistoryStore, refresh_history: Callable[[], None], notify: Notify) -> None:
        super().__init__(window)
        self.window, self.host, self.model, self.clips, self.store = window, host, model, clips, store
        self.refresh_history, self.notify = refresh_history, notify
        self.pane = ScanResults(window)
        self.dock = QDockWidget("Scan", window)
        self.dock.setObjectName("scanDock")
        self.dock.setWidget(self.pane)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        self.activity = ActivityPane(window)
        self.activity_dock = QDockWidget("Activity", window)
        self.activity_dock.setObjectName("activityDock")
        self.activity_dock.setWidget(self.activity)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.activity_dock)
        window.tabifyDockWidget(self.dock, self.activity_dock)
        self.activity_dock.hide()
        self.location_of: Callable[[], Location | None] = lambda: None  # the open deployment's place
        self._chart_timer = QTimer(self)
        self._chart_timer.setSingleShot(True)
        self._chart_timer.setInterval(400)  # the chart follows a running scan at most every 0.4 s
        self._chart_timer.timeout.connect(self.update_activity)
        self.job: ScanJob | None = None
        self.record: ScanRecord | None = None
        self.view: ScanView | None = None
        self.panel: ClipPanel | None = None
        self.last_export_folder = ""
        self.prompt_text: Callable[[], str] = lambda: ""  # the typed prompt: the dialog starts from it
        w = host.worker
        w.scan_started.connect(self._on_started)
        w.scan_batch.connect(self._on_batch)
        w.scan_finished.connect(self._on_finished)
        p = self.pane
        p.row_chosen.connect(self.move_to)
        p.timeline.seek.connect(self.move_window)
        p.play_requested.connect(self.play_window)
        p.cancel_requested.connect(self.cancel)
        p.resume_requested.connect(self.resume)
        p.export_requested.connect(lambda fmt: self.export(fmt))
        self.activity.window_chosen.connect(self._go_to_activity_window)
        self.activity.question_changed.connect(self.update_activity)
        p.add_question_requested.connect(self.add_question)
        self.activity.message.connect(notify)
        for panel in clips.both():
            panel.window_changed.connect(lambda _slot, pn=panel: self._follow_window(pn))
            panel.navigator.scan_requested.connect(lambda pn=panel: self.scan_clip(pn.slot))

    # ------------------------------------------------------------------------------------------- starting
    def running(self) -> bool:
        return self.job is not None

    def can_start(self) -> bool:
        """Whether a scan can start now (no answer or scan running, a model ready); else says why."""
        if self.host.busy():
            self.notify("Wait until the current answer or scan has finished (or stop it).")
            return False
        if not self.model.is_ready():
            self.notify(not_ready_message(self.model.state, self.model.description))
            return False
        return True

    def open_dialog(self) -> None:
        """Scan… : ask for the parameters of a scan of the highlighted clip, then start it; the dialog's
        prompt starts as the conversation's prompt when one is typed (else the first scan preset)."""
        panel = self.clips.focused()
        state, other = panel.state(), self.clips.panel("B" if panel.slot == "A" else "A").state()
        if state is None:
            self.notify(f"Open a recording in Clip {panel.slot} first, then scan it.")
            return
        if not self.can_start():
            return
        clip_b = (other.path, other.start_s) if other is not None else None
        dialog = ScanDialog(state.path, state.info.duration, clip_b, self.window, prompt=self.prompt_text())
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.start(dialog.record(), panel, reuse=dialog.reuse_path())

    def scan_clip(self, slot: str) -> None:
        """A clip panel's "Scan whole file…": highlight that clip, then Scan…."""
        self.clips.focus(slot)
        self.open_dialog()

    def start(self, record: ScanRecord, panel: ClipPanel | None = None, batch_size: int | None = None,
              reuse: str | None = None) -> bool:
        """Start the scan ``record`` asks for on the model's thread; results will show against ``panel``;
        ``reuse``: a ``mellow scan`` output whose answers to the same question are taken, not asked again."""
        if not self.can_start():
            return False
        self.panel = panel or self.clips.focused()
        self.view, self.record = ScanView(threshold=record.threshold), None
        self._launch(ScanJob(self.store.path, record=record, batch_size=batch_size, reuse=reuse))
        self.pane.show_view(self.view, f"Scanning {Path(record.file).name}…", 0.0, False)
        return True

    def resume(self, batch_size: int | None = None) -> bool:
        """Answer the windows the shown scan still misses (an interrupted or cancelled scan)."""
        if self.record is None or self.record.id is None or not self.can_start():
            return False
        self._launch(ScanJob(self.store.path, scan_id=self.record.id, batch_size=batch_size))
        return True

    def _launch(self, job: ScanJob) -> None:
        self.job = job
        self.pane.set_running(True, can_resume=False)
        self.pane.set_progress(0, 1, "starting…")
        self.dock.show()
        self.host.scan(job)

    def cancel(self) -> None:
        """Stop the scan after its current batch (what is done stays stored)."""
        if self.job is not None:
            self.host.cancel_scan()
            self.pane.progress_label.setText("stopping after this batch…")

    # ------------------------------------------------------------------------------------------- streaming
    def _on_started(self, job: ScanJob, record: ScanRecord) -> None:
        if job is not self.job or self.view is None:
            return
        self.record = record
        self.view.set_record(record)
        self._show_title()
        self.pane.set_progress(len(self.view), record.n_answers, f"0 of {record.n_answers} {record.unit}")
        self.refresh_history()
        for note in (job.notice, unplanned_note(record)):
            if note:
                self.notify(note)

    def _on_batch(self, job: ScanJob, batch: object) -> None:
        if job is not self.job or self.view is None:
            return
        self.view.add(batch.answered)  # type: ignore[attr-defined]
        progress = batch.progress  # type: ignore[attr-defined]
        self.pane.refresh()
        files = ""
        if self.view.has_files and batch.answered:  # type: ignore[attr-defined]
            last = self.view.file_of(batch.answered[-1][0])  # type: ignore[attr-defined]
            files = f"file {last + 1} of {len(self.record.files)} · "  # type: ignore[union-attr]
        self.pane.set_progress(progress.done, progress.total, files + progress.text())
        self.batch_shown.emit(len(self.view))
        if not self._chart_timer.isActive():
            self._chart_timer.start()

    def _on_finished(self, job: ScanJob, status: str, message: str) -> None:
        if job is not self.job:
            return
        self.job = None
        if job.scan_id is not None:
            self.record = self.store.scans.get(job.scan_id) or self.record
        missing = self.record is not None and len(self.view or ()) < self.record.n_answers
        self.pane.set_running(False, can_resume=missing)
        self._show_title()
        self.refresh_history()
        done = len(self.view or ())
        unit = self.record.unit if self.record is not None else "windows"
        text = {"finished": f"Scan finished: {done} {unit}.",
                "cancelled": f"Scan stopped after {done} {unit} (Resume finishes it)."}.get(
            status, f"The scan failed: {message}")
        if status != "failed" and self.record is not None and self.record.message:
            text += f" {self.record.message[0].upper()}{self.record.message[1:]}."
        self.pane.progress_label.setText(text)
        self.notify(text)
        self.update_activity()
        self.scan_ended.emit(status)

    def _show_title(self) -> None:
        r = self.record
        if r is None or self.view is None:
            return
        scored = r.scoring == "yes-no"
        interrupted = r.status == "running" and not self.running()
        status = "interrupted (Resume continues it)" if interrupted else r.status
        name = f"{r.file_name} ({len(r.files)} files)" if r.is_folder else r.file_name
        shown = r.files[self.view.shown_file] if r.files else None
        length = shown.duration_s if shown is not None and shown.duration_s else r.duration_s
        self.pane.show_view(self.view, f"{name} · “{r.prompt}” · {status}", float(length or 0), scored)
        if self.panel is not None:
            self._follow_window(self.panel)

    # ------------------------------------------------------------------------------------------- history
    def notice_interrupted(self) -> str | None:
        """At start: tell the user about scans a crash left unfinished (and how to finish them)."""
        left = [r for r in self.store.scans.search("") if r.status == "running"]
        if not left or self.running():
            return None
        names = ", ".join(sorted({r.file_name for r in left})[:3]) + (", …" if len(left) > 3 else "")
        many = f"{len(left)} scans were" if len(left) > 1 else "A scan was"
        text = (f"{many} interrupted before finishing ({names}): open it in History (double-click) and press "
                "Resume to compute only the windows still missing.")
        self.notify(text)
        return text

    def open_scan(self, scan_id: int) -> LoadedScan | None:
        """Show stored scan ``scan_id`` (timeline and table), opening its file in a clip panel."""
        if self.running():
            self.notify("Wait until the running scan has finished (or cancel it).")
            return None
        loaded = self.store.scans.load(scan_id)
        if loaded is None:
            self.notify("This scan is no longer in the history.")
            return None
        self.record, self.view = loaded.record, ScanView.of(loaded)
        first = self.view.file_of(loaded.indices[0]) if loaded.indices else 0
        self.view.shown_file = first
        files = loaded.record.files
        self.panel = self._panel_for(Path(files[first].path if files else loaded.record.file))
        self._show_title()
        self._show_stored_progress(len(loaded.results))
        self.dock.show()
        self.update_activity()
        return loaded

    def _show_stored_progress(self, done: int) -> None:
        record = self.record
        if record is None:
            return
        self.pane.set_running(False, can_resume=done < record.n_answers)
        self.pane.set_progress(done, record.n_answers, f"{done} of {record.n_answers} {record.unit}")

    def add_question(self, prompt: str) -> bool:
        """Add the question ``prompt`` to the shown stored scan and ask it of every window (the answers
        stored stay; only the new question is asked); False after a one-line message."""
        record = self.record
        if record is None or record.id is None or self.view is None:
            self.notify("Open or run a scan first.")
            return False
        if not self.can_start():
            return False
        try:
            self.store.scans.add_questions(record, QuestionSet.of(prompt.strip()))
        except (QuestionError, HistoryError) as exc:
            self.notify(str(exc))
            return False
        self.view.set_record(record)
        self._show_title()
        self.refresh_history()
        return self.resume()

    # ------------------------------------------------------------------------------------------- activity
    def update_activity(self) -> None:
        """Chart the shown scan's activity when it is a folder scan with clock times (else hide the chart),
        for the question the pane's picker names (a question set's first by default)."""
        view, record = self.view, self.record
        if view is None or record is None or not view.has_files or not file_starts(record):
            self.activity_dock.hide()
            return
        question = self.activity.set_questions(view.names)
        grid, windows = scan_grid(record, view.of_question(question), view.threshold_of(question))
        self.activity.show_grid(grid, windows, self.location_of())
        if self.activity_dock.isHidden():
            self.activity_dock.show()
            self.dock.raise_()

    def _go_to_activity_window(self, window: ActivityWindow) -> None:
        index = self.view.index_of(window.file, window.offset_s or 0.0) if self.view is not None else None
        if index is not None:
            self.move_to(index)

    def _panel_for(self, path: Path) -> ClipPanel:
        for panel in self.clips.both():
            state = panel.state()
            if state is not None and state.path == path:
                return panel
        panel = self.clips.panel("A")
        if path.exists():
            panel.open_file(path)
        else:
            self.notify(f"No longer on disk: {path}")
        return panel

    # ------------------------------------------------------------------------------------------- window
    def move_to(self, index: int, play: bool = False) -> None:
        """Move the analysis window to the window at plan ``index`` (a table row); a folder scan's window of
        another file opens that file in the scan's clip panel first.  ``play``: then play from there."""
        result = self.view.result(index) if self.view is not None else None
        if result is None or self.record is None:
            return
        start = result.window.start_s
        file_idx = self.view.file_of(index)
        if self.view.has_files and file_idx != self.view.shown_file:
            self.view.shown_file = file_idx
            self._show_title()
        path = Path(self.record.files[file_idx].path) if self.record.files else Path(self.record.file)
        panel = self.panel or self.clips.panel("A")
        state = panel.state()
        if state is not None and state.path == path:
            if play:
                self.play_at(start)
            else:
                self.move_window(start)
            return
        self.panel = panel
        if play:
            _once(panel.clip_changed, lambda _slot: self.play_at(start))
        panel.open_file(path, start_s=start)

    def play_window(self, index: int) -> None:
        """Move to the window at plan ``index`` and play it (Enter or a double-click on a row)."""
        self.move_to(index, play=True)

    def move_window(self, start_s: float) -> None:
        """Move the scanned clip's analysis window to ``start_s`` (a row, a timeline click); in a scan of two
        recordings of the same period ("pair"), the other clip's window follows (plus the scan's offset)."""
        if self.panel is not None and self.panel.state() is not None:
            self.panel.set_window_start(start_s)
            self.pane.timeline.set_window_start(self.panel.waveform.window_start())
            partner = self._partner()
            if partner is not None and self.record is not None:
                partner.set_window_start(start_s + self.record.slot2_start_s)

    def _partner(self) -> ClipPanel | None:
        """The other clip panel when it shows the paired recording of a "pair" scan."""
        r = self.record
        if r is None or r.slot2_mode != "pair" or not r.slot2_file:
            return None
        for panel in self.clips.both():
            state = panel.state()
            if panel is not self.panel and state is not None and state.path == Path(r.slot2_file):
                return panel
        return None

    def play_at(self, start_s: float) -> None:
        """Move the window to ``start_s`` and play from there."""
        self.move_window(start_s)
        state = self.panel.state() if self.panel is not None else None
        if state is not None:
            self.panel.stop_audio()
            self.panel.transport.toggle_playback(state.path, start_s)

    def _follow_window(self, panel: ClipPanel) -> None:
        if panel is self.panel and panel.state() is not None:
            self.pane.timeline.set_window_start(panel.waveform.window_start())

    # ------------------------------------------------------------------------------------------- export
    def export(self, fmt: str, path: str | Path | None = None) -> Path | None:
        """Write the shown scan as ``fmt`` (asking where when ``path`` is None); None after a message."""
        if self.record is None or self.record.id is None:
            self.notify("Open or run a scan first.")
            return None
        if path is None:
            stem = Path(self.record.file).stem + "-scan"
            folder = self.last_export_folder or str(Path(self.record.file).parent)
            chosen, _ = QFileDialog.getSaveFileName(self.window, "Export scan",
                                                    str(Path(folder) / (stem + EXPORT_FORMATS[fmt])))
            if not chosen:
                return None
            path = chosen
        loaded = self.store.scans.load(self.record.id)
        try:
            view = self.view
            question = self.activity.question() if view is not None and view.has_questions and \
                view.has_files and fmt == "html" else None  # the activity report follows the picker
            out = export_scan(loaded, path, fmt, threshold=view.threshold if view else None,
                              thresholds=view.thresholds if view else None, question=question)
        except Exception as exc:  # every failure becomes one line; nothing is lost
            self.notify(user_message(exc, "exporting the scan"))
            return None
        self.last_export_folder = str(out.parent)
        self.notify(f"Exported the scan to {out}")
        return out


def _once(signal: Any, slot: Callable[..., None]) -> None:
    """Connect ``slot`` to ``signal`` for its next emission only."""

    def fire(*args: Any) -> None:
        signal.disconnect(fire)
        slot(*args)

    signal.connect(fire)
