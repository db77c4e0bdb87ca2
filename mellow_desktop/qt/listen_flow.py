"""Listen mode: listening to an input device (or a file played in real time) from the window.

:class:`ListenFlow` owns the Listen dock (:class:`~mellow_desktop.qt.widgets.listen_panel.ListenPanel`).
Start builds the input and the settings, and the engine host runs a :class:`~mellow.listen.Listener` on the
model's thread (:meth:`EngineHost.listen <mellow_desktop.qt.engine_host.EngineHost.listen>`: its answers
never collide with a question or a scan, which wait meanwhile).  The GUI only polls: a timer reads the
listener's status snapshot and drains its event queue (both thread-safe) into the core's
:class:`~mellow_desktop.core.listen_view.ListenView`; the live spectrogram is computed on a pool thread.  A
detection shows a tray message where a system tray exists, else a notice in the panel.  When listening ends
the session's rows are stored as scans in the history (:mod:`mellow_desktop.core.listen_history`), where
they can be re-opened and exported.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QSystemTrayIcon

from mellow.audio_io.levels import to_dbfs
from mellow.errors import MellowError
from mellow.listen import ListenEvent, ListenSettings, default_folder
from mellow.listen.settings import WINDOW_S
from mellow_desktop.core.history_store import HistoryStore
from mellow_desktop.core.listen_history import store_session
from mellow_desktop.core.listen_view import (
    DetectionItem,
    ListenView,
    live_analysis,
    margin_text,
    today_counts,
)
from mellow_desktop.core.model_loading import not_ready_message
from mellow_desktop.qt.clip_pair import ClipPair
from mellow_desktop.qt.engine_host import EngineHost, ListenJob
from mellow_desktop.qt.icons import transport_icon
from mellow_desktop.qt.jobs import JobRunner, failure_message
from mellow_desktop.qt.model_manager import ModelManager
from mellow_desktop.qt.widgets.listen_panel import ListenChoice, ListenPanel

POLL_MS = 100
"""The status and events are read this often; the lanes, margin and spectrogram every :data:`DRAW_EVERY`."""
DRAW_EVERY = 5
LEVEL_COLUMN_S = 0.02
"""Seconds of input per column of the live waveform."""
QUIET = {"row", "detection", "clip", "started", "ended"}
"""Events that are not notices (they change the lists and lanes)."""


class ListenFlow(QObject):
    """One listening session at a time (see the module docstring)."""

    row_shown = Signal(int)  # rows shown so far
    detected = Signal(object)  # DetectionItem
    listen_ended = Signal(str)  # "" or the error
    stored = Signal(object)  # the history scan ids of the session that ended

    def __init__(self, window: QMainWindow, host: EngineHost, model: ModelManager, clips: ClipPair,
                 store: HistoryStore, refresh_history: Callable[[], None],
                 notify: Callable[[str], None]) -> None:
        super().__init__(window)
        self.window, self.host, self.model, self.clips, self.store = window, host, model, clips, store
        self.refresh_history, self.notify = refresh_history, notify
        self.panel = ListenPanel(window)
        self.dock = QDockWidget("Listen", window)
        self.dock.setObjectName("listenDock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        self.folder: Path | None = None  # where sessions go (None: <data dir>/listening)
        self.options: dict[str, Any] = {}  # more ListenSettings fields (hop_s, max_len, max_lag_s, ...)
        self.job: ListenJob | None = None
        self.view: ListenView | None = None
        self.tray: QSystemTrayIcon | None = None
        self.jobs = JobRunner(self)
        self._ticks = 0
        self._level_pos = 0
        self._closed = False
        self._drawing = False
        self.timer = QTimer(self)
        self.timer.setObjectName("listenPoll")
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        host.worker.listen_started.connect(self._on_started)
        host.worker.listen_finished.connect(self._on_finished)
        self.panel.start_requested.connect(self.start)
        self.panel.stop_requested.connect(self.stop)
        self.panel.open_requested.connect(self.open_clip)
        self.panel.play_requested.connect(self.play_clip)

    def running(self) -> bool:
        return self.job is not None

    def open_panel(self) -> None:
        """Listen… : show the dock with the input devices of now."""
        from mellow.audio_io.devices import AudioUnavailable, list_input_devices, recording_unavailable_reason

        current = self.panel.choice()
        try:
            problem = recording_unavailable_reason(None)
            devices = [(d.label, d.name) for d in list_input_devices()] if problem is None else []
        except (AudioUnavailable, OSError) as exc:
            problem, devices = str(exc), []
        if not self.running():
            self.panel.fill_inputs(devices, problem, current.device or "")
        self.dock.show()
        self.dock.raise_()

    # ------------------------------------------------------------------------------------------- starting
    def settings_of(self, choice: ListenChoice) -> ListenSettings:
        """The session's settings from the panel's choice; MellowError (one line) when they cannot work."""
        from mellow.scan.questions import preset

        questions: Any = preset(choice.preset) if choice.preset else choice.prompt
        options = {"keep_stream": choice.keep_stream, **self.options}
        return ListenSettings(questions=questions, threshold=choice.threshold, **options)

    def source_of(self, choice: ListenChoice) -> Any:
        from mellow.listen import DeviceSource, FileSource

        if choice.file is None:
            return DeviceSource(choice.device or None)
        if not choice.file:
            raise MellowError("choose the file to play in real time (Browse…)")
        if not Path(choice.file).expanduser().is_file():
            raise MellowError(f"there is no file {choice.file}")
        return FileSource(Path(choice.file).expanduser(), speed=choice.speed)

    def start(self) -> bool:
        """Start listening as the panel says, or say why not (in the panel and the status bar)."""
        if self.running():
            return False
        if self.host.busy():
            return self._refuse("Wait until the current answer or scan has finished (or stop it).")
        if not self.model.is_ready():
            return self._refuse(not_ready_message(self.model.state, self.model.description))
        choice = self.panel.choice()
        try:
            settings, source = self.settings_of(choice), self.source_of(choice)
        except MellowError as exc:
            return self._refuse(str(exc))
        self.job = ListenJob(source, settings, self.folder or default_folder())
        self.view = None
        self.panel.set_running(True)
        self.panel.state_label.setText(f"Starting {source.label}…")
        self.panel.show_notice("")
        self.panel.waveform.start()
        self._level_pos = 0
        self.host.listen(self.job)
        self.timer.start()
        return True

    def _refuse(self, text: str) -> bool:
        self.panel.show_notice(text)
        self.notify(text)
        return False

    def stop(self) -> None:
        """Stop after the window in flight (what was heard is kept)."""
        if self.job is not None:
            self.job.stop()
            self.panel.state_label.setText("Stopping after this window…")

    def _on_started(self, job: ListenJob) -> None:
        if job is not self.job or job.listener is None or job.listener.session is None:
            return
        session = job.listener.session.dir
        self.view = ListenView(job.settings, session)
        self.panel.show_detections(self.view)
        names, folder = job.settings.questions.names, Path(job.folder)
        self.jobs.submit(lambda: today_counts(folder, names, skip=session), self._add_today, lambda _m: None,
                         "counting today's detections")

    def _add_today(self, counts: dict[str, int]) -> None:
        if self.view is not None:
            for name, n in counts.items():
                self.view.today[name] = self.view.today.get(name, 0) + n
            self.panel.show_detections(self.view)

    # ------------------------------------------------------------------------------------------- polling
    def poll(self) -> None:
        """Read the listener's status and events (cheap: no disk, no model) and show them."""
        listener = self.job.listener if self.job is not None else None
        if listener is None or self.view is None:
            return
        status = listener.status()
        self.view.heard_s = status.heard_s
        self.panel.meter.set_level_db(to_dbfs(status.level))
        if listener.ring is not None:
            for t, peak in self._new_levels(listener.ring):
                self.panel.waveform.add_db(to_dbfs(peak), t)
        changed = self._take(listener.events())
        self._ticks += 1
        if changed:
            self.panel.show_detections(self.view)
        if self._ticks % DRAW_EVERY == 0:
            self._draw(listener, status)

    def _new_levels(self, ring: Any) -> list[tuple[float, float]]:
        """(seconds of input, peak) of each :data:`LEVEL_COLUMN_S` heard since the last poll (at most the
        last second): the live waveform's columns."""
        end, step = ring.end, max(1, round(ring.rate * LEVEL_COLUMN_S))
        pos = max(self._level_pos, ring.start, end - ring.rate)
        n = (end - pos) // step
        if n <= 0:
            return []
        peaks = np.abs(ring.read(pos, pos + n * step)).max(axis=1).reshape(n, step).max(axis=1)
        self._level_pos = pos + n * step
        return [((pos + (i + 1) * step) / ring.rate, float(p)) for i, p in enumerate(peaks)]

    def _draw(self, listener: Any, status: Any) -> None:
        assert self.view is not None and self.job is not None
        self.panel.lanes.set_lanes(self.view.lanes(), status.heard_s)
        self.panel.margin_label.setText(margin_text(status, self.job.settings.hop_s))
        state = {"device-lost": "Input lost — retrying", "stopping": "Stopping after this window…"}.get(
            status.state, f"Listening to {Path(status.source).name or status.source}")
        counts = f"{status.answered} windows · {status.detections} detections"
        self.panel.state_label.setText(f"{state} · {counts}")
        if not self._drawing and listener.ring is not None:
            self._drawing = True
            ring = listener.ring
            self.jobs.submit(lambda: _spectrogram(ring), self._show_spectrogram, self._spectrogram_failed,
                             "drawing the live spectrogram")

    def _show_spectrogram(self, analysis: Any) -> None:
        self._drawing = False
        if analysis is not None and self.running():
            self.panel.spectrogram.set_analysis(analysis)

    def _spectrogram_failed(self, _message: str) -> None:
        self._drawing = False

    def _take(self, events: list[ListenEvent]) -> bool:
        """Show ``events``; True when the detections list changed."""
        assert self.view is not None
        changed = False
        for event in events:
            if event.kind == "row" and event.row is not None:
                item = self.view.add(event.row)
                self.row_shown.emit(self.view.rows)
                if item is not None:
                    changed = True
                    self._tell(item)
            elif event.kind == "clip" and event.details.get("clip"):
                self.view.clip_closed(str(event.details["clip"]))
                changed = True
            elif event.kind not in QUIET or event.kind == "error":
                self.panel.show_notice(event.text)
                self.window.statusBar().showMessage(event.text, 8000)
        return changed

    def _tell(self, item: DetectionItem) -> None:
        """A tray message per detection (or a notice in the panel where there is no tray)."""
        score = "" if item.score is None else f" (P(yes) {item.score:.2f})"
        text = f"{item.question} at {item.time_text}{score}"
        if self.tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(transport_icon("record", self.panel.palette()), self)
            self.tray.setToolTip("Mellow Desktop is listening")
            self.tray.show()
        if self.tray is not None and QSystemTrayIcon.supportsMessages():
            self.tray.showMessage("Mellow heard something", text, QSystemTrayIcon.MessageIcon.Information,
                                  5000)
        else:
            self.panel.show_notice(f"Detection: {text}")
        self.detected.emit(item)

    # ------------------------------------------------------------------------------------------- ending
    def _on_finished(self, job: ListenJob, error: str) -> None:
        if job is not self.job:
            return
        listener = job.listener
        if listener is not None and self.view is not None:
            self._take(listener.events())
            self._draw(listener, listener.status())
            self.panel.show_detections(self.view)
        self.job = None
        self.timer.stop()
        self.panel.set_running(False)
        status = listener.status() if listener is not None else None
        text = error and f"Listening stopped: {error}" or (
            f"Listening ended: {status.answered} windows, {status.detections} detections, "
            f"{status.skipped} skipped." if status is not None else "Listening ended.")
        self.panel.state_label.setText(text)
        self.panel.show_notice(text if error else self.panel.notice.text())
        self.notify(text)
        if listener is not None and listener.session is not None:
            session, db = listener.session.dir, self.store.path
            self.jobs.submit(lambda: store_session(db, session), self._stored, self.notify,
                             "storing the listening session in the history")
        self.listen_ended.emit(error)

    def _stored(self, ids: list[int]) -> None:
        if self._closed:  # stored while the window closed: nothing left to tell
            return
        self.refresh_history()
        if ids:
            many = "s" if len(ids) > 1 else ""
            self.notify(f"The listening session is in History ({len(ids)} scan{many}).")
        self.stored.emit(ids)

    def shutdown(self) -> None:
        """The window closes: stop listening, wait for it and store the session in the history."""
        self._closed = True
        self.timer.stop()
        job, self.job = self.job, None
        if job is not None:
            job.stop()
            listener = job.listener
            if listener is not None and listener.wait(30.0) and listener.session is not None:
                try:
                    store_session(self.store.path, listener.session.dir)
                except Exception as exc:  # noqa: BLE001 - closing: the session stays on disk either way
                    failure_message(exc, "storing the listening session in the history")
        if self.tray is not None:
            self.tray.hide()

    # ------------------------------------------------------------------------------------------- clips
    def open_clip(self, item: DetectionItem) -> None:
        """Open a detection's kept clip in Clip A with the detected window in view."""
        if item.clip is None:
            return
        self.clips.focus("A")
        self.clips.panel("A").open_file(item.clip, start_s=item.clip_offset_s)

    def play_clip(self, item: DetectionItem) -> None:
        """Open a detection's kept clip in Clip A and play it from the start."""
        if item.clip is None:
            return
        panel = self.clips.panel("A")

        def play(_slot: str) -> None:
            panel.clip_changed.disconnect(play)
            state = panel.state()
            if state is not None and state.path == item.clip:
                panel.transport.toggle_playback(state.path, 0.0)

        panel.clip_changed.connect(play)
        self.open_clip(item)


def _spectrogram(ring: Any) -> Any:
    """The live spectrogram of the ring's last 10 s (on a pool thread); None before any audio."""
    end = ring.end
    start = max(ring.start, end - round(WINDOW_S * ring.rate))
    if end - start < ring.rate // 10:
        return None
    return live_analysis(ring.read(start, end), ring.rate, end / ring.rate)
