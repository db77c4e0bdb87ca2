"""Upgrading a history database written by the schema-1 code, and search over clip names (FTS5 and scan).

``tests/fixtures/history_v1.sqlite3`` was written by the schema-1 ``HistoryStore`` (commit 92c303a):
1. "What is making the sound?" about ``clips/dog.wav`` (relative, one clip in both slots, hash "c1"*20);
2. "Compare the two." about ``/srv/audio/rain.flac`` and ``street noise.wav`` (relative, no hash), cancelled;
3. "Describe it." with no clips, failed.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from mellow_desktop.core import history_store
from mellow_desktop.core.history_store import SCHEMA_VERSION, HistoryRecord, HistoryStore

Rec = HistoryRecord

V1 = Path(__file__).resolve().parents[1] / "fixtures" / "history_v1.sqlite3"


@pytest.fixture
def v1_db(tmp_path: Path) -> Path:
    db = tmp_path / "history.sqlite3"
    shutil.copyfile(V1, db)
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1
        assert "body" in {r[1] for r in con.execute("PRAGMA table_info(history_fts)")}
    finally:
        con.close()
    return db


def test_a_schema_1_database_is_upgraded_in_place_and_keeps_every_record(v1_db: Path) -> None:
    with HistoryStore.open(v1_db) as store:
        assert store.recovery_message is None and store.integrity_check() == "ok"
        records = store.all()
        prompts = [r.prompt for r in records]
        assert prompts == ["What is making the sound?", "Compare the two.", "Describe it."]
        first, second, third = records
        assert first.clip_a == "clips/dog.wav" and first.hash_a == "c1" * 20  # old paths kept as they were
        assert first.settings == {"single_clip": True} and first.n_tokens == 7 and first.tokens_per_s == 31.0
        assert second.clip_a == "/srv/audio/rain.flac" and second.start_a == 12.5
        assert second.status == "cancelled" and third.status == "failed" and third.clip_a is None
        assert all(r.duration_a is None and r.duration_b is None for r in records)
        new_id = store.add(HistoryRecord(prompt="new one", answer="after the upgrade", duration_a=9.15))
        assert new_id == 4
    con = sqlite3.connect(v1_db)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert {"duration_a", "duration_b"} <= {r[1] for r in con.execute("PRAGMA table_info(history)")}
        fts_columns = [r[1] for r in con.execute("PRAGMA table_info(history_fts)")]
        assert fts_columns == ["prompt", "answer", "clips"]
    finally:
        con.close()
    with HistoryStore.open(v1_db) as again:
        assert len(again) == 4 and again.get(4).duration_a == 9.15  # type: ignore[union-attr]


def test_the_rebuilt_index_finds_old_entries_by_clip_name(v1_db: Path) -> None:
    with HistoryStore.open(v1_db) as store:
        assert store.fts
        assert [r.id for r in store.search("dog.wav")] == [1]
        assert [r.id for r in store.search("STREET NOISE")] == [2]
        assert [r.id for r in store.search("rain")] == [2]
        assert store.search("srv/audio") == []  # folders are not clip names
        assert [r.id for r in store.search("louder")] == [2]


def test_search_covers_clip_names_with_and_without_fts5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same answers from the trigram index and from the scan used where SQLite lacks FTS5/trigram."""
    queries = ["resource_1", "RESOURCE", "e_1", "_1", "flac", "wav", "bird", "Ü", "zzz", "a.wav\nb"]
    db = tmp_path / "h.db"
    with HistoryStore.open(db) as store:
        store.add(Rec(prompt="What is it?", answer="A bird.", clip_a="/x/resource_1.wav", created=1))
        store.add(Rec(prompt="And this?", answer="Rain.", clip_a="/x/ÜBER.flac", created=2))
        store.add(Rec(prompt="Same?", answer="No.", clip_a="/x/a.wav", clip_b="/x/b.wav", created=3))
        with_fts = {q: [r.created for r in store.search(q)] for q in queries}
    assert with_fts["resource_1"] == [1] and with_fts["RESOURCE"] == [1] and with_fts["e_1"] == [1]
    assert with_fts["_1"] == [1] and with_fts["flac"] == [2] and with_fts["wav"] == [3, 1]
    assert with_fts["Ü"] == [2] and with_fts["zzz"] == [] and with_fts["bird"] == [1]
    assert with_fts["a.wav\nb"] == [3]  # names are one a line
    monkeypatch.setattr(history_store, "fts5_trigram_available", lambda: False)
    with HistoryStore.open(db) as scan:
        assert not scan.fts
        assert {q: [r.created for r in scan.search(q)] for q in queries} == with_fts
        scan.add(HistoryRecord(prompt="Added without FTS5", answer="", clip_a="/x/late.wav", created=4))
        scan.delete(1)
    monkeypatch.undo()
    with HistoryStore.open(db) as again:  # the index is out of step with the table: rebuilt on open
        assert again.fts
        assert [r.created for r in again.search("late.wav")] == [4]
        assert again.search("resource_1") == []
