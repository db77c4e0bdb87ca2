"""The Scan dialog's question set: a preset chosen and edited in the table, one-line errors that keep the
table as typed, a set saved under the data folder and listed again, a question file loaded, and the record
the dialog builds (a set of several, or a set of one as one question)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialogButtonBox

from mellow.scan.questions import load_questions, preset
from mellow_desktop.core.paths import question_sets_dir
from mellow_desktop.qt.dialogs.scan_dialog import ScanDialog


def _ok(dialog: ScanDialog) -> None:
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()


def _cells(dialog: ScanDialog) -> list[list[str]]:
    t = dialog.questions.table
    return [[t.item(r, c).text() for c in range(3)] for r in range(t.rowCount())]


def test_a_preset_is_edited_saved_and_asked_as_a_set(qtbot: Any, tmp_path: Path) -> None:
    dialog = ScanDialog(tmp_path / "dawn.wav", 600.0, None)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.questions.isVisible() and dialog.prompt.isVisible()
    dialog.many.setChecked(True)
    assert dialog.questions.isVisible() and not dialog.prompt.isVisible()
    assert dialog.whole.isChecked()  # the range's choice is a group of its own
    labels = [dialog.questions.sets.itemText(i) for i in range(dialog.questions.sets.count())]
    assert {"soundscape (preset)", "urban (preset)", "household (preset)"} <= set(labels)
    assert dialog.questions.choose("soundscape (preset)")
    assert [row[0] for row in _cells(dialog)] == list(preset("soundscape").names)
    t = dialog.questions.table
    while t.rowCount() > 2:  # keep birds and insects
        t.selectRow(2)
        dialog.questions.remove_rows()
    t.item(1, 2).setText("1.5")
    _ok(dialog)
    assert dialog.result() == 0 and "threshold must be between 0 and 1" in dialog.error.text()
    assert dialog.error.text().startswith("row 2:") and _cells(dialog)[1][2] == "1.5"  # nothing lost
    t.item(1, 2).setText("0.35")
    dialog.questions.add_row("", "caption the audio.")
    assert dialog.questions.save("Dawn, birds") is not None
    saved = question_sets_dir() / "Dawn_ birds.yaml"
    assert "Saved the question set" in dialog.error.text() and saved.is_file()
    assert load_questions(saved).names == ("birds", "insects", "caption the audio")
    assert dialog.questions.sets.currentText() == "Dawn_ birds"
    record = dialog.record()
    assert record.questions is not None and record.questions.name == "Dawn, birds"
    assert [(q.name, q.threshold) for q in record.questions] == [("birds", None), ("insects", 0.35),
                                                                 ("caption the audio", None)]
    assert record.prompt == "Dawn, birds: birds, insects, caption the audio" and record.threshold == 0.5
    again = ScanDialog(tmp_path / "dawn.wav", 600.0, None)  # a later dialog lists the saved set
    qtbot.addWidget(again)
    assert again.questions.choose("Dawn_ birds") and _cells(again) == _cells(dialog)


def test_a_question_file_loads_and_its_errors_are_one_line(qtbot: Any, tmp_path: Path) -> None:
    dialog = ScanDialog(tmp_path / "dawn.wav", 600.0, None)
    qtbot.addWidget(dialog)
    dialog.many.setChecked(True)
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt,colour\nis it raining? answer yes or no,red\n", encoding="utf-8")
    assert not dialog.questions.load_file(bad)
    assert "the first row must name the columns" in dialog.error.text() and "\n" not in dialog.error.text()
    good = tmp_path / "two.csv"
    good.write_text("name,prompt,threshold\nrain,is it raining? answer yes or no,0.7\n"
                    ",is there wind? answer yes or no,\n", encoding="utf-8")
    assert dialog.questions.load_file(good)
    assert _cells(dialog) == [["rain", "is it raining? answer yes or no", "0.7"],
                              ["wind", "is there wind? answer yes or no", ""]]
    dialog.questions.table.item(1, 1).setText("is it raining? answer yes or no")
    _ok(dialog)
    assert "two questions have the prompt" in dialog.error.text() and dialog.result() == 0
    dialog.questions.table.selectRow(1)
    dialog.questions.remove_rows()
    record = dialog.record()  # a set of one is one question with its own threshold
    assert (record.questions, record.prompt, record.threshold) == (None, "is it raining? answer yes or no",
                                                                  0.7)
