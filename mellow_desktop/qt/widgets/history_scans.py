"""Scans in the history list: their items (marked "Scan:", with how many windows are stored), told apart
from questions by :data:`KIND_ROLE`; double-click re-opens a scan in the scan pane."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidgetItem

from mellow_desktop.core.scan_record import ScanRecord

KIND_ROLE = Qt.ItemDataRole.UserRole + 1  # "scan" on scan items (questions: unset)
_MARK = {"finished": "", "running": " (not finished)", "cancelled": " (stopped)", "failed": " (failed)"}


def done_text(r: ScanRecord, done: int) -> str:
    """"34 of 720 windows", or for a question set "68 of 1440 answers" (``done``: answers stored)."""
    return f"{done} of {r.n_answers} {r.unit}"


def scan_item_text(r: ScanRecord, done: int) -> str:
    """Two lines: "Scan: <prompt>", then time · file · windows (answers) stored of planned."""
    when = time.strftime("%d %b %H:%M", time.localtime(r.created))
    mark = _MARK.get(r.status, "")
    return f"Scan: {r.prompt}{mark}\n{when} · {r.file_name} · {done_text(r, done)}"


def scan_item(r: ScanRecord, done: int) -> QListWidgetItem:
    item = QListWidgetItem(scan_item_text(r, done))
    item.setData(Qt.ItemDataRole.UserRole, r.id)
    item.setData(KIND_ROLE, "scan")
    return item


def is_scan(item: QListWidgetItem | None) -> bool:
    return item is not None and item.data(KIND_ROLE) == "scan"


def scan_detail(r: ScanRecord, done: int) -> str:
    """The detail line of a selected scan."""
    return (f"Scan of {r.file} · “{r.prompt}” · hop {r.hop_s:g} s · {done_text(r, done)} · "
            f"{r.status}{': ' + r.message if r.message else ''} — double-click to open it")
