"""Search order and limits over a few thousand entries: both query plans, the scan, FTS5 or not."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mellow_desktop.core import history_store
from mellow_desktop.core.history_store import MANY_HITS, HistoryRecord, HistoryStore


def test_newest_first_by_time_asked_with_many_and_few_hits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries stored out of time order (ids do not follow ``created``) still come newest first."""
    rng = random.Random(3)
    times = list(range(3000))
    rng.shuffle(times)
    records = [
        HistoryRecord(
            prompt="is there a dog?" if t % 2 else "what is it?",
            answer="rare bird" if t % 50 == 0 else "a car",
            clip_a=f"/x/take_{t}.wav",
            created=1_700_000_000.0 + t,
        )
        for t in times
    ]
    db = tmp_path / "h.db"
    expected = {
        "dog": [t for t in range(2999, -1, -1) if t % 2][:200],  # 1500 hits: more than MANY_HITS
        "rare bird": [t for t in range(2999, -1, -1) if t % 50 == 0],  # 60 hits: fetched, then sorted
        "g?": [t for t in range(2999, -1, -1) if t % 2][:200],  # 2 characters: the scan
        "take_12": [t for t in range(2999, -1, -1) if str(t).startswith("12")],  # 1200-1299, 120-129, 12
    }
    assert sum(1 for t in times if t % 2) > MANY_HITS
    with HistoryStore.open(db) as store:
        store.add_many(records)
        got = {q: [int(r.created - 1_700_000_000.0) for r in store.search(q)] for q in expected}
        assert got == expected
        assert len(store.search("dog", limit=5)) == 5 and len(store.search("g?", limit=7)) == 7
    monkeypatch.setattr(history_store, "fts5_trigram_available", lambda: False)
    with HistoryStore.open(db) as scan:
        assert {q: [int(r.created - 1_700_000_000.0) for r in scan.search(q)] for q in expected} == expected
