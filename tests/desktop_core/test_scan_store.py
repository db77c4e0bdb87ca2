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
                      scoring="yes-no", options={"generation": {"max_len": 2}},
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
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        assert {"scan", "scan_window", "scan_text"} <= names
        assert con.execute("SELECT count(*) FROM scan_window").fetchone()[0] == 2
    finally:
        con.close()


def test_a_scan_is_stored_with_every_field_and_reloaded_in_plan_order(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.sqlite3") as store:
        record = _scan(100.0)
        sid = store.scans.create(record)
        rows = fake_results(record, ["yes", "no\tthere is\nnone", ""], [0.91, 0.12, None])
        rows[2][1].error = "cannot read this window: truncated file"
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
        assert got.options == {"generation": {"max_len": 2}} and got.status == "finished" and got.finished
        assert [r for _, r in rows] == list(loaded.results), "every WindowResult field comes back"
        assert store.scans.done_indices(sid) == {0, 1, 2}


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
