"""One data folder for the engine and the desktop, and the move of the old ``mellow-desktop`` folder into it.

Real files and real SQLite databases in a temporary XDG_DATA_HOME; nothing is mocked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mellow.model_files import data_dir as engine_data_dir
from mellow.model_files import default_model_dir
from mellow_desktop.core import data_migration, paths
from mellow_desktop.core.data_migration import migrate_old_data_folder
from mellow_desktop.core.history_store import HistoryRecord, HistoryStore


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh XDG_DATA_HOME, no MELLOW_DATA_DIR: the platform defaults of this test."""
    monkeypatch.delenv("MELLOW_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    return tmp_path / "share"


def _history(db: Path, *prompts: str, created: float = 1_700_000_000.0) -> list[HistoryRecord]:
    records = [HistoryRecord(prompt=p, answer=f"answer to {p}", clip_a=f"/clips/{p}.wav", created=created + i)
               for i, p in enumerate(prompts)]
    with HistoryStore.open(db) as store:
        for r in records:
            store.add(r)
    return records


def _prompts(db: Path) -> list[str]:
    with HistoryStore.open(db) as store:
        return [r.prompt for r in store.all()]


def test_engine_and_desktop_share_one_folder(xdg: Path, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    assert paths.data_dir() == engine_data_dir() == xdg / "Mellow"
    assert paths.history_db_path() == xdg / "Mellow" / "history.sqlite3"
    assert paths.recordings_dir() == xdg / "Mellow" / "recordings" and paths.recordings_dir().is_dir()
    assert default_model_dir("v0") == xdg / "Mellow" / "models" / "v0"
    assert data_migration.legacy_data_dir() == xdg / "mellow-desktop"
    assert not hasattr(paths, "exports_dir")
    monkeypatch.setenv("MELLOW_DATA_DIR", str(tmp_path / "elsewhere"))
    assert paths.data_dir() == engine_data_dir() == tmp_path / "elsewhere"
    assert data_migration.legacy_data_dir() is None  # the override was already the one folder of both


def test_old_folder_moves_over_on_first_start(xdg: Path) -> None:
    old = xdg / "mellow-desktop"
    (old / "recordings").mkdir(parents=True)
    want = _history(old / "history.sqlite3", "caption the audio.", "is there a dog?")
    (old / "recordings" / "recording-20260101-120000.wav").write_bytes(b"RIFF one")
    (old / "recordings" / "recording-20260101-130000.wav").write_bytes(b"RIFF two")
    (old / "mellow-desktop.log").write_text("old log\n")

    message = migrate_old_data_folder()
    new = xdg / "Mellow"
    assert message is not None
    assert "history (2 answers)" in message and "2 recordings" in message and "1 other file" in message
    assert str(old) in message and str(new) in message
    assert not old.exists()  # everything moved, the empty folders removed
    with HistoryStore.open(new / "history.sqlite3") as store:
        got = store.all()
    assert [(r.prompt, r.answer, r.clip_a, r.created) for r in got] == [
        (r.prompt, r.answer, r.clip_a, r.created) for r in want]
    assert (new / "recordings" / "recording-20260101-120000.wav").read_bytes() == b"RIFF one"
    assert (new / "recordings" / "recording-20260101-130000.wav").read_bytes() == b"RIFF two"
    assert (new / "mellow-desktop.log").read_text() == "old log\n"
    assert migrate_old_data_folder() is None  # the second start has nothing to do


def test_a_history_of_the_old_schema_moves_with_its_paths_as_they_were(xdg: Path) -> None:
    """The old folder holds what old versions wrote: a schema-1 database (fixtures/history_v1.sqlite3)."""
    old = xdg / "mellow-desktop"
    old.mkdir(parents=True)
    shutil.copyfile(Path(__file__).resolve().parents[1] / "fixtures" / "history_v1.sqlite3",
                    old / "history.sqlite3")
    assert "history (3 answers)" in (migrate_old_data_folder() or "")
    with HistoryStore.open(xdg / "Mellow" / "history.sqlite3") as store:
        records = store.all()
    assert [r.prompt for r in records] == ["What is making the sound?", "Compare the two.", "Describe it."]
    assert records[0].clip_a == "clips/dog.wav" and records[1].clip_a == "/srv/audio/rain.flac"
    assert not old.exists()


def test_unfinished_wal_contents_are_kept(xdg: Path, tmp_path: Path) -> None:
    """A database copied while its writer was open (answers only in the -wal file) loses nothing."""
    live = tmp_path / "live" / "history.sqlite3"
    live.parent.mkdir()
    _history(live, "first", "second", "third")
    store = HistoryStore.open(live)  # keep a connection open: the next answer stays in the WAL
    store.add(HistoryRecord(prompt="fourth", answer="only in the wal", created=1_800_000_000.0))
    old = xdg / "mellow-desktop"
    old.mkdir(parents=True)
    for name in ("history.sqlite3", "history.sqlite3-wal", "history.sqlite3-shm"):
        if (live.parent / name).exists():
            shutil.copyfile(live.parent / name, old / name)
    store.close()
    assert (old / "history.sqlite3-wal").stat().st_size > 0

    assert "history (4 answers)" in (migrate_old_data_folder() or "")
    assert _prompts(xdg / "Mellow" / "history.sqlite3") == ["first", "second", "third", "fourth"]
    assert not old.exists()


def test_existing_files_in_both_places_are_merged_not_overwritten(xdg: Path) -> None:
    old, new = xdg / "mellow-desktop", xdg / "Mellow"
    (old / "recordings").mkdir(parents=True)
    (new / "recordings").mkdir(parents=True)
    _history(old / "history.sqlite3", "old one", "old two", created=1_600_000_000.0)
    _history(new / "history.sqlite3", "new one", created=1_700_000_000.0)
    (old / "recordings" / "same.wav").write_bytes(b"identical")
    (new / "recordings" / "same.wav").write_bytes(b"identical")
    (old / "recordings" / "clash.wav").write_bytes(b"old take")
    (new / "recordings" / "clash.wav").write_bytes(b"new take")
    (new / "recordings" / "clash-from-mellow-desktop.wav").write_bytes(b"taken too")

    message = migrate_old_data_folder() or ""
    assert "history (2 answers, added to the history already there)" in message
    assert "recordings/clash.wav → clash-from-mellow-desktop-2.wav" in message
    assert _prompts(new / "history.sqlite3") == ["old one", "old two", "new one"]
    assert _prompts(new / "history-from-mellow-desktop.sqlite3") == ["old one", "old two"]  # the old file
    assert (new / "recordings" / "same.wav").read_bytes() == b"identical"
    assert (new / "recordings" / "clash.wav").read_bytes() == b"new take"
    assert (new / "recordings" / "clash-from-mellow-desktop.wav").read_bytes() == b"taken too"
    assert (new / "recordings" / "clash-from-mellow-desktop-2.wav").read_bytes() == b"old take"
    assert sorted(p.name for p in (new / "recordings").iterdir()) == [
        "clash-from-mellow-desktop-2.wav", "clash-from-mellow-desktop.wav", "clash.wav", "same.wav"]
    assert not old.exists()


def test_a_partial_failure_keeps_the_rest_and_the_next_start_finishes(xdg: Path) -> None:
    old, new = xdg / "mellow-desktop", xdg / "Mellow"
    (old / "recordings").mkdir(parents=True)
    _history(old / "history.sqlite3", "kept")
    (old / "recordings" / "take.wav").write_bytes(b"take")
    new.mkdir()
    (new / "recordings").write_text("a file where the recordings folder should be")

    message = migrate_old_data_folder() or ""
    assert "history (1 answer)" in message
    assert "Could not move 1 file," in message and "recordings/take.wav" in message
    assert (old / "recordings" / "take.wav").read_bytes() == b"take"  # left where it was
    assert _prompts(new / "history.sqlite3") == ["kept"]
    assert not (old / "history.sqlite3").exists()

    (new / "recordings").unlink()  # the user fixes the problem; the next start moves the rest
    again = migrate_old_data_folder() or ""
    assert "1 recording" in again and "history" not in again and "Could not" not in again
    assert (new / "recordings" / "take.wav").read_bytes() == b"take"
    assert _prompts(new / "history.sqlite3") == ["kept"]
    assert not old.exists()


def test_a_failed_history_merge_is_retried_without_duplicates(xdg: Path) -> None:
    old, new = xdg / "mellow-desktop", xdg / "Mellow"
    old.mkdir(parents=True)
    _history(old / "history.sqlite3", "a", "b")
    _history(new / "history.sqlite3", "c", created=1_750_000_000.0)
    (new / "history-from-mellow-desktop.sqlite3").mkdir()  # the backup name is taken by a folder ...
    (new / "history-from-mellow-desktop.sqlite3" / "x").write_text("and its content")
    first = migrate_old_data_folder() or ""
    assert "history (2 answers, added" in first
    assert _prompts(new / "history-from-mellow-desktop-2.sqlite3") == ["a", "b"]  # ... so the next free name
    assert _prompts(new / "history.sqlite3") == ["a", "b", "c"]

    # the same old database showing up again (e.g. restored from a backup) adds nothing twice
    old.mkdir()
    shutil.copyfile(new / "history-from-mellow-desktop-2.sqlite3", old / "history.sqlite3")
    assert "history (2 answers, added" in (migrate_old_data_folder() or "")
    assert _prompts(new / "history.sqlite3") == ["a", "b", "c"]


def test_nothing_to_do(xdg: Path, mellow_data_dir: Path) -> None:
    (xdg / "mellow-desktop").mkdir(parents=True)
    assert migrate_old_data_folder() is None  # MELLOW_DATA_DIR set: it was the folder before, too
    assert migrate_old_data_folder(old=xdg / "missing", new=mellow_data_dir) is None
    assert migrate_old_data_folder(old=mellow_data_dir, new=mellow_data_dir) is None
