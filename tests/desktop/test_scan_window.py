"""Scans from the window with the tiny real model on a generated multi-minute recording: rows stream into
the table and the timeline, a row click moves the analysis window, cancel and resume (every window once), a
new window on the same history database re-opens the scan, and the exports parse through the engine's
readers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt

from mellow.scan.merge import merge_detections
from mellow.scan.writers import audacity, raven, table
from mellow_desktop.core.history_record import HistoryError
from mellow_desktop.core.scan_record import ScanRecord
from mellow_desktop.qt.widgets.history_scans import is_scan
from tests.helpers.audio_files import write_recording as recording
from tests.helpers.scans import YES_NO
from tests.helpers.waits import wait_loaded


@pytest.fixture
def three_minutes(tmp_path: Path) -> Path:
    return recording(tmp_path / "three minutes.wav", 180.0)


def _scan(window: Any, qtbot: Any, path: Path, hop_s: float = 10.0, batch_size: int = 3) -> None:
    wait_loaded(qtbot, window.panel_a, path, facts=False)
    request = ScanRecord(file=path, prompt=YES_NO, hop_s=hop_s, max_len=2, threshold=0.5)
    assert window.scans.start(request, window.panel_a, batch_size=batch_size)


def test_a_scan_streams_rows_and_the_timeline_and_a_row_moves_the_window(
        ready_window: Any, qtbot: Any, three_minutes: Path) -> None:
    w = ready_window
    w.panel_a.open_file(three_minutes)
    counts: list[int] = []
    w.scans.batch_shown.connect(counts.append)
    _scan(w, qtbot, three_minutes)
    with qtbot.waitSignal(w.scans.scan_ended, timeout=120000) as ended:
        pass
    assert ended.args == ["finished"]
    assert counts[0] == 3 and counts == sorted(counts) and counts[-1] == 18 and len(counts) == 6
    pane = w.scans.pane
    assert pane.model.rowCount() == 18 and w.scans.dock.isVisible()
    assert pane.timeline.duration_s == pytest.approx(180.0) and pane.timeline.scored
    assert w.scans.view.segments() and len(w.scans.view.score_curve()[0]) == 18
    stored = w.store.scans.load(w.scans.record.id)
    assert stored.record.status == "finished" and len(stored.results) == 18
    # Long titles and progress texts elide: they never make the pane (and the window) wider.
    narrow = pane.minimumSizeHint().width()
    pane.set_progress(3, 18, "file 12 of 55: " + "a very long recording name " * 8 + "· 3.2 windows/s")
    pane.title.setText("a scan title " * 20)
    assert pane.minimumSizeHint().width() == narrow < 700 and pane.progress_label.text().startswith("file 12")
    pane.set_progress(18, 18, "")
    # Clicking the row of 1:30 moves the analysis window there.
    row = next(i for i, r in enumerate(pane.model.rows) if r.start_s == 90.0)
    rect = pane.table.visualRect(pane.model.index(row, 0))
    qtbot.mouseClick(pane.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: w.panel_a.state().start_s == pytest.approx(90.0), timeout=10000)
    assert w.panel_a.waveform.window_start() == pytest.approx(90.0)
    assert pane.timeline.window_start == pytest.approx(90.0)
    # Sorting by score, descending, then filtering by answer text: the core's table order.
    pane.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    assert [r.index for r in pane.model.rows] == [r.index for r in w.scans.view.table(sort="score",
                                                                                    descending=True)]
    # Dragging the threshold line sets the threshold; the detections follow (no re-run).
    tl, seen = pane.timeline, []
    tl.threshold_changed.connect(seen.append)
    y0, r = round(tl.threshold_y()), tl._score_rect()
    y1 = round(r.bottom() - 0.2 * r.height())
    qtbot.mousePress(tl, Qt.MouseButton.LeftButton, pos=QPoint(30, y0))
    qtbot.mouseMove(tl, QPoint(30, y1))
    qtbot.mouseRelease(tl, Qt.MouseButton.LeftButton, pos=QPoint(30, y1))
    assert seen and w.scans.view.threshold == pytest.approx(0.2, abs=1.5 / r.height())
    assert w.scans.view.detections() == merge_detections(w.scans.view.results, w.scans.view.threshold)
    # A click on the timeline centres the window on the clicked time.
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(round(tl.x_of(150.0)), 4))
    qtbot.waitUntil(lambda: w.panel_a.state().start_s == pytest.approx(145.0, abs=0.5), timeout=10000)


def test_cancel_then_resume_answers_every_window_once(ready_window: Any, qtbot: Any,
                                                      three_minutes: Path) -> None:
    w = ready_window
    w.panel_a.open_file(three_minutes)
    w.scans.batch_shown.connect(lambda _n: w.scans.cancel())  # cancel as soon as rows arrive
    with qtbot.waitSignal(w.scans.scan_ended, timeout=60000) as ended:
        _scan(w, qtbot, three_minutes, hop_s=5.0, batch_size=4)
    w.scans.batch_shown.disconnect()
    assert ended.args == ["cancelled"]
    record = w.store.scans.get(w.scans.record.id)
    done = len(w.store.scans.done_indices(record.id))
    assert record.status == "cancelled" and 0 < done < record.n_windows == 35
    assert w.scans.pane.resume_button.isVisibleTo(w.scans.pane)
    assert w.scans.pane.model.rowCount() == done
    with qtbot.waitSignal(w.scans.scan_ended, timeout=120000) as ended:
        qtbot.mouseClick(w.scans.pane.resume_button, Qt.MouseButton.LeftButton)
    assert ended.args == ["finished"]
    loaded = w.store.scans.load(record.id)
    assert loaded.indices == tuple(range(35)) and loaded.record.status == "finished"
    assert w.scans.pane.model.rowCount() == 35 and not w.scans.pane.resume_button.isVisibleTo(w.scans.pane)


def test_a_new_window_reopens_the_scan_from_history_and_exports_parse(
        ready_window: Any, make_window: Any, qtbot: Any, three_minutes: Path, tmp_path: Path) -> None:
    w = ready_window
    w.panel_a.open_file(three_minutes)
    _scan(w, qtbot, three_minutes, batch_size=6)
    with qtbot.waitSignal(w.scans.scan_ended, timeout=120000):
        pass
    scan_id = w.scans.record.id
    answers = [r.text for r in w.store.scans.load(scan_id).results]
    w.close()
    again = make_window()  # same settings and history database: a restart
    items = [again.history.list.item(i) for i in range(again.history.list.count())]
    scan_items = [it for it in items if is_scan(it)]
    assert len(scan_items) == 1 and "18 of 18 windows" in scan_items[0].text()
    again.history.list.setCurrentItem(scan_items[0])
    assert "double-click to open it" in again.history.detail.text()
    assert not again.history.reuse_button.isEnabled()
    rect = again.history.list.visualItemRect(scan_items[0])
    qtbot.mouseClick(again.history.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(again.history.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: again.scans.record is not None and again.scans.record.id == scan_id, timeout=5000)
    assert again.scans.dock.isVisible()
    wait_loaded(qtbot, again.panel_a, three_minutes, facts=False)
    pane = again.scans.pane
    assert [r.answer for r in pane.model.rows] == answers and pane.timeline.duration_s == pytest.approx(180)
    rect = pane.table.visualRect(pane.model.index(4, 0))
    qtbot.mouseClick(pane.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: again.panel_a.state().start_s == pytest.approx(40.0), timeout=10000)
    csv = again.scans.export("csv", tmp_path / "scan.csv")
    rows = table.read(csv)
    assert [r.text for r in rows] == answers and [r.start_s for r in rows] == [10.0 * i for i in range(18)]
    labels = audacity.read(again.scans.export("audacity", tmp_path / "scan.txt"))
    selections = raven.read(again.scans.export("raven", tmp_path / "scan.selections.txt"))
    detections = again.scans.view.detections()
    assert [(lb.start_s, lb.end_s) for lb in labels] == [(d.start_s, d.end_s) for d in detections]
    assert len(selections) == len(detections)
    html = again.scans.export("html", tmp_path / "scan.html").read_text(encoding="utf-8")
    assert "three minutes.wav" in html and "<script" not in html.lower()


def test_an_interrupted_scan_is_listed_and_resumes_after_a_restart(
        ready_window: Any, qtbot: Any, three_minutes: Path) -> None:
    """A scan left "running" with part of its windows stored (as after a crash) resumes where it stopped."""
    from mellow_desktop.core.scan_controller import ScanController

    w = ready_window
    engine = w.host.worker.engine
    request = ScanRecord(file=three_minutes, prompt="caption the audio.", hop_s=10.0, max_len=2)
    controller = ScanController.start(engine, request, w.store.path, batch_size=5)
    run = controller.run()
    next(run)  # one batch stored; then the process "dies": the scan stays "running"
    scan_id = controller.scan_id
    controller.session._conn.close()  # no finish() reaches the database, as with SIGKILL
    with pytest.raises(HistoryError):
        run.close()
    w.history.refresh()
    items = [w.history.list.item(i) for i in range(w.history.list.count())]
    item = next(it for it in items if is_scan(it))
    assert "(not finished)" in item.text() and "5 of 18 windows" in item.text()
    notice = w.scans.notice_interrupted()  # what the window says at its next start
    assert notice and "A scan was interrupted" in notice and three_minutes.name in notice
    assert "Resume" in notice
    loaded = w.scans.open_scan(scan_id)
    assert loaded is not None and w.scans.pane.resume_button.isVisibleTo(w.scans.pane)
    assert w.scans.pane.model.rowCount() == 5
    assert w.scans.pane.title.text().endswith("· interrupted (Resume continues it)")  # not "running"
    with qtbot.waitSignal(w.scans.scan_ended, timeout=120000) as ended:
        qtbot.mouseClick(w.scans.pane.resume_button, Qt.MouseButton.LeftButton)
    assert ended.args == ["finished"]
    assert w.store.scans.load(scan_id).indices == tuple(range(18))
    assert w.scans.pane.model.rowCount() == 18
    assert [s.text for s in w.scans.view.segments()]  # caption segments on the timeline


def test_closing_the_window_mid_scan_stops_it_and_keeps_what_is_done(
        ready_window: Any, qtbot: Any, three_minutes: Path) -> None:
    w = ready_window
    w.panel_a.open_file(three_minutes)
    with qtbot.waitSignal(w.scans.batch_shown, timeout=60000):
        _scan(w, qtbot, three_minutes, hop_s=2.0, batch_size=4)
    scan_id = w.scans.record.id
    w.prompt.set_text("caption the audio.")
    w.prompt.send()  # the model is busy scanning: the window says so and keeps the prompt
    assert "scanning a recording" in w.chat.notices()[-1] and w.prompt.text() == "caption the audio."
    w.close()  # joins the model's thread after the current batch
    assert not w.host.thread.isRunning()
    record = w.store.scans.get(scan_id)
    done = w.store.scans.done_indices(scan_id)
    assert record.status == "cancelled" and 4 <= len(done) < record.n_windows
    assert done == set(range(len(done)))  # stored in plan order, batch by batch


def test_a_pair_scan_links_both_clips_windows(ready_window: Any, qtbot: Any, three_minutes: Path,
                                              tmp_path: Path) -> None:
    """Two recordings of the same period scanned window by window: a row moves both clips' windows."""
    w = ready_window
    other = recording(tmp_path / "second microphone.wav", 180.0, seed=1)
    w.panel_a.open_file(three_minutes)
    w.panel_b.open_file(other)
    wait_loaded(qtbot, w.panel_a, three_minutes, facts=False)
    wait_loaded(qtbot, w.panel_b, other, facts=False)
    request = ScanRecord(file=three_minutes, prompt=YES_NO, hop_s=30.0, max_len=2, slot2_mode="pair",
                          slot2_file=other)
    with qtbot.waitSignal(w.scans.scan_ended, timeout=120000) as ended:
        assert w.scans.start(request, w.panel_a, batch_size=3)
    assert ended.args == ["finished"]
    loaded = w.store.scans.load(w.scans.record.id)
    assert [r.window.slot2_start_s for r in loaded.results] == [r.window.start_s for r in loaded.results]
    pane = w.scans.pane
    row = next(i for i, r in enumerate(pane.model.rows) if r.start_s == 120.0)
    rect = pane.table.visualRect(pane.model.index(row, 0))
    qtbot.mouseClick(pane.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: w.panel_a.state().start_s == 120.0 and w.panel_b.state().start_s == 120.0,
                    timeout=10000)
