"""The history list: undo after Delete, search covers clip names, no tooltip over the buttons (the whole
entry shows in a detail line)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt

from mellow_desktop.core.history_store import HistoryRecord, HistoryStore
from mellow_desktop.qt.widgets.history_view import HistoryView


def _fill(store: HistoryStore, tmp_path: Path) -> None:
    for i, name in enumerate(("resource_1.wav", "dog.flac", "rain.wav")):
        store.add(HistoryRecord(prompt=f"caption number {i}", answer=f"answer {i} " + "word " * 40,
                                clip_a=str(tmp_path / name), clip_b=str(tmp_path / name),
                                settings={"single_clip": True}, created=1000.0 + i))


def _view(qtbot, store: HistoryStore) -> HistoryView:
    view = HistoryView(store)
    qtbot.addWidget(view)
    view.resize(420, 500)
    view.show()
    return view


def test_delete_can_be_undone_with_the_link_or_ctrl_z(qtbot, store: HistoryStore, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    view = _view(qtbot, store)
    messages: list[str] = []
    view.message.connect(messages.append)
    assert view.list.count() == 3
    view.list.setCurrentRow(0)
    view.delete_button.click()  # one entry: no confirmation, an undo offer instead
    assert view.list.count() == 2 and len(store.all()) == 2
    assert view.undo_bar.isVisible() and "Deleted 1 history entry" in view.undo_bar.text()
    assert messages[-1].startswith("Deleted 1 history entry")
    view.undo_bar.linkActivated.emit("undo")
    assert view.list.count() == 3 and len(store.all()) == 3 and not view.undo_bar.isVisible()
    assert messages[-1] == "Restored 1 history entry"
    # Ctrl+Z in the history view undoes a delete of several entries (confirmation skipped here).
    view.list.selectAll()
    view.delete_selected(confirm=False)
    assert view.list.count() == 0 and view.can_undo()
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow)
    view.list.setFocus()
    qtbot.keyClick(view.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: view.list.count() == 3)
    ids = sorted(r.id for r in store.all())
    assert ids == [1, 2, 3] and not view.can_undo()  # back with their ids
    view.delete_selected(confirm=False)  # nothing selected after the refresh: nothing happens
    assert len(store.all()) == 3


def test_the_undo_offer_ends_after_a_few_seconds(qtbot, store: HistoryStore, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    view = _view(qtbot, store)
    view._undo_timer.setInterval(50)
    view.list.setCurrentRow(0)
    view.delete_selected()
    assert view.can_undo()
    qtbot.waitUntil(lambda: not view.can_undo() and not view.undo_bar.isVisible(), timeout=2000)
    view.undo_delete()
    assert len(store.all()) == 2  # the chance has passed


def test_search_names_clip_names_and_finds_them(qtbot, store: HistoryStore, tmp_path: Path) -> None:
    _fill(store, tmp_path)
    view = _view(qtbot, store)
    assert "clip names" in view.search.placeholderText()
    view.search.setText("resource_1")
    qtbot.waitUntil(lambda: view.list.count() == 1)
    assert "resource_1.wav" in view.list.item(0).text()


def test_no_tooltip_covers_the_buttons_the_entry_shows_below_the_list(
    qtbot, store: HistoryStore, tmp_path: Path
) -> None:
    _fill(store, tmp_path)
    view = _view(qtbot, store)
    for i in range(view.list.count()):
        assert view.list.item(i).toolTip() == ""
    assert view.list.toolTip() == ""
    view.list.setCurrentRow(1)
    record = store.get(int(view.list.item(1).data(Qt.ItemDataRole.UserRole)))
    assert record is not None
    assert view.detail.text().startswith(record.prompt) and "answer 1 word word" in view.detail.text()
    # The detail line sits between the list and the buttons, never over them.
    detail = view.detail.geometry()
    for button in (view.reuse_button, view.reload_button, view.delete_button):
        assert button.mapTo(view, QPoint(0, 0)).y() > detail.bottom()
