"""The window's scan controller with the tiny model: batches stored as they come, progress, cancel and
resume, the same answers as the engine's runner alone, and a real child process killed by SIGKILL mid-scan
and resumed (every planned window exactly once)."""

from __future__ import annotations

import math
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mellow.generation import Engine, GenerationOptions
from mellow.scan.merge import merge_detections
from mellow.scan.plan import ScanSetupError
from mellow.scan.runner import ScanRunner
from mellow_desktop.core.history_store import HistoryStore
from mellow_desktop.core.scan_controller import ScanController
from mellow_desktop.core.scan_record import ScanRecord
from mellow_desktop.core.scan_session import ScanSession
from mellow_desktop.core.scan_view import ScanView
from tests.helpers.audio_files import write_recording as recording
from tests.helpers.paths import ROOT
from tests.helpers.processes import child_env
from tests.helpers.scans import YES_NO


@pytest.fixture(scope="module")
def engine(tiny_model, tokenizer) -> Engine:
    return Engine(tiny_model, tokenizer, device="cpu")


def test_a_scan_streams_stored_batches_with_progress_and_the_runners_answers(engine: Engine,
                                                                             tmp_path: Path) -> None:
    audio = recording(tmp_path / "dawn chorus.wav", 65.0)
    db = tmp_path / "history.sqlite3"
    record = ScanRecord(file=str(audio), prompt=YES_NO, hop_s=10.0, max_len=2, threshold=0.4)
    controller = ScanController.start(engine, record, db, batch_size=3)
    assert controller.record.n_windows == 7 and controller.record.status == "running"
    stored_during = []
    batches = []
    for batch in controller.run():
        batches.append(batch)
        with HistoryStore.open(db) as store:  # another connection sees the batch already on disk
            stored_during.append(len(store.scans.done_indices(controller.scan_id)))
    controller.close()
    seen = [b.progress for b in batches]
    assert [len(b.answered) for b in batches] == [3, 3, 1] and stored_during == [3, 6, 7]
    assert [p.done for p in seen] == [3, 6, 7] and seen[-1].total == 7 and seen[-1].fraction == 1.0
    assert all(p.windows_per_s > 0 and p.realtime_factor == pytest.approx(p.windows_per_s * 65 / 7)
               for p in seen)
    assert seen[-1].eta_s == 0 and "7 of 7 windows" in seen[-1].text() and "× real time" in seen[-1].text()
    with HistoryStore.open(db) as store:
        loaded = store.scans.load(controller.scan_id)
    assert loaded is not None and loaded.record.status == "finished" and loaded.record.threshold == 0.4
    assert [r.window.start_s for r in loaded.results] == [0, 10, 20, 30, 40, 50, 55]
    view = ScanView.of(loaded)
    assert view.threshold == 0.4 and view.detections() == merge_detections(list(loaded.results), 0.4)
    assert [row.index for row in view.table()] == list(range(7))
    runner = ScanRunner(engine, YES_NO, GenerationOptions(max_len=2), batch_size=1)
    alone = list(runner.run([r.window for r in loaded.results]))
    assert [(r.text, r.tokens) for r in loaded.results] == [(r.text, r.tokens) for r in alone]
    assert [r.score for r in loaded.results] == pytest.approx([r.score for r in alone], abs=1e-6)
    assert loaded.record.model_id == runner.model_id and loaded.record.scoring == "yes-no"
    assert loaded.record.model_checksum == runner.model_id.split()[1]


def test_cancel_stops_after_the_batch_and_resume_finishes_each_window_once(engine: Engine,
                                                                           tmp_path: Path) -> None:
    audio = recording(tmp_path / "long.wav", 40.0)
    db = tmp_path / "history.sqlite3"
    cancel = threading.Event()
    controller = ScanController.start(engine, ScanRecord(file=audio, prompt="caption the audio.", hop_s=2.0,
                                                          max_len=2), db, batch_size=4)
    for _batch in controller.run(cancel):
        cancel.set()
    controller.close()
    assert controller.record.status == "cancelled" and controller.record.n_windows == 16
    with HistoryStore.open(db) as store, ScanSession.open(store, controller.scan_id) as session:
        assert [i for i, _ in session.missing()] == list(range(4, 16))
        assert len(ScanView.of(store.scans.load(controller.scan_id))) == 4, "the view of a re-opened scan"
    again = ScanController.resume(engine, db, controller.scan_id, batch_size=5)
    assert [len(b.answered) for b in again.run()] == [5, 5, 2]
    again.close()
    with HistoryStore.open(db) as store:
        loaded = store.scans.load(controller.scan_id)
    assert loaded is not None and loaded.indices == tuple(range(16)) and loaded.record.status == "finished"


def test_another_model_and_bad_settings_are_refused_with_one_line(engine: Engine, tmp_path: Path) -> None:
    audio = recording(tmp_path / "a.wav", 25.0)
    db = tmp_path / "history.sqlite3"
    controller = ScanController.start(engine, ScanRecord(file=str(audio), prompt=YES_NO, max_len=2), db)
    controller.close()
    with HistoryStore.open(db) as store:  # pretend another model made it
        store._conn.execute("UPDATE scan SET model_id = 'v0 sha256:ffffffffffff' WHERE id = ?",
                            (controller.scan_id,))
    with pytest.raises(ScanSetupError, match="made with the model v0 sha256:ffffffffffff; load that model"):
        ScanController.resume(engine, db, controller.scan_id)
    with pytest.raises(ScanSetupError, match="lies outside"):
        ScanController.start(engine, ScanRecord(file=str(audio), prompt=YES_NO, from_s=30.0), db)
    with pytest.raises(ScanSetupError, match="type a prompt"):
        ScanController.start(engine, ScanRecord(file=str(audio), prompt="  "), db)
    with pytest.raises(ScanSetupError, match="threshold must be between 0 and 1, got 1.5"):
        ScanController.start(engine, ScanRecord(file=str(audio), prompt=YES_NO, threshold=1.5), db)
    with pytest.raises(ScanSetupError, match="^the hop must be at least 1 s, got 0.5 s$"):  # not CLI words
        ScanController.start(engine, ScanRecord(file=str(audio), prompt=YES_NO, hop_s=0.5), db)
    with HistoryStore.open(db) as store:
        assert len(store.scans.search()) == 1, "refused scans are not stored"


def test_a_changed_file_is_scanned_again_from_the_start_and_the_user_is_told(engine: Engine,
                                                                              tmp_path: Path) -> None:
    audio = recording(tmp_path / "a.wav", 25.0)
    db = tmp_path / "history.sqlite3"
    first = ScanController.start(engine, ScanRecord(file=str(audio), prompt=YES_NO, max_len=2), db)
    list(first.run())
    first.close()
    assert first.notice is None and first.record.n_windows == 3
    recording(audio, 45.0, seed=7)  # the same name, other content and length
    again = ScanController.resume(engine, db, first.scan_id)
    assert again.notice == ("a.wav has changed since this scan began: 3 answers were about the earlier "
                            "audio, so their windows are asked again")
    assert [len(b.answered) for b in again.run()] == [5]
    again.close()
    with HistoryStore.open(db) as store:
        loaded = store.scans.load(first.scan_id)
    assert loaded is not None and loaded.record.n_windows == 5 and loaded.indices == tuple(range(5))
    assert loaded.record.file_hash != first.record.file_hash and loaded.record.duration_s == 45.0
    assert {r.window.file_hash for r in loaded.results} == {loaded.record.file_hash}


def test_unreadable_windows_are_reported_not_stored_and_asked_again_on_resume(engine: Engine,
                                                                              tmp_path: Path) -> None:
    """The file goes away after the scan is planned (a share that dropped out): every window is reported
    and none is stored as done; once it is back, Resume answers them all."""
    audio = recording(tmp_path / "share" / "night.wav", 35.0)
    db = tmp_path / "history.sqlite3"
    controller = ScanController.start(engine, ScanRecord(file=str(audio), prompt=YES_NO, max_len=2), db,
                                      batch_size=2)
    audio.rename(tmp_path / "elsewhere.wav")
    batches = list(controller.run())
    controller.close()
    assert [len(b.failed) for b in batches] == [2, 2] and not any(b.answered for b in batches)
    assert batches[-1].progress.failed == 4 and "not found" in batches[0].failed[0][1].error
    assert controller.record.status == "finished"
    assert controller.record.message.startswith("4 windows could not be read (Resume asks them again): ")
    with HistoryStore.open(db) as store:
        assert store.scans.done_indices(controller.scan_id) == set()
        assert store.scans.get(controller.scan_id).message == controller.record.message
    (tmp_path / "elsewhere.wav").rename(audio)
    again = ScanController.resume(engine, db, controller.scan_id, batch_size=2)
    assert [len(b.answered) for b in again.run()] == [2, 2]
    again.close()
    assert again.record.status == "finished" and again.record.message is None


def _child(db: Path, ckpt: Path, gguf: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.helpers.scan_child", str(db), str(ckpt),
                             str(gguf), *args], env=child_env(), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _stored(db: Path) -> list[tuple[int, str, float | None]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return [tuple(r) for r in con.execute("SELECT idx, text, score FROM scan_window ORDER BY idx")]
    finally:
        con.close()


@pytest.mark.subprocess
def test_a_scan_killed_by_sigkill_resumes_with_every_window_exactly_once(tiny_ckpt: Path, gguf: Path,
                                                                         tmp_path: Path) -> None:
    audio = recording(tmp_path / "site 'B' night.wav", 130.0)
    db = tmp_path / "history.sqlite3"
    proc = _child(db, tiny_ckpt, gguf, "start", str(audio))
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("scan "), proc.stderr.read() if proc.stderr else first
    scan_id = int(first.split()[1])
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        if line.startswith("batch ") and int(line.split()[1]) >= 40:
            break
    assert proc.poll() is None, "the scan ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = _stored(db)
    n_planned = 121  # hop 1 s over 130 s: starts 0..120
    assert 40 <= len(before) < n_planned
    assert [i for i, *_ in before] == list(range(len(before))), "stored in plan order, no gap"

    again = _child(db, tiny_ckpt, gguf, "resume", str(scan_id))
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-3000:]
    rows = _stored(db)
    assert [i for i, *_ in rows] == list(range(n_planned)), "every planned window exactly once"
    assert rows[: len(before)] == before, "windows stored before the kill are kept as they were"
    assert all(s is not None and 0.0 <= s <= 1.0 and not math.isnan(s) for *_, s in rows)
    with HistoryStore.open(db) as store:
        record = store.scans.get(scan_id)
        assert record is not None and record.status == "finished" and store.integrity_check() == "ok"
    print(f"\ndesktop scan: killed after {len(before)} of {n_planned} windows; resume added "
          f"{n_planned - len(before)}")
