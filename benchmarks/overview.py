"""Whole-file overview of a 2-hour 48 kHz stereo WAV: time to the first snapshot, to the complete overview,
peak RSS growth, and the cached reopen.

    .venv/bin/python benchmarks/overview.py [--minutes 120] [--keep PATH]

The recording is generated (noise, tones that come and go, silence) block by block into a temporary folder
(about 1.4 GB for two hours, PCM 16-bit); the cache goes to a temporary data folder.  Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RATE = 48000


def generate(path: Path, minutes: float) -> None:
    """A stereo recording written one minute at a time (never the whole file in memory)."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", RATE, 2, subtype="PCM_16") as f:
        for m in range(int(np.ceil(minutes))):
            n = int(min(60.0, minutes * 60 - m * 60) * RATE)
            t = (np.arange(n) + m * 60 * RATE) / RATE
            tone = 0.3 * np.sin(2 * np.pi * (400 + 50 * (m % 20)) * t) * (np.sin(2 * np.pi * t / 90) > 0.3)
            noise = 0.03 * rng.standard_normal(n)
            left = (tone + noise) * (m % 7 != 3)
            f.write(np.stack([left, 0.6 * left + 0.02 * rng.standard_normal(n)], axis=1).astype(np.float32))


def _reset_peak_rss() -> None:
    """Start the peak (VmHWM) afresh from the current RSS, so generating the file does not count."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss() -> int:
    """Peak resident set size of this process (bytes): VmHWM from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return psutil.Process().memory_info().rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--keep", type=Path, default=None, help="use (or create) the recording at PATH")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MELLOW_DATA_DIR"] = str(Path(tmp) / "data")
        from mellow_desktop.core.overview_cache import file_overview

        wav = args.keep or Path(tmp) / "two hours.wav"
        if not wav.exists():
            t0 = time.perf_counter()
            generate(wav, args.minutes)
            print(f"generated {wav.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t0:.1f} s")
        info = sf.info(str(wav))
        print(f"file: {info.duration / 60:.0f} min, {info.samplerate} Hz, {info.channels} channels, "
              f"{wav.stat().st_size / 1e9:.2f} GB")
        _reset_peak_rss()
        rss0 = _peak_rss()
        t0 = time.perf_counter()
        first = done_at = last = None
        n = 0
        for last in file_overview(wav):
            n += 1
            first = first if first is not None else time.perf_counter() - t0
            done_at = time.perf_counter() - t0 if last.complete and done_at is None else done_at
        cached_at = time.perf_counter() - t0
        assert last is not None and done_at is not None
        print(f"first snapshot (coarse, whole file): {first:.3f} s")
        print(f"complete overview: {done_at:.2f} s ({n} snapshots, {last.columns} columns x "
              f"{last.mel_db.shape[0]} mel bands); content hash + cache written at {cached_at:.2f} s")
        print(f"peak RSS growth: {(_peak_rss() - rss0) / 1e6:.0f} MB")
        t0 = time.perf_counter()
        again = list(file_overview(wav))
        print(f"reopen from the cache: {1e3 * (time.perf_counter() - t0):.1f} ms ({len(again)} snapshot, "
              f"complete={again[0].complete})")


if __name__ == "__main__":
    main()
