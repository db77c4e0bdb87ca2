"""Clip paths in the history: stored absolute, found again from another folder, old relative ones located."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from mellow.audio import clip_content_hash
from mellow_desktop.core.history_store import HistoryRecord, HistoryStore
from tests.helpers.audio_files import write_noise

V1 = Path(__file__).resolve().parents[1] / "fixtures" / "history_v1.sqlite3"


def test_relative_clip_paths_are_stored_absolute_and_found_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    clip = write_noise(work / "clips" / "dog.wav", 1.0, 8000, seed=1).resolve()
    elsewhere.mkdir()
    (work / "link.wav").symlink_to(clip)
    monkeypatch.setenv("HOME", str(work))
    monkeypatch.chdir(work)
    record = HistoryRecord(prompt="p", answer="a", clip_a="clips/../clips/dog.wav", clip_b="~/link.wav")
    with HistoryStore.open(tmp_path / "h.db") as store:
        rid = store.add(record)
        assert record.clip_a == str(clip) and record.clip_b == str(clip)  # the caller's record too
        monkeypatch.chdir(elsewhere)  # the next start, from another folder
        stored = store.get(rid)
    assert stored is not None and stored.clip_a == str(clip) and stored.clip_b == str(clip)
    assert Path(stored.clip_a).is_absolute()
    assert stored.locate_clip("A") == clip and stored.locate_clip("b") == clip
    clip.unlink()
    assert stored.locate_clip("A") is None


def test_old_relative_entries_are_located_only_where_the_same_file_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema 1 stored paths as given, not the folder: the working folder and given folders are tried, and
    a guess counts only when the file's content hash is the stored one."""
    db = tmp_path / "history.sqlite3"
    shutil.copyfile(V1, db)
    recorded_in, other, extra = tmp_path / "recorded-in", tmp_path / "other", tmp_path / "extra"
    dog = write_noise(recorded_in / "clips" / "dog.wav", 1.0, 8000, seed=1)
    write_noise(other / "clips" / "dog.wav", 1.0, 8000, seed=2)  # same name, different sound
    street = write_noise(extra / "street noise.wav", 1.0, 8000, seed=3)
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE history SET hash_a = ?, hash_b = ? WHERE id = 1", (clip_content_hash(dog),) * 2)
    con.close()
    with HistoryStore.open(db) as store:
        first, second = store.get(1), store.get(2)
    assert first is not None and second is not None and first.clip_a == "clips/dog.wav"
    monkeypatch.chdir(recorded_in)
    assert first.locate_clip("A") == dog.resolve() and first.locate_clip("B") == dog.resolve()
    monkeypatch.chdir(other)
    assert first.locate_clip("A") is None, "a different file of the same name was taken"
    assert first.locate_clip("A", extra_folders=[recorded_in]) == dog.resolve()
    assert second.locate_clip("B") is None  # no hash stored: any file of that name, but there is none here
    assert second.locate_clip("B", extra_folders=[os.fspath(extra)]) == street.resolve()
    assert second.locate_clip("A") is None  # /srv/audio/rain.flac does not exist


def test_a_vanished_working_folder_keeps_the_path_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    with HistoryStore.open(tmp_path / "h.db") as store:
        monkeypatch.chdir(gone)
        gone.rmdir()
        rid = store.add(HistoryRecord(prompt="p", answer="a", clip_a="x.wav", clip_b="/abs/y.wav"))
        monkeypatch.chdir(tmp_path)
        record = store.get(rid)
    assert record is not None and record.clip_a == "x.wav" and record.clip_b == "/abs/y.wav"
