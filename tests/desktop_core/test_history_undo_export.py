"""Deleting with undo, and exports: the format's extension, the umask's permissions, short-clip wording."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mellow_desktop.core.history_export import window_text, with_extension
from mellow_desktop.core.history_store import HistoryRecord, HistoryStore


def record(i: int, **changes: object) -> HistoryRecord:
    base: dict[str, object] = dict(prompt=f"question {i}", answer=f"answer {i}", clip_a=f"/data/clip_{i}.wav")
    base["created"] = 1_700_000_000.0 + i
    base.update(changes)
    return HistoryRecord(**base)  # type: ignore[arg-type]


def test_deleted_entries_come_back_with_undo(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with HistoryStore.open(db) as store:
        ids = [store.add(record(i, settings={"n": i}, duration_a=3.5)) for i in range(5)]
        before = {i: store.get(i) for i in ids}
        deleted = store.delete_entries([ids[1], ids[3], ids[3], 999])
        assert len(deleted) == 2 and deleted.summary() == "Deleted 2 history entries"
        assert [r.id for r in store.all()] == [ids[0], ids[2], ids[4]]
        assert store.search("clip_3") == [] and store.search("question 1") == []
    with HistoryStore.open(db) as store:  # the deletion is committed; the undo object still works
        assert len(store) == 3
        assert store.restore(deleted) == 2
        assert store.restore(deleted) == 0  # undoing twice changes nothing
        assert {r.id: r for r in store.all()} == before
        assert [r.id for r in store.search("clip_3")] == [ids[3]]
        assert [r.id for r in store.search("question 1")] == [ids[1]]
        assert store.add(record(9)) == ids[-1] + 1  # restored ids are never handed out again
        one = store.delete_entries([ids[0]])
        assert one.summary() == "Deleted 1 history entry" and len(store.delete_entries([ids[0]])) == 0
        assert store.integrity_check() == "ok"


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_exports_get_the_extension_and_the_umask_permissions(tmp_path: Path, mask: int, mode: int) -> None:
    with HistoryStore.open(tmp_path / "h.db") as store:
        store.add(record(1))
        os.umask(mask)
        md = store.export_markdown(None, tmp_path / "hist")
        js = store.export_json(None, tmp_path / "hist")
        kept = store.export_json(None, tmp_path / "Notes.JSON")
    assert md == tmp_path / "hist.md" and js == tmp_path / "hist.json" and kept == tmp_path / "Notes.JSON"
    assert not (tmp_path / "hist").exists()
    assert md.read_text().startswith("# Mellow conversation") and json.loads(js.read_text())["records"]
    for path in (md, js, kept):
        assert stat.S_IMODE(path.stat().st_mode) == mode, oct(path.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.usefixtures("umask")
def test_an_overwritten_export_keeps_its_own_permissions(tmp_path: Path) -> None:
    target = tmp_path / "shared.md"
    target.write_text("old")
    target.chmod(0o640)
    with HistoryStore.open(tmp_path / "h.db") as store:
        store.add(record(1))
        assert store.export_markdown(None, target) == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and "question 1" in target.read_text()


def test_extension_rules() -> None:
    assert with_extension("hist", "json") == Path("hist.json")
    assert with_extension("a/hist.md", "md") == Path("a/hist.md")
    assert with_extension("hist.2026-12-01", "md") == Path("hist.2026-12-01.md")
    assert with_extension("hist.md", "json") == Path("hist.md.json")


def test_markdown_says_how_a_short_clip_was_heard(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.db") as store:
        store.add(record(1, clip_b="/data/long.wav", duration_a=9.15, duration_b=3725.0, start_b=3600.0))
        store.add(record(2, duration_a=None, start_a=2.0))  # an older entry: duration unknown
        text = store.export_markdown(None, tmp_path / "out").read_text()
    assert "- Clip A: `/data/clip_1.wav` (whole 9.15 s, repeated to fill 10 s)" in text
    assert "- Clip B: `/data/long.wav` (window 1:00:00.0–1:00:10.0)" in text
    assert "- Clip A: `/data/clip_2.wav` (window 2.00–12.00 s)" in text
    assert "window 0.00–10.00 s" not in text


def test_window_text_uses_minutes_past_a_minute() -> None:
    assert window_text(55.0, 80.0) == "window 55.00 s–1:05.0"  # as the clip panel's "Model hears" line
    assert window_text(0.0, 10.0) == "window 0.00–10.00 s"
    assert window_text(0.0, 0.5) == "whole 0.50 s, repeated to fill 10 s"
