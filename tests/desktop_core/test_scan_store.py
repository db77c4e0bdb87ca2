"""Scans in the history database: upgrade of a schema-2 file, storing, listing beside questions, search,
loading every window, exactly-once windows, delete with undo.

``tests/fixtures/history_v2.sqlite3`` was written by the schema-2 ``HistoryStore`` (commit 715312d) with two
questions: "caption the audio." about ``/recordings/dawn chorus.wav`` (created 1700000000) and "is there rain?
answer yes or no" about ``/recordings/site B.flac`` (created 1700000100).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from mellow_desktop.core import history_schema
from mellow_desktop.core.history_record import HistoryError
from mellow_desktop.core.history_store import SCHEMA_VERSION, HistoryRecord, HistoryStore
from mellow_desktop.core.scan_record import ScanRecord
from tests.helpers.scans import YES_NO, fake_results

V2 = Path(__file__).resolve().parents[1] / "fixtures" / "history_v2.sqlite3"


def _scan(created: float, prompt: str = YES_NO, file: str = "/field/North <site> dawn.wav") -> ScanRecord:
    return ScanRecord(prompt=prompt, file=file, file_hash="ab" * 20, n_windows=3, hop_s=10.0, threshold=0.6,
                      scoring="yes-no", max_len=2, dtype="bfloat16",
                      model_id="tiny sha256:0123abcd", model_checksum="sha256:0123abcd", duration_s=30.0,
                      created=created)


@pytest.fixture
def v2_db(tmp_path: Path) -> Path:
    db = tmp_path / "history.sqlite3"
    shutil.copyfile(V2, db)
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 2
        assert "scan" not in {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    finally:
        con.close()
    return db


def test_a_schema_2_database_gets_the_scan_tables_and_keeps_its_questions(v2_db: Path) -> None:
    with HistoryStore.open(v2_db) as store:
        assert store.integrity_check() == "ok"
        assert [r.prompt for r in store.all()] == ["caption the audio.", "is there rain? answer yes or no"]
        assert [r.id for r in store.search("dawn chorus")] == [1]
        sid = store.scans.create(_scan(1700000050.0))
        store.scans.append_results(store.scans.get(sid), fake_results(_scan(0), ["yes", "no", "a tone"],
                                                                       [0.9, 0.1, None])[:2])
        kinds = [(e.kind, e.id) for e in store.entries()]
        assert kinds == [("question", 2), ("scan", sid), ("question", 1)], "newest first, both kinds"
    con = sqlite3.connect(v2_db)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        assert {"scan", "scan_window", "scan_text", "scan_file", "scan_question"} <= names
        assert con.execute("SELECT count(*) FROM scan_window").fetchone()[0] == 2
    finally:
        con.close()


def test_a_scan_is_stored_with_every_field_and_reloaded_in_plan_order(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.sqlite3") as store:
        record = _scan(100.0)
        sid = store.scans.create(record)
        rows = fake_results(record, ["yes", "no\tthere is\nnone", ""], [0.91, 0.12, None])
        rows[1][1].choices = {"a": 0.25, "b": 0.75}
        store.scans.append_results(record, [rows[2], rows[0]])
        store.scans.append_results(record, [rows[1]])
        store.scans.set_status(sid, "finished")
    with HistoryStore.open(tmp_path / "h.sqlite3") as store:  # after a restart
        loaded = store.scans.load(sid)
        assert loaded is not None and loaded.indices == (0, 1, 2)
        got = loaded.record
        assert (got.prompt, got.file, got.file_hash, got.threshold, got.scoring, got.model_checksum) == (
            YES_NO, record.file, "ab" * 20, 0.6, "yes-no", "sha256:0123abcd")
        assert (got.max_len, got.dtype, got.score) == (2, "bfloat16", "auto")
        assert got.status == "finished" and got.finished
        assert [r for _, r in rows] == list(loaded.results), "every WindowResult field comes back"
        assert store.scans.done_indices(sid) == {0, 1, 2}


def test_an_unreadable_window_stored_by_an_earlier_version_counts_as_missing(tmp_path: Path) -> None:
    """Earlier versions stored unreadable windows as done; now they are asked again on Resume, and options
    written as "torch.float32" read as the CLI's "float32" (same resume keys)."""
    with HistoryStore.open(tmp_path / "h.sqlite3") as store:
        record = _scan(100.0)
        sid = store.scans.create(record)
        rows = fake_results(record, ["yes", "", "no"], [0.9, None, 0.2])
        rows[1][1].error = "cannot read this window: truncated file"
        store.scans.append_results(record, rows)
        store._conn.execute("UPDATE scan SET options = ? WHERE id = ?",
                            ('{"generation": {"max_len": 2}, "dtype": "torch.float32"}', sid))
        assert store.scans.done_indices(sid) == {0, 2} and store.scans.done_counts([sid]) == {sid: 2}
        loaded = store.scans.load(sid)
        assert loaded.indices == (0, 2) and (loaded.record.dtype, loaded.record.max_len) == ("float32", 2)
        answered = fake_results(record, ["yes", "a bird", "no"], [0.9, 0.6, 0.2])[1]
        store.scans.append_results(record, [answered])  # answered on Resume: replaces the old error row
        assert store.scans.load(sid).results[1] == answered[1]


def test_a_window_is_stored_once_and_a_failed_batch_stores_nothing(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.sqlite3") as store:
        record = _scan(100.0)
        store.scans.create(record)
        rows = fake_results(record, ["yes", "no", "yes"], [0.9, 0.1, 0.8])
        store.scans.append_results(record, rows[:2])
        with pytest.raises(HistoryError, match="cannot save the scan's results"):
            store.scans.append_results(record, [rows[2], rows[1]])  # window 1 again: the whole batch refused
        assert store.scans.done_indices(int(record.id or 0)) == {0, 1}


@pytest.mark.parametrize("fts", [True, False])
def test_scans_are_found_by_prompt_answer_and_file_name(tmp_path: Path, fts: bool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if not fts:
        monkeypatch.setattr("mellow_desktop.core.history_store.fts5_trigram_available", lambda: False)
    elif not history_schema.fts5_trigram_available():
        pytest.skip("this SQLite has no FTS5 trigram tokenizer")
    with HistoryStore.open(tmp_path / "h.sqlite3") as store:
        assert store.fts is fts
        old = _scan(10.0, prompt="caption the audio.", file="/x/Pond.wav")
        store.scans.create(old)
        store.scans.append_results(old, fake_results(old, ["a heron calls over water"], [None]))
        new = _scan(20.0)
        store.scans.create(new)
        store.add(HistoryRecord(prompt="is there a HERON?", answer="yes", created=15.0))
        assert [(e.kind, e.created) for e in store.entries("heron")] == [("question", 15.0), ("scan", 10.0)]
        assert [e.id for e in store.entries("pond.WAV")] == [old.id]
        assert [e.id for e in store.entries("<site>")] == [new.id], "file names with markup are text"
        assert [e.id for e in store.entries("tone in")] == [new.id]
        assert [e.kind for e in store.entries("")] == ["scan", "question", "scan"]


def test_deleting_scans_can_be_undone_with_their_windows(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.sqlite3") as store:
        record = _scan(1.0)
        sid = store.scans.create(record)
        store.scans.append_results(record, fake_results(record, ["yes", "no", "yes"], [0.9, 0.2, 0.7]))
        before = store.scans.load(sid)
        deleted = store.scans.delete_scans([sid, sid, 999])
        assert len(deleted) == 1 and deleted.summary() == "Deleted 1 scan"
        assert store.scans.load(sid) is None and store.entries("north") == []
        assert store.scans.restore(deleted) == 1 and store.scans.restore(deleted) == 0
        assert store.scans.load(sid) == before
        assert [e.id for e in store.entries("north")] == [sid]
        again = store.scans.delete_scans([sid])  # the undo the window offers: through the deleting store
        assert store.scans.load(sid) is None and again.restore() == 1 and store.scans.load(sid) == before
        assert again.restored_summary(1) == "Restored 1 scan"


def test_a_scan_added_without_fts5_is_found_once_fts5_is_back(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    if not history_schema.fts5_trigram_available():
        pytest.skip("this SQLite has no FTS5 trigram tokenizer")
    db = tmp_path / "h.sqlite3"
    HistoryStore.open(db).close()  # made with the FTS5 index
    monkeypatch.setattr("mellow_desktop.core.history_store.fts5_trigram_available", lambda: False)
    with HistoryStore.open(db) as store:
        record = _scan(5.0, file="/x/Heronry marsh.wav")
        store.scans.create(record)
        store.scans.append_results(record, fake_results(record, ["a bittern booms"], [0.8]))
    monkeypatch.undo()
    with HistoryStore.open(db) as store:
        assert store.fts
        assert [e.id for e in store.entries("bittern")] == [record.id]
        assert [e.id for e in store.entries("heronry")] == [record.id]
        assert store.scans.done_counts([record.id, 77]) == {record.id: 1, 77: 0}


def test_a_schema_3_database_is_upgraded_with_its_scans_files_questions_and_windows(tmp_path: Path) -> None:
    """A history written by the last schema-3 version (tests/fixtures/history_v3.sqlite3: a question, and a
    cancelled scan with two answered windows and one stored as unreadable, precision "torch.float32")."""
    db, DAWN = tmp_path / "history.sqlite3", "/field/dawn chorus.wav"  # noqa: N806
    shutil.copyfile(Path(__file__).parents[1] / "fixtures" / "history_v3.sqlite3", db)
    with HistoryStore.open(db) as store:
        assert store.integrity_check() == "ok" and [r.prompt for r in store.all()] == ["caption the audio."]
        [scan] = store.scans.search("")
        assert (scan.file, scan.n_windows, scan.dtype, scan.max_len) == (DAWN, 4, "float32", 2)
        assert [(f.path, f.file_hash, f.n_windows) for f in scan.files] == [(DAWN, "ab" * 20, 4)]
        loaded = store.scans.load(scan.id)
        assert loaded.indices == (0, 1) and [r.text for r in loaded.results] == ["yes", "no"]
        assert store.scans.done_indices(scan.id) == {0, 1}  # the unreadable window is asked again on Resume
        assert [e.id for e in store.scans.search("dawn chorus")] == [scan.id]
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 4
        assert con.execute("SELECT q, prompt, scoring FROM scan_question").fetchall() == [
            (0, "is there a bird singing? answer yes or no", "yes-no")]
    finally:
        con.close()
