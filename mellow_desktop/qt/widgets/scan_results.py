"""The scan pane: the scan's title, progress (bar, windows/s, ETA), Cancel / Resume / Export, the timeline
track (:class:`~mellow_desktop.qt.widgets.scan_timeline.ScanTimeline`) and the results table, which sorts
(click a header) and filters (answer text, minimum score, the question of a question set) through
:meth:`ScanView.table <mellow_desktop.core.scan_view.ScanView.table>`.

Selecting a row emits :attr:`ScanResults.row_chosen` with the window's plan index (the window moves there,
opening its file for a folder scan); Enter or a double-click emits :attr:`ScanResults.play_requested`.  A
folder scan's table has two more columns first: the file and the window's clock time; a question set's has
the question's name before the times.  "Ask another…" adds a question to the scan shown
(:attr:`ScanResults.add_question_requested`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mellow_desktop.core.scan_view import ScanView, TableRow
from mellow_desktop.qt.widgets.clip_controls import ElidedLabel
from mellow_desktop.qt.widgets.scan_timeline import ScanTimeline

#: Column headers by sort key (:meth:`ScanView.columns`).
COLUMN_HEADERS = {"file": "File", "clock": "Clock time", "question": "Question", "start": "Start",
                  "end": "End", "answer": "Answer", "score": "Score"}
ALL_QUESTIONS = "All questions"
#: Export menu entries: format -> label.
EXPORT_LABELS = {"csv": "CSV table…", "audacity": "Audacity labels…", "raven": "Raven selection table…",
                 "html": "HTML report…"}

Index = QModelIndex | QPersistentModelIndex


class ScanTableModel(QAbstractTableModel):
    """The rows of a :class:`ScanView` as its ``table`` gives them (filter and sort kept here)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: ScanView | None = None
        self.rows: list[TableRow] = []
        self.text, self.min_score = "", None
        self.question: str | None = None  # the question shown (None: all)
        self.sort_key, self.descending = "start", False

    def refresh(self, view: ScanView | None = None) -> None:
        if view is not None:
            self.view = view
        self.beginResetModel()
        view = self.view
        question = self.question if view is not None and self.question in view.names else None
        self.rows = view.table(self.text, self.min_score, self.sort_key, self.descending,
                               question) if view else []
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 (Qt override)
        return 0 if parent.isValid() else len(self.rows)

    def columns(self) -> tuple[str, ...]:
        """The columns' sort keys (:meth:`ScanView.columns`)."""
        return self.view.columns() if self.view is not None else ("start", "end", "answer", "score")

    def headers(self) -> tuple[str, ...]:
        return tuple(COLUMN_HEADERS[c] for c in self.columns())

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 (Qt override)
        return 0 if parent.isValid() else len(self.headers())

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            view = self.view
            return row.cells(view is not None and view.has_files,
                             view is not None and view.has_questions)[index.column()]
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 (Qt override)
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_key, self.descending = self.columns()[column], order == Qt.SortOrder.DescendingOrder
        self.refresh()


class ResultsTable(QTableView):
    """The results table; Enter plays the current row."""

    play_current = Signal()

    def keyPressEvent(self, ev: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.play_current.emit()
            ev.accept()
            return
        super().keyPressEvent(ev)


class ScanResults(QWidget):
    """The scan pane (see the module docstring)."""

    row_chosen = Signal(int)  # the window's plan index
    play_requested = Signal(int)
    cancel_requested = Signal()
    resume_requested = Signal()
    export_requested = Signal(str)  # format
    add_question_requested = Signal(str)  # the prompt to add

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = ElidedLabel("No scan", self)  # a long title elides in the middle (whole in its tooltip)
        self.title.setStyleSheet("font-weight: 600;")
        self.title.setMinimumWidth(120)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self.progress_label = ElidedLabel("", self)  # "file 12 of 55: … · 3.2 windows/s · …" may be long
        self.progress_label.setMinimumWidth(120)
        self.cancel_button = QPushButton("Cancel scan", self)
        self.cancel_button.setToolTip("Stop after the current batch (what is done stays stored)")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.resume_button = QPushButton("Resume", self)
        self.resume_button.setToolTip("Answer the windows this scan still misses")
        self.resume_button.clicked.connect(self.resume_requested)
        self.export_button = QToolButton(self)
        self.export_button.setText("Export")
        self.export_button.setToolTip("Save this scan: CSV, Audacity labels, a Raven table, an HTML report")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        for fmt, label in EXPORT_LABELS.items():
            menu.addAction(label, lambda f=fmt: self.export_requested.emit(f))
        self.export_button.setMenu(menu)
        self.ask_button = QPushButton("Ask another…", self)
        self.ask_button.setToolTip("Add a question to this scan: only it is asked of every window")
        self.ask_button.clicked.connect(self._ask_another)
        self.question = QComboBox(self)
        self.question.setToolTip("Show the answers of one question of the set")
        self.question.currentIndexChanged.connect(self._filter_changed)
        self.timeline = ScanTimeline(self)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter answers…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter_changed)
        self.min_score = QDoubleSpinBox(self)
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.min_score.setPrefix("score ≥ ")
        self.min_score.setToolTip("Show only windows scored at least this (0: all)")
        self.min_score.valueChanged.connect(self._filter_changed)
        self.model = ScanTableModel(self)
        self.table = t = ResultsTable(self)
        t.setModel(self.model)
        t.setSortingEnabled(True)
        t.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        t.horizontalHeader().setStretchLastSection(False)
        t.verticalHeader().setVisible(False)
        t.clicked.connect(lambda index: self._choose(index, self.row_chosen))
        t.doubleClicked.connect(lambda index: self._choose(index, self.play_requested))
        t.play_current.connect(lambda: self._choose(t.currentIndex(), self.play_requested))
        self._layout()
        self.set_running(False, can_resume=False)

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.title, 1)  # takes the room left (a long title is cut, never drawn over the rest)
        top.addWidget(self.progress)
        top.addWidget(self.progress_label, 1)  # both texts elide: neither widens the window
        for w in (self.cancel_button, self.resume_button, self.ask_button, self.export_button):
            top.addWidget(w)
        filters = QHBoxLayout()
        filters.addWidget(self.question)
        filters.addWidget(self.filter, 1)
        filters.addWidget(self.min_score)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.timeline)
        lay.addLayout(filters)
        lay.addWidget(self.table, 1)

    def show_view(self, view: ScanView, title: str, duration_s: float, scored: bool) -> None:
        """Show ``view`` (a new or re-opened scan); the timeline spans ``duration_s`` (its shown file)."""
        self.title.setText(title)
        self.title.setToolTip(title)
        self.timeline.set_view(view, duration_s, scored)
        self.min_score.setEnabled(scored or any(view.scored(n) for n in view.names))
        self.model.view = view
        self.set_questions(view.names)
        self.model.refresh(view)
        self.table.sortByColumn(1 if view.has_files else 0, Qt.SortOrder.AscendingOrder)  # in clock order
        answer = self.model.headers().index("Answer")
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount()):
            mode = QHeaderView.ResizeMode.Stretch if column == answer else QHeaderView.ResizeMode.Interactive
            header.setSectionResizeMode(column, mode)
        self.table.resizeColumnsToContents()

    def set_questions(self, names: tuple[str, ...]) -> None:
        """Offer "All questions" and each of ``names`` in the question filter (shown for two or more)."""
        wanted = (ALL_QUESTIONS, *names)
        if tuple(self.question.itemText(i) for i in range(self.question.count())) != wanted:
            current = self.question.currentText()
            self.question.blockSignals(True)
            self.question.clear()
            self.question.addItems(list(wanted))
            self.question.setCurrentIndex(max(0, self.question.findText(current)))
            self.question.blockSignals(False)
        self.question.setVisible(len(names) > 1)
        self.model.question = self.question.currentText() if self.question.currentIndex() > 0 else None

    def choose_question(self, name: str | None) -> None:
        """Show only the answers of question ``name`` (None: of all questions)."""
        self.question.setCurrentIndex(max(0, self.question.findText(name)) if name else 0)

    def _ask_another(self) -> None:
        prompt, ok = QInputDialog.getText(self, "Ask another question",
                                          "Question to ask of every window of this scan:")
        if ok and prompt.strip():
            self.add_question_requested.emit(prompt.strip())

    def refresh(self) -> None:
        """The view got new results: redraw the timeline and the table (the selection is kept by row)."""
        selected = self.table.currentIndex().row()
        self.model.refresh()
        self.timeline.update()
        if 0 <= selected < self.model.rowCount():
            self.table.selectRow(selected)

    def set_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress_label.setText(text)

    def set_running(self, running: bool, can_resume: bool) -> None:
        self.cancel_button.setVisible(running)
        self.ask_button.setEnabled(not running)
        self.resume_button.setVisible(can_resume and not running)
        self.progress.setVisible(running or can_resume)

    def _filter_changed(self) -> None:
        self.model.text = self.filter.text()
        self.model.question = self.question.currentText() if self.question.currentIndex() > 0 else None
        value = self.min_score.value()
        self.model.min_score = value if value > 0 else None
        self.model.refresh()

    def _choose(self, index: QModelIndex, signal: Signal) -> None:
        if index.isValid():
            row: TableRow = self.model.data(index, Qt.ItemDataRole.UserRole)
            signal.emit(row.index)
