"""HistoryStore on real SQLite files: persistence, search, export, corruption, SIGKILL and disk-full."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mellow_desktop.core.history_store import HistoryError, HistoryRecord, HistoryStore

REPO = Path(__file__).resolve().parents[2]


def sample(i: int = 0, **changes: object) -> HistoryRecord:
    base = dict(
        prompt=f"What makes sound {i}?",
        answer=f"A dog barks near a road ({i}).",
        status="finished",
        clip_a="/data/dog.wav",
        clip_b="/data/road.flac",
        hash_a="a" * 64,
        hash_b="b" * 64,
        start_a=1.5,
        start_b=0.0,
        model_id="mellow-v0",
        settings={"max_len": 300, "sample": False, "device": "cpu"},
        tokens_per_s=42.5,
        n_tokens=17,
        created=1_700_000_000.0 + i,
    )
    base.update(changes)
    return HistoryRecord(**base)  # type: ignore[arg-type]


def run_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_add_get_all_and_restart_persistence(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    with HistoryStore.open(db) as store:
        assert store.recovery_message is None
        ids = [store.add(sample(i)) for i in range(3)]
        cancelled = store.add(sample(9, status="cancelled", answer="A dog", clip_b=None, hash_b=None))
        assert store.get(ids[1]) == sample(1, id=ids[1])
    with HistoryStore.open(db) as store:
        assert store.integrity_check() == "ok"
        assert len(store) == 4
        records = store.all()
        assert [r.id for r in records] == [*ids, cancelled]
        assert records[0] == sample(0, id=ids[0])
        assert records[-1].status == "cancelled" and records[-1].clip_b is None
        assert store.get(12345) is None
        journal = sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"


def test_search_is_case_insensitive_over_prompt_and_answer(tmp_path: Path) -> None:
    clips = {"clip_a": "/data/a1.wav", "clip_b": "/data/b1.wav"}  # names that match none of the queries
    with HistoryStore.open(tmp_path / "h.db") as store:
        store.add(sample(1, prompt="Is there a DOG?", answer="Yes.", **clips))
        store.add(sample(2, prompt="Describe it.", answer="Rain on a tin roof.", **clips))
        store.add(sample(3, prompt="Where is this?", answer="A STRASSE in Berlin, 100% busy_road", **clips))
        store.add(sample(4, prompt="Und hier?", answer="Eine Straße.", **clips))
        assert [r.prompt for r in store.search("dog")] == ["Is there a DOG?"]
        assert [r.answer for r in store.search("TIN ROOF")] == ["Rain on a tin roof."]
        assert {r.created for r in store.search("straße")} == {1_700_000_003.0, 1_700_000_004.0}
        assert len(store.search("100%")) == 1 and len(store.search("y_r")) == 1  # no LIKE wildcards
        assert len(store.search("%")) == 1 and store.search("zzz") == []
        newest_first = store.search("", limit=2)
        assert [r.created for r in newest_first] == [1_700_000_004.0, 1_700_000_003.0]
        assert [r.prompt for r in store.search("?", limit=10)][0] == "Und hier?"


def test_delete_removes_from_list_and_search(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with HistoryStore.open(db) as store:
        keep = store.add(sample(1, answer="a cat meows"))
        gone = store.add(sample(2, answer="a cow moos"))
        assert store.delete(gone) is True and store.delete(gone) is False
        assert store.search("cow") == [] and [r.id for r in store.search("cat")] == [keep]
    with HistoryStore.open(db) as store:
        assert [r.id for r in store.all()] == [keep]
        assert store.search("cow") == []


def test_invalid_status_is_refused(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.db") as store, pytest.raises(ValueError):
        store.add(sample(status="maybe"))


def test_export_markdown_and_json(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.db") as store:
        a = store.add(sample(1, prompt="Line one\nline two"))
        b = store.add(sample(2, status="cancelled", answer="partial"))
        store.add(sample(3))
        md = store.export_markdown([b, a], tmp_path / "out.md").read_text()
        doc = json.loads(store.export_json(None, tmp_path / "out.json").read_text())
    assert md.startswith("# Mellow conversation")
    assert md.index("Line one") < md.index("partial")  # chronological order
    assert "> line two" in md and "**Answer** (cancelled)" in md
    assert "`/data/dog.wav` (window 1.50–11.50 s)" in md and "42.5 tokens/s" in md
    assert "sound 3" not in md
    assert doc["format"] == "mellow-history" and len(doc["records"]) == 3
    first = doc["records"][0]
    assert first["settings"] == {"max_len": 300, "sample": False, "device": "cpu"}
    assert first["hash_a"] == "a" * 64 and first["created"] == 1_700_000_001.0 and "created_iso" in first
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_export_to_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.db") as store:
        store.add(sample())
        with pytest.raises(HistoryError) as info:
            store.export_json(None, tmp_path / "no such dir" / "x.json")
    assert isinstance(info.value, OSError) and "cannot export" in str(info.value)


@pytest.mark.parametrize("damage", ["garbage", "overwritten pages"])
def test_corrupt_database_is_moved_aside_and_replaced(tmp_path: Path, damage: str) -> None:
    db = tmp_path / "history.sqlite3"
    if damage == "garbage":
        db.write_bytes(os.urandom(20000))
        Path(str(db) + "-wal").write_bytes(os.urandom(5000))
    else:
        with HistoryStore.open(db) as store:
            for i in range(300):
                store.add(sample(i, answer="x" * 500))
        raw = bytearray(db.read_bytes())
        raw[4096 * 2 : 4096 * 6] = os.urandom(4096 * 4)
        db.write_bytes(bytes(raw))
    original = db.read_bytes()
    store = HistoryStore.open(db)
    try:
        assert store.recovery_message is not None and "damaged" in store.recovery_message
        assert "\n" not in store.recovery_message
        aside = [
            p for p in tmp_path.iterdir() if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm"))
        ]
        assert len(aside) == 1 and aside[0].read_bytes() == original
        assert aside[0].name in store.recovery_message
        assert len(store) == 0
        new_id = store.add(sample(1))
        assert store.get(new_id) is not None and store.integrity_check() == "ok"
    finally:
        store.close()
    with HistoryStore.open(db) as again:
        assert again.recovery_message is None and len(again) == 1


WRITER = """
import sys
from mellow_desktop.core.history_store import HistoryRecord, HistoryStore
store = HistoryStore.open(sys.argv[1])
i = 0
while True:
    rid = store.add(HistoryRecord(prompt=f"question {i}", answer=("answer %d " % i) * 50, n_tokens=i))
    print(rid, i, flush=True)
    i += 1
"""


@pytest.mark.subprocess
def test_sigkill_while_writing_keeps_every_committed_record(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    committed: dict[int, int] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            rid, i = map(int, line.split())
            committed[rid] = i
            if len(committed) >= 150:
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with HistoryStore.open(db) as store:
        assert store.recovery_message is None
        assert store.integrity_check() == "ok"
        for rid, i in committed.items():
            record = store.get(rid)
            assert record is not None and record.prompt == f"question {i}" and record.n_tokens == i
        assert len(store) >= len(committed)
        assert len(store.search("question 149")) >= 1


DISK_FULL_EXPORT = """
import resource, signal, sys
from mellow_desktop.core.history_store import HistoryError, HistoryStore
store = HistoryStore.open(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
for export in (store.export_markdown, store.export_json):
    try:
        export(None, sys.argv[2])
    except HistoryError as exc:
        print("ERROR", exc.errno, exc)
    else:
        print("OK")
"""


@pytest.mark.subprocess
def test_disk_full_during_export_keeps_the_old_export(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    target = tmp_path / "conversation.md"
    with HistoryStore.open(db) as store:
        store.add(sample(0))
        store.export_markdown(None, target)
        old = target.read_bytes()
        for i in range(1, 40):
            store.add(sample(i, answer="long answer " * 100))
    result = run_child(DISK_FULL_EXPORT, str(db), str(target))
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert len(lines) == 2 and all(line.startswith("ERROR 27 ") for line in lines), lines
    assert "disk full or file too large" in lines[0] and "left unchanged" in lines[0]
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


DISK_FULL_ADD = """
import resource, signal, sys
from mellow_desktop.core.history_store import HistoryError, HistoryRecord, HistoryStore
store = HistoryStore.open(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))
saved = 0
try:
    for i in range(10000):
        store.add(HistoryRecord(prompt=f"q{i}", answer="y" * 2000))
        saved += 1
except HistoryError as exc:
    print("ERROR", saved, exc)
"""


@pytest.mark.subprocess
def test_disk_full_while_adding_keeps_earlier_records(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    result = run_child(DISK_FULL_ADD, str(db))
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert words[0] == "ERROR", result.stdout
    saved = int(words[1])
    assert saved > 10 and "cannot save to the history database" in result.stdout
    assert "disk full" in result.stdout
    with HistoryStore.open(db) as store:
        assert store.recovery_message is None and store.integrity_check() == "ok"
        prompts = {r.prompt for r in store.all()}
        assert {f"q{i}" for i in range(saved)} <= prompts


def test_a_database_from_a_newer_version_is_refused_not_moved(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    with HistoryStore.open(db) as store:
        store.add(sample(1))
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version=99")
    con.close()
    with pytest.raises(HistoryError) as info:
        HistoryStore.open(db)
    assert "newer version" in str(info.value)
    assert [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name] == []
    assert sqlite3.connect(db).execute("SELECT count(*) FROM history").fetchone()[0] == 1
