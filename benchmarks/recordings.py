"""Listing a deployment of 2 000 field recordings with start times: cold (page cache dropped) and warm.

The deployment is written into a temporary folder: AudioMoth files (comment and artist entries, serial in
the name), Song Meter files with GUANO metadata after the samples, and Frontier Labs names, each a real
header over a data chunk of 60 s at 48 kHz (5.76 MB) that is a hole on disk, so the files cost no space but a
reader that touched the samples would be caught.  Before the cold run the page cache is dropped
(``/proc/sys/vm/drop_caches``, as root) or, where that is refused, each file's cached pages are released with
``posix_fadvise(DONTNEED)``; the script says which worked.

Prints: files, recorders, the cold and warm listing times (``mellow.recordings.list_deployment``; the
process's imports not included), the bytes read per file during the cold listing (/proc/self/io), and the
time of the whole ``mellow recordings FOLDER --format csv`` command in a fresh process, cold.  Target: cold
listing <= 10 s.

Run:  python benchmarks/recordings.py [--files 2000] [--repeats 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.field_files import audiomoth_comment, guano_chunk, write_sparse_wav  # noqa: E402
from mellow.recordings import list_deployment  # noqa: E402

RATE = 48000
FILE_SECONDS = 60
SERIAL = "24F319055FDF2B55"


def write_deployment(folder: Path, n_files: int) -> None:
    """Half AudioMoth, a quarter Song Meter with GUANO, a quarter Frontier Labs; one file per minute each."""
    data_bytes = RATE * FILE_SECONDS * 2
    start = datetime(2026, 5, 1, 5, 0, tzinfo=timezone.utc)
    for i in range(n_files):
        kind = "moth" if i % 4 < 2 else "sm" if i % 4 == 2 else "frontier"
        when = start + timedelta(minutes=i // 4 * 2 + (i % 2))
        if kind == "moth":
            comment = audiomoth_comment(when.strftime("%H:%M:%S %d/%m/%Y"))
            write_sparse_wav(folder / "moth" / f"{SERIAL}_{when:%Y%m%d_%H%M%S}.WAV", data_bytes, RATE,
                             info={"ICMT": comment, "IART": f"AudioMoth {SERIAL}"})
        elif kind == "sm":
            guano = (f"GUANO|Version: 1.0\nTimestamp: {when.isoformat()}\nMake: Wildlife Acoustics\n"
                     "Model: Song Meter Mini\nSerial: SMM01234\nLoc Position: 52.5 13.4\n")
            write_sparse_wav(folder / "sm" / f"SMM01234_{when:%Y%m%d_%H%M%S}.wav", data_bytes, RATE,
                             trailer=guano_chunk(guano))
        else:
            write_sparse_wav(folder / "bar" / f"{when:%Y%m%dT%H%M%S}+0000_REC.wav", data_bytes, RATE)


def drop_page_cache(folder: Path) -> str:
    """Drop the page cache; returns how."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return "/proc/sys/vm/drop_caches"
    except OSError:
        pass
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return "posix_fadvise(DONTNEED) per file"


def bytes_read() -> int | None:
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))
    except OSError:
        return None


def timed_listing(folder: Path) -> tuple[float, int, int, int | None]:
    """(seconds, files, recorders, bytes read) of one listing."""
    before = bytes_read()
    t0 = time.perf_counter()
    deployment = list_deployment(folder)
    seconds = time.perf_counter() - t0
    after = bytes_read()
    read = after - before if after is not None and before is not None else None
    timed = sum(r.start is not None for r in deployment.recordings)
    assert timed == len(deployment.recordings), "every file of the benchmark has a start time"
    return seconds, len(deployment.recordings), len(deployment.recorders), read


def cli_seconds(folder: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mellow", "recordings", str(folder), "--format", "csv"], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def run(folder: Path, n_files: int, repeats: int) -> None:
    t0 = time.perf_counter()
    write_deployment(folder, n_files)
    print(f"wrote {n_files} files ({FILE_SECONDS} s at {RATE} Hz each, sparse) "
          f"in {time.perf_counter() - t0:.1f} s")
    how = drop_page_cache(folder)
    cold, files, recorders, read = timed_listing(folder)
    per_file = f", {read / files / 1024:.1f} KiB read per file" if read is not None else ""
    print(f"cache dropped with {how}")
    print(f"cold listing: {cold:.2f} s for {files} files, {recorders} recorders "
          f"({cold / files * 1000:.2f} ms per file{per_file}); target <= 10 s")
    warm = [timed_listing(folder)[0] for _ in range(repeats)]
    print(f"warm listing: median {statistics.median(warm):.2f} s, min {min(warm):.2f} s over {repeats} runs")
    drop_page_cache(folder)
    print(f"`mellow recordings FOLDER --format csv`, fresh process, cold: {cli_seconds(folder):.2f} s "
          "(imports included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="write the deployment here and keep it")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args.keep, args.files, args.repeats)
    else:
        with tempfile.TemporaryDirectory(prefix="mellow-deployment-") as tmp:
            run(Path(tmp), args.files, args.repeats)


if __name__ == "__main__":
    main()
