"""Scan… : what to ask of every window of a recording (one question, or a question set:
:class:`~mellow_desktop.qt.widgets.question_set_editor.QuestionSetEditor`), over which range, with which
hop and threshold, and what goes in the model's second slot; under *Advanced*, the precision, the longest
answer, the score, and a ``mellow scan`` output whose answers to the same questions are taken instead of
asked again.  The answer is a :class:`~mellow_desktop.core.scan_record.ScanRecord` (checked by the core when
the scan starts; typed times are read by :func:`~mellow_desktop.core.time_entry.parse_time`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from mellow.scan.plan import MIN_HOP_S
from mellow.scan.questions import QuestionError
from mellow.timefmt import format_seconds
from mellow_desktop.core.scan_record import ScanRecord, set_label
from mellow_desktop.core.time_entry import TimeEntryError, parse_time
from mellow_desktop.qt.widgets.question_set_editor import QuestionSetEditor

#: Prompts offered in the dialog; the yes/no ones give a score curve and detections.
SCAN_PRESETS = (
    "is there a bird singing? answer yes or no",
    "is someone speaking? answer yes or no",
    "is there a dog barking? answer yes or no",
    "is there an engine running? answer yes or no",
    "caption the audio.",
)
#: Precision choices: dtype name -> label (float32 is the published model's).
PRECISIONS = {"float32": "float32 (as published)",
              "bfloat16": "bfloat16 (faster on GPUs; answers may differ)",
              "float16": "float16 (GPUs; answers may differ)"}
#: Score choices: mode -> label.
SCORES = {"auto": "from the prompt (yes/no, options)", "yes-no": "P(yes) always", None: "none"}
#: Slot-2 choices: mode -> label.
SLOT2_CHOICES = {
    "same": "the same window (ask about one recording)",
    "against": "Clip B's current window, as a fixed reference",
    "pair": "Clip B at the same time (two recordings of the same period)",
}


class ScanDialog(QDialog):
    """Parameters of a new scan of ``file`` (``duration_s`` long); ``clip_b``: (path, window start) or
    None; ``prompt``: the question to start from (the conversation's prompt; "" for the first preset).

    ``dates`` (first and last day, ISO) makes it the dialog of a folder scan: the range is a range of dates
    (the recordings that start in it), every window of each file is asked, slot 2 holds the same window."""

    def __init__(self, file: Path, duration_s: float, clip_b: tuple[Path, float] | None,
                 parent: QWidget | None = None, prompt: str = "",
                 dates: tuple[str, str] | None = None, sets_folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Scan {'folder ' if dates else ''}{file.name}")
        self.file, self.duration_s, self.clip_b, self.dates = file, duration_s, clip_b, dates
        self.prompt = QComboBox(self)
        self.prompt.setEditable(True)
        self.prompt.addItems(SCAN_PRESETS)
        if prompt.strip():
            self.prompt.setEditText(prompt.strip())
        self.prompt.setMinimumWidth(420)
        self.prompt.setToolTip("Asked of every window; a yes/no question gives a score and detections")
        self.one_question = QRadioButton("One question", self)
        self.many = QRadioButton("Question set", self)
        self.many.setToolTip("Several questions asked of every window at once (one encoding per window)")
        self.one_question.setChecked(True)
        self.ask_mode = QButtonGroup(self)  # exclusive apart from the range's radio buttons
        self.ask_mode.addButton(self.one_question)
        self.ask_mode.addButton(self.many)
        self.questions = QuestionSetEditor(self, sets_folder)
        self.questions.setVisible(False)
        self.questions.message.connect(self._say)
        self.many.toggled.connect(self._show_set)
        mode_row = QHBoxLayout()
        for w in (self.one_question, self.many):
            mode_row.addWidget(w)
        mode_row.addStretch(1)
        self.whole = QRadioButton("every recording" if dates else "whole file", self)
        self.part = QRadioButton("from", self)
        self.whole.setChecked(True)
        first, last = dates or ("0:00", format_seconds(duration_s))
        self.from_edit, self.to_edit = QLineEdit(first, self), QLineEdit(last, self)
        for edit in (self.from_edit, self.to_edit):
            edit.setPlaceholderText("YYYY-MM-DD" if dates else "h:mm:ss or seconds")
            edit.textEdited.connect(lambda _t: self.part.setChecked(True))
        range_row = QHBoxLayout()
        for w in (self.whole, self.part, self.from_edit, QLabel("to", self), self.to_edit):
            range_row.addWidget(w)
        self.hop = QDoubleSpinBox(self)
        self.hop.setRange(MIN_HOP_S, 3600.0)
        self.hop.setValue(10.0)
        self.hop.setSuffix(" s")
        self.hop.setToolTip("Step between window starts (10 s: windows side by side; less: they overlap)")
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.5)
        self.threshold.setToolTip("P(yes) at or above which a window counts as a detection")
        self.slot2 = QComboBox(self)
        for mode, label in SLOT2_CHOICES.items():
            self.slot2.addItem(label, mode)
        if clip_b is None or dates:
            for i in (1, 2):
                self.slot2.model().item(i).setEnabled(False)
            self.slot2.setToolTip("Open a Clip B to compare against it")
        self.advanced = self._advanced_part()
        self.error = QLabel("", self)
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        ok, cancel = QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok | cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Scan")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Ask", mode_row)
        form.addRow("", self.prompt)
        form.addRow("", self.questions)
        form.addRow("Range", range_row)
        form.addRow("Hop", self.hop)
        form.addRow("Threshold", self.threshold)
        form.addRow("Slot 2", self.slot2)
        form.addRow(self.advanced_toggle)
        form.addRow(self.advanced)
        form.addRow(self.error)
        form.addRow(buttons)

    def _advanced_part(self) -> QWidget:
        """Precision, longest answer, score, answers from a ``mellow scan`` output: hidden until asked for."""
        part = QWidget(self)
        self.precision, self.score = QComboBox(part), QComboBox(part)
        for name, label in PRECISIONS.items():
            self.precision.addItem(label, name)
        for mode, label in SCORES.items():
            self.score.addItem(label, mode)
        self.max_len = QSpinBox(part)
        self.max_len.setRange(1, 1000)
        self.max_len.setValue(300)
        self.max_len.setToolTip("Most tokens per answer (a yes/no answer needs 2 or 3)")
        self.reuse = QLineEdit(part)
        self.reuse.setPlaceholderText("none: every window is asked")
        self.reuse.setToolTip("A .jsonl or .csv written by `mellow scan` for the same question: its answers "
                              "are taken instead of being computed again")
        browse = QPushButton("Choose…", part)
        browse.clicked.connect(self._choose_reuse)
        reuse_row = QHBoxLayout()
        reuse_row.addWidget(self.reuse)
        reuse_row.addWidget(browse)
        form = QFormLayout(part)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Precision", self.precision)
        form.addRow("Longest answer", self.max_len)
        form.addRow("Score", self.score)
        form.addRow("Answers from", reuse_row)
        part.setVisible(False)
        self.advanced_toggle = QToolButton(self)
        self.advanced_toggle.setText("Advanced")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        return part

    def _show_set(self, shown: bool) -> None:
        self.questions.setVisible(shown)
        self.prompt.setVisible(not shown)
        self.threshold.setToolTip("P(yes) at or above which a window counts as a detection" +
                                  (" (for questions without their own)" if shown else ""))
        self.error.setText("")
        self.adjustSize()

    def _say(self, text: str) -> None:
        """A one-line message of the question set: errors in red, what was done in plain text."""
        done = text.startswith("Saved ")
        self.error.setStyleSheet("" if done else "color: #b00020;")
        self.error.setText(text)

    def asked(self) -> dict[str, object]:
        """The record's fields of what is asked: ``prompt`` (one question, or a set's label) and
        ``questions`` (a set of several; None for one); QuestionError for a set that cannot be asked."""
        if not self.many.isChecked():
            return {"prompt": self.prompt.currentText().strip(), "questions": None}
        questions = self.questions.question_set()
        if len(questions) == 1:  # a set of one is one question (keyed and stored as one)
            q = questions[0]
            return {"prompt": q.prompt, "questions": None,
                    **({} if q.threshold is None else {"threshold": q.threshold})}
        return {"prompt": set_label(questions), "questions": questions}

    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.adjustSize()

    def _choose_reuse(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Answers from a mellow scan output",
                                                str(self.file.parent), "mellow scan output (*.jsonl *.csv)")
        if chosen:
            self.reuse.setText(chosen)

    def record(self) -> ScanRecord:
        """The scan asked for; raises TimeEntryError (one line) for a range that cannot be read, QuestionError
        for a question set that cannot be asked."""
        from_s, to_s = 0.0, None
        if self.dates:
            return self._folder_record()
        if self.part.isChecked():
            from_s = parse_time(self.from_edit.text(), self.duration_s)
            to_s = parse_time(self.to_edit.text(), self.duration_s)
            if to_s <= from_s:
                raise TimeEntryError("the end of the range must come after its start")
        mode = str(self.slot2.currentData())
        slot2_file, slot2_start = (self.clip_b if mode != "same" and self.clip_b else (None, 0.0))
        if mode == "pair":
            slot2_start = 0.0
        fields = {"threshold": self.threshold.value(), **self.asked()}
        return ScanRecord(file=str(self.file), hop_s=self.hop.value(), from_s=from_s, to_s=to_s,
                          slot2_mode=mode, slot2_file=None if slot2_file is None else str(slot2_file),
                          slot2_start_s=slot2_start, max_len=self.max_len.value(),
                          score=self.score.currentData(), dtype=str(self.precision.currentData()),
                          **fields)  # type: ignore[arg-type]

    def _folder_record(self) -> ScanRecord:
        """A folder scan: every window of each recording that starts in the range of dates."""
        first, last = (self.from_edit.text().strip(), self.to_edit.text().strip()) if self.part.isChecked() \
            else (None, None)
        for text in (first, last):
            if text and not _is_date(text):
                raise TimeEntryError(f"a date reads YYYY-MM-DD, like 2026-05-03 (not {text!r})")
        if first and last and last < first:
            raise TimeEntryError("the last date must not come before the first")
        fields = {"threshold": self.threshold.value(), **self.asked()}
        return ScanRecord(file=str(self.file), hop_s=self.hop.value(), date_from=first or None,
                          date_to=last or None, max_len=self.max_len.value(), score=self.score.currentData(),
                          dtype=str(self.precision.currentData()), **fields)  # type: ignore[arg-type]

    def reuse_path(self) -> str | None:
        """The ``mellow scan`` output to take answers from, or None."""
        return self.reuse.text().strip() or None

    def _accept(self) -> None:
        try:
            record = self.record()
        except (TimeEntryError, QuestionError) as exc:
            self._say(str(exc))
            return
        reuse = self.reuse_path()
        if reuse and not Path(reuse).expanduser().is_file():
            self._say(f"No such file: {reuse}")
            return
        if not record.prompt:
            self._say("Type a prompt to ask of every window.")
            return
        self.accept()


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
