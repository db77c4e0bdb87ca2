"""The Scan… dialog's request (range typed as h:mm:ss, hop, threshold, slot 2 from Clip B), its one-line
errors, the action's refusals before a model or a clip is there, and scans found by the history search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from mellow.scan.plan import MIN_HOP_S
from mellow_desktop.core.scan_record import ScanRecord
from mellow_desktop.qt.dialogs.scan_dialog import ScanDialog
from mellow_desktop.qt.widgets.history_scans import is_scan
from tests.helpers.audio_files import write_recording as recording
from tests.helpers.waits import wait_loaded


def test_the_dialog_builds_the_record_and_explains_bad_ranges(qtbot: Any, tmp_path: Path) -> None:
    b = tmp_path / "other.wav"
    dialog = ScanDialog(tmp_path / "long.wav", 3600.0, (b, 12.5))
    qtbot.addWidget(dialog)
    first = dialog.record()
    want = ScanRecord(file=str(tmp_path / "long.wav"), prompt=dialog.prompt.currentText(),
                      created=first.created)
    assert first == want and (first.dtype, first.max_len, first.score) == ("float32", 300, "auto")
    assert dialog.hop.minimum() == MIN_HOP_S and dialog.reuse_path() is None
    dialog.prompt.setEditText("  is a dog barking? answer yes or no ")
    dialog.from_edit.setText("0:10:00")
    dialog.to_edit.setText("1500")
    dialog.part.setChecked(True)
    dialog.hop.setValue(5.0)
    dialog.threshold.setValue(0.7)
    dialog.slot2.setCurrentIndex(1)  # Clip B's window as a fixed reference
    r = dialog.record()
    assert (r.prompt, r.from_s, r.to_s, r.hop_s, r.threshold) == ("is a dog barking? answer yes or no", 600.0,
                                                                 1500.0, 5.0, 0.7)
    assert (r.slot2_mode, r.slot2_file, r.slot2_start_s) == ("against", str(b), 12.5)
    dialog.slot2.setCurrentIndex(2)  # Clip B aligned in time
    assert (dialog.record().slot2_mode, dialog.record().slot2_start_s) == ("pair", 0.0)
    assert not dialog.advanced.isVisibleTo(dialog)
    dialog.advanced_toggle.click()
    assert dialog.advanced.isVisibleTo(dialog)
    dialog.precision.setCurrentIndex(dialog.precision.findData("bfloat16"))
    dialog.max_len.setValue(3)
    dialog.score.setCurrentIndex(dialog.score.findData("yes-no"))
    dialog.reuse.setText(str(tmp_path / "earlier.jsonl"))
    r = dialog.record()
    assert (r.dtype, r.max_len, r.score) == ("bfloat16", 3, "yes-no")
    assert dialog.reuse_path() == str(tmp_path / "earlier.jsonl")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    ok.click()
    assert "No such file" in dialog.error.text() and dialog.result() == 0
    dialog.reuse.clear()
    for frm, to, reason in (("20:00", "10:00", "after its start"), ("0:00", "2:00:00", "past the end"),
                            ("1:75", "10:00", "below 60")):
        dialog.from_edit.setText(frm)
        dialog.to_edit.setText(to)
        ok.click()
        assert reason in dialog.error.text() and dialog.result() == 0  # not accepted


def test_without_clip_b_only_the_same_window_is_offered(qtbot: Any, tmp_path: Path) -> None:
    dialog = ScanDialog(tmp_path / "long.wav", 600.0, None)
    qtbot.addWidget(dialog)
    model = dialog.slot2.model()
    assert model.item(0).isEnabled() and not model.item(1).isEnabled() and not model.item(2).isEnabled()


def test_scan_refuses_without_a_clip_or_a_model(window: Any, qtbot: Any, tmp_path: Path) -> None:
    window.scans.open_dialog()
    assert "Open a recording in Clip A first" in window.chat.notices()[-1]
    path = recording(tmp_path / "a.wav", 30.0)
    window.panel_a.open_file(path)
    wait_loaded(qtbot, window.panel_a, path, facts=False)
    before = len(window.chat.notices())
    assert not window.scans.start(ScanRecord(file=path, prompt="caption the audio."), window.panel_a)
    assert window.scans.job is None and not window.scans.dock.isVisible()
    notices = window.chat.notices()
    assert len(notices) == before + 1 and "\n" not in notices[-1]  # why (no model yet), in one line


def test_history_search_finds_a_scan_by_its_answers(ready_window: Any, qtbot: Any, tmp_path: Path) -> None:
    w = ready_window
    path = recording(tmp_path / "search me.wav", 40.0)
    w.panel_a.open_file(path)
    wait_loaded(qtbot, w.panel_a, path, facts=False)
    with qtbot.waitSignal(w.scans.scan_ended, timeout=60000):
        w.scans.start(ScanRecord(file=path, prompt="caption the audio.", max_len=3), w.panel_a)
    answer = w.scans.view.results[0].text.strip()
    assert answer
    w.history.search.setText(answer[:4])
    w.history.refresh()
    items = [w.history.list.item(i) for i in range(w.history.list.count())]
    assert any(is_scan(it) and "search me.wav" in it.text() for it in items)
    w.history.search.setText("no such words anywhere")
    w.history.refresh()
    assert w.history.list.count() == 0


@pytest.fixture(autouse=True)
def _quiet_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Message boxes would block an offscreen test."""
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)


def test_the_panels_scan_button_scans_that_clip(ready_window: Any, qtbot: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Clip B's "Scan whole file…" highlights Clip B and scans its recording with the dialog's choices."""
    from PySide6.QtWidgets import QDialog

    w = ready_window
    a, b = recording(tmp_path / "a.wav", 30.0), recording(tmp_path / "b.wav", 60.0, seed=3)
    w.panel_a.open_file(a)
    w.panel_b.open_file(b)
    wait_loaded(qtbot, w.panel_b, b, facts=False)
    shown: list[ScanDialog] = []

    def accept(dialog: ScanDialog) -> int:  # the user picks hop 20 s and presses Scan
        shown.append(dialog)
        dialog.hop.setValue(20.0)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ScanDialog, "exec", accept)
    with qtbot.waitSignal(w.scans.scan_ended, timeout=60000) as ended:
        qtbot.mouseClick(w.panel_b.navigator.scan_button, Qt.MouseButton.LeftButton)
    assert ended.args == ["finished"] and w.clips.focused_slot == "B"
    assert shown[0].file == b and w.scans.record.file == str(b) and w.scans.record.hop_s == 20.0
    assert w.scans.panel is w.panel_b and w.scans.pane.model.rowCount() == w.scans.record.n_windows == 4


def test_a_scan_deleted_from_the_history_comes_back_with_undo(window: Any, qtbot: Any) -> None:
    from mellow_desktop.core.scan_record import ScanRecord
    from tests.helpers.scans import fake_results

    record = ScanRecord(prompt="is it raining? answer yes or no", file="/field/roof.wav", file_hash="cd" * 20,
                        n_windows=3, scoring="yes-no", status="finished")
    window.store.scans.create(record)
    window.store.scans.append_results(record, fake_results(record, ["yes", "no", "yes"], [0.9, 0.1, 0.8]))
    history = window.history
    history.refresh()
    item = next(history.list.item(i) for i in range(history.list.count()) if is_scan(history.list.item(i)))
    assert "3 of 3 windows" in item.text()
    history.list.setCurrentItem(item)
    history.delete_selected()  # confirmed (the message box answers Yes here)
    assert window.store.scans.get(record.id) is None and history.list.count() == 0
    assert history.can_undo() and "Deleted 1 scan" in history.undo_bar.text()
    messages: list[str] = []
    history.message.connect(messages.append)
    history.undo_delete()
    assert messages == ["Restored 1 scan"]
    restored = window.store.scans.load(record.id)
    assert restored is not None and [r.text for r in restored.results] == ["yes", "no", "yes"]
    assert history.list.count() == 1 and is_scan(history.list.item(0))


def test_scan_button_in_the_prompt_box_opens_the_scan_dialog_with_the_typed_prompt(
    ready_window: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prompt box's "Scan…" triggers the one Clips ▸ Scan action; the dialog starts from the prompt."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDialog

    w = ready_window
    path = recording(tmp_path / "a.wav", 30.0)
    w.panel_a.open_file(path)
    wait_loaded(qtbot, w.panel_a, path, facts=False)
    shown: list[ScanDialog] = []

    def reject(dialog: ScanDialog) -> int:  # look at the dialog, then Cancel
        shown.append(dialog)
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(ScanDialog, "exec", reject)
    triggered: list[bool] = []
    w.findChild(QAction, "action_scan").triggered.connect(lambda *_: triggered.append(True))
    w.prompt.set_text("is a dog barking? answer yes or no")
    qtbot.mouseClick(w.prompt.scan_button, Qt.MouseButton.LeftButton)
    assert triggered == [True] and len(shown) == 1
    assert shown[0].file == path and shown[0].prompt.currentText() == "is a dog barking? answer yes or no"
    assert "Ctrl+Shift+F" in w.prompt.scan_button.toolTip()
    w.prompt.set_text("")  # nothing typed: the dialog starts from its first preset
    qtbot.mouseClick(w.prompt.scan_button, Qt.MouseButton.LeftButton)
    assert shown[1].prompt.currentText() == shown[1].prompt.itemText(0) and not w.scans.running()
