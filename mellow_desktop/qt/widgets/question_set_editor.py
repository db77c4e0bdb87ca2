"""The Scan dialog's question set: pick a packaged preset or a saved set, or load a ``.yaml``/``.csv`` file,
then edit its questions in a table (name, prompt, threshold; add and remove rows) and save it under a name
(:mod:`mellow_desktop.core.question_sets`).  :meth:`QuestionSetEditor.question_set` reads the table into a
:class:`~mellow.scan.questions.QuestionSet`; what cannot be used raises QuestionError with a one-line reason
(the dialog shows it and keeps the table as typed).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mellow.scan.questions import Question, QuestionError, QuestionSet, load_questions, short_name
from mellow_desktop.core.question_sets import SetChoice, save_set, set_choices

COLUMNS = ("Name", "Prompt", "Threshold")
_CHOOSE = "Choose a set…"


class QuestionSetEditor(QWidget):
    """See the module docstring; ``folder``: where sets are saved (None: the data dir's)."""

    message = Signal(str)  # a one-line error or what was done

    def __init__(self, parent: QWidget | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.set_name = ""
        self.sets = QComboBox(self)
        self.sets.setToolTip("A packaged preset or one of your saved sets")
        self.sets.activated.connect(self._set_chosen)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Each question is asked of every window; an empty threshold takes the scan's")
        self.table.setMinimumHeight(150)
        buttons = QHBoxLayout()
        for text, slot, tip in (("Add", self.add_row, "Add a question"),
                                ("Remove", self.remove_rows, "Remove the selected questions"),
                                ("Load file…", self._load_file, "Read a .yaml or .csv question file"),
                                ("Save set…", self._save, "Save this set under a name, to choose it later")):
            button = QPushButton(text, self)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.sets)
        lay.addWidget(self.table)
        lay.addLayout(buttons)
        self.refresh_choices()

    # ------------------------------------------------------------------------------------------- sets
    def refresh_choices(self, select: str = "") -> None:
        """List the presets and saved sets again (``select``: the label to show as chosen)."""
        self.sets.clear()
        self.sets.addItem(_CHOOSE, None)
        for choice in set_choices(self.folder):
            self.sets.addItem(choice.label, choice)
        index = self.sets.findText(select)
        self.sets.setCurrentIndex(max(0, index))

    def choose(self, label: str) -> bool:
        """Choose the listed set ``label`` ("soundscape (preset)", a saved set's name) and show it."""
        index = self.sets.findText(label)
        if index <= 0:
            return False
        self.sets.setCurrentIndex(index)
        return self._set_chosen(index)

    def _set_chosen(self, index: int) -> bool:
        choice: SetChoice | None = self.sets.itemData(index)
        if choice is None:
            return False
        try:
            self.show_set(choice.load())
        except QuestionError as exc:
            self.message.emit(str(exc))
            return False
        return True

    def show_set(self, questions: QuestionSet) -> None:
        """Fill the table with ``questions`` (replacing what it held)."""
        self.set_name = questions.name
        self.table.setRowCount(0)
        for q in questions:
            self.add_row(q.name, q.prompt, "" if q.threshold is None else f"{q.threshold:g}")

    def add_row(self, name: str = "", prompt: str = "", threshold: str = "") -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in enumerate((name, prompt, threshold)):
            self.table.setItem(row, column, QTableWidgetItem(text if isinstance(text, str) else ""))
        if not prompt:
            self.table.setCurrentCell(row, 1)

    def remove_rows(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()} or {self.table.currentRow()},
                      reverse=True)
        for row in rows:
            if row >= 0:
                self.table.removeRow(row)

    # ------------------------------------------------------------------------------------------- reading
    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    def question_set(self) -> QuestionSet:
        """The table as a question set (an empty name is made from the prompt; empty rows are skipped);
        QuestionError (one line, naming the row) when it cannot be asked."""
        items: list[tuple[str, str, float | None]] = []
        for row in range(self.table.rowCount()):
            name, prompt, threshold = (self._cell(row, c) for c in range(3))
            if not (name or prompt or threshold):
                continue
            if not prompt:
                raise QuestionError(f"row {row + 1} has no prompt")
            if threshold:
                try:
                    value: float | None = float(threshold.replace(",", "."))
                except ValueError:
                    raise QuestionError(f"row {row + 1}: threshold {threshold!r} is not a number") from None
            else:
                value = None
            items.append((name, prompt, value))
        if not items:
            raise QuestionError("a question set needs at least one question")
        taken = {n for n, _, _ in items if n}
        questions = []
        for row, (name, prompt, value) in enumerate(items, start=1):
            if not name:  # named after its prompt, numbered when another question has that name
                base = name = short_name(prompt)
                k = 1
                while name in taken:
                    k += 1
                    name = f"{base} ({k})"
                taken.add(name)
            try:
                questions.append(Question(name, prompt, value))
            except QuestionError as exc:
                raise QuestionError(f"row {row}: {exc}") from None
        return QuestionSet(tuple(questions), self.set_name)

    # ------------------------------------------------------------------------------------------- files
    def load_file(self, path: str | Path) -> bool:
        """Show the set of a ``.yaml``/``.csv`` question file (a one-line message when it cannot be read)."""
        try:
            self.show_set(load_questions(path))
        except QuestionError as exc:
            self.message.emit(str(exc))
            return False
        self.sets.setCurrentIndex(0)
        return True

    def _load_file(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Load a question set", "",
                                                "Question sets (*.yaml *.yml *.csv)")
        if chosen:
            self.load_file(chosen)

    def save(self, name: str) -> Path | None:
        """Save the table as the set ``name`` and list it (the table then shows the names given to unnamed
        questions); None after a one-line message."""
        try:
            questions = self.question_set()
            path = save_set(questions, name, self.folder)
        except QuestionError as exc:
            self.message.emit(str(exc))
            return None
        self.show_set(QuestionSet(questions.questions, name.strip()))
        self.refresh_choices(select=path.stem)
        self.message.emit(f"Saved the question set to {path}")
        return path

    def _save(self) -> None:
        name, ok = QInputDialog.getText(self, "Save question set", "Name of the set:", text=self.set_name)
        if ok and name.strip():
            self.save(name)
