"""The activity pane of a folder scan: the chart (:class:`~.activity_chart.ActivityChart`), its choices (the
question of a question set, day or night view, detections per recorded hour or mean P(yes), the place for
sunrise and sunset), the summary CSV export, and the detections of the cell last clicked (double-click one to
go to its window).  The chart, its CSV and the scan's HTML report follow the question chosen.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mellow.errors import user_message
from mellow.recordings import Location
from mellow_desktop.core.activity import ActivityGrid, ActivityWindow, CellKey, cell_windows
from mellow_desktop.core.deployment_tables import write_summary_csv
from mellow_desktop.core.report_graphics import MEASURES
from mellow_desktop.core.sun import SunMark, sun_marks
from mellow_desktop.qt.widgets.activity_chart import ActivityChart


def parse_location(text: str) -> Location | None:
    """``"52.52, 13.40"`` (latitude, longitude in degrees) -> a Location; "" -> None; ValueError else."""
    if not text.strip():
        return None
    parts = text.replace(",", " ").split()
    if len(parts) != 2:
        raise ValueError("type the place as latitude, longitude (e.g. 52.52, 13.40)")
    lat, lon = float(parts[0]), float(parts[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("latitude runs from -90 to 90 and longitude from -180 to 180")
    return Location(lat, lon)


class ActivityPane(QWidget):
    """See the module docstring; :meth:`show_grid` gives it a grid and the windows it counts."""

    window_chosen = Signal(object)  # ActivityWindow
    message = Signal(str)
    question_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid: ActivityGrid | None = None
        self.windows: list[ActivityWindow] = []
        self.chart = ActivityChart(self)
        self.questions = QComboBox(self)
        self.questions.setToolTip("The question of the set whose detections are charted")
        self.questions_label = QLabel("Question:", self)
        self.questions.currentIndexChanged.connect(lambda _i: self.question_changed.emit())
        self.night = QCheckBox("Night view", self)
        self.night.setToolTip("Rows run from noon to noon, so that a night is one row")
        self.measure = QComboBox(self)
        for key, label in MEASURES.items():
            self.measure.addItem(label, key)
        self.place = QLineEdit(self)
        self.place.setPlaceholderText("latitude, longitude")
        self.place.setToolTip("Where the recordings were made, for sunrise and sunset lines (taken from the "
                              "recordings' GUANO Loc Position when they have one)")
        self.place.setMinimumWidth(150)
        self.place.setMaximumWidth(190)
        self.export_button = QPushButton("Summary CSV…", self)
        self.export_button.setToolTip("Per date and hour: minutes recorded, windows, detections, detections "
                                      "per recorded hour")
        self.cell_label = QLabel("Click a cell to list its detections.", self)
        self.detections = QListWidget(self)
        self.detections.setMaximumHeight(110)
        for signal in (self.night.toggled, self.measure.currentIndexChanged):
            signal.connect(self._redraw)
        self.place.editingFinished.connect(self._redraw)
        self.export_button.clicked.connect(self._export)
        self.chart.cell_clicked.connect(self.list_cell)
        self.detections.itemActivated.connect(self._choose)
        top = QHBoxLayout()
        for w in (self.questions_label, self.questions, self.night, QLabel("Colour:", self), self.measure,
                  QLabel("Place:", self), self.place):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.export_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.chart, 1)
        lay.addWidget(self.cell_label)
        lay.addWidget(self.detections)
        self.set_questions(())

    def set_questions(self, names: tuple[str, ...]) -> str:
        """Offer the questions ``names`` (the picker shows for two or more; the choice is kept when the
        name is still there); returns the question chosen ("" for none)."""
        current = self.question()
        if tuple(self.questions.itemText(i) for i in range(self.questions.count())) != names:
            self.questions.blockSignals(True)
            self.questions.clear()
            self.questions.addItems(list(names))
            self.questions.setCurrentIndex(max(0, self.questions.findText(current)))
            self.questions.blockSignals(False)
        for w in (self.questions, self.questions_label):
            w.setVisible(len(names) > 1)
        return self.question()

    def question(self) -> str:
        """The question charted ("" when none is offered)."""
        return self.questions.currentText()

    def show_grid(self, grid: ActivityGrid | None, windows: list[ActivityWindow],
                  location: Location | None = None) -> None:
        """Chart ``grid`` (None: nothing to chart); ``location`` fills the place when none is typed."""
        self.grid, self.windows = grid, windows
        if location is not None and not self.place.text().strip():
            self.place.setText(f"{location.latitude:.5f}, {location.longitude:.5f}")
        self.export_button.setEnabled(grid is not None)
        self._redraw()

    def _redraw(self) -> None:
        grid, night = self.grid, self.night.isChecked()
        suns: list[list[SunMark]] = []
        try:
            place = parse_location(self.place.text())
        except ValueError as exc:
            self.message.emit(str(exc))
            place = None
        if grid is not None and place is not None:
            suns = [sun_marks(row, place, grid.zone) for row in grid.rows(night)]
        self.chart.set_grid(grid, night, str(self.measure.currentData()), suns)

    def list_cell(self, key: CellKey) -> None:
        """List the detections of cell ``key`` (a click on the chart)."""
        if self.grid is None:
            return
        found = cell_windows(self.grid, self.windows, key)
        day, hour = key
        self.cell_label.setText(f"{day.isoformat()} {hour:02d}:00: {len(found)} detection(s)"
                                + (" — double-click one to go there" if found else ""))
        self.detections.clear()
        for w in found:
            score = "" if w.score is None else f"  P(yes) {w.score:.2f}"
            name = w.file.rsplit("/", 1)[-1]
            item = QListWidgetItem(f"{w.start:%H:%M:%S}  {name} at {w.offset_s or 0:.1f} s{score}  {w.text}")
            item.setData(Qt.ItemDataRole.UserRole, w)
            self.detections.addItem(item)

    def _choose(self, item: QListWidgetItem) -> None:
        self.window_chosen.emit(item.data(Qt.ItemDataRole.UserRole))

    def _export(self) -> None:
        if self.grid is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the activity summary", "activity-summary.csv",
                                              "CSV (*.csv)")
        if not path:
            return
        try:
            write_summary_csv(self.grid, path)
        except Exception as exc:  # noqa: BLE001 - a full disk, a read-only folder: one line, nothing lost
            self.message.emit(user_message(exc, "writing the summary"))
            return
        self.message.emit(f"Wrote the activity summary to {path}")
