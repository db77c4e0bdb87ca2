"""What clock time costs a scan's planning: ``plan_scan`` of a folder of field recordings without and with
``ClockOptions`` (each file's start read from its header, metadata and name), warm (content hashes memoised
and the files in the page cache, so that the difference is the clock's own cost).

The folder is the one of ``benchmarks/recordings.py`` (AudioMoth comments, Song Meter GUANO after the data,
Frontier Labs names; 60 s at 48 kHz each, the data chunks holes on disk).  Prints the first (hashing) plan,
then the median of the warm plans without and with the clock, and the clock's cost per file.

Run:  python benchmarks/scan_plan_clock.py [--files 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from recordings import write_deployment  # noqa: E402

from mellow.recordings import parse_zone  # noqa: E402
from mellow.scan.clock import ClockOptions  # noqa: E402
from mellow.scan.plan import plan_scan  # noqa: E402


def timed_plan(folder: Path, clock: ClockOptions | None) -> tuple[float, int, int]:
    """(seconds, files planned, files with a start time) of one plan."""
    t0 = time.perf_counter()
    plan = plan_scan([folder], clock=clock)
    seconds = time.perf_counter() - t0
    timed = sum(1 for f in plan.files if f.recording is not None and f.recording.start is not None)
    return seconds, len(plan.files), timed


def run(folder: Path, n_files: int, repeats: int) -> None:
    write_deployment(folder, n_files)
    first, files, _ = timed_plan(folder, None)
    print(f"{files} files; first plan (content hashes computed): {first:.2f} s")
    clock = ClockOptions(parse_zone("Europe/Berlin"))
    without = [timed_plan(folder, None)[0] for _ in range(repeats)]
    runs = [timed_plan(folder, clock) for _ in range(repeats)]
    with_clock = [r[0] for r in runs]
    assert runs[0][2] == files, "every file of the benchmark has a start time"
    a, b = statistics.median(without), statistics.median(with_clock)
    print(f"warm plan without clock: median {a:.3f} s ({a / files * 1000:.2f} ms per file)")
    print(f"warm plan with clock:    median {b:.3f} s ({b / files * 1000:.2f} ms per file)")
    print(f"clock's cost: {(b - a) / files * 1000:.2f} ms per file ({repeats} runs each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="mellow-plan-clock-") as tmp:
        run(Path(tmp), args.files, args.repeats)


if __name__ == "__main__":
    main()
