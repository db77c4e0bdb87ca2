"""A folder of recordings in the window: *File ▸ Open folder…* (or a folder dropped on the window) lists it as
a deployment in the background (headers and metadata only, :mod:`mellow.recordings`) and shows it in the
deployment pane (a dock under the window); a row opens its file in Clip A.

Listing is a background job that reports every few files and stops when asked (another folder, Stop, or the
window closing); the GUI thread only receives the finished :class:`~mellow.recordings.Deployment`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QDialog, QDockWidget, QFileDialog, QMainWindow

from mellow.errors import MellowError, user_message
from mellow.recordings import Deployment, Location, audio_files_in, build_deployment, check_folder, parse_zone
from mellow.recordings import read_recordings as read_all
from mellow.recordings.zones import zone_name
from mellow_desktop.core.deployment_view import DeploymentView, deployment_view, local_text
from mellow_desktop.core.sun import deployment_location
from mellow_desktop.qt.clip_pair import ClipPair
from mellow_desktop.qt.dialogs.scan_dialog import ScanDialog
from mellow_desktop.qt.jobs import Job, JobRunner
from mellow_desktop.qt.scan_flow import ScanFlow
from mellow_desktop.qt.widgets.deployment_panel import DeploymentPanel

Notify = Callable[[str], None]
#: How often the listing job reports its progress (seconds).
PROGRESS_EVERY_S = 0.1
#: How long a newly shown pane is given to lay out and paint before the listing thread starts (ms).
LAYOUT_TURN_MS = 60


class Listing:
    """One folder being listed: ``cancel`` stops it between two files."""

    def __init__(self, folder: Path, zone_text: str) -> None:
        self.folder, self.zone_text = folder, zone_text
        self.cancel = threading.Event()
        self.job: Job | None = None


class DeploymentFlow(QObject):
    """The deployment pane and the listing jobs behind it (see the module docstring)."""

    listed = Signal(object)  # Deployment, once shown

    def __init__(self, window: QMainWindow, clips: ClipPair, scans: ScanFlow, settings: QSettings,
                 notify: Notify) -> None:
        super().__init__(window)
        self.window, self.clips, self.scans = window, clips, scans
        self.settings, self.notify = settings, notify
        self.jobs = JobRunner(self)
        self.pane = DeploymentPanel(window)
        self.pane.zone.setText(str(settings.value("deployment/zone", "UTC")))
        self.dock = QDockWidget("Deployment", window)
        self.dock.setObjectName("deploymentDock")
        self.dock.setWidget(self.pane)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        self.listing: Listing | None = None
        self.deployment: Deployment | None = None
        self.last_folder = str(settings.value("deployment/folder", ""))
        self.pane.open_requested.connect(self.open_recording)
        self.pane.zone_changed.connect(self._zone_changed)
        self.pane.cancel_requested.connect(self.stop)
        self.pane.scan_requested.connect(self.scan_folder)

    def choose_folder(self) -> None:
        """File ▸ Open folder…: ask for a folder of recordings, then list it."""
        chosen = QFileDialog.getExistingDirectory(self.window, "Open a folder of recordings",
                                                  self.last_folder)
        if chosen:
            self.open_folder(chosen)

    def open_folder(self, folder: str | Path) -> bool:
        """List ``folder`` in the background (in the zone of *Times in*); False after a message."""
        try:
            root = check_folder(folder)
            parse_zone(self.pane.zone.text())
        except MellowError as exc:
            self.notify(user_message(exc, "opening the folder"))
            return False
        self.stop()
        self.last_folder = str(root)
        self.settings.setValue("deployment/folder", self.last_folder)
        listing = self.listing = Listing(root, self.pane.zone.text().strip() or "UTC")
        appears = self.dock.isHidden()
        self.dock.show()
        self.dock.raise_()
        self.pane.show_listing(root, 0, 0)
        # A pane that appears re-lays out the window in the next event-loop turn: list after that turn, so
        # that the layout does not share the turn's time with the listing thread.
        if appears:
            QTimer.singleShot(LAYOUT_TURN_MS, lambda: self._submit(listing))
        else:
            self._submit(listing)
        return True

    def _submit(self, listing: Listing) -> None:
        if listing is not self.listing:
            return
        progress = self.jobs.relay(lambda done, total: self._progress(listing, done, total))
        listing.job = self.jobs.submit(lambda: _list(listing, progress), lambda d: self._listed(listing, d),
                                       lambda text: self._failed(listing, text), "listing the folder",
                                       long=True)

    def stop(self) -> None:
        """Stop the listing in progress (what was shown before stays)."""
        if self.listing is not None:
            self.listing.cancel.set()
            if self.deployment is None:
                self.pane.show_problem("Listing stopped.")
            self.listing = None

    def _progress(self, listing: Listing, done: int, total: int) -> None:
        if listing is self.listing:
            self.pane.show_listing(listing.folder, done, total)

    def _listed(self, listing: Listing, view: DeploymentView | None) -> None:
        if listing is not self.listing or view is None:
            return
        self.listing, self.deployment = None, view.deployment
        self.pane.show_deployment(view)
        self.listed.emit(view.deployment)

    def _failed(self, listing: Listing, text: str) -> None:
        if listing is self.listing:
            self.listing = None
            self.pane.show_problem(text)
            self.notify(text)

    def _zone_changed(self, text: str) -> None:
        try:
            zone = parse_zone(text or "UTC")
        except MellowError as exc:
            self.notify(user_message(exc, "reading the zone"))
            return
        self.settings.setValue("deployment/zone", zone_name(zone))
        if self.deployment is not None and zone_name(self.deployment.zone) != zone_name(zone):
            self.open_folder(self.deployment.root)

    def scan_folder(self, dialog_exec: Callable[[ScanDialog], bool] | None = None) -> bool:
        """Scan folder…: ask for a question (and a range of dates), then scan every recording of the listed
        folder in the background; results stream into the scan pane.  False when nothing started."""
        deployment = self.deployment
        if deployment is None:
            self.notify("Open a folder of recordings first (File ▸ Open folder of recordings…).")
            return False
        if not self.scans.can_start():
            return False
        first, last = deployment.first_start, deployment.last_end
        days = [local_text(t, deployment)[:10] for t in (first, last)]
        dialog = ScanDialog(deployment.root, 0.0, None, self.window, prompt=self.scans.prompt_text(),
                            dates=(days[0], days[1]))
        accepted = dialog_exec(dialog) if dialog_exec else dialog.exec() == QDialog.DialogCode.Accepted
        if not accepted:
            return False
        record = dialog.record()
        record.zone = zone_name(deployment.zone)
        return self.scans.start(record, self.clips.panel("A"), reuse=dialog.reuse_path())

    def location(self) -> Location | None:
        """Where the open deployment was recorded (a GUANO ``Loc Position``), or None."""
        return deployment_location(self.deployment.recordings) if self.deployment is not None else None

    def open_recording(self, path: Path) -> None:
        """Open a recording of the deployment in Clip A."""
        self.clips.focus("A")
        self.clips.panel("A").open_file(path)


def _list(listing: Listing, progress: Callable[[int, int], None]) -> DeploymentView | None:
    """On a pool thread: every recording of the folder and what the pane shows of them (None when
    cancelled)."""
    zone = parse_zone(listing.zone_text)
    files, problems = audio_files_in(listing.folder)
    if not files:
        raise MellowError(f"no audio files in {listing.folder}")
    recordings, last = [], 0.0
    for rec in read_all(listing.folder, files, zone=zone):
        if listing.cancel.is_set():
            return None
        recordings.append(rec)
        if time.monotonic() - last > PROGRESS_EVERY_S:
            last = time.monotonic()
            progress(len(recordings), len(files))
    return deployment_view(build_deployment(listing.folder, recordings, zone=zone, problems=problems))
