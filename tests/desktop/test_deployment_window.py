"""A folder of recordings in the window: File ▸ Open folder… (and a folder dropped on a clip panel) lists it
in the background as a deployment (recordings table in clock order, effort lanes, summary), a row opens its
file in Clip A, a new zone lists it again, and a broken file is listed with its reason."""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from benchmarks.field_files import audiomoth_comment, write_wav
from mellow.scan.writers import raven, table
from mellow_desktop.qt.widgets.activity_chart import LEFT, TOP
from tests.helpers.audio_files import write_recording
from tests.helpers.scans import YES_NO
from tests.helpers.waits import wait_loaded


def _folder(root: Path) -> Path:
    for day in (1, 2, 3):
        for hh in (5, 6):
            write_wav(root / "AM01" / f"202605{day:02d}_{hh:02d}0000.WAV", seconds=2.0,
                      comment=audiomoth_comment(f"{hh:02d}:00:00 {day:02d}/05/2026", "(UTC)"))
    write_wav(root / "SM" / "NORTH_20260502_053000.wav", seconds=1.0)
    (root / "SM" / "cut.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return root


def _listed(qtbot: Any, window: Any) -> Any:
    qtbot.waitUntil(lambda: window.deployments.deployment is not None and window.deployments.listing is None,
                    timeout=20000)
    return window.deployments.pane


def test_a_folder_is_listed_in_clock_order_and_a_row_opens_in_clip_a(qtbot: Any, window: Any,
                                                                      tmp_path: Path) -> None:
    root = _folder(tmp_path / "SD card")
    window.deployments.pane.zone.setText("UTC")
    assert window.deployments.open_folder(root)
    pane = _listed(qtbot, window)
    assert window.deployments.dock.isVisible()
    assert pane.summary.text().startswith("8 files · 3 recorders")
    starts = [pane.model.data(pane.model.index(r, 1)) for r in range(pane.model.rowCount())]
    assert starts[:4] == ["2026-05-01 05:00:00", "2026-05-01 06:00:00", "2026-05-02 05:00:00",
                          "2026-05-02 05:30:00"] and starts[-1] == ""  # clock order; no time last
    broken = next(r for r in pane.model.rows if r.path.name == "cut.wav")
    assert broken.cells[5] and pane.scan_button.isEnabled()
    assert [lane.files for lane in pane.timeline.lanes] == [6, 1, 1]
    pane.table.setFocus()
    pane.table.selectRow(1)
    qtbot.keyClick(pane.table, Qt.Key.Key_Return)
    wait_loaded(qtbot, window.panel_a, root / "AM01" / "20260501_060000.WAV", facts=False)

    pane.zone.setText("Europe/Berlin")  # the Song Meter name has no zone: read in Berlin now
    pane.zone.editingFinished.emit()
    qtbot.waitUntil(lambda: getattr(window.deployments.deployment.zone, "key", "") == "Europe/Berlin",
                    timeout=20000)
    pane = _listed(qtbot, window)
    sm = next(r for r in pane.model.rows if r.path.name.startswith("NORTH"))
    assert sm.cells[1] == "2026-05-02 05:30:00" and sm.recording.start.utcoffset().total_seconds() == 7200
    assert window.settings.value("deployment/zone") == "Europe/Berlin"


def test_a_folder_dropped_on_a_clip_panel_opens_as_a_deployment(qtbot: Any, window: Any,
                                                                 tmp_path: Path) -> None:
    root = _folder(tmp_path / "card")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(root))])
    pos = QPointF(window.panel_b.width() / 2, window.panel_b.height() / 2)
    with warnings.catch_warnings():  # PySide6 marks the QPoint constructor deprecated; it is the only one
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.panel_b, enter)
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.panel_b, drop)
    assert drop.isAccepted()
    pane = _listed(qtbot, window)
    assert pane.folder.text() == str(root) and window.panel_b.state() is None  # not opened as a clip


def test_a_missing_folder_or_bad_zone_is_one_line_and_keeps_what_is_shown(qtbot: Any, window: Any,
                                                                          tmp_path: Path) -> None:
    root = _folder(tmp_path / "card")
    assert window.deployments.open_folder(root)
    pane = _listed(qtbot, window)
    shown = pane.summary.text()
    assert not window.deployments.open_folder(tmp_path / "nowhere")
    assert "folder not found" in window.chat.notices()[-1] and pane.summary.text() == shown
    pane.zone.setText("Mars/Olympus")
    pane.zone.editingFinished.emit()
    assert "unknown time zone" in window.chat.notices()[-1] and pane.summary.text() == shown
    empty = tmp_path / "empty"
    empty.mkdir()
    pane.zone.setText("UTC")
    assert window.deployments.open_folder(empty)
    qtbot.waitUntil(lambda: "no audio files" in pane.summary.text(), timeout=20000)
    assert window.deployments.deployment.root == root  # the deployment shown before stays


def _short_folder(root: Path) -> Path:
    """Three AudioMoth files of 15 s on two days (two windows each) and a broken one."""
    for day, hh in ((1, 5), (1, 6), (2, 5)):
        write_recording(root / f"202605{day:02d}_{hh:02d}0000.WAV", 15.0, seed=day * 10 + hh)
    (root / "20260503_050000.WAV").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    return root


def test_a_folder_is_scanned_in_the_background_and_its_table_spans_files_in_clock_time(
        qtbot: Any, ready_window: Any, tmp_path: Path) -> None:
    w = ready_window
    root = _short_folder(tmp_path / "SD01")
    w.deployments.pane.zone.setText("UTC")
    assert w.deployments.open_folder(root)
    _listed(qtbot, w)

    def fill(dialog: Any) -> bool:
        assert dialog.windowTitle() == "Scan folder SD01" and dialog.from_edit.text() == "2026-05-01"
        dialog.prompt.setEditText(YES_NO)
        dialog.max_len.setValue(2)
        dialog.threshold.setValue(0.0)  # every window a detection: the chart's counts are known
        dialog.part.setChecked(True)
        dialog.to_edit.setText("2026-05-01")  # the first day only: two files
        return True

    with qtbot.waitSignal(w.scans.scan_ended, timeout=120000) as ended:
        assert w.deployments.scan_folder(dialog_exec=fill)
    assert ended.args == ["finished"]
    record = w.scans.record
    assert record.is_folder and [f.name for f in record.files] == ["20260501_050000.WAV",
                                                                   "20260501_060000.WAV"]
    assert record.n_windows == 4 and record.date_to == "2026-05-01" and record.zone == "UTC"
    model = w.scans.pane.model
    assert model.headers()[:2] == ("File", "Clock time") and model.rowCount() == 4
    cells = [[model.data(model.index(r, c)) for c in range(2)] for r in range(4)]
    assert cells == [["20260501_050000.WAV", "2026-05-01 05:00:00"],
                     ["20260501_050000.WAV", "2026-05-01 05:00:05"],
                     ["20260501_060000.WAV", "2026-05-01 06:00:00"],
                     ["20260501_060000.WAV", "2026-05-01 06:00:05"]]
    w.scans.pane.table.selectRow(3)
    w.scans.pane.table.clicked.emit(model.index(3, 0))
    second = root / "20260501_060000.WAV"
    wait_loaded(qtbot, w.panel_a, second, facts=False)
    qtbot.waitUntil(lambda: abs(w.panel_a.waveform.window_start() - 5.0) < 0.01, timeout=10000)
    assert w.scans.view.shown_file == 1
    [stored] = w.store.scans.search("SD01")
    assert stored.is_folder and len(w.store.scans.load(stored.id).results) == 4
    chart = w.scans.activity.chart
    assert w.scans.activity_dock.isVisibleTo(w) and [r.label for r in chart.rows] == ["2026-05-01"]
    cell = chart.grid.cell(date(2026, 5, 1), 6)
    assert (cell.windows, cell.detections, round(cell.minutes_recorded, 3)) == (2, 2, 0.25)
    assert cell.rate == pytest.approx(480.0)  # 2 detections in 15 s recorded
    assert not chart.grid.cell(date(2026, 5, 1), 7).has_data
    width, height = chart._cell_size()
    spot = QPoint(int(LEFT + 6.5 * width), int(TOP + 0.5 * height))
    assert chart.key_at(QPointF(spot)) == (date(2026, 5, 1), 6)
    qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=spot)
    listed = w.scans.activity.detections
    assert listed.count() == 2 and "06:00:05" in listed.item(1).text()
    w.scans.activity.detections.itemActivated.emit(listed.item(0))  # the 06:00:00 window: file 2 at 0 s
    qtbot.waitUntil(lambda: abs(w.panel_a.waveform.window_start()) < 0.01, timeout=10000)
    rows = table.read(w.scans.export("csv", tmp_path / "sd01.csv"))
    assert [(Path(r.file).name, r.start_time, r.time_source) for r in rows] == [
        ("20260501_050000.WAV", "2026-05-01T05:00:00+00:00", "name:audiomoth"),
        ("20260501_050000.WAV", "2026-05-01T05:00:05+00:00", "name:audiomoth"),
        ("20260501_060000.WAV", "2026-05-01T06:00:00+00:00", "name:audiomoth"),
        ("20260501_060000.WAV", "2026-05-01T06:00:05+00:00", "name:audiomoth")]
    [selection, *_] = raven.read(w.scans.export("raven", tmp_path / "sd01.selections.txt"))
    assert selection.start_time.startswith("2026-05-01T05:00:00")
    page = w.scans.export("html", tmp_path / "sd01.html").read_text(encoding="utf-8")
    assert "<svg" in page and "2026-05-01" in page and "SD01" in page and "<script" not in page
