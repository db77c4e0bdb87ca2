"""The history store at 100 000 entries: insert time, search latency and size (SQLite files in a temp dir).

Prints, in one run:
  * bulk insert time of N generated entries (``add_many``, 10 000 per transaction) and the durable per-entry
    ``add()`` latency (one ``synchronous=FULL`` transaction each, median/max over a sample),
  * search latency (median/max over ``--repeats`` runs) of several queries — common and rare words, a clip
    file name, a clip-name prefix matching thousands, no match, a 2-character query (scan), the empty query —
    with the FTS5 trigram index, and for comparison the plain scan used where SQLite lacks FTS5,
  * the time to open the file when the search text and index must be built (the one-off schema-1 upgrade),
  * the database size with and without the FTS5 index (the case-folded search text is in both).

Run:  python benchmarks/history_search.py [--entries 100000] [--repeats 7] [--durable-sample 200]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mellow_desktop.core import history_store  # noqa: E402
from mellow_desktop.core.history_store import HistoryRecord, HistoryStore  # noqa: E402

WORDS = (
    "a dog barks near a busy road while rain falls on a tin roof birds sing in the distance an engine idles "
    "people talk quietly footsteps on gravel wind in the trees a door closes music plays from a radio the "
    "second clip is louder and brighter the first has more low frequency rumble water runs from a tap"
).split()
PROMPTS = (
    "Describe the audio.",
    "What is the difference between the two clips?",
    "Is there a dog in the audio? Answer yes or no.",
    "Which clip is louder?",
    "What instruments can you hear?",
)
QUERIES = (
    ("common word", "dog"),
    ("rare phrase", "answer 4242 "),
    ("clip file name", "resource_{mid}.wav"),
    ("clip-name prefix", "resource_1"),
    ("no match", "xylophone"),
    ("2 characters (scan)", "ü?"),
    ("empty (newest 200)", ""),
)


def entry(i: int, rng: random.Random) -> HistoryRecord:
    words = rng.choices(WORDS, k=rng.randint(25, 70))
    return HistoryRecord(
        prompt=rng.choice(PROMPTS),
        answer=" ".join(words) + f" (answer {i} )",
        clip_a=f"/home/user/sounds/resource_{i}.wav",
        clip_b=f"/home/user/recordings/recording-{i // 50:05d}.flac",
        hash_a=f"{rng.getrandbits(160):040x}",
        hash_b=f"{rng.getrandbits(160):040x}",
        start_a=rng.uniform(0, 30),
        model_id="mellow-v0",
        settings={"max_len": 300, "sample": False, "device": "cpu"},
        tokens_per_s=rng.uniform(20, 60),
        n_tokens=len(words),
        duration_a=rng.uniform(3, 60),
        duration_b=rng.uniform(3, 60),
        created=1_700_000_000.0 + i * 30.0,
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def build(db: Path, n: int, rng: random.Random) -> float:
    """Fill ``db`` with ``n`` entries; returns the seconds it took."""
    t0 = time.perf_counter()
    with HistoryStore.open(db) as store:
        for start in range(0, n, 10_000):
            store.add_many(entry(i, rng) for i in range(start, min(n, start + 10_000)))
    return time.perf_counter() - t0


def durable_adds(db: Path, count: int, rng: random.Random) -> list[float]:
    """Seconds of each of ``count`` durable ``add()`` calls (the entries are deleted again afterwards)."""
    times, ids = [], []
    with HistoryStore.open(db) as store:
        for i in range(count):
            record = entry(10_000_000 + i, rng)
            t0 = time.perf_counter()
            ids.append(store.add(record))
            times.append(time.perf_counter() - t0)
        store.delete_entries(ids)
    return times


def search_table(store: HistoryStore, repeats: int) -> list[float]:
    """Print the latency of each of :data:`QUERIES`; returns every time measured."""
    every = []
    for label, template in QUERIES:
        query = template.format(mid=len(store) // 2)
        times, hits = [], 0
        for _ in range(repeats):
            t0 = time.perf_counter()
            hits = len(store.search(query))
            times.append(time.perf_counter() - t0)
        every.extend(times)
        print(
            f"  {label:<22} {query!r:<22} {hits:4d} hits  median {ms(statistics.median(times))}  "
            f"max {ms(max(times))}"
        )
    return every


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--durable-sample", type=int, default=200)
    args = ap.parse_args()
    rng = random.Random(0)
    print(f"SQLite {sqlite3.sqlite_version}, FTS5 trigram: {history_store.fts5_trigram_available()}")
    with tempfile.TemporaryDirectory(prefix="mellow-history-bench-") as tmp:
        db = Path(tmp) / "history.sqlite3"
        seconds = build(db, args.entries, rng)
        print(f"bulk insert: {args.entries} entries in {seconds:.2f} s ({args.entries / seconds:,.0f}/s)")
        durable = durable_adds(db, args.durable_sample, rng)
        print(
            f"durable add(): median {ms(statistics.median(durable))}  max {ms(max(durable))} "
            f"over {len(durable)}"
        )
        size = db.stat().st_size
        with HistoryStore.open(db) as store:
            print(f"search with the FTS5 trigram index ({len(store)} entries, {args.repeats} runs each):")
            fts = search_table(store, args.repeats)
        print(f"  all queries: median {ms(statistics.median(fts))}  max {ms(max(fts))}")
        scan_db = Path(tmp) / "scan.sqlite3"
        con = sqlite3.connect(db)
        con.execute(f"VACUUM INTO '{scan_db}'")
        con.close()
        con = sqlite3.connect(scan_db)
        con.execute("DROP TABLE history_fts")
        con.execute("VACUUM")
        con.close()
        no_index_size = scan_db.stat().st_size
        real_probe = history_store.fts5_trigram_available
        history_store.fts5_trigram_available = lambda: False  # as on an SQLite built without FTS5
        with HistoryStore.open(scan_db) as store:
            print("search by scan (no FTS5):")
            scan = search_table(store, max(1, args.repeats // 3))
        print(f"  all queries: median {ms(statistics.median(scan))}  max {ms(max(scan))}")
        history_store.fts5_trigram_available = real_probe
        con = sqlite3.connect(scan_db)
        con.execute("DROP TABLE history_text")  # as in a schema-1 file: search text and index to be built
        con.close()
        t0 = time.perf_counter()
        with HistoryStore.open(scan_db) as store:
            assert store.fts and len(store.search(f"resource_{args.entries // 2}.wav")) == 1
        print(
            f"open, building the search text and index (schema-1 upgrade): {time.perf_counter() - t0:.2f} s"
        )
        print(
            f"database size: {size / 2**20:.1f} MiB with the search index, "
            f"{no_index_size / 2**20:.1f} MiB without ({size / args.entries:.0f} bytes/entry)"
        )


if __name__ == "__main__":
    main()
