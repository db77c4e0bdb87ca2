"""The searchable history list over :class:`~mellow_desktop.core.history_store.HistoryStore`.

Double-click (or "Use prompt") puts an old prompt back into the prompt box; "Reload clips" opens the clips of
an entry again when the files still exist; entries can be deleted (undo with the "Undo" link or Ctrl+Z for
:data:`UNDO_SECONDS`; several at once are confirmed first) and exported as Markdown or JSON. The whole prompt
and answer of the selected entry show in a detail line under the list (no tooltip covers the buttons).
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mellow_desktop.core.deleted import SCAN, Deleted, counted
from mellow_desktop.core.history_store import HistoryError, HistoryRecord, HistoryStore
from mellow_desktop.qt.widgets.history_scans import is_scan, scan_detail, scan_item

UNDO_SECONDS = 8
_STATUS_MARK = {"finished": "", "cancelled": " (stopped)", "failed": " (failed)"}


def item_text(r: HistoryRecord) -> str:
    """Two lines: the prompt, then time · clips · first words of the answer."""
    when = time.strftime("%d %b %H:%M", time.localtime(r.created))
    clips = " + ".join(dict.fromkeys(Path(p).name for p in (r.clip_a, r.clip_b) if p))
    answer = " ".join(r.answer.split())
    answer = answer[:60] + "…" if len(answer) > 60 else answer
    return f"{r.prompt}{_STATUS_MARK.get(r.status, '')}\n{when} · {clips} · {answer}"


class HistoryView(QWidget):
    """History list with search, reuse, reload, delete and export."""

    reuse_prompt = Signal(object)  # HistoryRecord
    reload_clips = Signal(object)  # HistoryRecord
    open_conversation = Signal(object)  # list[HistoryRecord], oldest first
    open_scan = Signal(int)  # scan id (a scan entry double-clicked)
    message = Signal(str)

    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.last_export_folder = ""
        title = QLabel("History", self)
        title.setStyleSheet("font-weight: 600;")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search prompts, answers and clip names…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda: self._search_timer.start())
        self.list = QListWidget(self)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemDoubleClicked.connect(self._double_clicked)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.detail = QLabel("Double-click an entry to ask it again", self)
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setMaximumHeight(self.detail.fontMetrics().lineSpacing() * 4 + 4)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._build_undo_bar()
        self.reuse_button = QPushButton("Use prompt", self)
        self.reuse_button.setToolTip("Put this prompt into the prompt box")
        self.reuse_button.clicked.connect(lambda: self._emit_for(self.list.currentItem(), self.reuse_prompt))
        self.reload_button = QPushButton("Reload clips", self)
        self.reload_button.setToolTip(
            "Open this entry's clips and windows again (when the files still exist)"
        )
        self.reload_button.clicked.connect(lambda: self._emit_for(self.list.currentItem(), self.reload_clips))
        self.conversation_button = QPushButton("Open as conversation", self)
        self.conversation_button.setToolTip("Show the selected entries as cards in the conversation")
        self.conversation_button.clicked.connect(self._open_as_conversation)
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.setToolTip("Delete the selected entries")
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button = QToolButton(self)
        self.export_button.setText("Export")
        self.export_button.setToolTip("Save the selected entries (or all shown) as Markdown or JSON")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        menu.addAction("Markdown…", lambda: self.export_dialog("md"))
        menu.addAction("JSON…", lambda: self.export_dialog("json"))
        self.export_button.setMenu(menu)
        buttons = QHBoxLayout()
        for b in (self.reuse_button, self.reload_button, self.conversation_button, self.delete_button,
                  self.export_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(title)
        lay.addWidget(self.search)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.detail)
        lay.addWidget(self.undo_bar)
        lay.addLayout(buttons)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Reload the list from the store (newest first, filtered by the search text)."""
        try:
            records = self.store.entries(self.search.text())
            done = self.store.scans.done_counts(r.id for r in records if r.kind == "scan")
        except HistoryError as exc:
            self.message.emit(str(exc))
            records = []
        self.list.clear()
        for r in records:
            if r.kind == "scan":
                self.list.addItem(scan_item(r, done.get(r.id, 0)))
                continue
            item = QListWidgetItem(item_text(r))
            item.setData(Qt.ItemDataRole.UserRole, r.id)
            self.list.addItem(item)
        self._update_buttons()

    def records_shown(self) -> list[int]:
        items = (self.list.item(i) for i in range(self.list.count()))
        return [int(it.data(Qt.ItemDataRole.UserRole)) for it in items if not is_scan(it)]

    def _record(self, item: QListWidgetItem | None) -> HistoryRecord | None:
        if item is None or is_scan(item):
            return None
        return self.store.get(int(item.data(Qt.ItemDataRole.UserRole)))

    def _double_clicked(self, item: QListWidgetItem) -> None:
        if is_scan(item):
            self.open_scan.emit(int(item.data(Qt.ItemDataRole.UserRole)))
        else:
            self._emit_for(item, self.reuse_prompt)

    def _emit_for(self, item: QListWidgetItem | None, signal: Signal) -> None:
        record = self._record(item)
        if record is not None:
            signal.emit(record)

    def _selected_ids(self, scans: bool = False) -> list[int]:
        """Ids of the selected questions (``scans``: of the selected scans)."""
        return [int(it.data(Qt.ItemDataRole.UserRole)) for it in self.list.selectedItems()
                if is_scan(it) == scans]

    def _update_buttons(self) -> None:
        one = self.list.currentItem() is not None and bool(self.list.selectedItems())
        record = self._record(self.list.currentItem()) if one else None
        self.detail.setText(f"{record.prompt}\n{' '.join(record.answer.split())}" if record else
                            "Double-click an entry to ask it again")
        current = self.list.currentItem()
        scan = self.store.scans.get(int(current.data(Qt.ItemDataRole.UserRole))) if is_scan(current) else None
        if one and scan is not None:
            done = self.store.scans.done_counts([scan.id]).get(scan.id, 0)
            self.detail.setText(scan_detail(scan, done))
        self.reuse_button.setEnabled(record is not None)
        self.reload_button.setEnabled(record is not None)
        self.delete_button.setEnabled(bool(self.list.selectedItems()))
        self.conversation_button.setEnabled(bool(self.list.selectedItems()))
        self.export_button.setEnabled(self.list.count() > 0)

    def _open_as_conversation(self) -> None:
        records = [r for r in (self.store.get(i) for i in self._selected_ids()) if r is not None]
        if records:
            self.open_conversation.emit(sorted(records, key=lambda r: (r.created, r.id or 0)))

    def delete_selected(self, confirm: bool = True) -> None:
        ids, scan_ids = self._selected_ids(), self._selected_ids(scans=True)
        if scan_ids and not ids:
            self._delete_scans(scan_ids, confirm)
            return
        if not ids:
            return
        if (
            confirm
            and len(ids) > 1
            and QMessageBox.question(
                self, "Delete history entries", f"Delete {counted(len(ids), ('entry', 'entries'))}?"
            )
            != QMessageBox.StandardButton.Yes
        ):
            return
        try:
            deleted = self.store.delete_entries(ids)
        except HistoryError as exc:
            self.message.emit(str(exc))
        else:
            self._offer_undo(deleted)
        self.refresh()

    def _delete_scans(self, scan_ids: list[int], confirm: bool) -> None:
        """Delete the selected scans (confirmed first: a scan may hold hours of answers)."""
        if confirm and QMessageBox.question(self, "Delete scans", f"Delete {counted(len(scan_ids), SCAN)} "
                                            "and all their answers?") != QMessageBox.StandardButton.Yes:
            return
        try:
            deleted = self.store.scans.delete_scans(scan_ids)
        except HistoryError as exc:
            self.message.emit(str(exc))
        else:
            self._offer_undo(deleted)
        self.refresh()

    # ------------------------------------------------------------------------------------------- undo
    def _build_undo_bar(self) -> None:
        self.undo_bar = QLabel(self)
        self.undo_bar.setTextFormat(Qt.TextFormat.RichText)
        self.undo_bar.linkActivated.connect(lambda _link: self.undo_delete())
        self.undo_bar.hide()
        self._undo: Deleted | None = None
        self._undo_timer = QTimer(self)
        self._undo_timer.setObjectName("historyUndoTimer")
        self._undo_timer.setSingleShot(True)
        self._undo_timer.setInterval(UNDO_SECONDS * 1000)
        self._undo_timer.timeout.connect(self._end_undo)
        undo_key = QShortcut(QKeySequence.StandardKey.Undo, self)
        undo_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo_key.activated.connect(self.undo_delete)

    def _offer_undo(self, deleted: Deleted) -> None:
        if not len(deleted):
            return
        self._undo = deleted
        self.undo_bar.setText(f"{html.escape(deleted.summary())}. <a href='undo'>Undo</a> (Ctrl+Z)")
        self.undo_bar.show()
        self._undo_timer.start()
        self.message.emit(f"{deleted.summary()} (Ctrl+Z in History to undo)")

    def _end_undo(self) -> None:
        self._undo = None
        self._undo_timer.stop()
        self.undo_bar.hide()

    def can_undo(self) -> bool:
        return self._undo is not None

    def undo_delete(self) -> None:
        """Put the entries of the last delete back (while the Undo link shows)."""
        deleted = self._undo
        self._end_undo()
        if deleted is None:
            return
        try:
            n = deleted.restore()
        except HistoryError as exc:
            self.message.emit(str(exc))
            return
        self.refresh()
        self.message.emit(deleted.restored_summary(n))

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        self._end_undo()  # an offer to undo is only good while it can be seen
        super().hideEvent(event)

    def export_dialog(self, kind: str) -> None:
        name = "mellow-history." + kind
        folder = self.last_export_folder or str(Path.home())
        flt = "Markdown (*.md)" if kind == "md" else "JSON (*.json)"
        path, _ = QFileDialog.getSaveFileName(self, "Export history", str(Path(folder) / name), flt)
        if path:
            self.export(kind, Path(path))

    def export(self, kind: str, path: Path) -> Path | None:
        """Write the selected entries (or all shown) to ``path``; returns it, or None after a message."""
        ids = self._selected_ids() or self.records_shown()
        try:
            out = (self.store.export_markdown if kind == "md" else self.store.export_json)(ids, path)
        except (HistoryError, OSError) as exc:
            self.message.emit(f"Export failed: {exc}")
            return None
        self.last_export_folder = str(path.parent)
        self.message.emit(f"Exported {len(ids)} entries to {out}")
        return out
