"""The deployment pane: a folder of recordings as the recorders saw it — a summary line, the recording effort
per recorder (:class:`~mellow_desktop.qt.widgets.effort_timeline.EffortTimeline`), and the recordings table
(file, start, duration, recorder, where the time came from, notes; click a header to sort).

Enter or a double-click on a row emits :attr:`DeploymentPanel.open_requested` (the window opens that file in
Clip A); *Scan folder…* emits :attr:`DeploymentPanel.scan_requested`; editing *Times in* emits
:attr:`DeploymentPanel.zone_changed` (the folder is listed again in that zone).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mellow.recordings import Deployment
from mellow_desktop.core.deployment_view import COLUMNS, DeploymentView, RecordingRow, sorted_rows
from mellow_desktop.qt.widgets.effort_timeline import EffortTimeline

Index = QModelIndex | QPersistentModelIndex


class RecordingsModel(QAbstractTableModel):
    """The recordings of a deployment (rows of :func:`recording_rows`), sorted here."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[RecordingRow] = []

    def set_rows(self, rows: list[RecordingRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 (Qt API)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = row.cells[index.column()]
            return str(row.path) if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0 else text
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 (Qt API)
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.beginResetModel()
        self.rows = sorted_rows(self.rows, column, order == Qt.SortOrder.DescendingOrder)
        self.endResetModel()


class _Table(QTableView):
    """The recordings table; Enter opens the current row."""

    activated_row = Signal(int)

    def keyPressEvent(self, ev: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated_row.emit(self.currentIndex().row())
            return
        super().keyPressEvent(ev)


class DeploymentPanel(QWidget):
    """A deployment's summary, effort timeline and recordings (see the module docstring)."""

    open_requested = Signal(object)  # Path
    scan_requested = Signal()
    zone_changed = Signal(str)
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.deployment: Deployment | None = None
        self.folder = QLabel("No folder open: File ▸ Open folder… or drop a folder on the window.", self)
        self.folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.zone = QLineEdit("UTC", self)
        self.zone.setMaximumWidth(160)
        self.zone.setToolTip("Zone of times without one (recorder file names, most AudioMoth set-ups): an "
                             "IANA name such as Europe/Berlin or an offset such as +05:30. Default UTC, "
                             "AudioMoth's.")
        self.zone.editingFinished.connect(lambda: self.zone_changed.emit(self.zone.text().strip()))
        self.scan_button = QPushButton("Scan folder…", self)
        self.scan_button.setToolTip("Ask a question of every window of every recording in the folder")
        self.scan_button.setEnabled(False)
        self.scan_button.clicked.connect(self.scan_requested)
        self.cancel_button = QPushButton("Stop", self)
        self.cancel_button.setToolTip("Stop listing the folder")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.cancel_button.hide()
        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        self.timeline = EffortTimeline(self)
        self.model = RecordingsModel(self)
        self.table = _Table(self)
        self.table.setModel(self.model)
        self.table.horizontalHeader().setSortIndicator(1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setResizeContentsPrecision(40)
        self.table.doubleClicked.connect(lambda index: self._open(index.row()))
        self.table.activated_row.connect(self._open)
        self.timeline.time_clicked.connect(self.select_time)
        top = QHBoxLayout()
        top.addWidget(self.folder, 1)
        top.addWidget(QLabel("Times in", self))
        top.addWidget(self.zone)
        top.addWidget(self.cancel_button)
        top.addWidget(self.scan_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.timeline)
        lay.addWidget(self.table, 1)

    def show_listing(self, folder: Path, done: int, total: int) -> None:
        """While the folder is listed: its name and ``done`` of ``total`` files read."""
        self.folder.setText(str(folder))
        self.summary.setText(f"Reading the recordings' headers… {done} of {total} files")
        self.cancel_button.setVisible(done < total)

    def show_deployment(self, view: DeploymentView) -> None:
        """Show a listed deployment (its rows, effort and summary, made off the GUI thread)."""
        deployment = self.deployment = view.deployment
        self.folder.setText(str(deployment.root))
        self.cancel_button.hide()
        self.summary.setText(view.summary)
        self.timeline.set_lanes(view.lanes, deployment.zone)
        header = self.table.horizontalHeader()
        header.blockSignals(True)  # the rows come sorted by start: no sort on the GUI thread
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        header.blockSignals(False)
        self.model.set_rows(view.rows)
        self.table.resizeColumnsToContents()  # measures the first rows only (resize precision)
        self.scan_button.setEnabled(any(r.readable for r in deployment.recordings))

    def show_problem(self, text: str) -> None:
        """The folder could not be listed: say why (what was shown before stays)."""
        self.cancel_button.hide()
        self.summary.setText(text)

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.model.rows):
            self.open_requested.emit(self.model.rows[row].path)

    def select_time(self, t: float) -> None:
        """Select the recording that covers Unix time ``t`` (or starts nearest to it)."""
        best, distance = None, float("inf")
        for i, row in enumerate(self.model.rows):
            rec = row.recording
            if rec.start is None:
                continue
            a = rec.start.timestamp()
            b = a + (rec.duration_s or 0.0)
            d = 0.0 if a <= t <= b else min(abs(t - a), abs(t - b))
            if d < distance:
                best, distance = i, d
        if best is not None:
            self.table.selectRow(best)
            self.table.scrollTo(self.model.index(best, 0))
